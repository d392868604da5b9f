#pragma once
// What a (plain YAML) helmfile state says about each release: enough to tell whether the cluster
// already runs exactly that release, so a second `fluxboot apps` can skip `helmfile sync`.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace fluxboot::values {

struct ReleaseSpec {
  std::string ns;
  std::string name;
  std::string chart;     // as written (oci://…, repo/chart, ./local)
  std::string version;   // empty when the state pins none
  // The values Helm will receive: every `values:` entry (files relative to the state file,
  // inline maps) merged in order as Helm merges them. nullopt when an entry cannot be known
  // without helmfile (a .gotmpl file, a missing file, `set:`/`setString:`/secrets entries).
  std::optional<nlohmann::json> values;
};

// Reads the releases of a plain-YAML state file (throws InputError naming the file on malformed
// YAML; a state with Go templates yields releases whose values are nullopt).
std::vector<ReleaseSpec> read_release_specs(const std::filesystem::path& state_file);

// Helm's coalescing of values files: maps merge deeply, anything else is replaced; null deletes.
void merge_helm_values(nlohmann::json& into, const nlohmann::json& from);

}  // namespace fluxboot::values
