#include "sim/api/controllers.hpp"

#include <algorithm>
#include <cctype>
#include <deque>
#include <map>
#include <utility>

#include <fmt/format.h>

#include "sim/api/resource_types.hpp"
#include "sim/api/status.hpp"
#include "sim/api/util.hpp"

namespace fluxboot::sim::api {

using json = nlohmann::json;

namespace {

std::string type_id(const ResourceType& t) { return t.group + "/" + t.kind; }

json& ensure_object(json& parent, const char* key) {
  json& v = parent[key];
  if (!v.is_object()) v = json::object();
  return v;
}

template <typename T>
void set_default(json& obj, const char* key, T value) {
  if (!obj.contains(key) || obj[key].is_null()) obj[key] = std::move(value);
}

bool is_dns_subdomain(const std::string& s) {
  if (s.empty() || s.size() > 253) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && c != '-' && c != '.') return false;
    if ((i == 0 || i + 1 == s.size()) && !alnum) return false;
  }
  return true;
}

bool is_path_segment(const std::string& s) {
  return !s.empty() && s != "." && s != ".." && s.find('/') == std::string::npos &&
         s.find('%') == std::string::npos;
}

void default_crd(json& crd, const json* current) {
  json& spec = ensure_object(crd, "spec");
  json& names = ensure_object(spec, "names");
  std::string kind = names.value("kind", "");
  set_default(names, "singular", to_lower(kind));
  set_default(names, "listKind", kind + "List");
  set_default(spec, "conversion", json{{"strategy", "None"}});
  json& status = ensure_object(crd, "status");
  status["acceptedNames"] = names;
  json conditions = json::array();
  if (current != nullptr) {
    if (const json* c = find_path(*current, {"status", "conditions"}); c != nullptr) conditions = *c;
  }
  upsert_condition(conditions, "NamesAccepted", "True", "NoConflicts", "no conflicts found");
  upsert_condition(conditions, "Established", "True", "InitialNamesAccepted",
                   "the initial names have been accepted");
  status["conditions"] = conditions;
  json stored = json::array();
  if (current != nullptr) {
    if (const json* s = find_path(*current, {"status", "storedVersions"}); s != nullptr) stored = *s;
  }
  if (const json* versions = find_path(spec, {"versions"}); versions != nullptr && versions->is_array()) {
    for (const auto& v : *versions) {
      if (v.is_object() && v.value("storage", false)) {
        json name = v.value("name", "");
        if (std::find(stored.begin(), stored.end(), name) == stored.end()) stored.push_back(name);
      }
    }
  }
  status["storedVersions"] = stored;
}

void default_service(json& svc, const json* current, std::uint32_t& next_ip) {
  json& spec = ensure_object(svc, "spec");
  set_default(spec, "type", "ClusterIP");
  set_default(spec, "sessionAffinity", "None");
  if (spec["type"] != "ExternalName") {
    std::string ip = spec.value("clusterIP", "");
    if (ip.empty() && current != nullptr) ip = string_at(*current, {"spec", "clusterIP"});
    if (ip.empty()) {
      std::uint32_t n = next_ip++;
      ip = fmt::format("10.96.{}.{}", (n / 250) % 250, n % 250 + 1);
    }
    spec["clusterIP"] = ip;
    spec["clusterIPs"] = json::array({ip});
    set_default(spec, "ipFamilies", json::array({"IPv4"}));
    set_default(spec, "ipFamilyPolicy", "SingleStack");
    set_default(spec, "internalTrafficPolicy", "Cluster");
  }
  if (spec.contains("ports") && spec["ports"].is_array()) {
    for (auto& p : spec["ports"]) {
      if (!p.is_object()) continue;
      set_default(p, "protocol", "TCP");
      if (p.contains("port")) set_default(p, "targetPort", p["port"]);
    }
  }
  if (!svc.contains("status")) svc["status"] = json{{"loadBalancer", json::object()}};
}

