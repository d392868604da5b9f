#pragma once
// The HelmRelease value reader: the values, chart and version Flux would give Helm for a release
// of the GitOps repository, and the hand-off of those values to helmfile (crds and apps stages).
// Replaces bootstrap/helmfile.d/templates/values.yaml.gotmpl; docs/values.md states every rule.
// yaml-cpp is confined to src/values (and src/gitops); everything here is plain structs and JSON.
// Every error about repository content is an InputError naming the file (and line when known).
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fluxboot/config.hpp"
#include "fluxboot/error.hpp"

namespace fluxboot::values {

struct Options {
  // --strict: a ${VAR} without default whose variable is not defined is an error (Flux's
  // StrictPostBuildSubstitutions) instead of an empty string plus a warning.
  bool strict = false;
  // Returns the plaintext of a sops-encrypted file (`sops decrypt <file>`); throws on failure.
  // Unset: meeting an encrypted file that is actually needed is an InputError.
  std::function<std::string(const std::filesystem::path&)> decrypt;
  // Reader: called once per distinct warning as it is found (the same text is also returned in
  // ComputedValues::warnings). derive_helmfile does not call it: its warnings are in
  // Handoff::warnings(), each once.
  std::function<void(const std::string&)> warn;
};

// A release, as helmfile and the kubernetes/apps/<ns>/<name> layout name it.
struct ReleaseRef {
  std::string ns;
  std::string name;
  std::string str() const { return ns + "/" + name; }
  // "<namespace>/<name>"; throws InputError on anything else.
  static ReleaseRef parse(std::string_view text);
  friend bool operator==(const ReleaseRef&, const ReleaseRef&) = default;
};

struct Chart {
  std::string url;      // oci://registry/repo/chart, or a HelmRepository's https URL
  std::string name;     // chart name inside an https HelmRepository; empty for OCI
  std::string version;  // OCIRepository spec.ref.tag or .semver, chart.spec.version
  std::string digest;   // OCIRepository spec.ref.digest, when pinned by digest
  std::string source;   // e.g. "OCIRepository cilium
                        // (kubernetes/apps/kube-system/cilium/app/ocirepository.yaml)"
  // oci://: helmfile's `chart:` is the url itself; otherwise it is "<repository>/<name>".
  bool is_oci() const { return url.rfind("oci://", 0) == 0; }
};

struct ComputedValues {
  nlohmann::json values = nlohmann::json::object();  // exactly what Flux hands Helm (JSON types)
  std::string yaml;                   // the same, as type-faithful YAML (what helmfile receives)
  std::vector<std::string> secrets;   // values that came from Secrets: register with the Redactor
  std::vector<std::string> warnings;  // undefined variables, required sources not in Git, …
  std::filesystem::path file;         // the helmrelease.yaml that was read
};

// Reads a repository once and answers for many releases: files that several releases share
// (the cluster Kustomization, ConfigMaps and Secrets used for substitution) are read and
// decrypted once. Not thread-safe; use one per thread.
class Reader {
 public:
  Reader(const Config& config, Options options);
  ~Reader();
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  // Throws InputError: file or document missing, malformed YAML, a valuesFrom source that is
  // missing and not optional, a substitution error, an unresolved variable in strict mode.
  ComputedValues compute(const ReleaseRef& release);
  // From spec.chartRef (OCIRepository) or spec.chart.spec (HelmRepository). nullopt when the
  // HelmRelease names no chart source; throws InputError when the named source is not found.
  std::optional<Chart> chart(const ReleaseRef& release);
  // Where the release's HelmRelease is expected (paths.helmrelease with {namespace}/{name}).
  std::filesystem::path helmrelease_file(const ReleaseRef& release) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One-shot conveniences over Reader.
ComputedValues compute(const Config& config, const ReleaseRef& release, const Options& options);
std::optional<Chart> chart_for(const Config& config, const ReleaseRef& release);

// The derived helmfile state of one stage: generated values files (0600) and a derived state
// file written next to the original (so relative paths in hooks and values still resolve).
// Everything is removed by remove() and by the destructor, on every exit path.
class Handoff {
 public:
  ~Handoff();
  Handoff(const Handoff&) = delete;
  Handoff& operator=(const Handoff&) = delete;

