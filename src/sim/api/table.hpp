#pragma once
// meta.k8s.io/v1 Table answers for human-readable `kubectl get` (Accept ...;as=Table...). Columns
// follow the real printers for the common kinds; custom resources get the CRD's
// additionalPrinterColumns (simple paths and [?(@.type=="X")] filters), others NAME and AGE.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/api/api_server.hpp"

namespace fluxboot::sim::api {

inline constexpr const char* kTableContentType = "application/json;as=Table;v=v1;g=meta.k8s.io";

// `crd`: the CustomResourceDefinition of a custom resource (null otherwise).
nlohmann::json to_table(const ResourceType& t, const std::vector<nlohmann::json>& items,
                        std::uint64_t resource_version, const nlohmann::json& crd);

// Evaluates a kubectl JSONPath of the simple forms `.a.b`, `.a[0].b`, `.a[?(@.k=="v")].b`.
// Returns null when a step is missing.
nlohmann::json eval_simple_jsonpath(const nlohmann::json& obj, const std::string& path);

}  // namespace fluxboot::sim::api
