// What each stage reads, hashed, so that `all --resume` knows when a stage's earlier success no
// longer counts. The rule: a stage's inputs are the local files and settings that decide what it
// does to the cluster — never a file the stage itself writes (the kubeconfig stage's output would
// otherwise always look changed). docs/operator-guide.md lists them per stage.
#include <algorithm>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "fluxboot/gitops.hpp"
#include "fluxboot/journal.hpp"
#include "fluxboot/values.hpp"
#include "fluxboot/sha256.hpp"

namespace fluxboot::ops {

namespace fs = std::filesystem;

namespace {

class InputHasher {
 public:
  explicit InputHasher(const Config& config, fs::path never = {}) : config_(config), never_(std::move(never)) {
    h_.update("fluxboot-stage-inputs-v1\n");
  }

  void setting(const std::string& name, const std::string& value) {
    add("setting " + name, value);
  }

  // A file's content (or "missing"), named relative to the root when it is inside it.
  void file(const fs::path& path) {
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) {
      add("file " + rel(path), "<missing>");
      return;
    }
    add("file " + rel(path), slurp(path));
  }

  // Every regular file below `dir`, sorted, except fluxboot's own transient files and hidden
  // directories. `exclude` names top-level entries to leave out.
  void tree(const fs::path& dir, const std::set<fs::path>& exclude = {}) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
      add("dir " + rel(dir), "<missing>");
      return;
    }
    std::vector<fs::path> files;
    fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
      const auto& p = it->path();
      std::string name = p.filename().string();
      bool hidden = !name.empty() && name[0] == '.';
      if (transient(name) || (hidden && it->is_directory(ec))) {
        if (it->is_directory(ec)) it.disable_recursion_pending();
        continue;
      }
      if (it.depth() == 0 && exclude.count(p)) {
        if (it->is_directory(ec)) it.disable_recursion_pending();
        continue;
      }
      if (it->is_regular_file(ec) && p != never_) files.push_back(p);
    }
    std::sort(files.begin(), files.end());
    h_.update("dir " + rel(dir) + "\n");
    for (const auto& f : files) add_quiet(rel(f), slurp(f));
    items_.push_back(fmt::format("dir {} ({} files)", rel(dir), files.size()));
  }

  void add(const std::string& item, const std::string& content) {
    add_quiet(item, content);
    items_.push_back(item);
  }

  StageInputs done() {
    StageInputs in;
    in.items = std::move(items_);
    in.hash = "sha256:" + h_.hex();
    return in;
  }

 private:
  static bool transient(const std::string& name) {
    return name.find(".fluxboot-") != std::string::npos || name.rfind(".fluxboot", 0) == 0;
  }
  std::string rel(const fs::path& p) const {
    auto r = p.lexically_relative(config_.root);
    if (r.empty() || r.string().rfind("..", 0) == 0) return p.string();
    return r.string();
  }
  static std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  // Length-prefixed, so that no two different input lists hash alike.
  void add_quiet(const std::string& item, const std::string& content) {
    h_.update(fmt::format("{}:{}\n{}:", item.size(), item, content.size()));
    h_.update(content);
  }

  const Config& config_;
  fs::path never_;  // a file fluxboot writes (the kubeconfig): never an input of a tree
  Sha256 h_;
  std::vector<std::string> items_;
};

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Which cluster the kubeconfig points at: its server URLs (the credentials change on every fetch,
// the servers do not).
std::string kubeconfig_servers(const fs::path& kubeconfig) {
  std::error_code ec;
  if (!fs::is_regular_file(kubeconfig, ec)) return "<missing>";
  std::string text = read_text(kubeconfig);
  try {
    auto doc = values::parse_yaml(text, values::Dialect::GoYamlV3, kubeconfig.string());
    std::string servers;
    if (doc.is_object() && doc.contains("clusters") && doc["clusters"].is_array())
      for (const auto& c : doc["clusters"])
        if (c.is_object() && c.contains("cluster") && c["cluster"].is_object())
          servers += c["cluster"].value("server", "") + "\n";
    return servers;
  } catch (const std::exception&) {
    return "<unparseable:" + sha256_hex(text) + ">";
  }
}

void inventory(InputHasher& h, Context& ctx, bool controller_only) {
  try {
    const auto& nodes = ctx.inventory();
    for (const auto& n : nodes) {
      if (controller_only && !n.control_plane) continue;
      h.setting("node", fmt::format("{} {} {}", n.hostname, n.address, n.control_plane ? "control-plane" : "worker"));
      if (!controller_only) h.file(n.config_file);
      if (controller_only) break;
    }
  } catch (const std::exception& e) {
    h.add("inventory", std::string("<error: ") + e.what() + ">");
  }
}

void cluster_target(InputHasher& h, Context& ctx) {
  h.setting("kubeconfig", ctx.options.kubeconfig.string());
  h.add("kubeconfig servers", kubeconfig_servers(ctx.options.kubeconfig));
}

void helmfile_inputs(InputHasher& h, Context& ctx, const fs::path& state_rel) {
  const Config& c = ctx.config;
  fs::path state = c.abs(state_rel);
  h.file(state);
  // The state's directory holds values files and templates it refers to; its other top-level
  // state files belong to the other helmfile stage.
  std::set<fs::path> others;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(state.parent_path(), ec))
    if (e.is_regular_file(ec)) others.insert(e.path());
  h.tree(state.parent_path(), others);
  // Values come from the GitOps manifests: the HelmReleases, their OCIRepositories, valuesFrom
  // ConfigMaps and Secrets and the ${VAR} sources anywhere in the tree around kubernetes/apps.
  fs::path manifests = c.abs(c.paths.apps).parent_path();
  if (manifests == c.root) manifests = c.abs(c.paths.apps);  // never hash the whole repository
  h.tree(manifests);
  fs::path ks = c.abs(c.paths.cluster_kustomization);
  if (ks.lexically_relative(manifests).string().rfind("..", 0) == 0) h.file(ks);
  h.setting("strict", ctx.options.strict ? "true" : "false");
}

