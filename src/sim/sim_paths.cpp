#include "sim/sim_paths.hpp"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "fluxboot/error.hpp"
#include "sim/yaml_json.hpp"

#ifndef FLUXBOOT_SIM_CHARTS_DIR
#define FLUXBOOT_SIM_CHARTS_DIR ""
#endif
#ifndef FLUXBOOT_SIM_SOURCE_DIR
#define FLUXBOOT_SIM_SOURCE_DIR ""
#endif

namespace fluxboot::sim {

namespace fs = std::filesystem;

namespace {

bool is_executable(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::string(v) : std::string();
}

std::optional<nlohmann::json> read_sim_info(const SimDir& dir) {
  std::error_code ec;
  if (!fs::exists(dir.info_file(), ec)) return std::nullopt;
  try {
    return nlohmann::json::parse(slurp(dir.info_file()));
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

fs::path locate_sim_dir(const std::string& argv0, const fs::path& talosconfig) {
  std::error_code ec;
  if (auto env = env_or_empty("FLUXBOOT_SIM_DIR"); !env.empty()) return fs::absolute(env, ec);
  if (argv0.find('/') != std::string::npos) {
    fs::path candidate = fs::absolute(fs::path(argv0), ec).parent_path().parent_path();
    if (fs::exists(SimDir(candidate).info_file(), ec)) return candidate;
  }
  fs::path tc = talosconfig;
  if (tc.empty()) tc = env_or_empty("TALOSCONFIG");
  if (!tc.empty() && fs::exists(tc, ec)) {
    try {
      auto doc = parse_yaml(slurp(tc));
      if (doc.is_object() && doc.contains("fluxboot-sim") && doc["fluxboot-sim"].is_object())
        return doc["fluxboot-sim"].value("dir", "");
    } catch (const std::exception&) {
    }
  }
  return {};
}

fs::path self_executable() {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path() : p;
}

fs::path find_real_tool(const std::string& name, const std::string& flag, const fs::path& skip_dir) {
  std::error_code ec;
  if (!flag.empty()) {
    if (!is_executable(flag)) throw ToolMissingError(fmt::format("--{} {}: not an executable file", name, flag));
    return fs::absolute(flag, ec);
  }
  std::string env_name = name == "kubectl" ? "FLUXBOOT_SIM_KUBECTL" : "FLUXBOOT_SIM_HELM";
  if (auto env = env_or_empty(env_name.c_str()); !env.empty()) {
    if (!is_executable(env)) throw ToolMissingError(fmt::format("${}={}: not an executable file", env_name, env));
    return fs::absolute(env, ec);
  }
  std::vector<fs::path> candidates;
  if (std::string src = FLUXBOOT_SIM_SOURCE_DIR; !src.empty()) candidates.push_back(fs::path(src) / ".tools/bin" / name);
  for (fs::path d = self_executable().parent_path(); !d.empty() && d != d.root_path(); d = d.parent_path())
    candidates.push_back(d / ".tools/bin" / name);
  for (const auto& c : candidates)
    if (is_executable(c)) return c;
  fs::path skip = skip_dir.empty() ? fs::path() : fs::weakly_canonical(skip_dir, ec);
  std::stringstream path(env_or_empty("PATH"));
  std::string entry;
  while (std::getline(path, entry, ':')) {
    if (entry.empty()) continue;
    if (!skip.empty() && fs::weakly_canonical(entry, ec) == skip) continue;
    fs::path c = fs::path(entry) / name;
    if (is_executable(c)) return c;
  }
  throw ToolMissingError(fmt::format(
      "{} not found: pass --{} PATH, set ${}, or run .ci/install-deps (it installs {} into .tools/bin)",
      name, name, env_name, name));
}

fs::path charts_dir() {
  std::error_code ec;
  if (auto env = env_or_empty("FLUXBOOT_SIM_CHARTS"); !env.empty()) return env;
  fs::path exe_dir = self_executable().parent_path();
  for (const auto& c : {exe_dir / ".." / "share" / "fluxboot-sim" / "charts", exe_dir / "charts"})
    if (fs::exists(c / "generic" / "Chart.yaml", ec)) return fs::weakly_canonical(c, ec);
  return FLUXBOOT_SIM_CHARTS_DIR;
}

}  // namespace fluxboot::sim
