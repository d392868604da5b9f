#include "sim/api/patch.hpp"

#include <algorithm>
#include <map>
#include <string_view>

namespace fluxboot::sim::api {

using json = nlohmann::json;

json merge_patch(const json& target, const json& patch) {
  json result = target;
  result.merge_patch(patch);
  return result;
}

json json_patch(const json& target, const json& patch) {
  if (!patch.is_array()) throw PatchError("json patch must be an array of operations");
  try {
    return target.patch(patch);
  } catch (const json::exception& e) {
    throw PatchError(e.what());
  }
}

std::string patch_merge_key(const std::string& field, const json& sample_item) {
  static const std::map<std::string, std::string, std::less<>> kKeys = {
      {"containers", "name"},
      {"initContainers", "name"},
      {"ephemeralContainers", "name"},
      {"env", "name"},
      {"volumes", "name"},
      {"imagePullSecrets", "name"},
      {"secrets", "name"},
      {"resourceClaims", "name"},
      {"schedulingGates", "name"},
      {"volumeMounts", "mountPath"},
      {"volumeDevices", "devicePath"},
      {"conditions", "type"},
      {"ownerReferences", "uid"},
      {"hostAliases", "ip"},
      {"topologySpreadConstraints", "topologyKey"},
      {"taints", "key"},
  };
  if (field == "ports") {
    if (sample_item.is_object() && sample_item.contains("containerPort")) return "containerPort";
    return "port";
  }
  auto it = kKeys.find(field);
  return it == kKeys.end() ? "" : it->second;
}

namespace {

constexpr std::string_view kSetOrder = "$setElementOrder/";
constexpr std::string_view kDeleteFromPrimitive = "$deleteFromPrimitiveList/";

bool starts_with(const std::string& s, std::string_view prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

// Removes directive keys from a patch fragment that lands where nothing is merged into.
json strip_directives(const json& v) {
  if (v.is_object()) {
    json out = json::object();
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (!it.key().empty() && it.key()[0] == '$') continue;
      out[it.key()] = strip_directives(it.value());
    }
    return out;
  }
  if (v.is_array()) {
    json out = json::array();
    for (const auto& item : v) {
      if (item.is_object() && item.contains("$patch")) continue;
      out.push_back(strip_directives(item));
    }
    return out;
  }
  return v;
}

json merge_map(const json& original, const json& patch);

std::string sample_key(const std::string& field, const json& a, const json& b) {
  for (const json* list : {&b, &a}) {
    if (list->is_array()) {
      for (const auto& item : *list) {
        if (item.is_object()) return patch_merge_key(field, item);
      }
    }
  }
  return patch_merge_key(field, json::object());
}

json merge_list(const std::string& field, const json& original, const json& patch) {
  std::string key = sample_key(field, original, patch);
  bool objects = std::all_of(patch.begin(), patch.end(), [](const json& i) { return i.is_object(); });
  if (key.empty() || !objects) return strip_directives(patch);
  for (const auto& item : patch) {
    if (item.value("$patch", "") == "replace") return strip_directives(patch);
  }
  json result = original.is_array() ? original : json::array();
  for (const auto& item : patch) {
    auto k = item.find(key);
    if (k == item.end()) {
      result.push_back(strip_directives(item));
      continue;
    }
    auto existing = std::find_if(result.begin(), result.end(), [&](const json& o) {
      return o.is_object() && o.contains(key) && o[key] == *k;
    });
    if (item.value("$patch", "") == "delete") {
      if (existing != result.end()) result.erase(existing);
      continue;
    }
    if (existing != result.end()) {
      *existing = merge_map(*existing, item);
    } else {
      result.push_back(merge_map(json::object(), item));
    }
  }
  return result;
}

// Orders `list` as `order` says (elements named there first, in that order), the rest after.
json apply_element_order(const std::string& field, const json& list, const json& order) {
  if (!list.is_array() || !order.is_array()) return list;
  json result = json::array();
  std::vector<bool> used(list.size(), false);
  std::string key = sample_key(field, list, order);
  for (const auto& o : order) {
    for (std::size_t i = 0; i < list.size(); ++i) {
      if (used[i]) continue;
      bool match = key.empty() || !o.is_object()
                       ? list[i] == o
                       : (list[i].is_object() && o.contains(key) && list[i].contains(key) &&
                          list[i][key] == o[key]);
      if (match) {
        result.push_back(list[i]);
        used[i] = true;
        break;
      }
    }
  }
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (!used[i]) result.push_back(list[i]);
  }
  return result;
}

json merge_map(const json& original, const json& patch) {
  if (!patch.is_object()) return patch;
  std::string directive = patch.value("$patch", "");
  if (directive == "replace") return strip_directives(patch);
  if (directive == "delete") return json();  // caller drops the key
  if (!directive.empty() && directive != "merge") {
    throw PatchError("unknown patch directive: " + directive);
  }
  json result = original.is_object() ? original : json::object();
  std::map<std::string, json> orders;
  std::map<std::string, json> primitive_deletes;
  for (auto it = patch.begin(); it != patch.end(); ++it) {
    const std::string& k = it.key();
    const json& v = it.value();
    if (starts_with(k, kSetOrder)) {
      orders[k.substr(kSetOrder.size())] = v;
      continue;
    }
    if (starts_with(k, kDeleteFromPrimitive)) {
      primitive_deletes[k.substr(kDeleteFromPrimitive.size())] = v;
      continue;
    }
    if (k == "$patch" || k == "$retainKeys") continue;
    if (v.is_null()) {
      result.erase(k);
    } else if (v.is_object()) {
      json merged = merge_map(result.contains(k) ? result[k] : json::object(), v);
      if (merged.is_null()) {
        result.erase(k);
      } else {
        result[k] = std::move(merged);
      }
    } else if (v.is_array()) {
      result[k] = merge_list(k, result.contains(k) ? result[k] : json::array(), v);
    } else {
      result[k] = v;
    }
  }
  for (const auto& [field, values] : primitive_deletes) {
    if (!result.contains(field) || !result[field].is_array() || !values.is_array()) continue;
    json kept = json::array();
    for (const auto& item : result[field]) {
      if (std::find(values.begin(), values.end(), item) == values.end()) kept.push_back(item);
    }
    result[field] = kept;
  }
  for (const auto& [field, order] : orders) {
    if (result.contains(field)) result[field] = apply_element_order(field, result[field], order);
  }
  if (auto retain = patch.find("$retainKeys"); retain != patch.end() && retain->is_array()) {
    json kept = json::object();
    for (auto it = result.begin(); it != result.end(); ++it) {
      if (std::find(retain->begin(), retain->end(), it.key()) != retain->end()) {
        kept[it.key()] = it.value();
      }
    }
    result = kept;
  }
  return result;
}

}  // namespace

json strategic_merge_patch(const json& target, const json& patch) {
  if (!patch.is_object()) throw PatchError("strategic merge patch must be a JSON object");
  json result = merge_map(target, patch);
  return result.is_null() ? json::object() : result;
}

}  // namespace fluxboot::sim::api