// ENV names a minijinja template refers to: ENV.NAME and ENV["NAME"].
std::set<std::string> env_names(const std::string& text) {
  static const std::regex dotted(R"(ENV\s*\.\s*([A-Za-z_][A-Za-z0-9_]*))");
  static const std::regex indexed(R"(ENV\s*\[\s*["']([^"']+)["']\s*\])");
  std::set<std::string> names;
  for (const auto* re : {&dotted, &indexed})
    for (std::sregex_iterator it(text.begin(), text.end(), *re), end; it != end; ++it) names.insert((*it)[1].str());
  return names;
}

}  // namespace

StageInputs stage_inputs(Context& ctx, std::string_view stage) {
  const Config& c = ctx.config;
  InputHasher h(c, ctx.options.kubeconfig);
  h.setting("stage", std::string(stage));
  if (stage == "talos") {
    inventory(h, ctx, false);
  } else if (stage == "k8s") {
    inventory(h, ctx, true);
    h.file(ctx.options.talosconfig);
  } else if (stage == "kubeconfig") {
    inventory(h, ctx, true);
    h.file(ctx.options.talosconfig);
    h.setting("kubeconfig", ctx.options.kubeconfig.string());
    h.setting("kubeContextName", c.kube_context_name);
  } else if (stage == "wait") {
    try {
      for (const auto& n : ctx.inventory()) h.setting("node", n.hostname + " " + n.address);
    } catch (const std::exception& e) {
      h.add("inventory", std::string("<error: ") + e.what() + ">");
    }
    cluster_target(h, ctx);
  } else if (stage == "namespaces") {
    try {
      for (const auto& ns : gitops::collect_namespaces(c)) h.add("namespace " + ns.name, ns.json);
    } catch (const std::exception& e) {
      h.add("namespaces", std::string("<error: ") + e.what() + ">");
    }
    h.setting("fieldManager", c.field_manager);
    cluster_target(h, ctx);
  } else if (stage == "resources") {
    fs::path tmpl = c.abs(c.paths.resources_template);
    h.file(tmpl);
    // The values enter the hash, never the journal: it stores only the digest.
    for (const auto& name : env_names(read_text(tmpl))) {
      auto it = ctx.options.env.find(name);
      h.add("env " + name, it == ctx.options.env.end() ? "<unset>" : "=" + it->second);
    }
    h.file(gitops::age_key(c, ctx.options.env).path);
    h.setting("fluxNamespace", c.flux_namespace);
    h.setting("fieldManager", c.field_manager);
    cluster_target(h, ctx);
  } else if (stage == "crds") {
    if (c.paths.crds_helmfile.empty()) h.setting("crdsHelmfile", "none");
    else helmfile_inputs(h, ctx, c.paths.crds_helmfile);
    h.setting("fieldManager", c.field_manager);
    cluster_target(h, ctx);
  } else if (stage == "apps") {
    helmfile_inputs(h, ctx, c.paths.apps_helmfile);
    h.setting("flux", c.flux_namespace + "/" + c.flux_instance + " " + c.flux_operator_selector);
    cluster_target(h, ctx);
  }
  return h.done();
}

ResumePoint resume_point(Context& ctx, const JournalState& state, const std::vector<Stage*>& stages) {
  for (const auto* st : stages) {
    std::string name(st->name());
    auto it = state.stages.find(name);
    if (it == state.stages.end()) return {name, "it has never run"};
    const StageRecord& r = it->second;
    std::string when = r.finished.empty() ? r.started : r.finished;
    if (r.outcome != "ok") {
      std::string outcome = r.outcome == "running" ? "did not finish" : r.outcome;
      return {name, fmt::format("its last attempt {} (run {}, {})", outcome, r.run, when)};
    }
    if (stage_inputs(ctx, name).hash != r.inputs_hash)
      return {name, fmt::format("its inputs changed since it succeeded (run {}, {})", r.run, when)};
  }
  return {};
}

}  // namespace fluxboot::ops
