// fluxboot.yaml: every key is checked (unknown keys, types, durations) and every problem is
// collected before one InputError lists them all. The schema is documented in
// docs/configuration.md; keep the two in step.
#include <cctype>
#include <algorithm>
#include <functional>
#include <set>
#include <utility>

#include <fmt/format.h>

#include "fluxboot/duration.hpp"
#include "fluxboot/files.hpp"
#include "fluxboot/gitops.hpp"
#include "gitops/yaml_support.hpp"

namespace fluxboot::gitops {

namespace fs = std::filesystem;
using detail::where;

namespace {

// Stage names accepted under `timeouts:`. The stage order itself lives in src/stages; gitops sits
// below core and cannot ask it, so this set is kept in step by hand (the docs list the same).
const std::vector<std::string> kStageNames = {"talos",      "k8s",       "kubeconfig", "wait",
                                              "namespaces", "resources", "crds",       "apps"};

class ConfigReader {
 public:
  ConfigReader(fs::path root, std::string display)
      : root_(std::move(root)), display_(std::move(display)) {}

  Problems problems;

  void add(const YAML::Node& at, const std::string& message) {
    problems.add(fmt::format("{}: {}", where(display_, at), message));
  }

  // Walks a mapping's keys: reports non-string, duplicate and unknown keys, calls `on_key` for
  // the known ones. A null section (`paths:` with nothing under it) counts as empty.
  void each_key(const YAML::Node& map, const std::string& section,
                const std::vector<std::string>& known,
                const std::function<void(const std::string&, const YAML::Node&)>& on_key) {
    if (map.IsNull()) return;
    if (!map.IsMap()) {
      add(map, fmt::format("'{}' must be a mapping, got {}", section, detail::type_name(map)));
      return;
    }
    const std::string in = section.empty() ? "at top level" : fmt::format("in '{}'", section);
    std::set<std::string> seen;
    for (const auto& kv : map) {
      const YAML::Node& key = kv.first;
      if (!key.IsScalar()) {
        add(key, fmt::format("keys {} must be strings, got {}", in, detail::type_name(key)));
        continue;
      }
      const std::string& name = key.Scalar();
      if (!seen.insert(name).second) {
        add(key, fmt::format("duplicate key '{}' {}", name, in));
        continue;
      }
      if (std::find(known.begin(), known.end(), name) == known.end()) {
        add(key, detail::unknown_key_message("key", name, in, known));
        continue;
      }
      on_key(name, kv.second);
    }
  }

  std::optional<std::string> string(const YAML::Node& n, const std::string& what,
                                     bool allow_empty = false) {
    if (!n.IsScalar()) {
      add(n, fmt::format("'{}' must be a string, got {}", what, detail::type_name(n)));
      return std::nullopt;
    }
    if (!allow_empty && n.Scalar().empty()) {
      add(n, fmt::format("'{}' must not be empty", what));
      return std::nullopt;
    }
    return n.Scalar();
  }

  std::optional<bool> boolean(const YAML::Node& n, const std::string& what) {
    bool value = false;
    if (n.IsScalar() && YAML::convert<bool>::decode(n, value)) return value;
    add(n, fmt::format("'{}' must be true or false, got {}", what,
                       n.IsScalar() ? fmt::format("'{}'", n.Scalar()) : detail::type_name(n)));
    return std::nullopt;
  }

  std::optional<fs::path> path(const YAML::Node& n, const std::string& what) {
    auto s = string(n, what);
    if (!s) return std::nullopt;
    if (s->find('\0') != std::string::npos) {
      add(n, fmt::format("'{}' contains a NUL character", what));
      return std::nullopt;
    }
    return fs::path(*s);
  }

  void read_paths(const YAML::Node& n, Paths& p) {
    static const std::vector<std::string> known = {
        "apps",      "talconfig", "clusterconfig", "resourcesTemplate", "crdsHelmfile",
        "appsHelmfile", "clusterKustomization", "ageKey", "helmrelease", "kubeconfig",
        "talosconfig", "talosTemplates", "resources"};
    const std::map<std::string, fs::path*> targets = {
        {"apps", &p.apps},
        {"talconfig", &p.talconfig},
        {"clusterconfig", &p.clusterconfig},
        {"resourcesTemplate", &p.resources_template},
        {"crdsHelmfile", &p.crds_helmfile},
        {"appsHelmfile", &p.apps_helmfile},
        {"clusterKustomization", &p.cluster_kustomization},
        {"ageKey", &p.age_key},
        {"kubeconfig", &p.kubeconfig},
        {"talosconfig", &p.talosconfig},
        {"talosTemplates", &p.talos_templates},
        {"resources", &p.resources}};
    each_key(n, "paths", known, [&](const std::string& key, const YAML::Node& v) {
      const std::string what = "paths." + key;
      if (key == "helmrelease") {
        auto s = string(v, what);
        if (!s) return;
        std::string rest = *s;
        for (std::string_view ph : {"{namespace}", "{name}"}) {
          for (size_t at = rest.find(ph); at != std::string::npos; at = rest.find(ph)) {
            rest.erase(at, ph.size());
          }
        }
        if (s->find("{name}") == std::string::npos) {
          add(v, fmt::format("'{}' must contain the placeholder {{name}} (got '{}')", what, *s));
        } else if (rest.find_first_of("{}") != std::string::npos) {
          add(v, fmt::format("'{}' has an unknown placeholder in '{}' (known: {{namespace}}, {{name}})",
                             what, *s));
        } else {
          p.helmrelease = *s;
          explicit_paths.push_back(what);
        }
        return;
      }
      if (auto value = path(v, what)) {
        *targets.at(key) = *value;
        explicit_paths.push_back(what);
      }
    });
  }

