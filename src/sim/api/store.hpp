#pragma once
// The object store: typed objects keyed by group/plural, namespace and name, one global
// resourceVersion counter, an event log for watches, and the registry of served types. Every write
// goes through commit() or remove(), which fill the server-set metadata, run the in-line defaulting
// (controllers.hpp) and, after releasing the lock, call the hook (controllers, on_change).
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/api/api_server.hpp"
#include "sim/api/resource_types.hpp"

namespace fluxboot::sim::api {

using json = nlohmann::json;
using ObjectPtr = std::shared_ptr<const json>;

struct Event {
  std::uint64_t rv = 0;
  std::string type;  // ADDED, MODIFIED, DELETED
  std::string key;   // store_key() of the object's type
  std::string ns;
  ObjectPtr object;  // as stored (apiVersion of the version it was written with)
};

struct CommitOptions {
  enum class Existence { Any, MustExist, MustNotExist };
  Existence existence = Existence::Any;
  std::string manager;               // managedFields entry; "" = none
  std::string operation = "Update";  // or "Apply"
  bool status_only = false;          // /status: only the result's .status is taken
  bool preserve_status = false;      // main resource via HTTP: .status stays as stored
  bool keep_status_if_absent = false;  // put(): a replace without .status keeps the stored one
  bool require_namespace = false;    // namespaced: 404 when the namespace doesn't exist
  bool dry_run = false;
  std::string expect_resource_version;  // "" = no precondition (PUT with metadata.resourceVersion)
};

struct CommitResult {
  json object;
  bool created = false;
  bool changed = false;
};

class Store {
 public:
  using Hook = std::function<void(const std::string& type, const json& object)>;
  // Builds the object to store from the current one (nullptr when absent). May throw ApiError.
  using Mutator = std::function<json(const json* current)>;

  Store();
  void set_hook(Hook hook);

  // ---- types ----
  std::optional<ResourceType> type_for(const std::string& api_version, const std::string& kind) const;
  std::optional<ResourceType> type_for_resource(const std::string& group, const std::string& version,
                                                const std::string& plural) const;
  std::vector<ResourceType> types() const;
  void register_type(const ResourceType& t);

  // ---- reads (copies, apiVersion set to t's version) ----
  std::optional<json> get(const ResourceType& t, const std::string& ns, const std::string& name) const;
  // ns "" = all namespaces. Sorted by namespace, then name. `rv` receives the list's version.
  std::vector<json> list(const ResourceType& t, const std::string& ns,
                         std::uint64_t* rv = nullptr) const;
  // Every stored object (any type) whose metadata.ownerReferences names `uid`.
  std::vector<json> owned_by(const std::string& uid) const;
  // Every stored object of namespaced types in `ns`.
  std::vector<json> in_namespace(const std::string& ns) const;
  bool namespace_exists(const std::string& ns) const;
  std::uint64_t resource_version() const;

  // ---- writes ----
  CommitResult commit(const ResourceType& t, const std::string& ns, const std::string& name,
                      const Mutator& mutate, const CommitOptions& options);
  // The removed object (with the deletion's resourceVersion), or nullopt when absent.
  std::optional<json> remove(const ResourceType& t, const std::string& ns, const std::string& name,
                             bool dry_run = false, const std::string& expect_uid = "");

  // ---- watch support ----
  // Waits up to `wait` for events newer than `since`, then returns those of type `key` in
  // namespace `ns` ("" = all). `scanned` receives the newest resourceVersion looked at (pass it as
  // `since` next time). `expired` is set when `since` is older than the retained log.
  std::vector<Event> events_after(std::uint64_t since, const std::string& key, const std::string& ns,
                                  std::chrono::milliseconds wait, std::uint64_t& scanned,
                                  bool& expired, const std::function<bool()>& cancelled) const;
  // Wakes every events_after() waiter (stop, drop_watches).
  void wake_watchers() const;

 private:
  using Bucket = std::map<std::pair<std::string, std::string>, ObjectPtr>;  // (ns, name)

  const ObjectPtr* find_locked(const std::string& key, const std::string& ns,
                               const std::string& name) const;
  void record_locked(const std::string& type, const std::string& key, const std::string& ns,
                     ObjectPtr object);
  void run_hook(const std::string& type, const json& object) const;

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  TypeRegistry registry_;
  std::map<std::string, Bucket> objects_;  // store_key -> bucket
  std::deque<Event> events_;
  std::uint64_t truncated_through_ = 0;
  std::uint64_t rv_ = 0;
  std::uint32_t next_service_ip_ = 10;
  Hook hook_;
};

}  // namespace fluxboot::sim::api
