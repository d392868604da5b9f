#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "fluxboot/error.hpp"
#include "fluxboot/helmfile_state.hpp"
#include "fluxboot/values.hpp"
#include "values/internal.hpp"

namespace fluxboot::values {

namespace {

std::string slurp(const std::filesystem::path& p, bool& ok) {
  std::ifstream in(p, std::ios::binary);
  ok = static_cast<bool>(in);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string scalar(const YAML::Node& n, const char* key) {
  auto v = n[key];
  return v && v.IsScalar() ? v.as<std::string>() : std::string();
}

}  // namespace

void merge_helm_values(nlohmann::json& into, const nlohmann::json& from) {
  if (!into.is_object() || !from.is_object()) {
    into = from;
    return;
  }
  for (auto it = from.begin(); it != from.end(); ++it) {
    if (it.value().is_null()) {
      into.erase(it.key());
    } else if (into.contains(it.key()) && into[it.key()].is_object() && it.value().is_object()) {
      merge_helm_values(into[it.key()], it.value());
    } else {
      into[it.key()] = it.value();
    }
  }
}

std::vector<ReleaseSpec> read_release_specs(const std::filesystem::path& state_file) {
  bool ok = false;
  std::string text = slurp(state_file, ok);
  if (!ok) throw InputError(fmt::format("{}: cannot read the helmfile state", state_file.string()));
  std::vector<ReleaseSpec> out;
  if (text.find("{{") != std::string::npos) {
    for (const auto& r : releases_in(state_file)) out.push_back({r.ns, r.name, {}, {}, std::nullopt});
    return out;
  }
  YAML::Node root;
  (void)detail::load_documents(text, state_file.string());  // where YAML::Load would never return
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw InputError(fmt::format("{}:{}: {}", state_file.string(), e.mark.line + 1, e.msg));
  }
  auto releases = root["releases"];
  if (!releases || !releases.IsSequence()) return out;
  const auto dir = state_file.parent_path();
  for (const auto& r : releases) {
    if (!r.IsMap()) continue;
    ReleaseSpec spec;
    spec.name = scalar(r, "name");
    spec.ns = scalar(r, "namespace");
    spec.chart = scalar(r, "chart");
    spec.version = scalar(r, "version");
    nlohmann::json merged = nlohmann::json::object();
    bool known = !r["set"] && !r["setString"] && !r["secrets"];
    auto values = r["values"];
    if (known && values && values.IsSequence()) {
      for (const auto& entry : values) {
        if (entry.IsScalar()) {
          auto file = dir / entry.as<std::string>();
          bool read_ok = false;
          std::string content = slurp(file, read_ok);
          if (!read_ok || file.extension() == ".gotmpl") {
            known = false;
            break;
          }
          auto doc = parse_yaml(content, Dialect::GoYamlV2, file.string());
          if (!doc.is_null()) merge_helm_values(merged, doc);
        } else if (entry.IsMap()) {
          // Straight from the node: a yaml-cpp Emitter round trip would drop the quotes of "1.10".
          merge_helm_values(merged, detail::to_json(entry, Dialect::GoYamlV2, state_file.string()));
        } else {
          known = false;
          break;
        }
      }
    }
    if (known) spec.values = merged.is_null() ? nlohmann::json::object() : merged;
    out.push_back(std::move(spec));
  }
  return out;
}

}  // namespace fluxboot::values
