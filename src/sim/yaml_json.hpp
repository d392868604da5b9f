#pragma once
// YAML <-> JSON for the simulator: state files, scenario files, machine configs and values files
// are YAML; the API server and the control routes speak JSON.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace YAML {
class Node;
}

namespace fluxboot::sim {

// Plain scalars become null/bool/int/float where YAML 1.2's core schema says so; quoted scalars
// stay strings. Aliases are resolved by yaml-cpp.
nlohmann::json yaml_to_json(const YAML::Node& node);
// Every document of a multi-document YAML text (empty documents skipped). Throws
// std::runtime_error with yaml-cpp's line/column message on a syntax error.
std::vector<nlohmann::json> parse_yaml_documents(const std::string& text);
// One document (the first); null for an empty text.
nlohmann::json parse_yaml(const std::string& text);
// Block-style YAML of a JSON value (used for kubeconfig and talosconfig files).
std::string json_to_yaml(const nlohmann::json& value);

// RFC 7386-style deep merge used for Helm values: maps merge recursively, everything else replaces.
void deep_merge(nlohmann::json& into, const nlohmann::json& from);

}  // namespace fluxboot::sim
