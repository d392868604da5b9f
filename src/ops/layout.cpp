#include "fluxboot/layout.hpp"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <nlohmann/json.hpp>

#include "fluxboot/gitops.hpp"

namespace fluxboot::ops {

namespace {

// Where the node inventory comes from, in load_inventory's order of precedence, and how many
// nodes it lists (or why it cannot be read), without running any tool.
struct InventorySource {
  std::string source;  // "fluxboot.yaml nodes", "talconfig", "templates", "talosconfig", "none"
  std::string file;
  std::string detail;  // "3 nodes (1 control plane)" or the error
  bool ok = false;
};

InventorySource inventory_source(const Session& session) {
  const Config& c = session.config;
  InventorySource s;
  auto present = [&](const char* key) {
    const LayoutItem* i = c.layout_item(key);
    return i != nullptr && i->present;
  };
  if (c.nodes) s = {"fluxboot.yaml nodes", c.file ? c.file->filename().string() : "fluxboot.yaml", "", false};
  else if (present("paths.talconfig")) s = {"talconfig", c.paths.talconfig.generic_string(), "", false};
  else if (auto t = present("paths.talosTemplates") ? gitops::find_machineconfig_templates(c) : std::nullopt)
    s = {"templates", t->nodes_dir.lexically_relative(c.root).generic_string(), "", false};
  else if (!session.options.talosconfig.empty() && std::filesystem::exists(session.options.talosconfig))
    s = {"talosconfig", session.options.talosconfig.string(), "", false};
  else
    return {"none", "", "no node inventory found (fluxboot.yaml nodes:, talconfig.yaml, "
                        "nodes/*.yaml.j2 templates or a talosconfig)", false};
  try {
    auto nodes = gitops::load_inventory(c, session.options.talosconfig);
    size_t cp = 0;
    for (const auto& n : nodes) cp += n.control_plane ? 1 : 0;
    s.detail = fmt::format("{} node{} ({} control plane{})", nodes.size(), nodes.size() == 1 ? "" : "s",
                           cp, cp == 1 ? "" : "s");
    s.ok = true;
  } catch (const Error& e) {
    s.detail = e.what();
  }
  return s;
}

}  // namespace

int run_layout(Session& session, const LayoutOptions& options, std::FILE* out) {
  const Config& c = session.config;
  int missing = 0;
  for (const auto& i : c.layout) missing += (gitops::layout_item_required(c, i) && !i.present) ? 1 : 0;
  const InventorySource inv = inventory_source(session);
  // The inventory is only needed by the talos..wait stages; an unreadable one is reported but
  // not counted unless it is missing altogether (every bootstrap needs nodes).
  if (inv.source == "none") ++missing;

  if (options.output == "json") {
    nlohmann::json items = nlohmann::json::array();
    for (const auto& i : c.layout)
      items.push_back({{"key", i.key},
                       {"value", i.value.empty() ? nlohmann::json(nullptr) : nlohmann::json(i.value)},
                       {"origin", i.origin},
                       {"present", i.present},
                       {"lookedFor", i.looked_for}});
    nlohmann::json doc = {{"root", c.root.string()},
                          {"config", c.file ? nlohmann::json(c.file->string()) : nlohmann::json(nullptr)},
                          {"items", items},
                          {"cluster", c.cluster.empty() ? nlohmann::json(nullptr) : nlohmann::json(c.cluster)},
                          {"clusters", c.clusters},
                          {"inventory", {{"source", inv.source},
                                         {"file", inv.file.empty() ? nlohmann::json(nullptr) : nlohmann::json(inv.file)},
                                         {"detail", inv.detail},
                                         {"ok", inv.ok}}},
                          {"missing", missing}};
    fmt::print(out, "{}\n", doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
    return missing == 0 ? 0 : static_cast<int>(ExitCode::InvalidInput);
  }

  fmt::print(out, "repository  {}\n", c.root.string());
  fmt::print(out, "settings    {}\n\n", c.file ? c.file->filename().string() : "none (fluxboot.yaml absent: all detected)");
  for (const auto& i : c.layout) {
    std::string mark = !gitops::layout_item_required(c, i) ? "-" : i.present ? "✓" : "✗";
    std::string value = i.value.empty() ? (i.key == "cluster" ? (i.present ? "(one cluster)" : "(not chosen)") : "(none)") : i.value;
    fmt::print(out, "{} {:<28} {:<48} {}\n", mark, i.key, value, i.origin);
    const std::string looked = gitops::layout_candidates(c, i.key);
    const bool inventory_item = i.key == "paths.talconfig" || i.key == "paths.clusterconfig" ||
                                i.key == "paths.talosTemplates";
    if (i.key == "cluster" && c.clusters.size() > 1 && i.present)
      fmt::print(out, "    one of {} ({}); --cluster NAME picks another\n", c.clusters.size(), fmt::join(c.clusters, ", "));
    if (i.present) continue;
    if (i.key == "cluster" && i.value.empty())
      fmt::print(out, "    this repository holds {} clusters ({}): choose one with --cluster NAME or `cluster:` in "
                      "fluxboot.yaml\n", c.clusters.size(), fmt::join(c.clusters, ", "));
    else if (i.key == "cluster")
      fmt::print(out, "    not in this repository (looked for {}); it holds {}\n", looked,
                 c.clusters.empty() ? std::string("no per-cluster directories") : fmt::format("{}", fmt::join(c.clusters, ", ")));
    else if (inventory_item)
      fmt::print(out, "    not found (looked for {}): one node-inventory source among several, see nodes below\n", looked);
    else if (i.key == "paths.talosconfig")
      fmt::print(out, "    not there yet (looked for {}): --talosconfig or TALOSCONFIG point elsewhere; "
                      "talosctl gen config or talhelper genconfig writes it\n", looked);
    else if (i.key == "paths.resources" && !gitops::layout_item_required(c, i)) {
      const LayoutItem* t = c.layout_item("paths.resourcesTemplate");
      if (t != nullptr && t->present) fmt::print(out, "    not used: the resources come from the template\n");
    }
    else if (i.key == "paths.resourcesTemplate" && !gitops::layout_item_required(c, i))
      fmt::print(out, "    not used: the resources come from paths.resources\n");
    else if (i.key == "paths.resourcesTemplate")
      fmt::print(out, "    missing; looked for a template ({}) and for a kustomization or *.sops.yaml files ({}); "
                      "set paths.resourcesTemplate or paths.resources in fluxboot.yaml\n",
                 looked, gitops::layout_candidates(c, "paths.resources"));
    else if (!i.value.empty())
      fmt::print(out, "    missing; looked for {}; set {} in fluxboot.yaml\n", looked, i.key);
    else
      fmt::print(out, "    not in this repository (looked for {}): the stage that reads it has nothing to do\n", looked);
  }
  fmt::print(out, "{} {:<28} {:<48} {}\n", inv.ok ? "✓" : "✗", "nodes", inv.file.empty() ? "(none)" : inv.file,
             inv.source);
  fmt::print(out, "    {}\n", inv.detail);
  if (missing > 0)
    fmt::print(out, "\n{} item{} not found\n", missing, missing == 1 ? "" : "s");
  return missing == 0 ? 0 : static_cast<int>(ExitCode::InvalidInput);
}

namespace {

// A YAML scalar that needs no quoting for the paths detection produces; quoted otherwise.
std::string yaml_scalar(const std::string& s) {
  if (!s.empty() && s.find_first_of(":#{}[],&*!|>'\"%@`") == std::string::npos && s.front() != ' ' &&
      s.back() != ' ' && s.front() != '-' && s.front() != '?')
    return s;
  std::string q = "\"";
  for (char ch : s) q += (ch == '"' || ch == '\\') ? std::string("\\") + ch : std::string(1, ch);
  return q + "\"";
}

std::string init_text(const Session& session) {
  const Config& c = session.config;
  std::string t =
      "# fluxboot.yaml, written by `fluxboot init`: the layout fluxboot detected in this repository,\n"
      "# pinned so that it no longer depends on detection. Every key is documented in\n"
      "# docs/configuration.md; `fluxboot layout` shows what is used and where it came from.\n"
      "paths:\n";
  const Paths defaults;
  // Per-cluster items (talos/<cluster>, kubernetes/clusters/<cluster>/...) are not pinned in a
  // repository of several clusters: --cluster picks them per run.
  auto per_cluster = [&](const std::string& v) {
    if (c.cluster.empty() || c.clusters.size() < 2) return false;
    const std::string mid = "/" + c.cluster + "/";
    return ("/" + v + "/").find(mid) != std::string::npos;
  };
  std::string head;
  for (const auto& i : c.layout) {
    if (i.key == "cluster") {
      if (c.clusters.size() > 1)
        head += fmt::format("# cluster: {}   # one of {}; --cluster NAME picks one per run\n",
                            c.cluster.empty() ? c.clusters.front() : c.cluster, fmt::join(c.clusters, ", "));
      continue;
    }
    const std::string key = i.key.substr(std::string("paths.").size());
    if (per_cluster(i.value) && i.origin != "fluxboot.yaml") {
      t += fmt::format("  # {}: {}  # detected for cluster {}: left to --cluster\n", key, yaml_scalar(i.value), c.cluster);
      continue;
    }
    // The default lookup keeps its helm-release.yaml fallback only while it is not pinned.
    if (i.key == "paths.helmrelease" && i.value == defaults.helmrelease && i.origin != "fluxboot.yaml") {
      t += fmt::format("  # {}: {}  # (the default; helm-release.yaml is tried where helmrelease.yaml is missing)\n",
                       key, yaml_scalar(i.value));
      continue;
    }
    std::string origin = i.origin == "detected" ? "detected" : i.origin == "fluxboot.yaml" ? "from fluxboot.yaml" : "default";
    if (i.looked_for.size() > 1) origin += "; looked for " + gitops::layout_candidates(c, i.key);
    if (i.value.empty()) {
      t += fmt::format("  # {}: (none: not in this repository; {})\n", key, origin);
    } else if (!i.present) {
      t += fmt::format("  # {}: {}  # not found ({})\n", key, yaml_scalar(i.value), origin);
    } else {
      t += fmt::format("  # {}\n  {}: {}\n", origin, key, yaml_scalar(i.value));
    }
  }
  t.insert(t.find("paths:\n"), head);
  t += fmt::format("  # ageKey: {}\n  # kubeconfig: {}\n", yaml_scalar(c.paths.age_key.generic_string()),
                   yaml_scalar(c.paths.kubeconfig.generic_string()));
  t += "# tools:             # executables (names on PATH, or paths)\n"
       "#   talosctl: talosctl\n#   kubectl: kubectl\n#   helmfile: helmfile\n#   helm: helm\n"
       "#   sops: sops\n#   op: op\n"
       "# talos:\n#   parallelism: 16\n"
       "# timeouts:          # per stage, e.g.\n#   apps: 20m\n"
       "# flux:\n#   namespace: flux-system\n#   instance: flux\n";
  return t;
}

}  // namespace

int run_init(Session& session, const InitOptions& options, std::FILE* out) {
  const std::string text = init_text(session);
  if (options.to_stdout) {
    fmt::print(out, "{}", text);
    return 0;
  }
  const std::filesystem::path file = session.config.root / "fluxboot.yaml";
  std::error_code ec;
  if (std::filesystem::exists(file, ec) && !options.force)
    throw InputError(fmt::format("{} exists; `fluxboot init --force` replaces it, `fluxboot init --stdout` "
                                 "prints what it would write", file.string()));
  const std::filesystem::path tmp = session.config.root / ".fluxboot.yaml.init-tmp";
  {
    std::FILE* f = std::fopen(tmp.c_str(), "wx");
    if (f == nullptr) throw StageError(fmt::format("cannot write {}", tmp.string()));
    std::fputs(text.c_str(), f);
    std::fclose(f);
  }
  // Read back with the real loader before it replaces anything: init must never write a file
  // the other commands reject.
  try {
    std::filesystem::path check = session.config.root / ".fluxboot-init-check";
    std::filesystem::create_directories(check);
    std::filesystem::copy_file(tmp, check / "fluxboot.yaml", std::filesystem::copy_options::overwrite_existing);
    (void)gitops::load_config(check);
    std::filesystem::remove_all(check);
  } catch (const Error& e) {
    std::filesystem::remove(tmp, ec);
    std::filesystem::remove_all(session.config.root / ".fluxboot-init-check", ec);
    throw StageError(std::string("internal error: the fluxboot.yaml init wrote does not load: ") + e.what());
  }
  std::filesystem::rename(tmp, file);
  fmt::print(out, "wrote {} ({} layout items pinned); `fluxboot layout` shows them\n", file.string(),
             std::count_if(session.config.layout.begin(), session.config.layout.end(),
                           [](const LayoutItem& i) { return i.present; }));
  return 0;
}

}  // namespace fluxboot::ops
