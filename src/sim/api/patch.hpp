#pragma once
// The three PATCH flavours a real API server accepts, on plain JSON documents.
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace fluxboot::sim::api {

// A patch that can't be applied (malformed, or a json-patch `test` that failed).
class PatchError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// RFC 7386: objects merge recursively, null deletes, everything else (lists too) replaces.
nlohmann::json merge_patch(const nlohmann::json& target, const nlohmann::json& patch);

// RFC 6902: add, remove, replace, move, copy, test. `patch` must be an array.
nlohmann::json json_patch(const nlohmann::json& target, const nlohmann::json& patch);

// Kubernetes strategic merge patch, without schemas: lists whose field name has a known
// patchMergeKey in the built-in types (containers, initContainers, ephemeralContainers, env,
// volumes, imagePullSecrets and secrets by name; volumeMounts by mountPath; volumeDevices by
// devicePath; ports by containerPort (container) or port (service); conditions by type;
// ownerReferences by uid; hostAliases by ip; topologySpreadConstraints by topologyKey; taints by
// key) merge element-wise by that key; other lists replace. Directives: $patch (replace, delete,
// merge) on maps and list elements, $setElementOrder/<list>, $retainKeys,
// $deleteFromPrimitiveList/<list>.
nlohmann::json strategic_merge_patch(const nlohmann::json& target, const nlohmann::json& patch);

// The merge key of a list field ("" = the list replaces), given a sample element.
std::string patch_merge_key(const std::string& field, const nlohmann::json& sample_item);

}  // namespace fluxboot::sim::api
