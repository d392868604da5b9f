#include "sim/api/store.hpp"

#include <algorithm>

#include "sim/api/controllers.hpp"
#include "sim/api/status.hpp"
#include "sim/api/util.hpp"

namespace fluxboot::sim::api {

namespace {

constexpr std::size_t kEventLogCapacity = 4096;

bool is_crd(const ResourceType& t) {
  return t.group == "apiextensions.k8s.io" && t.plural == "customresourcedefinitions";
}

json with_version(const json& stored, const ResourceType& t) {
  json copy = stored;
  copy["apiVersion"] = t.api_version();
  return copy;
}

// Everything but metadata and status: what bumps metadata.generation.
json spec_part(const json& obj) {
  json out = obj;
  out.erase("metadata");
  out.erase("status");
  return out;
}

void record_manager(json& obj, const CommitOptions& options, const std::string& api_version) {
  if (options.manager.empty()) return;
  json& fields = obj["metadata"]["managedFields"];
  if (!fields.is_array()) fields = json::array();
  std::string subresource = options.status_only ? "status" : "";
  json entry = {{"manager", options.manager},
                {"operation", options.operation},
                {"apiVersion", api_version},
                {"time", now_rfc3339()},
                {"fieldsType", "FieldsV1"},
                {"fieldsV1", json::object()}};
  if (!subresource.empty()) entry["subresource"] = subresource;
  for (auto& f : fields) {
    if (f.value("manager", "") == options.manager && f.value("operation", "") == options.operation &&
        f.value("subresource", "") == subresource) {
      f = entry;
      return;
    }
  }
  fields.push_back(entry);
}

}  // namespace

Store::Store() = default;

void Store::set_hook(Hook hook) {
  std::lock_guard lock(mu_);
  hook_ = std::move(hook);
}

std::optional<ResourceType> Store::type_for(const std::string& api_version,
                                            const std::string& kind) const {
  auto [group, version] = split_api_version(api_version);
  std::lock_guard lock(mu_);
  const ResourceType* t = registry_.by_kind(group, version, kind);
  if (t == nullptr) return std::nullopt;
  return *t;
}

std::optional<ResourceType> Store::type_for_resource(const std::string& group,
                                                     const std::string& version,
                                                     const std::string& plural) const {
  std::lock_guard lock(mu_);
  const ResourceType* t = registry_.by_resource(group, version, plural);
  if (t == nullptr) return std::nullopt;
  return *t;
}

std::vector<ResourceType> Store::types() const {
  std::lock_guard lock(mu_);
  return registry_.all();
}

void Store::register_type(const ResourceType& t) {
  std::lock_guard lock(mu_);
  registry_.add(t);
}

const ObjectPtr* Store::find_locked(const std::string& key, const std::string& ns,
                                    const std::string& name) const {
  auto b = objects_.find(key);
  if (b == objects_.end()) return nullptr;
  auto it = b->second.find({ns, name});
  return it == b->second.end() ? nullptr : &it->second;
}

std::optional<json> Store::get(const ResourceType& t, const std::string& ns,
                               const std::string& name) const {
  std::lock_guard lock(mu_);
  const ObjectPtr* p = find_locked(store_key(t), t.namespaced ? ns : "", name);
  if (p == nullptr) return std::nullopt;
  return with_version(**p, t);
}

std::vector<json> Store::list(const ResourceType& t, const std::string& ns,
                              std::uint64_t* rv) const {
  std::vector<json> out;
  std::lock_guard lock(mu_);
  if (rv != nullptr) *rv = rv_;
  auto b = objects_.find(store_key(t));
  if (b == objects_.end()) return out;
  for (const auto& [id, obj] : b->second) {
    if (!ns.empty() && t.namespaced && id.first != ns) continue;
    out.push_back(with_version(*obj, t));
  }
  return out;
}

std::vector<json> Store::owned_by(const std::string& uid) const {
  std::vector<json> out;
  if (uid.empty()) return out;
  std::lock_guard lock(mu_);
  for (const auto& [key, bucket] : objects_) {
    for (const auto& [id, obj] : bucket) {
      const json* refs = find_path(*obj, {"metadata", "ownerReferences"});
      if (refs == nullptr || !refs->is_array()) continue;
      for (const auto& r : *refs) {
        if (r.is_object() && r.value("uid", "") == uid) {
          out.push_back(*obj);
          break;
        }
      }
    }
  }
  return out;
}

std::vector<json> Store::in_namespace(const std::string& ns) const {
  std::vector<json> out;
  std::lock_guard lock(mu_);
  for (const auto& [key, bucket] : objects_) {
    for (const auto& [id, obj] : bucket) {
      if (!id.first.empty() && id.first == ns) out.push_back(*obj);
    }
  }
  return out;
}

bool Store::namespace_exists(const std::string& ns) const {
  std::lock_guard lock(mu_);
  return find_locked("/namespaces", "", ns) != nullptr;
}

std::uint64_t Store::resource_version() const {
  std::lock_guard lock(mu_);
  return rv_;
}

void Store::record_locked(const std::string& type, const std::string& key, const std::string& ns,
                          ObjectPtr object) {
  events_.push_back(Event{rv_, type, key, ns, std::move(object)});
  while (events_.size() > kEventLogCapacity) {
    truncated_through_ = events_.front().rv;
    events_.pop_front();
  }
  cv_.notify_all();
}

void Store::run_hook(const std::string& type, const json& object) const {
  Hook hook;
  {
    std::lock_guard lock(mu_);
    hook = hook_;
  }
  if (hook) hook(type, object);
}

CommitResult Store::commit(const ResourceType& t, const std::string& ns, const std::string& name,
                           const Mutator& mutate, const CommitOptions& options) {
  const std::string key = store_key(t);
  const std::string scope_ns = t.namespaced ? ns : "";
  CommitResult result;
  {
    std::lock_guard lock(mu_);
    const ObjectPtr* found = find_locked(key, scope_ns, name);
    std::optional<json> current;
    if (found != nullptr) current = **found;
    using Existence = CommitOptions::Existence;
    if (options.existence == Existence::MustExist && !current) throw not_found(t, name);
    if (options.existence == Existence::MustNotExist && current) throw already_exists(t, name);
    if (options.require_namespace && t.namespaced &&
        find_locked("/namespaces", "", scope_ns) == nullptr) {
      throw namespace_not_found(scope_ns);
    }
    if (!options.expect_resource_version.empty() && current &&
        string_at(*current, {"metadata", "resourceVersion"}) != options.expect_resource_version) {
      throw conflict_modified(t, name);
    }

    json next = mutate(current ? &*current : nullptr);
    if (!next.is_object()) throw bad_request("the object must be a JSON object");
    if (options.status_only) {
      json base = *current;  // status writes require an existing object (MustExist)
      if (next.contains("status")) {
        base["status"] = next["status"];
      } else {
        base.erase("status");
      }
      next = std::move(base);
    } else if (current && current->contains("status") &&
               (options.preserve_status ||
                (options.keep_status_if_absent && !next.contains("status")))) {
      next["status"] = (*current)["status"];
    } else if (current && options.preserve_status) {
      next.erase("status");
    }

    next["apiVersion"] = t.api_version();
    next["kind"] = t.kind;
    json& meta = next["metadata"];
    if (!meta.is_object()) meta = json::object();
    meta["name"] = name;
    if (t.namespaced) {
      meta["namespace"] = scope_ns;
    } else {
      meta.erase("namespace");
    }
    meta.erase("selfLink");
    if (current) {
      const json& cm = (*current)["metadata"];
      for (const char* k : {"uid", "creationTimestamp", "resourceVersion", "generation"}) {
        if (cm.contains(k)) meta[k] = cm[k];
      }
      if (cm.contains("managedFields")) {
        meta["managedFields"] = cm["managedFields"];
      } else {
        meta.erase("managedFields");
      }
    } else {
      meta["uid"] = new_uid();
      meta["creationTimestamp"] = now_rfc3339();
      meta["generation"] = 1;
      meta.erase("resourceVersion");
      meta.erase("managedFields");
    }
    validate_object(t, next);
    apply_defaults(t, next, current ? &*current : nullptr, next_service_ip_);
    if (current && spec_part(next) != spec_part(*current)) {
      meta["generation"] = (*current)["metadata"].value("generation", 0) + 1;
    }
    if (current && next == *current) {
      result.object = with_version(*current, t);
      return result;
    }
    record_manager(next, options, t.api_version());
    result.created = !current.has_value();
    result.changed = true;
    if (options.dry_run) {
      result.object = std::move(next);
      return result;
    }
    ++rv_;
    meta["resourceVersion"] = std::to_string(rv_);
    if (is_crd(t)) {
      registry_.remove_owned_by(name);
      for (const auto& crt : types_from_crd(next)) registry_.add(crt, name);
    }
    auto stored = std::make_shared<const json>(std::move(next));
    objects_[key][{scope_ns, name}] = stored;
    record_locked(result.created ? "ADDED" : "MODIFIED", key, scope_ns, stored);
    result.object = with_version(*stored, t);
  }
  run_hook(result.created ? "ADDED" : "MODIFIED", result.object);
  return result;
}

std::optional<json> Store::remove(const ResourceType& t, const std::string& ns,
                                  const std::string& name, bool dry_run,
                                  const std::string& expect_uid) {
  const std::string key = store_key(t);
  const std::string scope_ns = t.namespaced ? ns : "";
  json removed;
  {
    std::lock_guard lock(mu_);
    auto b = objects_.find(key);
    if (b == objects_.end()) return std::nullopt;
    auto it = b->second.find({scope_ns, name});
    if (it == b->second.end()) return std::nullopt;
    if (!expect_uid.empty() && string_at(*it->second, {"metadata", "uid"}) != expect_uid) {
      throw ApiError(409, "Conflict",
                     "Precondition failed: UID in precondition: " + expect_uid +
                         ", UID in object meta: " + string_at(*it->second, {"metadata", "uid"}));
    }
    removed = with_version(*it->second, t);
    if (dry_run) return removed;
    b->second.erase(it);
    ++rv_;
    removed["metadata"]["resourceVersion"] = std::to_string(rv_);
    if (is_crd(t)) registry_.remove_owned_by(name);
    record_locked("DELETED", key, scope_ns, std::make_shared<const json>(removed));
  }
  run_hook("DELETED", removed);
  return removed;
}

std::vector<Event> Store::events_after(std::uint64_t since, const std::string& key,
                                       const std::string& ns, std::chrono::milliseconds wait,
                                       std::uint64_t& scanned, bool& expired,
                                       const std::function<bool()>& cancelled) const {
  std::vector<Event> out;
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, wait, [&] { return rv_ > since || (cancelled && cancelled()); });
  expired = since < truncated_through_;
  scanned = rv_;
  auto first = std::upper_bound(events_.begin(), events_.end(), since,
                                [](std::uint64_t v, const Event& e) { return v < e.rv; });
  for (auto it = first; it != events_.end(); ++it) {
    if (it->key == key && (ns.empty() || it->ns == ns)) out.push_back(*it);
  }
  return out;
}

void Store::wake_watchers() const {
  std::lock_guard lock(mu_);
  cv_.notify_all();
}

}  // namespace fluxboot::sim::api