  void read_tools(const YAML::Node& n, Tools& t) {
    static const std::vector<std::string> known = {"talosctl", "kubectl", "helmfile", "helm",
                                                   "sops", "op"};
    const std::map<std::string, std::string*> targets = {{"talosctl", &t.talosctl},
                                                         {"kubectl", &t.kubectl},
                                                         {"helmfile", &t.helmfile},
                                                         {"helm", &t.helm},
                                                         {"sops", &t.sops},
                                                         {"op", &t.op}};
    each_key(n, "tools", known, [&](const std::string& key, const YAML::Node& v) {
      auto s = string(v, "tools." + key);
      if (!s) return;
      // A relative path with a slash would otherwise be resolved against whatever directory
      // fluxboot was started in; the repository root is what the author meant.
      if (s->find('/') != std::string::npos && fs::path(*s).is_relative()) {
        *s = (root_ / *s).lexically_normal().string();
      }
      *targets.at(key) = *s;
    });
  }

  void read_talos(const YAML::Node& n, Config& c) {
    each_key(n, "talos", {"parallelism"}, [&](const std::string&, const YAML::Node& v) {
      int value = 0;
      if (v.IsScalar() && YAML::convert<int>::decode(v, value) && value >= 1) {
        c.talos_parallelism = value;
      } else {
        add(v, fmt::format("'talos.parallelism' must be an integer >= 1, got {}",
                           v.IsScalar() ? fmt::format("'{}'", v.Scalar()) : detail::type_name(v)));
      }
    });
  }

  void read_timeouts(const YAML::Node& n, Config& c) {
    if (n.IsNull()) return;
    if (!n.IsMap()) {
      add(n, fmt::format("'timeouts' must be a mapping of stage name to duration, got {}",
                         detail::type_name(n)));
      return;
    }
    std::set<std::string> seen;
    for (const auto& kv : n) {
      const YAML::Node& key = kv.first;
      if (!key.IsScalar()) {
        add(key, fmt::format("keys in 'timeouts' must be stage names, got {}",
                             detail::type_name(key)));
        continue;
      }
      const std::string& stage = key.Scalar();
      if (!seen.insert(stage).second) {
        add(key, fmt::format("duplicate key '{}' in 'timeouts'", stage));
        continue;
      }
      if (std::find(kStageNames.begin(), kStageNames.end(), stage) == kStageNames.end()) {
        add(key, detail::unknown_key_message("stage", stage, "in 'timeouts'", kStageNames));
        continue;
      }
      auto text = string(kv.second, "timeouts." + stage);
      if (!text) continue;
      try {
        Millis d = parse_duration(*text, "timeouts." + stage);
        if (d.count() <= 0) {
          add(kv.second, fmt::format("'timeouts.{}' must be longer than zero, got '{}'", stage, *text));
        } else {
          c.stage_timeouts[stage] = d;
        }
      } catch (const InputError& e) {
        add(kv.second, e.what());
      }
    }
  }

  void read_flux(const YAML::Node& n, Config& c) {
    each_key(n, "flux", {"namespace", "instance", "operatorSelector"},
             [&](const std::string& key, const YAML::Node& v) {
      auto s = string(v, "flux." + key);
      if (!s) return;
      if (key == "operatorSelector") {
        if (s->empty()) add(v, "'flux.operatorSelector' must not be empty");
        else c.flux_operator_selector = *s;
        return;
      }
      if (!is_dns1123_label(*s)) {
        add(v, fmt::format("'flux.{}' must be a DNS-1123 label (lower-case letters, digits and "
                           "'-', at most 63 characters), got '{}'",
                           key, *s));
        return;
      }
      (key == "namespace" ? c.flux_namespace : c.flux_instance) = *s;
    });
  }

