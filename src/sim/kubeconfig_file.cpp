#include "sim/kubeconfig_file.hpp"

#include <fmt/format.h>

#include "sim/pki.hpp"

namespace fluxboot::sim {

using json = nlohmann::json;

json make_kubeconfig(const KubeconfigParts& p) {
  json kc;
  kc["apiVersion"] = "v1";
  kc["kind"] = "Config";
  kc["clusters"] = json::array({{{"name", p.cluster},
                                 {"cluster",
                                  {{"server", p.server},
                                   {"certificate-authority-data", base64_encode(p.ca_pem)}}}}});
  kc["users"] = json::array({{{"name", p.user},
                              {"user",
                               {{"client-certificate-data", base64_encode(p.client_crt_pem)},
                                {"client-key-data", base64_encode(p.client_key_pem)}}}}});
  kc["contexts"] = json::array(
      {{{"name", p.context}, {"context", {{"cluster", p.cluster}, {"user", p.user}, {"namespace", "default"}}}}});
  kc["current-context"] = p.context;
  kc["preferences"] = json::object();
  return kc;
}

namespace {

bool has_named(const json& list, const std::string& name) {
  if (!list.is_array()) return false;
  for (const auto& e : list)
    if (e.is_object() && e.value("name", "") == name) return true;
  return false;
}

void upsert(json& doc, const char* key, const json& entry) {
  if (!doc[key].is_array()) doc[key] = json::array();
  for (auto& e : doc[key])
    if (e.is_object() && e.value("name", "") == entry.value("name", "")) {
      e = entry;
      return;
    }
  doc[key].push_back(entry);
}

}  // namespace

std::string merge_kubeconfig(json& existing, json add, bool force) {
  if (!existing.is_object()) existing = json::object();
  existing["apiVersion"] = "v1";
  existing["kind"] = "Config";
  std::string context = add["contexts"][0]["name"];
  if (!force && has_named(existing["contexts"], context)) {
    std::string base = context;
    for (int i = 1;; ++i) {
      context = fmt::format("{}-{}", base, i);
      if (!has_named(existing["contexts"], context)) break;
    }
    std::string cluster = add["clusters"][0]["name"].get<std::string>() + context.substr(base.size());
    std::string user = add["users"][0]["name"].get<std::string>() + context.substr(base.size());
    add["contexts"][0]["name"] = context;
    add["contexts"][0]["context"]["cluster"] = cluster;
    add["contexts"][0]["context"]["user"] = user;
    add["clusters"][0]["name"] = cluster;
    add["users"][0]["name"] = user;
  }
  upsert(existing, "clusters", add["clusters"][0]);
  upsert(existing, "users", add["users"][0]);
  upsert(existing, "contexts", add["contexts"][0]);
  existing["current-context"] = context;
  if (!existing.contains("preferences")) existing["preferences"] = json::object();
  return context;
}

}  // namespace fluxboot::sim
