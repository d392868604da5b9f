#include "stages/node_match.hpp"

namespace fluxboot::stages {

bool node_matches(const NodeSpec& spec, const nlohmann::json& node) {
  std::string name = node.value("/metadata/name"_json_pointer, std::string());
  if (!name.empty() && ((!spec.hostname.empty() && name == spec.hostname) || name == spec.address))
    return true;
  auto addrs = node.value("/status/addresses"_json_pointer, nlohmann::json::array());
  for (const auto& a : addrs)
    if (a.is_object() && a.value("address", "") == spec.address) return true;
  return false;
}

std::vector<std::string> unregistered_nodes(const std::vector<NodeSpec>& inventory,
                                            const nlohmann::json& items) {
  std::vector<std::string> missing;
  for (const auto& spec : inventory) {
    bool found = false;
    if (items.is_array())
      for (const auto& n : items) found = found || node_matches(spec, n);
    if (!found) missing.push_back(spec.hostname.empty() ? spec.address : spec.hostname);
  }
  return missing;
}

std::string join(const std::vector<std::string>& items, const std::string& sep) {
  std::string s;
  for (const auto& i : items) s += (s.empty() ? "" : sep) + i;
  return s;
}

}  // namespace fluxboot::stages