void default_deployment(json& d) {
  json& spec = ensure_object(d, "spec");
  set_default(spec, "replicas", 1);
  set_default(spec, "revisionHistoryLimit", 10);
  set_default(spec, "progressDeadlineSeconds", 600);
  json& strategy = ensure_object(spec, "strategy");
  set_default(strategy, "type", "RollingUpdate");
  if (strategy["type"] == "RollingUpdate") {
    json& ru = ensure_object(strategy, "rollingUpdate");
    set_default(ru, "maxUnavailable", "25%");
    set_default(ru, "maxSurge", "25%");
  }
}

json deref(const json* p) { return p != nullptr ? *p : json(); }

std::string condition_status(const json& obj, const std::string& type) {
  const json* conds = find_path(obj, {"status", "conditions"});
  if (conds == nullptr || !conds->is_array()) return "";
  for (const auto& c : *conds) {
    if (c.is_object() && c.value("type", "") == type) return c.value("status", "");
  }
  return "";
}

bool owned_by(const json& obj, const std::string& uid) {
  const json* refs = find_path(obj, {"metadata", "ownerReferences"});
  if (refs == nullptr || !refs->is_array()) return false;
  return std::any_of(refs->begin(), refs->end(),
                     [&](const json& r) { return r.is_object() && r.value("uid", "") == uid; });
}

json controller_ref(const json& owner) {
  return json{{"apiVersion", owner.value("apiVersion", "")},
              {"kind", owner.value("kind", "")},
              {"name", string_at(owner, {"metadata", "name"})},
              {"uid", string_at(owner, {"metadata", "uid"})},
              {"controller", true},
              {"blockOwnerDeletion", true}};
}

CommitOptions status_only() {
  CommitOptions o;
  o.existence = CommitOptions::Existence::MustExist;
  o.status_only = true;
  return o;
}

CommitOptions must_exist() {
  CommitOptions o;
  o.existence = CommitOptions::Existence::MustExist;
  return o;
}

int int_at(const json& obj, std::initializer_list<std::string_view> path, int fallback) {
  const json* v = find_path(obj, path);
  return v != nullptr && v->is_number_integer() ? v->get<int>() : fallback;
}

}  // namespace

void upsert_condition(json& conditions, const std::string& type, const std::string& status,
                      const std::string& reason, const std::string& message,
                      bool with_update_time) {
  if (!conditions.is_array()) conditions = json::array();
  std::string now = now_rfc3339();
  for (auto& c : conditions) {
    if (!c.is_object() || c.value("type", "") != type) continue;
    bool same = c.value("status", "") == status && c.value("reason", "") == reason &&
                c.value("message", "") == message;
    if (same) return;
    if (c.value("status", "") != status) c["lastTransitionTime"] = now;
    c["status"] = status;
    c["reason"] = reason;
    c["message"] = message;
    if (with_update_time) c["lastUpdateTime"] = now;
    return;
  }
  json c = {{"type", type},         {"status", status},        {"reason", reason},
            {"message", message},   {"lastTransitionTime", now}};
  if (with_update_time) c["lastUpdateTime"] = now;
  conditions.push_back(std::move(c));
}

void validate_object(const ResourceType& t, const json& obj) {
  std::string name = string_at(obj, {"metadata", "name"});
  if (name.empty()) {
    throw invalid(t, name, "metadata.name", "Required value: name or generateName is required",
                  "FieldValueRequired");
  }
  bool rbac = t.group == "rbac.authorization.k8s.io";
  if (rbac ? !is_path_segment(name) : !is_dns_subdomain(name)) {
    throw invalid(t, name, "metadata.name",
                  fmt::format("Invalid value: \"{}\": a lowercase RFC 1123 subdomain must consist "
                              "of lower case alphanumeric characters, '-' or '.', and must start "
                              "and end with an alphanumeric character",
                              name));
  }
  if (type_id(t) == "apiextensions.k8s.io/CustomResourceDefinition") {
    std::string expected = string_at(obj, {"spec", "names", "plural"}) + "." +
                           string_at(obj, {"spec", "group"});
    if (name != expected) {
      throw invalid(t, name, "metadata.name",
                    fmt::format("Invalid value: \"{}\": must be spec.names.plural+\".\"+spec.group",
                                name));
    }
  }
}