  void read_nodes(const YAML::Node& n, Config& c) {
    if (n.IsNull()) return;  // `nodes:` with nothing under it: no explicit inventory
    if (!n.IsSequence()) {
      add(n, fmt::format("'nodes' must be a list, got {}", detail::type_name(n)));
      return;
    }
    std::vector<NodeSpec> nodes;
    for (size_t i = 0; i < n.size(); ++i) {
      const YAML::Node item = n[i];
      const std::string section = fmt::format("nodes[{}]", i);
      if (!item.IsMap()) {
        add(item, fmt::format("'{}' must be a mapping with 'address', got {}", section,
                              detail::type_name(item)));
        continue;
      }
      NodeSpec node;
      node.origin = where(display_, item);
      bool has_address = false;
      each_key(item, section, {"hostname", "address", "controlPlane", "configFile"},
               [&](const std::string& key, const YAML::Node& v) {
                 const std::string what = section + "." + key;
                 if (key == "hostname") {
                   auto s = string(v, what);
                   if (s && !is_valid_host(*s)) {
                     add(v, fmt::format("'{}' is not a valid host name: '{}'", what, *s));
                   } else if (s) {
                     node.hostname = *s;
                   }
                 } else if (key == "address") {
                   has_address = true;
                   auto s = string(v, what);
                   if (s && !is_valid_host(*s)) {
                     add(v, fmt::format("'{}' is not an IPv4/IPv6 address or host name: '{}'", what,
                                        *s));
                   } else if (s) {
                     node.address = *s;
                   }
                 } else if (key == "controlPlane") {
                   if (auto b = boolean(v, what)) node.control_plane = *b;
                 } else if (auto p = path(v, what)) {
                   node.config_file = (root_ / *p).lexically_normal();
                 }
               });
      if (!has_address) add(item, fmt::format("'{}' has no 'address'", section));
      nodes.push_back(std::move(node));
    }
    c.nodes = std::move(nodes);
  }

  void read_top(const YAML::Node& doc, Config& c) {
    static const std::vector<std::string> known = {"paths", "tools", "fieldManager",
                                                   "kubeContextName", "talos", "timeouts",
                                                   "flux", "nodes", "cluster"};
    each_key(doc, "", known, [&](const std::string& key, const YAML::Node& v) {
      if (key == "paths") read_paths(v, c.paths);
      else if (key == "tools") read_tools(v, c.tools);
      else if (key == "talos") read_talos(v, c);
      else if (key == "timeouts") read_timeouts(v, c);
      else if (key == "flux") read_flux(v, c);
      else if (key == "nodes") read_nodes(v, c);
      else if (key == "cluster") {
        auto s = string(v, key);
        if (s && !is_cluster_name(*s))
          add(v, fmt::format("'cluster' must be a directory name (letters, digits, '-', '_', '.'), not '{}'", *s));
        else if (s) {
          c.cluster = *s;
          c.cluster_origin = "fluxboot.yaml";
        }
      } else if (key == "fieldManager") {
        auto s = string(v, key);
        if (s && s->size() > 128) add(v, "'fieldManager' must be at most 128 characters");
        else if (s) c.field_manager = *s;
      } else if (auto s = string(v, key)) {
        c.kube_context_name = *s;
        c.kube_context_is_explicit = true;
      }
    });
  }

 std::vector<std::string> explicit_paths;

 private:
  fs::path root_;
  std::string display_;
};

}  // namespace

bool is_cluster_name(const std::string& name) {
  if (name.empty() || name.size() > 63 || name == "." || name == "..") return false;
  for (char ch : name)
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_' || ch == '.')) return false;
  return true;
}

Config load_config(const fs::path& root, const std::string& cluster) {
  if (!cluster.empty() && !is_cluster_name(cluster))
    throw UsageError(fmt::format("--cluster must be a directory name (letters, digits, '-', '_', '.'), not '{}'", cluster));
  Config config;
  std::error_code ec;
  fs::path abs_root = fs::absolute(root.empty() ? fs::path(".") : root, ec).lexically_normal();
  if (ec) throw InputError(fmt::format("{}: cannot resolve repository root: {}", root.string(), ec.message()));
  // "/repo/" normalises to "/repo/"; drop the empty last component so joins and messages match.
  if (!abs_root.has_filename() && abs_root.has_parent_path() && abs_root != abs_root.root_path()) {
    abs_root = abs_root.parent_path();
  }
  if (!fs::is_directory(abs_root, ec)) {
    throw InputError(fmt::format("{}: repository root is not a directory", abs_root.string()));
  }
  config.root = abs_root;

  const fs::path file = abs_root / "fluxboot.yaml";
  auto pick_cluster = [&] {
    if (cluster.empty()) return;
    config.cluster = cluster;
    config.cluster_origin = "--cluster";
  };
  if (!fs::exists(file, ec) && !fs::is_symlink(file, ec)) {
    pick_cluster();
    detect_layout(config);
    return config;
  }
  config.file = file;
  const std::string display = "fluxboot.yaml";
  // fluxboot.yaml is a few dozen lines: 1 MiB is generous, and a multi-megabyte file is a mistake.
  auto docs = detail::parse_yaml_all(read_input_file(file, display, 1u << 20), display, /*duplicates_ok=*/true);

  ConfigReader reader(abs_root, display);
  if (docs.size() > 1) {
    reader.add(docs[1], "fluxboot.yaml must hold a single YAML document");
  }
  if (!docs.empty() && !docs.front().IsNull()) {
    const YAML::Node& top = docs.front();
    if (!top.IsMap()) {
      reader.add(top, fmt::format("expected a mapping at the top level, got {}",
                                  detail::type_name(top)));
    } else {
      reader.read_top(top, config);
    }
  }
  reader.problems.throw_if_any("invalid configuration");
  config.explicit_paths = reader.explicit_paths;
  pick_cluster();
  detect_layout(config);
  return config;
}

}  // namespace fluxboot::gitops
