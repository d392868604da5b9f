#include "sim/helmfile_state.hpp"

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "fluxboot/error.hpp"
#include "sim/yaml_json.hpp"

namespace fluxboot::sim {

namespace {

using json = nlohmann::json;

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string scalar_string(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "";
  return v.dump();
}

std::optional<int> timeout_seconds(const json& v, const std::string& where, Problems& problems) {
  if (v.is_number_integer()) return v.get<int>();
  problems.add(fmt::format("{}: expected a number of seconds", where));
  return std::nullopt;
}

void read_settings(const json& obj, HelmSettings& s, const std::string& where, Problems& problems) {
  auto flag = [&](const char* key, std::optional<bool>& out) {
    if (!obj.contains(key)) return;
    if (obj[key].is_boolean()) out = obj[key].get<bool>();
    else problems.add(fmt::format("{}.{}: expected true or false", where, key));
  };
  flag("wait", s.wait);
  flag("waitForJobs", s.wait_for_jobs);
  flag("cleanupOnFail", s.cleanup_on_fail);
  flag("atomic", s.atomic);
  flag("createNamespace", s.create_namespace);
  if (obj.contains("timeout")) s.timeout_s = timeout_seconds(obj["timeout"], where + ".timeout", problems);
  if (obj.contains("args")) {
    if (!obj["args"].is_array()) problems.add(where + ".args: expected a list");
    else
      for (const auto& a : obj["args"]) s.args.push_back(scalar_string(a));
  }
}

HelmfileHook read_hook(const json& h, const std::string& where, Problems& problems) {
  HelmfileHook hook;
  if (!h.is_object()) {
    problems.add(where + ": expected a mapping");
    return hook;
  }
  if (h.contains("events") && h["events"].is_array())
    for (const auto& e : h["events"]) hook.events.push_back(scalar_string(e));
  else
    problems.add(where + ".events: expected a list");
  hook.command = h.value("command", "");
  if (hook.command.empty()) problems.add(where + ".command: required");
  if (h.contains("args")) {
    if (h["args"].is_array())
      for (const auto& a : h["args"]) hook.args.push_back(scalar_string(a));
    else
      problems.add(where + ".args: expected a list");
  }
  if (h.contains("showlogs") && h["showlogs"].is_boolean()) hook.showlogs = h["showlogs"].get<bool>();
  return hook;
}

HelmfileRelease read_release(const json& r, const std::filesystem::path& dir, const std::string& where,
                             Problems& problems) {
  HelmfileRelease rel;
  if (!r.is_object()) {
    problems.add(where + ": expected a mapping");
    return rel;
  }
  rel.name = scalar_string(r.value("name", json()));
  rel.ns = scalar_string(r.value("namespace", json()));
  rel.chart = scalar_string(r.value("chart", json()));
  rel.version = scalar_string(r.value("version", json()));
  if (rel.name.empty()) problems.add(where + ".name: required");
  if (rel.chart.empty()) problems.add(where + ".chart: required");
  if (r.contains("installed") && r["installed"].is_boolean()) rel.installed = r["installed"].get<bool>();
  if (r.contains("values")) {
    if (!r["values"].is_array()) problems.add(where + ".values: expected a list");
    for (size_t i = 0; r["values"].is_array() && i < r["values"].size(); ++i) {
      const auto& v = r["values"][i];
      ValuesEntry e;
      if (v.is_string()) {
        auto p = std::filesystem::path(v.get<std::string>());
        e.file = (p.is_absolute() ? p : dir / p).lexically_normal();
      } else if (v.is_object()) {
        e.inline_values = v;
      } else {
        problems.add(fmt::format("{}.values[{}]: expected a file name or a mapping", where, i));
        continue;
      }
      rel.values.push_back(std::move(e));
    }
  }
  if (r.contains("set")) {
    if (!r["set"].is_array()) problems.add(where + ".set: expected a list");
    for (const auto& s : r.value("set", json::array()))
      if (s.is_object() && s.contains("name"))
        rel.set.emplace_back(scalar_string(s["name"]), scalar_string(s.value("value", json(""))));
  }
  if (r.contains("needs")) {
    if (!r["needs"].is_array()) problems.add(where + ".needs: expected a list");
    for (const auto& n : r.value("needs", json::array())) rel.needs.push_back(scalar_string(n));
  }
  if (r.contains("hooks")) {
    if (!r["hooks"].is_array()) problems.add(where + ".hooks: expected a list");
    for (size_t i = 0; r["hooks"].is_array() && i < r["hooks"].size(); ++i)
      rel.hooks.push_back(read_hook(r["hooks"][i], fmt::format("{}.hooks[{}]", where, i), problems));
  }
  read_settings(r, rel.settings, where, problems);
  return rel;
}

}  // namespace

HelmfileState parse_helmfile_state(const std::string& text, const std::filesystem::path& file, int base_depth) {
  HelmfileState state;
  state.file = file;
  state.dir = file.parent_path().empty() ? std::filesystem::path(".") : file.parent_path();
  Problems problems;
  if (ends_with(file.string(), ".gotmpl") || text.find("{{") != std::string::npos)
    throw InputError(fmt::format(
        "{}: fake helmfile cannot render Go templates (the state file contains {{{{ }}}})", file.string()));
  std::vector<json> docs;
  try {
    docs = parse_yaml_documents(text);
  } catch (const std::exception& e) {
    throw InputError(fmt::format("{}: invalid YAML: {}", file.string(), e.what()));
  }
  for (const auto& doc : docs) {
    if (!doc.is_object()) {
      problems.add(fmt::format("{}: every document must be a mapping", file.string()));
      continue;
    }
    if (doc.contains("helmfiles"))
      problems.add(fmt::format("{}: fake helmfile does not support `helmfiles`", file.string()));
    // bases: layered first (helmDefaults, then releases appended), paths relative to this file.
    if (doc.contains("bases")) {
      if (!doc["bases"].is_array()) {
        problems.add("bases: expected a list of file names");
      } else if (base_depth >= 8) {
        problems.add(fmt::format("{}: bases nested deeper than 8 levels (a cycle?)", file.string()));
      } else {
        for (const auto& b : doc["bases"]) {
          if (!b.is_string()) {
            problems.add("bases: expected a list of file names");
            continue;
          }
          const std::filesystem::path base = state.dir / b.get<std::string>();
          std::ifstream in(base, std::ios::binary);
          if (!in) {
            problems.add(fmt::format("{}: base {} not found", file.string(), base.string()));
            continue;
          }
          std::stringstream ss;
          ss << in.rdbuf();
          HelmfileState layered = parse_helmfile_state(ss.str(), base, base_depth + 1);
          state.defaults = layered.defaults;
          state.releases.insert(state.releases.end(), layered.releases.begin(), layered.releases.end());
        }
      }
    }
    if (doc.contains("helmDefaults")) read_settings(doc["helmDefaults"], state.defaults, "helmDefaults", problems);
    if (doc.contains("releases")) {
      if (!doc["releases"].is_array()) {
        problems.add("releases: expected a list");
        continue;
      }
      for (const auto& r : doc["releases"]) {
        auto where = fmt::format("releases[{}]", state.releases.size());
        state.releases.push_back(read_release(r, state.dir, where, problems));
      }
    }
  }
  std::set<std::string> seen;
  for (const auto& r : state.releases)
    if (!r.name.empty() && !seen.insert(r.id()).second)
      problems.add(fmt::format("duplicate release \"{}\"", r.id()));
  problems.throw_if_any(fmt::format("in {}: invalid helmfile state", file.string()));
  return state;
}

HelmfileState load_helmfile_state(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in)
    throw InputError(fmt::format("err: no state file found. It must be named helmfile.yaml or "
                                 "specified with --file: open {}: no such file or directory",
                                 file.string()));
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_helmfile_state(ss.str(), file);
}

