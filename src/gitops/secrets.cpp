// Repository facts about secrets: the age identity, the sops invocation and where the bootstrap
// resources come from. Each rule is written here once; stages, doctor and diagnose call these.
#include <algorithm>
#include <system_error>

#include <fmt/format.h>

#include "fluxboot/gitops.hpp"

namespace fluxboot::gitops {

namespace fs = std::filesystem;

AgeKey age_key(const Config& config, const std::map<std::string, std::string>& env) {
  auto it = env.find("SOPS_AGE_KEY_FILE");
  if (it != env.end() && !it->second.empty()) return {config.abs(it->second), true};
  return {config.abs(config.paths.age_key), false};
}

process::Command sops_decrypt_command(const std::string& sops, const fs::path& file, const Config& config,
                                      const std::map<std::string, std::string>& env) {
  process::Command cmd;
  cmd.argv = {sops, "decrypt", file.string()};
  cmd.mutating = false;
  cmd.label = "sops decrypt " + file.filename().string();
  const AgeKey key = age_key(config, env);
  std::error_code ec;
  if (fs::is_regular_file(key.path, ec)) cmd.env.emplace_back("SOPS_AGE_KEY_FILE", key.path.string());
  return cmd;
}

namespace {

bool has_kustomization(const fs::path& dir) {
  std::error_code ec;
  for (const char* n : {"kustomization.yaml", "kustomization.yml", "Kustomization"})
    if (fs::is_regular_file(dir / n, ec)) return true;
  return false;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

std::string ResourcesSource::describe() const {
  auto rel = [&](const fs::path& p) { return p.lexically_relative(root).generic_string(); };
  switch (kind) {
    case Kind::Template: return "template " + rel(path);
    case Kind::Kustomize: {
      std::string out = "kustomize";
      for (const auto& d : items) out += " " + rel(d);
      return out;
    }
    case Kind::Sops: return fmt::format("{} sops file{} in {}", items.size(), items.size() == 1 ? "" : "s", rel(path));
    case Kind::None: break;
  }
  return "none";
}

ResourcesSource resources_source(const Config& config) {
  ResourcesSource s;
  s.root = config.root;
  std::error_code ec;
  const fs::path tmpl = config.abs(config.paths.resources_template);
  if (!config.paths.resources_template.empty() && fs::is_regular_file(tmpl, ec)) {
    s.kind = ResourcesSource::Kind::Template;
    s.path = tmpl;
    return s;
  }
  if (config.paths.resources.empty()) return s;
  const fs::path dir = config.abs(config.paths.resources);
  if (!fs::is_directory(dir, ec)) return s;
  s.path = dir;
  if (has_kustomization(dir)) {
    s.kind = ResourcesSource::Kind::Kustomize;
    s.items.push_back(dir);
    return s;
  }
  std::vector<fs::path> kustomizations, sops;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::error_code e2;
    const std::string name = e.path().filename().string();
    if (e.is_directory(e2) && has_kustomization(e.path())) kustomizations.push_back(e.path());
    else if (e.is_regular_file(e2) && (ends_with(name, ".sops.yaml") || ends_with(name, ".sops.yml")))
      sops.push_back(e.path());
  }
  std::sort(kustomizations.begin(), kustomizations.end());
  std::sort(sops.begin(), sops.end());
  if (!kustomizations.empty()) {
    s.kind = ResourcesSource::Kind::Kustomize;
    s.items = std::move(kustomizations);
  } else if (!sops.empty()) {
    s.kind = ResourcesSource::Kind::Sops;
    s.items = std::move(sops);
  }
  return s;
}

}  // namespace fluxboot::gitops
