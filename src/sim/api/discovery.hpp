#pragma once
// Discovery (aggregated v2/v2beta1 and the legacy documents), the minimal OpenAPI v3 document kubectl's
// field-validation check needs, and /version.
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/api/api_server.hpp"

namespace fluxboot::sim::api {

inline constexpr const char* kAggregatedV2 =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";
inline constexpr const char* kAggregatedV2Beta1 =
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList";

// `core`: the document for /api (the "" group), else for /apis. `version`: "v2" or "v2beta1".
nlohmann::json aggregated_discovery(const std::vector<ResourceType>& types, bool core,
                                    const std::string& version);
nlohmann::json legacy_api_versions(const std::string& server_address);
nlohmann::json legacy_group_list(const std::vector<ResourceType>& types);
std::optional<nlohmann::json> legacy_group(const std::vector<ResourceType>& types,
                                           const std::string& group);
std::optional<nlohmann::json> legacy_resource_list(const std::vector<ResourceType>& types,
                                                   const std::string& group,
                                                   const std::string& version);

// /openapi/v3: {"paths":{"api/v1":{"serverRelativeURL":"/openapi/v3/api/v1?hash=..."},...}}.
// The hash is derived from the document, so it changes exactly when the document does.
nlohmann::json openapi_v3_root(const std::vector<ResourceType>& types);
// The document for "api/v1" or "apis/<group>/<version>": one PATCH operation per resource with
// x-kubernetes-group-version-kind and a fieldValidation parameter; no schemas.
std::optional<nlohmann::json> openapi_v3_document(const std::vector<ResourceType>& types,
                                                  const std::string& gv_path);

nlohmann::json version_info();

}  // namespace fluxboot::sim::api
