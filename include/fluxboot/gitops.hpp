#pragma once
// Reading the GitOps repository. yaml-cpp is confined to src/gitops/; everything here returns
// plain structs. Every error is an InputError naming the file (and line where there is one).
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "fluxboot/config.hpp"
#include "fluxboot/error.hpp"

namespace fluxboot::gitops {

// Reads <root>/fluxboot.yaml if present (defaults otherwise). Unknown keys, wrong types and bad
// durations are all reported together (InputError). `cluster` (--cluster) picks one cluster of a
// multi-cluster repository and wins over `cluster:` in fluxboot.yaml.
Config load_config(const std::filesystem::path& root, const std::string& cluster = {});
// A cluster name as it can appear as a directory: [A-Za-z0-9._-]+, not "." or "..".
bool is_cluster_name(const std::string& name);

// Finds the repository's layout on disk for every path fluxboot.yaml does not set: the bootstrap
// helmfiles (helmfile.d/00-crds + 01-apps, helmfile/crds + apps, a single helmfile.yaml, each as
// .yaml or .yaml.gotmpl, under bootstrap/ or kubernetes/bootstrap/), the resources template and
// talhelper's talconfig.yaml (+ its clusterconfig/). Fills config.paths and config.layout; never
// throws and never runs a tool. Called by load_config; docs/layouts.md lists every candidate.
void detect_layout(Config& config);
// "a, b or c": the candidates detection tried for `key` (for "not found" messages).
std::string layout_candidates(const Config& config, const std::string& key);
// Whether a missing `item` is a finding (`fluxboot layout`, doctor): the node-inventory sources and
// the talosconfig are alternatives, so are the two resources sources; a CRD helmfile detected as
// absent is absent by design.
bool layout_item_required(const Config& config, const LayoutItem& item);

// Node inventory, in this order of precedence: config.nodes, talos/talconfig.yaml (talhelper),
// the talosconfig's current context (nodes, else endpoints). Validates that every address is an
// IP or hostname and that every node has a machine config file; reports all problems at once.
// talconfig nodes use <clusterconfig>/<clusterName>-<hostname>.yaml; talosconfig nodes (no
// hostname) use the one file named <address>.yaml or *-<address>.yaml, and are control planes
// when they are also endpoints (else the first node is). docs/configuration.md has the details.
std::vector<NodeSpec> load_inventory(const Config& config,
                                     const std::filesystem::path& talosconfig);
// Machine-config templates under paths.talosTemplates (minijinja, rendered by the talos stage).
struct MachineConfigTemplates {
  std::filesystem::path dir;            // absolute
  std::filesystem::path base;           // machineconfig.yaml.j2 or cluster.yaml.j2
  std::filesystem::path controlplane;   // controlplane.yaml.j2, empty when absent
  std::filesystem::path worker;         // worker.yaml.j2 or workers.yaml.j2, empty when absent
  std::filesystem::path nodes_dir;      // <dir>/nodes
  struct Node {
    std::string name;                   // the patch's file name without .yaml.j2
    std::filesystem::path patch;
    bool control_plane = false;
  };
  std::vector<Node> nodes;              // sorted by name
};
// nullopt unless <talosTemplates>/nodes/ holds at least one *.yaml.j2 and a base template exists.
// Never throws; never renders (roles are read from the <role>/ directory or the patch's text).
std::optional<MachineConfigTemplates> find_machineconfig_templates(const Config& config);

// The environment a node's machine-config templates are rendered with: `env` plus what the
// recipes export per node, IS_CONTROLPLANE=true for a control plane and MACHINE_TYPE
// (controlplane | worker). The talos stage and doctor both render through this.
std::map<std::string, std::string> node_template_env(std::map<std::string, std::string> env,
                                                     const NodeSpec& node);

// Cluster name from talconfig.yaml clusterName (empty when unknown).
std::string cluster_name(const Config& config);

bool is_dns1123_label(const std::string& name);
bool is_valid_host(const std::string& address);   // IPv4, IPv6 or RFC 1123 hostname
bool is_ip_address(const std::string& address);   // IPv4 or IPv6 literal

// One Namespace per directory under paths.apps, sorted by name: from <dir>/namespace.yaml's
// `kind: Namespace` document when present (labels/annotations kept), else a bare Namespace.
struct NamespaceManifest {
  std::string name;
  std::string json;   // one JSON object: apiVersion v1, kind Namespace, metadata{name,labels,annotations}
  bool from_file = false;
};
std::vector<NamespaceManifest> collect_namespaces(const Config& config);

// A multi-document YAML stream split into documents, keeping each document's original text.
struct YamlDocument {
  std::string text;       // original text of the document, without the '---' separator
  std::string kind;       // top-level `kind`, empty when absent
  std::string api_version;
  std::string name;       // metadata.name
  std::string ns;         // metadata.namespace
  int line = 1;           // 1-based line where the document starts in the stream
};
// Splits at `---` / `...` markers in column 0 (an indented `---` in a block scalar is content).
// Throws InputError naming `source` and the line on malformed YAML. Empty documents are dropped.
std::vector<YamlDocument> split_documents(const std::string& stream, const std::string& source);

// Renders bootstrap/resources.yaml.j2 (the minijinja subset: {{ ENV.X }}, filters default,
// indent, b64encode, trim; for over literal lists; if/else; comments; trim/lstrip blocks).
// `env` supplies ENV. An unset variable without default throws InputError naming the variable,
// `source` and the line. Only InputError escapes; nesting, steps and output size are bounded.
// `undefined` (inspection only, e.g. doctor reading a machine config's cluster settings): an
// undefined variable printed by {{ }} renders as "fluxboot-undefined" and is listed there ("ENV.X (file:line)")
// instead of throwing.
// `vars`: top-level variables (what `minijinja-cli -D name=value` defines), e.g. `schematic`.
std::string render_template(const std::string& text, const std::map<std::string, std::string>& env,
                            const std::string& source, std::vector<std::string>* undefined = nullptr,
                            const std::map<std::string, std::string>* vars = nullptr);

// What recipes compute before rendering a node's machine-config templates (docs/layouts.md,
// "Variables the recipes compute"): `schematic` and ENV.SCHEMATIC, the Image Factory ID of the
// node's schematic (<templates>/nodes/*/<node>.schematic.yaml[.j2], <role>/schematic.yaml[.j2],
// <templates>/schematic.yaml[.j2]), computed offline exactly as the factory does; each scalar of
// <templates>/version.yaml as a variable and as ENV.<KEY>. The environment wins over both.
struct TemplateVars {
  std::map<std::string, std::string> env;    // the node's environment plus the computed ENV entries
  std::map<std::string, std::string> vars;   // top-level variables
  std::vector<std::string> sources;          // files the variables came from, for messages
  std::string schematic_file;                // the schematic used (relative), empty when none
  std::string problem;                       // why the schematic ID could not be computed
};
TemplateVars machineconfig_template_vars(const Config& config, const NodeSpec& node,
                                         const std::map<std::string, std::string>& env);
// The Image Factory ID of a schematic (its YAML text): lower-case hex SHA-256 of its canonical
// form. InputError naming `source` and the line for a field the factory would refuse, or a value
// whose canonical quoting fluxboot does not reproduce.
// The environment variables the repository's minijinja templates read (`ENV.X`, `ENV["X"]`): every
// *.j2 file under the root (not .git; at most 2,000 files of 1 MiB). Names only, never values.
std::set<std::string> template_env_names(const std::filesystem::path& root);

std::string image_factory_schematic_id(const std::string& text, const std::string& source);

// Secret values found in a rendered manifest stream (Secret data/stringData values, decoded
// and encoded), for the Redactor.
std::vector<std::string> secret_values(const std::vector<YamlDocument>& docs);

}  // namespace fluxboot::gitops