void apply_defaults(const ResourceType& t, json& obj, const json* current,
                    std::uint32_t& next_service_ip) {
  const std::string id = type_id(t);
  if (id == "/Namespace") {
    json& labels = ensure_object(obj["metadata"], "labels");
    labels["kubernetes.io/metadata.name"] = obj["metadata"]["name"];
    set_default(ensure_object(obj, "spec"), "finalizers", json::array({"kubernetes"}));
    ensure_object(obj, "status")["phase"] = "Active";
  } else if (id == "/Secret") {
    if (obj.contains("stringData") && obj["stringData"].is_object()) {
      json& data = ensure_object(obj, "data");
      for (auto it = obj["stringData"].begin(); it != obj["stringData"].end(); ++it) {
        data[it.key()] = base64_encode(it.value().is_string() ? it.value().get<std::string>()
                                                               : it.value().dump());
      }
    }
    obj.erase("stringData");
    set_default(obj, "type", "Opaque");
  } else if (id == "/Service") {
    default_service(obj, current, next_service_ip);
  } else if (id == "apps/Deployment") {
    default_deployment(obj);
  } else if (id == "apps/ReplicaSet") {
    set_default(ensure_object(obj, "spec"), "replicas", 1);
  } else if (id == "apps/StatefulSet") {
    json& spec = ensure_object(obj, "spec");
    set_default(spec, "replicas", 1);
    set_default(spec, "podManagementPolicy", "OrderedReady");
    set_default(spec, "revisionHistoryLimit", 10);
    set_default(spec, "updateStrategy",
                json{{"type", "RollingUpdate"}, {"rollingUpdate", {{"partition", 0}}}});
  } else if (id == "apps/DaemonSet") {
    json& spec = ensure_object(obj, "spec");
    set_default(spec, "revisionHistoryLimit", 10);
    set_default(spec, "updateStrategy",
                json{{"type", "RollingUpdate"},
                     {"rollingUpdate", {{"maxUnavailable", 1}, {"maxSurge", 0}}}});
  } else if (id == "apiextensions.k8s.io/CustomResourceDefinition") {
    default_crd(obj, current);
  } else if (id == "/PersistentVolumeClaim") {
    // No storage provisioner: claims are bound at once (helm --wait waits for Bound).
    json& status = ensure_object(obj, "status");
    status["phase"] = "Bound";
    if (const json* req = find_path(obj, {"spec", "resources", "requests"}); req != nullptr) {
      set_default(status, "capacity", *req);
    }
    set_default(status, "accessModes", deref(find_path(obj, {"spec", "accessModes"})));
  } else if (id == "/PersistentVolume") {
    set_default(ensure_object(obj, "status"), "phase", "Available");
  }
}

Controllers::Controllers(Store& store, bool pods_ready) : store_(store), pods_ready_(pods_ready) {}

void Controllers::react(const std::string& type, const json& object) {
  struct Pending {
    std::deque<std::pair<std::string, json>> items;
    bool active = false;
  };
  thread_local std::map<const Controllers*, Pending> pending;
  Pending& mine = pending[this];
  mine.items.emplace_back(type, object);
  if (mine.active) return;
  mine.active = true;
  std::lock_guard lock(mu_);
  while (!pending[this].items.empty()) {
    auto item = std::move(pending[this].items.front());
    pending[this].items.pop_front();
    try {
      handle(item.first, item.second);
    } catch (const std::exception&) {
      // Best effort, like a controller that will retry later; the write itself succeeded.
    }
  }
  pending.erase(this);
}

void Controllers::remove_object(const json& obj) {
  auto t = store_.type_for(obj.value("apiVersion", ""), obj.value("kind", ""));
  if (!t) return;
  store_.remove(*t, string_at(obj, {"metadata", "namespace"}), string_at(obj, {"metadata", "name"}));
}

