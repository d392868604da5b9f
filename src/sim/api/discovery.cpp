#include "sim/api/discovery.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "sim/api/util.hpp"

namespace fluxboot::sim::api {

using json = nlohmann::json;

namespace {

const json kVerbs = {"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"};
const json kStatusVerbs = {"get", "patch", "update"};

json subresource_kind(const ResourceType& t, const std::string& sub) {
  if (sub == "scale") return {{"group", "autoscaling"}, {"version", "v1"}, {"kind", "Scale"}};
  return {{"group", t.group}, {"version", t.version}, {"kind", t.kind}};
}

json aggregated_resource(const ResourceType& t) {
  json r = {{"resource", t.plural},
            {"singularResource", t.singular},
            {"scope", t.namespaced ? "Namespaced" : "Cluster"},
            {"responseKind", {{"group", t.group}, {"version", t.version}, {"kind", t.kind}}},
            {"verbs", kVerbs}};
  if (!t.short_names.empty()) r["shortNames"] = t.short_names;
  if (!t.subresources.empty()) {
    json subs = json::array();
    for (const auto& s : t.subresources) {
      subs.push_back({{"subresource", s},
                      {"responseKind", subresource_kind(t, s)},
                      {"verbs", s == "finalize" ? json{"update"} : kStatusVerbs}});
    }
    r["subresources"] = subs;
  }
  return r;
}

std::string gv_path(const std::string& group, const std::string& version) {
  return group.empty() ? "api/" + version : "apis/" + group + "/" + version;
}

std::vector<std::pair<std::string, std::vector<std::string>>> groups_of(
    const std::vector<ResourceType>& types) {
  std::vector<std::pair<std::string, std::vector<std::string>>> out;
  for (const auto& t : types) {
    auto it = std::find_if(out.begin(), out.end(), [&](const auto& g) { return g.first == t.group; });
    if (it == out.end()) {
      out.push_back({t.group, {t.version}});
    } else if (std::find(it->second.begin(), it->second.end(), t.version) == it->second.end()) {
      it->second.push_back(t.version);
    }
  }
  return out;
}

}  // namespace

json aggregated_discovery(const std::vector<ResourceType>& types, bool core,
                          const std::string& version) {
  json items = json::array();
  for (const auto& [group, versions] : groups_of(types)) {
    if (core != group.empty()) continue;
    json vs = json::array();
    for (const auto& v : versions) {
      json resources = json::array();
      for (const auto& t : types) {
        if (t.group == group && t.version == v) resources.push_back(aggregated_resource(t));
      }
      vs.push_back({{"version", v}, {"resources", resources}, {"freshness", "Current"}});
    }
    items.push_back({{"metadata", {{"name", group}, {"creationTimestamp", nullptr}}},
                     {"versions", vs}});
  }
  return {{"kind", "APIGroupDiscoveryList"},
          {"apiVersion", "apidiscovery.k8s.io/" + version},
          {"metadata", json::object()},
          {"items", items}};
}

json legacy_api_versions(const std::string& server_address) {
  return {{"kind", "APIVersions"},
          {"versions", {"v1"}},
          {"serverAddressByClientCIDRs",
           json::array({{{"clientCIDR", "0.0.0.0/0"}, {"serverAddress", server_address}}})}};
}

namespace {
json group_entry(const std::string& group, const std::vector<std::string>& versions) {
  json vs = json::array();
  for (const auto& v : versions) vs.push_back({{"groupVersion", group + "/" + v}, {"version", v}});
  return {{"name", group},
          {"versions", vs},
          {"preferredVersion", {{"groupVersion", group + "/" + versions.front()},
                                {"version", versions.front()}}}};
}
}  // namespace

json legacy_group_list(const std::vector<ResourceType>& types) {
  json groups = json::array();
  for (const auto& [group, versions] : groups_of(types)) {
    if (!group.empty()) groups.push_back(group_entry(group, versions));
  }
  return {{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", groups}};
}

std::optional<json> legacy_group(const std::vector<ResourceType>& types, const std::string& group) {
  for (const auto& [g, versions] : groups_of(types)) {
    if (g == group && !g.empty()) {
      json out = group_entry(g, versions);
      out["kind"] = "APIGroup";
      out["apiVersion"] = "v1";
      return out;
    }
  }
  return std::nullopt;
}

std::optional<json> legacy_resource_list(const std::vector<ResourceType>& types,
                                         const std::string& group, const std::string& version) {
  json resources = json::array();
  bool found = false;
  for (const auto& t : types) {
    if (t.group != group || t.version != version) continue;
    found = true;
    json r = {{"name", t.plural},
              {"singularName", t.singular},
              {"namespaced", t.namespaced},
              {"kind", t.kind},
              {"verbs", kVerbs}};
    if (!t.short_names.empty()) r["shortNames"] = t.short_names;
    resources.push_back(r);
    for (const auto& s : t.subresources) {
      json k = subresource_kind(t, s);
      json sr = {{"name", t.plural + "/" + s},
                 {"singularName", ""},
                 {"namespaced", t.namespaced},
                 {"kind", k["kind"]},
                 {"verbs", s == "finalize" ? json{"update"} : kStatusVerbs}};
      if (s == "scale") {
        sr["group"] = "autoscaling";
        sr["version"] = "v1";
      }
      resources.push_back(sr);
    }
  }
  if (!found) return std::nullopt;
  return json{{"kind", "APIResourceList"},
              {"apiVersion", "v1"},
              {"groupVersion", group.empty() ? version : group + "/" + version},
              {"resources", resources}};
}

std::optional<json> openapi_v3_document(const std::vector<ResourceType>& types,
                                        const std::string& path) {
  json paths = json::object();
  for (const auto& t : types) {
    if (gv_path(t.group, t.version) != path) continue;
    std::string base = "/" + path + (t.namespaced ? "/namespaces/{namespace}/" : "/") + t.plural;
    json params = json::array();
    for (const char* p : {"dryRun", "fieldManager", "fieldValidation", "force"}) {
      params.push_back({{"name", p},
                        {"in", "query"},
                        {"uniqueItems", true},
                        {"schema", {{"type", std::string(p) == "force" ? "boolean" : "string"}}}});
    }
    std::string op_id = fmt::format("patch{}{}", t.kind, t.namespaced ? "Namespaced" : "");
    paths[base + "/{name}"] = {
        {"patch",
         {{"description", "partially update the specified " + t.kind},
          {"operationId", op_id},
          {"parameters", params},
          {"responses", {{"200", {{"description", "OK"}}}, {"201", {{"description", "Created"}}}}},
          {"x-kubernetes-action", "patch"},
          {"x-kubernetes-group-version-kind",
           {{"group", t.group}, {"version", t.version}, {"kind", t.kind}}}}},
        {"parameters",
         json::array({{{"name", "name"}, {"in", "path"}, {"required", true},
                       {"schema", {{"type", "string"}}}}})}};
  }
  if (paths.empty()) return std::nullopt;
  return json{{"openapi", "3.0.0"},
              {"info", {{"title", "Kubernetes"}, {"version", "v1.32.3"}}},
              {"paths", paths},
              {"components", {{"schemas", json::object()}}}};
}

json openapi_v3_root(const std::vector<ResourceType>& types) {
  json paths = json::object();
  for (const auto& [group, versions] : groups_of(types)) {
    for (const auto& v : versions) {
      std::string p = gv_path(group, v);
      auto doc = openapi_v3_document(types, p);
      if (!doc) continue;
      std::string hash = fmt::format("{:016X}", fnv1a64(doc->dump()));
      paths[p] = {{"serverRelativeURL", "/openapi/v3/" + p + "?hash=" + hash}};
    }
  }
  return {{"paths", paths}};
}

json version_info() {
  return {{"major", "1"},
          {"minor", "32"},
          {"gitVersion", "v1.32.3"},
          {"gitCommit", "32cc146f75aad04beaaa245a7157eb35063a9f99"},
          {"gitTreeState", "clean"},
          {"buildDate", "2025-03-11T19:52:21Z"},
          {"goVersion", "go1.23.6"},
          {"compiler", "gc"},
          {"platform", "linux/amd64"}};
}

}  // namespace fluxboot::sim::api
