// The fake talosctl: parses talosctl's command line and asks the running simulation
// (/_sim/talos/*) what a real Talos node would answer.
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include <fmt/format.h>

#include "fluxboot/error.hpp"
#include "sim/commands.hpp"
#include "sim/control_client.hpp"
#include "sim/file_util.hpp"
#include "sim/kubeconfig_file.hpp"
#include "sim/sim_paths.hpp"
#include "sim/talosctl_cli.hpp"
#include "sim/yaml_json.hpp"

namespace fluxboot::sim {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr const char* kTalosTag = "v1.9.5";

constexpr const char* kTalosctlUsage = R"(talosctl (fluxboot-sim fake) - the subset fluxboot uses:
  talosctl apply-config [--insecure] [--dry-run] -n NODE -f FILE
  talosctl bootstrap -n NODE
  talosctl kubeconfig PATH -n NODE [--force] [--force-context-name NAME] [--merge=false]
  talosctl version [--client] [--short] [-n NODE]
  talosctl config info
  talosctl machineconfig patch FILE --patch @PATCH [--patch @PATCH...] [--output FILE]
Global flags: -n/--nodes, -e/--endpoints, --talosconfig, --context
)";

fs::path talosconfig_path(const TalosctlArgs& a) {
  if (!a.talosconfig.empty()) return a.talosconfig;
  if (auto env = env_or_empty("TALOSCONFIG"); !env.empty()) return env;
  if (auto home = env_or_empty("HOME"); !home.empty()) return fs::path(home) / ".talos" / "config";
  return {};
}

// The talosconfig's current (or --context) context, or null.
json talos_context(const TalosctlArgs& a, std::string* name = nullptr) {
  fs::path p = talosconfig_path(a);
  std::error_code ec;
  if (p.empty() || !fs::exists(p, ec)) return nullptr;
  json doc;
  try {
    doc = parse_yaml(read_text(p));
  } catch (const std::exception&) {
    return nullptr;
  }
  if (!doc.is_object()) return nullptr;
  std::string ctx = a.context.empty() ? doc.value("context", "") : a.context;
  if (name != nullptr) *name = ctx;
  if (!doc.contains("contexts") || !doc["contexts"].contains(ctx)) return nullptr;
  return doc["contexts"][ctx];
}

std::vector<std::string> target_nodes(const TalosctlArgs& a) {
  if (!a.nodes.empty()) return a.nodes;
  json ctx = talos_context(a);
  std::vector<std::string> out;
  if (ctx.is_object()) {
    for (const char* key : {"nodes", "endpoints"}) {
      if (ctx.contains(key) && ctx[key].is_array())
        for (const auto& n : ctx[key])
          if (n.is_string()) out.push_back(n.get<std::string>());
      if (!out.empty()) break;
    }
  }
  if (!a.endpoints.empty() && out.empty()) out = a.endpoints;
  if (out.empty())
    throw StageError("nodes are not set for the command: please use `--nodes` flag or configuration file to set the nodes to run the command against");
  return out;
}

ControlClient client_for(const std::string& argv0, const TalosctlArgs& a) {
  fs::path dir = locate_sim_dir(argv0, a.talosconfig);
  if (dir.empty())
    throw StageError("fake talosctl (fluxboot-sim): no simulated cluster found; set FLUXBOOT_SIM_DIR (`source DIR/env`)");
  return ControlClient(SimDir(dir));
}

int emit(const json& r) {
  std::cout << r.value("stdout", "");
  std::cerr << r.value("stderr", "");
  return r.value("exitCode", 1);
}

void print_version_block(const std::string& title, const std::string& node) {
  std::cout << title << ":\n";
  if (!node.empty()) std::cout << "\tNODE:        " << node << "\n";
  std::cout << "\tTag:         " << kTalosTag << "\n"
            << "\tSHA:         d07f6daa\n"
            << "\tBuilt:       \n"
            << "\tGo version:  go1.23.7\n"
            << "\tOS/Arch:     linux/amd64\n";
  if (!node.empty()) std::cout << "\tEnabled:     RBAC\n";
}

int apply_config(const std::string& argv0, const TalosctlArgs& a) {
  if (a.has_config_patch) throw StageError("fake talosctl (fluxboot-sim): --config-patch is not supported");
  if (a.file.empty()) throw StageError("no filename supplied for configuration");
  std::string config;
  try {
    config = read_text(a.file);
  } catch (const std::exception&) {
    throw StageError(fmt::format("failed to read configuration from \"{}\": open {}: no such file or directory", a.file, a.file));
  }
  auto nodes = target_nodes(a);
  auto client = client_for(argv0, a);
  int rc = 0;
  for (const auto& node : nodes) {
    json r = client.post("/_sim/talos/apply",
                         {{"node", node}, {"config", config}, {"insecure", a.insecure}, {"dryRun", a.dry_run}});
    rc = std::max(rc, emit(r));
  }
  return rc;
}