void Controllers::handle(const std::string& type, const json& obj) {
  auto [group, version] = split_api_version(obj.value("apiVersion", ""));
  const std::string id = group + "/" + obj.value("kind", "");
  const std::string ns = string_at(obj, {"metadata", "namespace"});
  const std::string name = string_at(obj, {"metadata", "name"});

  if (type == "DELETED") {
    collect_garbage(obj);
    if (id == "/Namespace") {
      for (const auto& o : store_.in_namespace(name)) remove_object(o);
    } else if (id == "apiextensions.k8s.io/CustomResourceDefinition") {
      auto crd_types = types_from_crd(obj);
      if (!crd_types.empty()) {
        for (const auto& o : store_.list(crd_types.front(), "")) {
          store_.remove(crd_types.front(), string_at(o, {"metadata", "namespace"}),
                        string_at(o, {"metadata", "name"}));
        }
      }
    } else if (id == "/Node") {
      reconcile_daemonsets();
    }
  }

  if (id == "apps/Deployment" && type != "DELETED") {
    reconcile_deployment(ns, name);
  } else if (id == "/Pod" || id == "apps/ReplicaSet") {
    // A pod's readiness changed, or an owned object went away: recompute its Deployment.
    std::string owner_kind = id == "/Pod" ? "ReplicaSet" : "Deployment";
    const json* refs = find_path(obj, {"metadata", "ownerReferences"});
    if (refs != nullptr && refs->is_array()) {
      for (const auto& r : *refs) {
        if (!r.is_object() || r.value("kind", "") != owner_kind) continue;
        std::string owner = r.value("name", "");
        if (owner_kind == "Deployment") {
          if (type == "DELETED") reconcile_deployment(ns, owner);
          continue;
        }
        auto rs_t = store_.type_for("apps/v1", "ReplicaSet");
        auto rs = rs_t ? store_.get(*rs_t, ns, owner) : std::nullopt;
        if (!rs) continue;
        const json* rs_refs = find_path(*rs, {"metadata", "ownerReferences"});
        if (rs_refs == nullptr || !rs_refs->is_array()) continue;
        for (const auto& dr : *rs_refs) {
          if (dr.is_object() && dr.value("kind", "") == "Deployment") {
            reconcile_deployment(ns, dr.value("name", ""));
          }
        }
      }
    }
  } else if (id == "apps/StatefulSet" && type != "DELETED") {
    reconcile_statefulset(obj);
  } else if (id == "apps/DaemonSet" && type != "DELETED") {
    reconcile_daemonsets();
  } else if (id == "batch/Job" && type != "DELETED") {
    reconcile_job(obj);
  } else if (id == "/Node" && type == "ADDED") {
    reconcile_daemonsets();
  } else if (id == "/Namespace" && type == "ADDED") {
    ensure_default_service_account(name);
  }
  if (id == "/Pod" && type == "ADDED" && !obj.contains("status")) {
    // A bare pod (not from a Deployment, which sets status itself) starts running at once.
    if (auto pod_t = store_.type_for("v1", "Pod")) {
      store_.commit(*pod_t, ns, name, [&](const json* cur) {
        json next = *cur;
        next["status"] = running_pod_status(deref(find_path(*cur, {"spec"})));
        return next;
      }, status_only());
    }
  }
}

void Controllers::collect_garbage(const json& deleted) {
  std::string uid = string_at(deleted, {"metadata", "uid"});
  for (const auto& o : store_.owned_by(uid)) remove_object(o);
}

void Controllers::ensure_default_service_account(const std::string& ns) {
  auto t = store_.type_for("v1", "ServiceAccount");
  if (!t || store_.get(*t, ns, "default")) return;
  CommitOptions opts;
  opts.existence = CommitOptions::Existence::MustNotExist;
  try {
    store_.commit(*t, ns, "default", [&](const json*) {
      return json{{"metadata", {{"name", "default"}, {"namespace", ns}}}};
    }, opts);
  } catch (const ApiError&) {
    // created concurrently, or the namespace is already gone
  }
}