std::vector<HelmfileRelease> order_by_needs(const std::vector<HelmfileRelease>& releases) {
  const size_t n = releases.size();
  std::vector<std::vector<size_t>> deps(n);
  Problems problems;
  for (size_t i = 0; i < n; ++i) {
    for (const auto& need : releases[i].needs) {
      // [kube-context/][namespace/]name
      std::string ns, name = need;
      auto slash = need.rfind('/');
      if (slash != std::string::npos) {
        name = need.substr(slash + 1);
        auto rest = need.substr(0, slash);
        auto s2 = rest.rfind('/');
        ns = s2 == std::string::npos ? rest : rest.substr(s2 + 1);
      }
      std::vector<size_t> matches;
      for (size_t j = 0; j < n; ++j)
        if (releases[j].name == name && (slash == std::string::npos || releases[j].ns == ns))
          matches.push_back(j);
      if (matches.size() != 1) {
        problems.add(fmt::format("release \"{}\" depends on \"{}\" which {}", releases[i].id(), need,
                                 matches.empty() ? "does not match any release" : "is ambiguous"));
        continue;
      }
      deps[i].push_back(matches.front());
    }
  }
  problems.throw_if_any("in needs:");
  std::vector<HelmfileRelease> out;
  std::vector<bool> done(n, false);
  while (out.size() < n) {
    bool progressed = false;
    for (size_t i = 0; i < n; ++i) {
      if (done[i]) continue;
      bool ready = true;
      for (size_t d : deps[i]) ready = ready && done[d];
      if (!ready) continue;
      done[i] = true;
      out.push_back(releases[i]);
      progressed = true;
      break;  // restart from the top: keep file order among ready releases
    }
    if (!progressed) {
      std::vector<std::string> cyc;
      for (size_t i = 0; i < n; ++i)
        if (!done[i]) cyc.push_back(releases[i].id());
      throw InputError(fmt::format("in needs: dependency cycle among {}", fmt::join(cyc, ", ")));
    }
  }
  return out;
}