// Strategic merge as talosctl does it for multi-document configs, simplified: the v1alpha1 document
// (no `kind`) and documents of the same kind and name merge as maps (lists are replaced where
// Talos would append some of them); other documents are appended.
int machineconfig_patch(const TalosctlArgs& a) {
  auto load = [](const std::string& file) {
    try {
      return parse_yaml_documents(read_text(file));
    } catch (const std::exception& e) {
      throw StageError(fmt::format("failed to load config from \"{}\": {}", file, e.what()));
    }
  };
  std::vector<json> docs = load(a.positional.at(0));
  for (const auto& p : a.patches) {
    std::vector<json> patch;
    if (!p.empty() && p[0] == '@') {
      patch = load(p.substr(1));
    } else {
      try {
        patch = parse_yaml_documents(p);
      } catch (const std::exception& e) {
        throw StageError(fmt::format("failed to parse patch: {}", e.what()));
      }
    }
    for (const auto& d : patch) {
      if (!d.is_object() || d.empty()) continue;
      const std::string kind = d.value("kind", "");
      const std::string name = d.value("name", "");
      json* target = nullptr;
      for (auto& b : docs) {
        if (!b.is_object()) continue;
        if (kind.empty() ? !b.contains("kind") : (b.value("kind", "") == kind && b.value("name", "") == name)) {
          target = &b;
          break;
        }
      }
      if (target != nullptr) deep_merge(*target, d);
      else docs.push_back(d);
    }
  }
  std::string out;
  for (const auto& d : docs) {
    if (!d.is_object() || d.empty()) continue;
    out += (out.empty() ? "" : "---\n") + json_to_yaml(d);
  }
  if (a.output.empty()) {
    std::cout << out;
  } else {
    write_text_atomic(a.output, out, 0600);
  }
  return 0;
}

int bootstrap(const std::string& argv0, const TalosctlArgs& a) {
  auto nodes = target_nodes(a);
  if (nodes.size() != 1) throw StageError("error executing bootstrap: this command supports only one node");
  return emit(client_for(argv0, a).post("/_sim/talos/bootstrap", {{"node", nodes.front()}}));
}

int kubeconfig(const std::string& argv0, const TalosctlArgs& a) {
  if (a.positional.empty())
    throw StageError("fake talosctl (fluxboot-sim): give kubeconfig a path (the real one would merge into ~/.kube/config)");
  auto nodes = target_nodes(a);
  json r = client_for(argv0, a).post("/_sim/talos/kubeconfig", {{"node", nodes.front()}});
  if (r.value("exitCode", 1) != 0) return emit(r);
  const auto& k = r["kubeconfig"];
  KubeconfigParts parts;
  parts.server = k.value("server", "");
  parts.ca_pem = k.value("ca", "");
  parts.client_crt_pem = k.value("crt", "");
  parts.client_key_pem = k.value("key", "");
  std::string cluster = k.value("clusterName", "sim");
  parts.cluster = cluster;
  parts.user = "admin@" + cluster;
  parts.context = a.force_context_name.empty() ? "admin@" + cluster : a.force_context_name;
  json fresh = make_kubeconfig(parts);

  fs::path path = a.positional.front();
  std::error_code ec;
  if (fs::is_directory(path, ec)) path /= "kubeconfig";
  json doc = fresh;
  if (fs::exists(path, ec)) {
    if (a.merge) {
      try {
        doc = parse_yaml(read_text(path));
      } catch (const std::exception& e) {
        throw StageError(fmt::format("error merging kubeconfig: {}: {}", path.string(), e.what()));
      }
      std::string written = merge_kubeconfig(doc, fresh, a.force);
      if (written != parts.context)
        std::cerr << fmt::format("renamed cluster \"{}\" -> \"{}\"\n", parts.context, written);
    } else if (!a.force) {
      throw StageError(fmt::format("kubeconfig file already exists, use --force to overwrite: {}", path.string()));
    }
  }
  if (!path.parent_path().empty()) fs::create_directories(path.parent_path(), ec);
  write_text_atomic(path, json_to_yaml(doc), 0600);
  return 0;
}

int version(const std::string& argv0, const TalosctlArgs& a) {
  if (a.short_output) std::cout << "Client:\nTalos " << kTalosTag << "\n";
  else print_version_block("Client", "");
  if (a.client_only) return 0;
  auto nodes = target_nodes(a);
  auto client = client_for(argv0, a);
  int rc = 0;
  for (const auto& node : nodes) {
    json r = client.post("/_sim/talos/version", {{"node", node}, {"insecure", a.insecure}});
    if (r.value("exitCode", 1) != 0) {
      rc = emit(r);
      continue;
    }
    if (a.short_output) std::cout << "Server:\n\tNODE:        " << node << "\nTalos " << kTalosTag << "\n";
    else print_version_block("Server", node);
  }
  return rc;
}

int config_info(const TalosctlArgs& a) {
  std::string name;
  json ctx = talos_context(a, &name);
  if (!ctx.is_object()) throw StageError(fmt::format("context \"{}\" is not defined", name));
  auto join = [&](const char* key) {
    std::string s;
    for (const auto& v : ctx.value(key, json::array())) s += (s.empty() ? "" : ", ") + v.get<std::string>();
    return s;
  };
  std::cout << fmt::format("Current context:     {}\nNodes:               {}\nEndpoints:           {}\n"
                           "Roles:               os:admin\nCertificate expires: 1 year from now\n",
                           name, join("nodes"), join("endpoints"));
  return 0;
}

}  // namespace

int talosctl_main(const std::string& argv0, const std::vector<std::string>& args) {
  TalosctlArgs a;
  try {
    a = parse_talosctl_args(args);
  } catch (const UsageError& e) {
    std::cerr << "Error: " << e.what() << "\nRun 'talosctl --help' for usage.\n";
    return 1;
  }
  try {
    if (a.command == "help") {
      std::cout << kTalosctlUsage;
      return 0;
    }
    if (a.command == "apply-config") return apply_config(argv0, a);
    if (a.command == "bootstrap") return bootstrap(argv0, a);
    if (a.command == "kubeconfig") return kubeconfig(argv0, a);
    if (a.command == "version") return version(argv0, a);
    if (a.command == "config info") return config_info(a);
    if (a.command == "machineconfig patch") return machineconfig_patch(a);
  } catch (const Error& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
  std::cerr << "Error: unknown command \"" << a.command << "\" for \"talosctl\"\n";
  return 1;
}

}  // namespace fluxboot::sim