  // The file to give helmfile -f: the derived state, or the original when it was passed through
  // (a state that is itself a Go template).
  const std::filesystem::path& state_file() const { return state_file_; }
  bool derived() const { return derived_; }
  const std::vector<std::string>& warnings() const { return warnings_; }
  const std::vector<std::string>& secrets() const { return secrets_; }
  // Releases whose values were generated, in state order.
  const std::vector<ReleaseRef>& releases() const { return releases_; }
  // Every file written (derived state first); empty after remove().
  const std::vector<std::filesystem::path>& files() const { return files_; }
  // Removes every generated file; idempotent, async-signal-unsafe but never throws.
  void remove() noexcept;

 private:
  friend std::unique_ptr<Handoff> derive_helmfile(const Config&, const std::filesystem::path&,
                                                  const Options&);
  Handoff() = default;
  std::filesystem::path state_file_;
  bool derived_ = false;
  std::vector<std::string> warnings_;
  std::vector<std::string> secrets_;
  std::vector<ReleaseRef> releases_;
  std::vector<std::filesystem::path> files_;
};

// Derives the helmfile state for `state_file` (absolute, or relative to config.root):
// every release whose values list names the gotmpl lookup (a .gotmpl file that reads
// helmrelease.yaml / .spec.values), or that has no values and has a HelmRelease in the
// repository, gets a generated values file in place of that entry; a missing chart/version is
// filled from the release's OCIRepository; a version that differs from it is reported as drift.
// Everything else (helmDefaults, hooks, needs, bases, repositories, other values) is kept.
// A state that is a Go template (contains "{{") is passed through unchanged, with a warning.
std::unique_ptr<Handoff> derive_helmfile(const Config& config,
                                         const std::filesystem::path& state_file,
                                         const Options& options);

// Releases listed in a helmfile state, in order (namespace empty when the release sets none).
// A templated state is read line by line for `name:`/`namespace:` pairs of the releases list.
std::vector<ReleaseRef> releases_in(const std::filesystem::path& state_file);

// ---- Building blocks, public for tests and fuzzing ---------------------------------------------

// Flux's post-build substitution (fluxcd/pkg/envsubst): ${VAR}, ${VAR:=default}, ${VAR:-default},
// ${VAR=default}, the bash string functions Flux accepts, and $$ as an escape for $. `vars`
// undefined: empty (non-strict) or InputError (strict) unless a default is given; each such name is
// appended once to `undefined`. Malformed expressions: InputError naming `source`.
std::string substitute(std::string_view text, const std::map<std::string, std::string>& vars,
                       bool strict, const std::string& source,
                       std::vector<std::string>* undefined = nullptr);

// How plain scalars are typed. Flux reads repository files with go-yaml v3 (kustomize), and
// everything it re-parses after substitution, and valuesFrom data, with go-yaml v2 (YAML 1.1
// booleans: yes/no/on/off/y/n).
enum class Dialect { GoYamlV3, GoYamlV2 };

// Parses one YAML document into JSON the way Flux would (anchors, aliases and merge keys
// resolved, plain scalars typed per `dialect`, quoted scalars always strings). An empty document
// is null. InputError naming `source` and the line on malformed input, duplicate keys (v3), NaN or
// infinity (not representable in JSON), or excessive alias expansion.
nlohmann::json parse_yaml(std::string_view text, Dialect dialect, const std::string& source);

// Type-faithful YAML for `value` that go-yaml (v2 and v3) reads back as exactly `value`: strings
// that would otherwise read as another type are quoted, multi-line strings are literal blocks.
std::string to_yaml(const nlohmann::json& value);

}  // namespace fluxboot::values
