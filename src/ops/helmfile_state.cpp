#include "ops/helmfile_state.hpp"

#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "fluxboot/error.hpp"
#include "fluxboot/gitops.hpp"
#include "fluxboot/values.hpp"

namespace fluxboot::ops {

namespace fs = std::filesystem;

std::string chart_basename(const std::string& chart) {
  std::string c = chart;
  while (!c.empty() && c.back() == '/') c.pop_back();
  auto at = c.find('@');  // oci://…/chart@sha256:…
  if (at != std::string::npos) c = c.substr(0, at);
  auto slash = c.rfind('/');
  std::string base = slash == std::string::npos ? c : c.substr(slash + 1);
  auto colon = base.find(':');  // chart:tag
  return colon == std::string::npos ? base : base.substr(0, colon);
}

HelmfileState read_helmfile_state(const fs::path& file) {
  HelmfileState st;
  st.file = file;
  std::ifstream in(file, std::ios::binary);
  if (!in) throw InputError(fmt::format("{}: helmfile state file not found", file.string()));
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string text = buf.str();
  if (text.find("{{") != std::string::npos) {
    st.templated = true;
    for (const auto& r : values::releases_in(file)) st.releases.push_back({r.name, r.ns, "", "", nlohmann::json::object()});
    return st;
  }
  for (const auto& doc : gitops::split_documents(text, file.string())) {
    auto j = values::parse_yaml(doc.text, values::Dialect::GoYamlV3, fmt::format("{}:{}", file.string(), doc.line));
    if (!j.is_object()) continue;
    if (j.contains("helmDefaults") && j["helmDefaults"].is_object())
      for (const auto& [k, v] : j["helmDefaults"].items()) st.helm_defaults[k] = v;
    if (!j.contains("releases") || !j["releases"].is_array()) continue;
    for (const auto& r : j["releases"]) {
      if (!r.is_object()) continue;
      auto str = [&](const char* k) {
        auto it = r.find(k);
        if (it == r.end() || it->is_null()) return std::string();
        return it->is_string() ? it->get<std::string>() : it->dump();
      };
      st.releases.push_back({str("name"), str("namespace"), str("chart"), str("version"), r});
    }
  }
  return st;
}

}  // namespace fluxboot::ops