void Controllers::reconcile_deployment(const std::string& ns, const std::string& name) {
  auto dep_t = store_.type_for("apps/v1", "Deployment");
  auto rs_t = store_.type_for("apps/v1", "ReplicaSet");
  auto pod_t = store_.type_for("v1", "Pod");
  if (!dep_t || !rs_t || !pod_t) return;
  auto dep = store_.get(*dep_t, ns, name);
  if (!dep || find_path(*dep, {"metadata", "deletionTimestamp"}) != nullptr) return;

  const std::string uid = string_at(*dep, {"metadata", "uid"});
  json tmpl = deref(find_path(*dep, {"spec", "template"}));
  if (!tmpl.is_object()) tmpl = json::object();
  const std::string hash = safe_hash(tmpl.dump(), 10);
  const std::string rs_name = name + "-" + hash;
  const int replicas = int_at(*dep, {"spec", "replicas"}, 1);

  json pod_labels = deref(find_path(tmpl, {"metadata", "labels"}));
  if (!pod_labels.is_object()) pod_labels = json::object();
  pod_labels["pod-template-hash"] = hash;

  // Older ReplicaSets scale to zero; their pods go.
  int revision = 0;
  std::optional<json> current_rs;
  for (const auto& rs : store_.list(*rs_t, ns)) {
    if (!owned_by(rs, uid)) continue;
    std::string rev = string_at(rs, {"metadata", "annotations", "deployment.kubernetes.io/revision"});
    revision = std::max(revision, std::atoi(rev.c_str()));
    std::string n = string_at(rs, {"metadata", "name"});
    if (n == rs_name) {
      current_rs = rs;
      continue;
    }
    for (const auto& p : store_.owned_by(string_at(rs, {"metadata", "uid"}))) remove_object(p);
    if (int_at(rs, {"spec", "replicas"}, 0) != 0) {
      store_.commit(*rs_t, ns, n, [&](const json* cur) {
        json next = *cur;
        next["spec"]["replicas"] = 0;
        return next;
      }, must_exist());
    }
    CommitOptions status_opts;
    status_opts.existence = CommitOptions::Existence::MustExist;
    status_opts.status_only = true;
    store_.commit(*rs_t, ns, n, [&](const json* cur) {
      json next = *cur;
      next["status"] = {{"replicas", 0}, {"observedGeneration", (*cur)["metadata"].value("generation", 1)}};
      return next;
    }, status_opts);
  }

  if (!current_rs) {
    json selector = deref(find_path(*dep, {"spec", "selector"}));
    if (!selector.is_object()) selector = json::object();
    json& match = ensure_object(selector, "matchLabels");
    if (match.empty()) match = pod_labels;
    match["pod-template-hash"] = hash;
    json rs_tmpl = tmpl;
    rs_tmpl["metadata"]["labels"] = pod_labels;
    json rs = {{"apiVersion", "apps/v1"},
               {"kind", "ReplicaSet"},
               {"metadata",
                {{"name", rs_name},
                 {"namespace", ns},
                 {"labels", pod_labels},
                 {"annotations",
                  {{"deployment.kubernetes.io/revision", std::to_string(revision + 1)},
                   {"deployment.kubernetes.io/desired-replicas", std::to_string(replicas)}}},
                 {"ownerReferences", json::array({controller_ref(*dep)})}}},
               {"spec", {{"replicas", replicas}, {"selector", selector}, {"template", rs_tmpl}}}};
    current_rs = store_.commit(*rs_t, ns, rs_name, [&](const json*) { return rs; },
                               CommitOptions{}).object;
  } else if (int_at(*current_rs, {"spec", "replicas"}, -1) != replicas) {
    current_rs = store_.commit(*rs_t, ns, rs_name, [&](const json* cur) {
      json next = *cur;
      next["spec"]["replicas"] = replicas;
      next["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] =
          std::to_string(replicas);
      return next;
    }, must_exist()).object;
  }

  // Pods of the current ReplicaSet.
  const std::string rs_uid = string_at(*current_rs, {"metadata", "uid"});
  std::vector<json> pods;
  for (const auto& o : store_.owned_by(rs_uid)) {
    if (o.value("kind", "") == "Pod") pods.push_back(o);
  }
  std::string node;
  if (auto node_t = store_.type_for("v1", "Node")) {
    auto nodes = store_.list(*node_t, "");
    if (!nodes.empty()) node = string_at(nodes.front(), {"metadata", "name"});
  }
  while (static_cast<int>(pods.size()) < replicas) {
    std::string pod_name = rs_name + "-" + random_suffix(5);
    json spec = deref(find_path(tmpl, {"spec"}));
    if (!spec.is_object()) spec = json::object();
    if (!node.empty()) spec["nodeName"] = node;
    json pod = {{"apiVersion", "v1"},
                {"kind", "Pod"},
                {"metadata",
                 {{"name", pod_name},
                  {"namespace", ns},
                  {"labels", pod_labels},
                  {"ownerReferences", json::array({controller_ref(*current_rs)})}}},
                {"spec", spec},
                {"status", running_pod_status(spec)}};
    if (const json* ann = find_path(tmpl, {"metadata", "annotations"}); ann != nullptr) {
      pod["metadata"]["annotations"] = *ann;
    }
    CommitOptions opts;
    opts.existence = CommitOptions::Existence::MustNotExist;
    pods.push_back(store_.commit(*pod_t, ns, pod_name, [&](const json*) { return pod; }, opts).object);
  }
  while (static_cast<int>(pods.size()) > replicas) {
    remove_object(pods.back());
    pods.pop_back();
  }

  int ready = 0;
  for (const auto& p : store_.owned_by(rs_uid)) {
    if (p.value("kind", "") == "Pod" && condition_status(p, "Ready") == "True") ++ready;
  }
  CommitOptions status_opts;
  status_opts.existence = CommitOptions::Existence::MustExist;
  status_opts.status_only = true;
  store_.commit(*rs_t, ns, rs_name, [&](const json* cur) {
    json next = *cur;
    next["status"] = {{"replicas", replicas},
                      {"fullyLabeledReplicas", replicas},
                      {"readyReplicas", ready},
                      {"availableReplicas", ready},
                      {"observedGeneration", (*cur)["metadata"].value("generation", 1)}};
    return next;
  }, status_opts);
  store_.commit(*dep_t, ns, name, [&](const json* cur) {
    json next = *cur;
    json status = next.contains("status") && next["status"].is_object() ? next["status"]
                                                                         : json::object();
    status["observedGeneration"] = (*cur)["metadata"].value("generation", 1);
    status["replicas"] = replicas;
    status["updatedReplicas"] = replicas;
    status["readyReplicas"] = ready;
    status["availableReplicas"] = ready;
    if (replicas > ready) {
      status["unavailableReplicas"] = replicas - ready;
    } else {
      status.erase("unavailableReplicas");
    }
    json conditions = status.contains("conditions") ? status["conditions"] : json::array();
    if (ready >= replicas) {
      upsert_condition(conditions, "Available", "True", "MinimumReplicasAvailable",
                       "Deployment has minimum availability.", true);
      upsert_condition(conditions, "Progressing", "True", "NewReplicaSetAvailable",
                       fmt::format("ReplicaSet \"{}\" has successfully progressed.", rs_name), true);
    } else {
      upsert_condition(conditions, "Available", "False", "MinimumReplicasUnavailable",
                       "Deployment does not have minimum availability.", true);
      upsert_condition(conditions, "Progressing", "True", "ReplicaSetUpdated",
                       fmt::format("ReplicaSet \"{}\" is progressing.", rs_name), true);
    }
    status["conditions"] = conditions;
    next["status"] = status;
    return next;
  }, status_opts);
}

json Controllers::running_pod_status(const json& pod_spec) {
  std::string ready = pods_ready_ ? "True" : "False";
  std::string now = now_rfc3339();
  std::uint32_t ip = next_pod_ip_++;
  json container_statuses = json::array();
  if (const json* cs = find_path(pod_spec, {"containers"}); cs != nullptr && cs->is_array()) {
    for (const auto& c : *cs) {
      container_statuses.push_back({{"name", c.value("name", "")},
                                    {"image", c.value("image", "")},
                                    {"imageID", ""},
                                    {"ready", pods_ready_},
                                    {"started", true},
                                    {"restartCount", 0},
                                    {"state", {{"running", {{"startedAt", now}}}}}});
    }
  }
  json conditions = json::array();
  upsert_condition(conditions, "PodReadyToStartContainers", "True", "", "");
  upsert_condition(conditions, "Initialized", "True", "", "");
  upsert_condition(conditions, "Ready", ready, "", "");
  upsert_condition(conditions, "ContainersReady", ready, "", "");
  upsert_condition(conditions, "PodScheduled", "True", "", "");
  std::string pod_ip = fmt::format("10.244.{}.{}", (ip / 250) % 250, ip % 250 + 1);
  return {{"phase", "Running"},
          {"conditions", conditions},
          {"podIP", pod_ip},
          {"podIPs", json::array({{{"ip", pod_ip}}})},
          {"startTime", now},
          {"qosClass", "BestEffort"},
          {"containerStatuses", container_statuses}};
}

void Controllers::reconcile_statefulset(const json& sts) {
  auto t = store_.type_for("apps/v1", "StatefulSet");
  if (!t) return;
  const std::string ns = string_at(sts, {"metadata", "namespace"});
  const std::string name = string_at(sts, {"metadata", "name"});
  CommitOptions opts;
  opts.existence = CommitOptions::Existence::MustExist;
  opts.status_only = true;
  store_.commit(*t, ns, name, [&](const json* cur) {
    json next = *cur;
    int replicas = int_at(*cur, {"spec", "replicas"}, 1);
    json tmpl = deref(find_path(*cur, {"spec", "template"}));
    std::string revision = name + "-" + safe_hash(tmpl.dump(), 10);
    next["status"] = {{"observedGeneration", (*cur)["metadata"].value("generation", 1)},
                      {"replicas", replicas},
                      {"readyReplicas", replicas},
                      {"currentReplicas", replicas},
                      {"updatedReplicas", replicas},
                      {"availableReplicas", replicas},
                      {"currentRevision", revision},
                      {"updateRevision", revision},
                      {"collisionCount", 0}};
    return next;
  }, opts);
}

void Controllers::reconcile_daemonsets() {
  auto t = store_.type_for("apps/v1", "DaemonSet");
  auto node_t = store_.type_for("v1", "Node");
  if (!t || !node_t) return;
  int nodes = static_cast<int>(store_.list(*node_t, "").size());
  CommitOptions opts;
  opts.existence = CommitOptions::Existence::MustExist;
  opts.status_only = true;
  for (const auto& ds : store_.list(*t, "")) {
    try {
      store_.commit(*t, string_at(ds, {"metadata", "namespace"}), string_at(ds, {"metadata", "name"}),
                    [&](const json* cur) {
                      json next = *cur;
                      next["status"] = {{"observedGeneration", (*cur)["metadata"].value("generation", 1)},
                                        {"currentNumberScheduled", nodes},
                                        {"desiredNumberScheduled", nodes},
                                        {"numberReady", nodes},
                                        {"numberAvailable", nodes},
                                        {"updatedNumberScheduled", nodes},
                                        {"numberMisscheduled", 0}};
                      return next;
                    }, opts);
    } catch (const ApiError&) {
      // deleted meanwhile
    }
  }
}

void Controllers::reconcile_job(const json& job) {
  if (!condition_status(job, "Complete").empty() || !condition_status(job, "Failed").empty()) return;
  auto t = store_.type_for("batch/v1", "Job");
  if (!t) return;
  CommitOptions opts;
  opts.existence = CommitOptions::Existence::MustExist;
  opts.status_only = true;
  store_.commit(*t, string_at(job, {"metadata", "namespace"}), string_at(job, {"metadata", "name"}),
                [&](const json* cur) {
                  json next = *cur;
                  std::string now = now_rfc3339();
                  json conditions = json::array();
                  upsert_condition(conditions, "SuccessCriteriaMet", "True", "CompletionsReached",
                                   "Reached expected number of succeeded pods");
                  upsert_condition(conditions, "Complete", "True", "CompletionsReached",
                                   "Reached expected number of succeeded pods");
                  next["status"] = {{"startTime", now},
                                    {"completionTime", now},
                                    {"succeeded", int_at(*cur, {"spec", "completions"}, 1)},
                                    {"active", 0},
                                    {"ready", 0},
                                    {"terminating", 0},
                                    {"conditions", conditions}};
                  return next;
                }, opts);
}

}  // namespace fluxboot::sim::api
