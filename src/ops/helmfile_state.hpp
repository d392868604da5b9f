#pragma once
// The bits of a helmfile state file that doctor and rollback look at (release names, namespaces,
// charts, versions, helmDefaults), read as JSON through the values module's YAML reader.
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fluxboot/config.hpp"

namespace fluxboot::ops {

struct StateRelease {
  std::string name;
  std::string ns;       // empty when the release sets none
  std::string chart;    // as written ("oci://…/cilium", "repo/cilium"); may be empty
  std::string version;  // may be empty
  nlohmann::json raw;   // the release mapping
};

struct HelmfileState {
  std::filesystem::path file;
  bool templated = false;        // contains "{{": only names/namespaces are known
  std::vector<StateRelease> releases;
  nlohmann::json helm_defaults = nlohmann::json::object();  // merged over the documents
};

// Throws InputError naming the file (and line) when it is missing or malformed.
HelmfileState read_helmfile_state(const std::filesystem::path& file);

// "oci://ghcr.io/x/charts/flux-operator" → "flux-operator"; "repo/cilium" → "cilium".
std::string chart_basename(const std::string& chart);

}  // namespace fluxboot::ops
