#pragma once
// What a real control plane would do to objects, done at once and in process:
//  - apply_defaults(): admission-time defaulting, inside Store::commit (Namespace Active, Secret
//    stringData, Service clusterIP, Deployment/StatefulSet/DaemonSet spec defaults, CRD status).
//  - validate_object(): the few validations kubectl users hit (names, CRD names).
//  - Controllers: reactions to committed writes (Deployment -> ReplicaSet -> Pods and statuses,
//    StatefulSet/DaemonSet/Job status, the default ServiceAccount, garbage collection of owned
//    objects, namespace and CRD deletion). See api_server.hpp for the behaviour in full.
#include <cstdint>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "sim/api/api_server.hpp"
#include "sim/api/store.hpp"

namespace fluxboot::sim::api {

void apply_defaults(const ResourceType& t, nlohmann::json& obj, const nlohmann::json* current,
                    std::uint32_t& next_service_ip);
// Throws ApiError (422 Invalid).
void validate_object(const ResourceType& t, const nlohmann::json& obj);

// Sets conditions[type] in a conditions array, keeping lastTransitionTime (and lastUpdateTime)
// when the status didn't change, so identical reconciles are no-ops.
void upsert_condition(nlohmann::json& conditions, const std::string& type, const std::string& status,
                      const std::string& reason, const std::string& message,
                      bool with_update_time = false);

class Controllers {
 public:
  Controllers(Store& store, bool pods_ready);
  // Reacts to one committed change. Writes made while reacting are queued and handled in order
  // after the current item (per thread), never recursively; one item is handled at a time.
  void react(const std::string& type, const nlohmann::json& object);

 private:
  void handle(const std::string& type, const nlohmann::json& object);
  void collect_garbage(const nlohmann::json& deleted);
  void reconcile_deployment(const std::string& ns, const std::string& name);
  void reconcile_statefulset(const nlohmann::json& sts);
  void reconcile_daemonsets();
  void reconcile_job(const nlohmann::json& job);
  void ensure_default_service_account(const std::string& ns);
  void remove_object(const nlohmann::json& obj);
  nlohmann::json running_pod_status(const nlohmann::json& pod_spec);

  Store& store_;
  bool pods_ready_;
  std::mutex mu_;
  std::uint32_t next_pod_ip_ = 10;
};

}  // namespace fluxboot::sim::api
