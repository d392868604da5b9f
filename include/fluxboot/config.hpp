#pragma once
// fluxboot.yaml (optional, at the repository root) and the repository layout it overrides.
// Every key is documented in docs/configuration.md; unknown keys are errors.
#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace fluxboot {

struct NodeSpec {
  std::string hostname;                 // may be empty when only an address is known
  std::string address;                  // IPv4/IPv6 literal or DNS hostname
  bool control_plane = false;
  std::filesystem::path config_file;    // absolute path of the Talos machine config
  // Machine config as minijinja templates instead of one file (talos/machineconfig.yaml.j2 +
  // talos/nodes/<node>.yaml.j2): absolute paths, the base first, then the patches in order. The
  // talos stage renders each, runs `op inject` when they hold op:// references, merges them with
  // `talosctl machineconfig patch` and applies the result. Empty for file-based nodes.
  std::vector<std::filesystem::path> config_templates;
  // Where the node was declared, for messages: "fluxboot.yaml:14", "talos/talconfig.yaml:22",
  // "talos/clusterconfig/talosconfig". In a Config read from fluxboot.yaml, config_file is empty
  // when the node has no `configFile` (load_inventory derives it).
  std::string origin;
};

// Relative paths are relative to the repository root; Config::abs() resolves them.
struct Paths {
  std::filesystem::path apps = "kubernetes/apps";
  std::filesystem::path talconfig = "talos/talconfig.yaml";
  // Directory of minijinja machine-config templates: machineconfig.yaml.j2 (or cluster.yaml.j2),
  // optional controlplane.yaml.j2 / worker.yaml.j2, and nodes/[<role>/]<node>.yaml.j2.
  std::filesystem::path talos_templates = "talos";
  std::filesystem::path clusterconfig = "talos/clusterconfig";
  std::filesystem::path resources_template = "bootstrap/resources.yaml.j2";
  // Used when resources_template does not exist: a kustomization directory (built with
  // `kubectl kustomize`, then `op inject` when it holds op:// references), a directory of such
  // directories, or a directory of *.sops.yaml files (each `sops decrypt`ed). Empty: none.
  std::filesystem::path resources;
  std::filesystem::path crds_helmfile = "bootstrap/helmfile.d/00-crds.yaml";
  std::filesystem::path apps_helmfile = "bootstrap/helmfile.d/01-apps.yaml";
  std::filesystem::path cluster_kustomization = "kubernetes/flux/cluster/ks.yaml";
  std::filesystem::path age_key = "age.key";
  // {namespace} and {name} are replaced; the values reader's entry point.
  std::string helmrelease = "kubernetes/apps/{namespace}/{name}/app/helmrelease.yaml";
  // Per-release exceptions to `helmrelease`, read from the lookup gotmpl's own override map
  // (`dict "network/envoy-gateway" "../../kubernetes/apps/.../app/helmrelease.yaml"`):
  // "<namespace>/<name>" → path relative to the root.
  std::map<std::string, std::string> helmrelease_overrides;
  std::filesystem::path kubeconfig = "kubeconfig";
  std::filesystem::path talosconfig = "talos/clusterconfig/talosconfig";
};

struct Tools {
  std::string talosctl = "talosctl";
  std::string kubectl = "kubectl";
  std::string helmfile = "helmfile";
  std::string helm = "helm";
  std::string sops = "sops";
  std::string op = "op";       // 1Password CLI: `op inject` for op:// references
};

// Where one layout item came from: "fluxboot.yaml" (set there), "detected" (found on disk by
// gitops::detect_layout), or "default" (nothing found; the built-in default path is kept).
struct LayoutItem {
  std::string key;         // the fluxboot.yaml key that sets it, e.g. "paths.appsHelmfile"
  std::string origin;      // "fluxboot.yaml" | "detected" | "default"
  std::string value;       // the path (relative to the root), empty when not present
  bool present = false;    // the file or directory exists
  std::vector<std::string> looked_for;  // candidates tried, in order (detected/default only)
};

struct Config {
  std::filesystem::path root;                     // absolute repository root
  std::optional<std::filesystem::path> file;      // fluxboot.yaml when one was read
  Paths paths;
  // paths.* keys given in fluxboot.yaml (those are never replaced by detection).
  std::vector<std::string> explicit_paths;
  // The detected layout, one entry per item, in a stable order (`fluxboot layout` prints it).
  std::vector<LayoutItem> layout;
  bool path_is_explicit(const std::string& key) const {
    for (const auto& k : explicit_paths)
      if (k == key) return true;
    return false;
  }
  const LayoutItem* layout_item(const std::string& key) const {
    for (const auto& i : layout)
      if (i.key == key) return &i;
    return nullptr;
  }
  Tools tools;
  // Multi-cluster repositories (kubernetes/clusters/<name>/, talos/<name>/): the cluster this run is
  // for, from --cluster or `cluster:` in fluxboot.yaml, or the only one there is. Empty in a
  // single-cluster layout. docs/layouts.md "Several clusters in one repository".
  std::string cluster;
  std::string cluster_origin;                     // "--cluster" | "fluxboot.yaml" | "detected" | ""
  std::vector<std::string> clusters;              // every cluster the repository holds, sorted
  // Environment variables the helmfile templates read for the cluster (`requiredEnv "CLUSTER"`):
  // set to `cluster` for helmfile when the user's environment does not set them.
  std::vector<std::string> cluster_env;
  // The other clusters' own directories (absolute): the values reader does not look inside them,
  // so a ConfigMap of another cluster never feeds this one's substitutions.
  std::vector<std::filesystem::path> foreign_dirs;
  bool kube_context_is_explicit = false;
  // Starts with "kubectl" on purpose: Flux's kustomize-controller takes over (on its first
// reconcile) the fields of managers whose name starts with "kubectl" and whose operation is
// Apply (fluxcd/pkg/ssa cleanup, "undo changes made with kubectl apply --server-side"). Under any
// other name fluxboot would co-own those fields forever, and a label later removed in Git would
// stay on the object. docs/configuration.md.
  std::string field_manager = "kubectl-fluxboot";
  std::string kube_context_name = "main";         // --force-context-name for `talosctl kubeconfig`
  int talos_parallelism = 16;                     // concurrent apply-config calls (all nodes of a home lab at once)
  std::map<std::string, std::chrono::milliseconds> stage_timeouts;  // stage name → deadline
  std::optional<std::vector<NodeSpec>> nodes;     // explicit inventory (fluxboot.yaml `nodes:`)
  std::string flux_namespace = "flux-system";
  std::string flux_instance = "flux";             // FluxInstance name waited on by apps
  // Label selector of the Flux Operator pods (the chart labels them app.kubernetes.io/name).
  std::string flux_operator_selector = "app.kubernetes.io/name=flux-operator";

  std::filesystem::path abs(const std::filesystem::path& p) const {
    return p.is_absolute() ? p : root / p;
  }
  // Configured deadline of a stage, or `fallback`.
  std::chrono::milliseconds timeout_for(const std::string& stage,
                                        std::chrono::milliseconds fallback) const {
    auto it = stage_timeouts.find(stage);
    return it == stage_timeouts.end() ? fallback : it->second;
  }
};

}  // namespace fluxboot