#include "fluxboot/process.hpp"

namespace fluxboot::gitops {

// The age identity sops and the sops-age Secret use: $SOPS_AGE_KEY_FILE when set and non-empty,
// else paths.ageKey. The one place this rule is written.
struct AgeKey {
  std::filesystem::path path;   // absolute
  bool from_env = false;        // true: from SOPS_AGE_KEY_FILE
};
AgeKey age_key(const Config& config, const std::map<std::string, std::string>& env);

// `sops decrypt FILE`, read-only, its output secret; SOPS_AGE_KEY_FILE is pinned to age_key()
// when that file exists (sops itself would otherwise look only in ~/.config/sops/age).
// The one place the sops invocation is written.
process::Command sops_decrypt_command(const std::string& sops, const std::filesystem::path& file,
                                      const Config& config,
                                      const std::map<std::string, std::string>& env);

// Where the bootstrap resources come from (docs/layouts.md "Bootstrap resources").
struct ResourcesSource {
  enum class Kind { None, Template, Kustomize, Sops } kind = Kind::None;
  std::filesystem::path path;                 // the template, the directory (absolute)
  std::vector<std::filesystem::path> items;   // Kustomize: directories to build, in order;
                                              // Sops: the *.sops.yaml files, sorted
  std::string describe() const;               // "kustomize bootstrap/resources" etc. (relative)
  std::filesystem::path root;                 // for describe()
};
// paths.resourcesTemplate when that file exists, else paths.resources (a kustomization
// directory, a directory of kustomization directories, or a directory of *.sops.yaml files).
ResourcesSource resources_source(const Config& config);

}  // namespace fluxboot::gitops