HelmSettings effective_settings(const HelmfileState& state, const HelmfileRelease& release) {
  HelmSettings s = state.defaults;
  const auto& r = release.settings;
  s.args.insert(s.args.end(), r.args.begin(), r.args.end());
  if (r.wait) s.wait = r.wait;
  if (r.wait_for_jobs) s.wait_for_jobs = r.wait_for_jobs;
  if (r.cleanup_on_fail) s.cleanup_on_fail = r.cleanup_on_fail;
  if (r.atomic) s.atomic = r.atomic;
  if (r.create_namespace) s.create_namespace = r.create_namespace;
  if (r.timeout_s) s.timeout_s = r.timeout_s;
  return s;
}

json merged_values(const HelmfileRelease& release) {
  json merged = json::object();
  for (const auto& v : release.values) {
    if (!v.is_file()) {
      deep_merge(merged, v.inline_values);
      continue;
    }
    if (ends_with(v.file.string(), ".gotmpl"))
      throw InputError(fmt::format(
          "release \"{}\": fake helmfile cannot render Go templates: {} (give it a plain values file)",
          release.id(), v.file.string()));
    std::ifstream in(v.file, std::ios::binary);
    if (!in)
      throw InputError(fmt::format("release \"{}\": values file matching \"{}\" does not exist",
                                   release.id(), v.file.string()));
    std::stringstream ss;
    ss << in.rdbuf();
    json doc;
    try {
      doc = parse_yaml(ss.str());
    } catch (const std::exception& e) {
      throw InputError(fmt::format("release \"{}\": {}: invalid YAML: {}", release.id(), v.file.string(), e.what()));
    }
    if (doc.is_null()) continue;
    if (!doc.is_object())
      throw InputError(fmt::format("release \"{}\": {}: values must be a YAML mapping", release.id(), v.file.string()));
    deep_merge(merged, doc);
  }
  for (const auto& [name, value] : release.set) {
    // a.b.c=value
    json* cur = &merged;
    std::string key;
    std::stringstream ss(name);
    std::vector<std::string> parts;
    while (std::getline(ss, key, '.')) parts.push_back(key);
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      if (!(*cur)[parts[i]].is_object()) (*cur)[parts[i]] = json::object();
      cur = &(*cur)[parts[i]];
    }
    if (!parts.empty()) (*cur)[parts.back()] = parse_yaml(value).is_null() ? json(value) : parse_yaml(value);
  }
  return merged;
}

std::filesystem::path local_chart_for(const HelmfileRelease& release,
                                      const std::filesystem::path& charts_dir) {
  auto candidate = charts_dir / release.name;
  if (!release.name.empty() && std::filesystem::exists(candidate / "Chart.yaml")) return candidate;
  std::string base = release.chart;
  if (auto slash = base.rfind('/'); slash != std::string::npos) base = base.substr(slash + 1);
  candidate = charts_dir / base;
  if (!base.empty() && std::filesystem::exists(candidate / "Chart.yaml")) return candidate;
  return charts_dir / "generic";
}

}  // namespace fluxboot::sim
