#include "sim/api/resource_types.hpp"

#include <algorithm>

#include "sim/api/util.hpp"

namespace fluxboot::sim::api {

using json = nlohmann::json;

std::pair<std::string, std::string> split_api_version(const std::string& api_version) {
  auto slash = api_version.find('/');
  if (slash == std::string::npos) return {"", api_version};
  return {api_version.substr(0, slash), api_version.substr(slash + 1)};
}

std::string store_key(const ResourceType& t) { return t.group + "/" + t.plural; }

namespace {

ResourceType make(std::string group, std::string version, std::string kind, std::string plural,
                  bool namespaced, std::vector<std::string> short_names = {},
                  std::vector<std::string> subresources = {}) {
  ResourceType t;
  t.group = std::move(group);
  t.version = std::move(version);
  t.kind = std::move(kind);
  t.plural = std::move(plural);
  t.singular = to_lower(t.kind);
  t.namespaced = namespaced;
  t.short_names = std::move(short_names);
  t.subresources = std::move(subresources);
  return t;
}

std::vector<ResourceType> builtin_types() {
  const bool ns = true;
  const bool cluster = false;
  const std::vector<std::string> status{"status"};
  const std::vector<std::string> status_scale{"status", "scale"};
  return {
      make("", "v1", "Namespace", "namespaces", cluster, {"ns"}, {"status", "finalize"}),
      make("", "v1", "Node", "nodes", cluster, {"no"}, status),
      make("", "v1", "Pod", "pods", ns, {"po"}, status),
      make("", "v1", "Service", "services", ns, {"svc"}, status),
      make("", "v1", "ConfigMap", "configmaps", ns, {"cm"}),
      make("", "v1", "Secret", "secrets", ns),
      make("", "v1", "ServiceAccount", "serviceaccounts", ns, {"sa"}),
      make("", "v1", "Event", "events", ns, {"ev"}),
      make("", "v1", "Endpoints", "endpoints", ns, {"ep"}),
      make("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", ns, {"pvc"}, status),
      make("", "v1", "PersistentVolume", "persistentvolumes", cluster, {"pv"}, status),
      make("", "v1", "LimitRange", "limitranges", ns, {"limits"}),
      make("", "v1", "ResourceQuota", "resourcequotas", ns, {"quota"}, status),
      make("apps", "v1", "Deployment", "deployments", ns, {"deploy"}, status_scale),
      make("apps", "v1", "ReplicaSet", "replicasets", ns, {"rs"}, status_scale),
      make("apps", "v1", "DaemonSet", "daemonsets", ns, {"ds"}, status),
      make("apps", "v1", "StatefulSet", "statefulsets", ns, {"sts"}, status_scale),
      make("apps", "v1", "ControllerRevision", "controllerrevisions", ns),
      make("batch", "v1", "Job", "jobs", ns, {}, status),
      make("batch", "v1", "CronJob", "cronjobs", ns, {"cj"}, status),
      make("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", cluster),
      make("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", cluster),
      make("rbac.authorization.k8s.io", "v1", "Role", "roles", ns),
      make("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", ns),
      make("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions",
           cluster, {"crd", "crds"}, status),
      make("apiregistration.k8s.io", "v1", "APIService", "apiservices", cluster, {}, status),
      make("admissionregistration.k8s.io", "v1", "MutatingWebhookConfiguration",
           "mutatingwebhookconfigurations", cluster),
      make("admissionregistration.k8s.io", "v1", "ValidatingWebhookConfiguration",
           "validatingwebhookconfigurations", cluster),
      make("admissionregistration.k8s.io", "v1", "ValidatingAdmissionPolicy",
           "validatingadmissionpolicies", cluster, {}, status),
      make("admissionregistration.k8s.io", "v1", "ValidatingAdmissionPolicyBinding",
           "validatingadmissionpolicybindings", cluster),
      make("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", ns, {"netpol"}),
      make("networking.k8s.io", "v1", "Ingress", "ingresses", ns, {"ing"}, status),
      make("networking.k8s.io", "v1", "IngressClass", "ingressclasses", cluster),
      make("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", ns, {"pdb"}, status),
      make("coordination.k8s.io", "v1", "Lease", "leases", ns),
      make("storage.k8s.io", "v1", "StorageClass", "storageclasses", cluster, {"sc"}),
      make("storage.k8s.io", "v1", "CSIDriver", "csidrivers", cluster),
      make("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", cluster, {"pc"}),
      make("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", ns, {"hpa"},
           status),
      make("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", ns),
      make("certificates.k8s.io", "v1", "CertificateSigningRequest", "certificatesigningrequests",
           cluster, {"csr"}, status),
  };
}

}  // namespace

std::vector<ResourceType> types_from_crd(const json& crd) {
  std::vector<ResourceType> out;
  const json* spec = find_path(crd, {"spec"});
  if (spec == nullptr) return out;
  std::string group = string_at(*spec, {"group"});
  std::string kind = string_at(*spec, {"names", "kind"});
  std::string plural = string_at(*spec, {"names", "plural"});
  if (group.empty() || kind.empty() || plural.empty()) return out;
  std::string singular = string_at(*spec, {"names", "singular"}, to_lower(kind));
  std::vector<std::string> short_names;
  if (const json* sn = find_path(*spec, {"names", "shortNames"}); sn != nullptr && sn->is_array()) {
    for (const auto& s : *sn) {
      if (s.is_string()) short_names.push_back(s.get<std::string>());
    }
  }
  bool namespaced = string_at(*spec, {"scope"}, "Namespaced") == "Namespaced";
  const json* versions = find_path(*spec, {"versions"});
  if (versions == nullptr || !versions->is_array()) return out;
  for (const auto& v : *versions) {
    if (!v.is_object() || !v.value("served", true)) continue;
    ResourceType t;
    t.group = group;
    t.version = v.value("name", "");
    if (t.version.empty()) continue;
    t.kind = kind;
    t.plural = plural;
    t.singular = singular;
    t.namespaced = namespaced;
    t.short_names = short_names;
    if (find_path(v, {"subresources", "status"}) != nullptr) t.subresources.push_back("status");
    if (find_path(v, {"subresources", "scale"}) != nullptr) t.subresources.push_back("scale");
    out.push_back(std::move(t));
  }
  // The storage version first, so it is the preferred one in discovery.
  std::stable_partition(out.begin(), out.end(), [&](const ResourceType& t) {
    for (const auto& v : *versions) {
      if (v.is_object() && v.value("name", "") == t.version) return v.value("storage", false);
    }
    return false;
  });
  return out;
}

TypeRegistry::TypeRegistry() {
  for (auto& t : builtin_types()) add(t);
}

void TypeRegistry::add(const ResourceType& t, const std::string& owner) {
  for (std::size_t i = 0; i < types_.size(); ++i) {
    if (types_[i].group == t.group && types_[i].version == t.version &&
        types_[i].plural == t.plural) {
      types_[i] = t;
      owners_[i] = owner;
      return;
    }
  }
  types_.push_back(t);
  owners_.push_back(owner);
}

void TypeRegistry::remove_owned_by(const std::string& owner) {
  if (owner.empty()) return;
  for (std::size_t i = types_.size(); i-- > 0;) {
    if (owners_[i] == owner) {
      types_.erase(types_.begin() + static_cast<std::ptrdiff_t>(i));
      owners_.erase(owners_.begin() + static_cast<std::ptrdiff_t>(i));
    }
  }
}

const ResourceType* TypeRegistry::by_resource(const std::string& group, const std::string& version,
                                              const std::string& plural) const {
  for (const auto& t : types_) {
    if (t.group == group && t.version == version && t.plural == plural) return &t;
  }
  return nullptr;
}

const ResourceType* TypeRegistry::by_kind(const std::string& group, const std::string& version,
                                          const std::string& kind) const {
  for (const auto& t : types_) {
    if (t.group == group && t.version == version && t.kind == kind) return &t;
  }
  return nullptr;
}

const ResourceType* TypeRegistry::by_group_kind(const std::string& group,
                                                const std::string& kind) const {
  for (const auto& t : types_) {
    if (t.group == group && t.kind == kind) return &t;
  }
  return nullptr;
}

std::vector<std::pair<std::string, std::vector<std::string>>> TypeRegistry::groups() const {
  std::vector<std::pair<std::string, std::vector<std::string>>> out;
  for (const auto& t : types_) {
    auto it = std::find_if(out.begin(), out.end(), [&](const auto& g) { return g.first == t.group; });
    if (it == out.end()) {
      out.push_back({t.group, {t.version}});
    } else if (std::find(it->second.begin(), it->second.end(), t.version) == it->second.end()) {
      it->second.push_back(t.version);
    }
  }
  return out;
}

}  // namespace fluxboot::sim::api
