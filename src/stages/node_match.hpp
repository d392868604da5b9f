#pragma once
// Matching inventory nodes to Kubernetes Node objects.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fluxboot/config.hpp"

namespace fluxboot::stages {

// True when the Node object is this inventory node: metadata.name equals the hostname or the
// address, or one of status.addresses equals the address.
bool node_matches(const NodeSpec& spec, const nlohmann::json& node);

// Inventory nodes (hostname, else address) with no matching Node object in `items`.
std::vector<std::string> unregistered_nodes(const std::vector<NodeSpec>& inventory,
                                            const nlohmann::json& items);

std::string join(const std::vector<std::string>& items, const std::string& sep = ", ");

}  // namespace fluxboot::stages
