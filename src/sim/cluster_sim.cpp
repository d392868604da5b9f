#include "sim/cluster_sim.hpp"

#include <ctime>
#include <iostream>

#include <fmt/format.h>

#include "fluxboot/error.hpp"
#include "sim/pki.hpp"

namespace fluxboot::sim {

namespace {

using json = nlohmann::json;

constexpr const char* kFluxGroupVersion = "fluxcd.controlplane.io/v1";
constexpr const char* kCniNotReady =
    "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady "
    "message:Network plugin returns error: cni plugin not initialized";

std::string now_rfc3339() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

ControlResponse json_response(const json& body, int status = 200) {
  return ControlResponse{status, body.dump(), "application/json"};
}

ControlResponse error_response(int status, const std::string& message) {
  return json_response({{"error", message}}, status);
}

json talos_result_json(const TalosResult& r) {
  return {{"exitCode", r.exit_code}, {"stdout", r.out}, {"stderr", r.err}};
}

void log_line(const std::string& text) {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%H:%M:%S", &tm);
  std::cout << buf << " fluxboot-sim: " << text << std::endl;
}

json crd(const std::string& group, const std::string& version, const std::string& kind,
         const std::string& plural, bool namespaced, std::vector<std::string> short_names = {}) {
  std::string singular = kind;
  for (auto& c : singular) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return {{"apiVersion", "apiextensions.k8s.io/v1"},
          {"kind", "CustomResourceDefinition"},
          {"metadata", {{"name", plural + "." + group}, {"labels", {{"io.cilium.k8s.crd.schema.version", "1.30.0"}}}}},
          {"spec",
           {{"group", group},
            {"names",
             {{"kind", kind}, {"listKind", kind + "List"}, {"plural", plural}, {"singular", singular},
              {"shortNames", short_names}}},
            {"scope", namespaced ? "Namespaced" : "Cluster"},
            {"versions",
             json::array({{{"name", version},
                           {"served", true},
                           {"storage", true},
                           {"subresources", {{"status", json::object()}}},
                           {"schema",
                            {{"openAPIV3Schema",
                              {{"type", "object"}, {"x-kubernetes-preserve-unknown-fields", true}}}}}}})}}}};
}

bool listed(const std::vector<std::string>& list, const TalosNode& n) {
  for (const auto& e : list)
    if (e == n.address || e == n.hostname) return true;
  return false;
}

std::string resolve_flux_version(const std::string& wanted) {
  if (wanted.empty() || wanted == "2.x" || wanted == "*") return "v2.5.1";
  std::string v = wanted[0] == 'v' ? wanted.substr(1) : wanted;
  if (v.size() > 2 && v.substr(v.size() - 2) == ".x") v = v.substr(0, v.size() - 2) + ".0";
  return "v" + v;
}

}  // namespace

ClusterSim::ClusterSim(ApiServer& api, ClusterSimOptions options)
    : api_(api),
      kubeconfig_(std::move(options.kubeconfig)),
      initial_nodes_(std::move(options.initial_nodes)),
      start_bootstrapped_(options.bootstrapped),
      scheduler_(std::make_unique<Scheduler>()),
      scenario_(std::move(options.scenario)),
      talos_(scenario_.talos_apply_transient, scenario_.talos_bootstrap_transient) {}

ClusterSim::~ClusterSim() { stop(); }

void ClusterSim::stop() { scheduler_->stop(); }

void ClusterSim::set_server_url(const std::string& url) {
  std::lock_guard lock(mu_);
  kubeconfig_.server = url;
}

void ClusterSim::install() {
  api_.on_change([this](const std::string& type, const json& obj) { on_change(type, obj); });
  api_.add_control_route("POST", "/_sim/talos/", [this](const ControlRequest& r) { return talos_route(r); });
  api_.add_control_route("*", "/_sim/releases", [this](const ControlRequest& r) { return releases_route(r); });
  api_.add_control_route("*", "/_sim/scenario", [this](const ControlRequest& r) { return scenario_route(r); });
  api_.add_control_route("GET", "/_sim/state", [this](const ControlRequest&) { return json_response(state()); });

  Scenario s;
  {
    std::lock_guard lock(mu_);
    s = scenario_;
    for (const auto& a : initial_nodes_) talos_.add_maintenance_node(a);
  }
  api_.set_latency(s.api_latency);
  if (!start_bootstrapped_) {
    api_.set_available(false);  // no etcd, no kube-apiserver until `talosctl bootstrap`
    return;
  }
  std::vector<std::string> addrs = initial_nodes_;
  if (addrs.empty()) addrs.push_back("127.0.0.11");
  {
    std::lock_guard lock(mu_);
    talos_.set_transient_failures(0, 0);
    for (size_t i = 0; i < addrs.size(); ++i) {
      std::string cfg = fmt::format(
          "version: v1alpha1\nmachine:\n  type: {}\n  network:\n    hostname: sim-{}\ncluster:\n  clusterName: sim\n",
          i == 0 ? "controlplane" : "worker", i + 1);
      talos_.apply(addrs[i], cfg, true, false);
    }
    talos_.bootstrap(addrs[0]);
    talos_.set_transient_failures(s.talos_apply_transient, s.talos_bootstrap_transient);
  }
  after_bootstrap();
}

// ---- Talos ------------------------------------------------------------------------------------

ControlResponse ClusterSim::talos_route(const ControlRequest& req) {
  json body;
  try {
    body = json::parse(req.body.empty() ? "{}" : req.body);
  } catch (const std::exception& e) {
    return error_response(400, std::string("invalid JSON: ") + e.what());
  }
  const std::string op = req.path.substr(std::string("/_sim/talos/").size());
  const std::string node = body.value("node", "");
  if (node.empty()) return error_response(400, "node is required");

  if (op == "apply") {
    TalosResult r;
    bool register_now = false;
    {
      std::lock_guard lock(mu_);
      r = talos_.apply(node, body.value("config", ""), body.value("insecure", false), body.value("dryRun", false));
      register_now = r.ok() && talos_.bootstrapped() && !registering_.count(node);
    }
    log_line(fmt::format("talos apply-config {}{}: exit {}", node, body.value("insecure", false) ? " --insecure" : "",
                         r.exit_code));
    if (register_now) schedule_registration(node);
    return json_response(talos_result_json(r));
  }
  if (op == "bootstrap") {
    TalosResult r;
    {
      std::lock_guard lock(mu_);
      r = talos_.bootstrap(node);
    }
    log_line(fmt::format("talos bootstrap {}: exit {}", node, r.exit_code));
    if (r.ok()) after_bootstrap();
    return json_response(talos_result_json(r));
  }
  if (op == "kubeconfig") {
    TalosResult r;
    std::string cluster;
    KubeconfigParts kc;
    {
      std::lock_guard lock(mu_);
      r = talos_.kubeconfig_allowed(node);
      cluster = talos_.cluster_name();
      kc = kubeconfig_;
    }
    json out = talos_result_json(r);
    if (r.ok())
      out["kubeconfig"] = {{"server", kc.server},
                           {"ca", kc.ca_pem},
                           {"crt", kc.client_crt_pem},
                           {"key", kc.client_key_pem},
                           {"clusterName", cluster}};
    return json_response(out);
  }
  if (op == "version") {
    TalosResult r;
    {
      std::lock_guard lock(mu_);
      r = talos_.version_allowed(node, body.value("insecure", false));
    }
    return json_response(talos_result_json(r));
  }
  return error_response(404, "unknown talos operation " + op);
}

void ClusterSim::after_bootstrap() {
  Scenario s;
  std::vector<std::string> to_register;
  {
    std::lock_guard lock(mu_);
    s = scenario_;
    for (const auto& [addr, n] : talos_.nodes())
      if (n.configured && !registering_.count(addr)) to_register.push_back(addr);
  }
  arm_api_faults(s);
  for (const auto& a : to_register) schedule_registration(a);
}

void ClusterSim::arm_api_faults(const Scenario& s) {
  for (const auto& w : s.api_down) {
    if (w.after.count() == 0) {
      std::lock_guard lock(mu_);
      ++outages_active_;
    } else {
      scheduler_->after(w.after, [this] {
        {
          std::lock_guard lock(mu_);
          ++outages_active_;
        }
        log_line("scenario: Kubernetes API down");
        update_availability();
      });
    }
    scheduler_->after(w.after + w.duration, [this] {
      {
        std::lock_guard lock(mu_);
        --outages_active_;
      }
      log_line("scenario: Kubernetes API back");
      update_availability();
    });
  }
  for (const auto& f : s.api_fail) api_.fail_next(f.count, f.status, f.path, f.retry_after_s);
  update_availability();
}

void ClusterSim::update_availability() {
  bool up;
  {
    std::lock_guard lock(mu_);
    up = talos_.bootstrapped() && outages_active_ == 0;
  }
  if (api_.available() != up) api_.set_available(up);
}

// ---- Kubernetes nodes -------------------------------------------------------------------------

void ClusterSim::schedule_registration(const std::string& address) {
  Millis delay;
  {
    std::lock_guard lock(mu_);
    auto it = talos_.nodes().find(address);
    if (it == talos_.nodes().end() || listed(scenario_.nodes_never, it->second)) return;
    if (!registering_.insert(address).second) return;
    delay = scenario_.node_register_delay;
  }
  scheduler_->after(delay, [this, address] { register_node(address); });
}

void ClusterSim::register_node(const std::string& address) {
  TalosNode node;
  bool ready_later = false;
  Millis ready_delay;
  {
    std::lock_guard lock(mu_);
    auto it = talos_.nodes().find(address);
    if (it == talos_.nodes().end()) return;
    node = it->second;
    registered_[address] = node.hostname;
    ready_later = cni_ready_ && !listed(scenario_.nodes_never_ready, node);
    ready_delay = scenario_.node_ready_delay;
  }
  put_node(node, false);
  log_line(fmt::format("node {} ({}) registered, NotReady", node.hostname, address));
  if (ready_later)
    scheduler_->after(ready_delay, [this, node] {
      put_node(node, true);
      log_line(fmt::format("node {} Ready", node.hostname));
    });
}

void ClusterSim::put_node(const TalosNode& n, bool ready) {
  json labels = {{"kubernetes.io/hostname", n.hostname},
                 {"kubernetes.io/os", "linux"},
                 {"kubernetes.io/arch", "amd64"},
                 {"beta.kubernetes.io/os", "linux"},
                 {"beta.kubernetes.io/arch", "amd64"}};
  json taints = json::array();
  if (n.control_plane()) {
    labels["node-role.kubernetes.io/control-plane"] = "";
    taints.push_back({{"key", "node-role.kubernetes.io/control-plane"}, {"effect", "NoSchedule"}});
  }
  if (!ready) taints.push_back({{"key", "node.kubernetes.io/not-ready"}, {"effect", "NoSchedule"}});
  std::string now = now_rfc3339();
  json ready_cond = ready ? json{{"type", "Ready"},
                                 {"status", "True"},
                                 {"reason", "KubeletReady"},
                                 {"message", "kubelet is posting ready status"}}
                          : json{{"type", "Ready"}, {"status", "False"}, {"reason", "KubeletNotReady"}, {"message", kCniNotReady}};
  ready_cond["lastHeartbeatTime"] = now;
  ready_cond["lastTransitionTime"] = now;
  json conditions = json::array();
  for (const char* t : {"MemoryPressure", "DiskPressure", "PIDPressure"})
    conditions.push_back({{"type", t},
                          {"status", "False"},
                          {"reason", std::string("KubeletHasNo") + (t[0] == 'M' ? "MemoryPressure" : t[0] == 'D' ? "DiskPressure" : "PIDPressure")},
                          {"lastHeartbeatTime", now},
                          {"lastTransitionTime", now}});
  conditions.push_back(ready_cond);
  json node = {
      {"apiVersion", "v1"},
      {"kind", "Node"},
      {"metadata", {{"name", n.hostname}, {"labels", labels}, {"annotations", {{"talos.dev/node-address", n.address}}}}},
      {"spec", {{"taints", taints}}},
      {"status",
       {{"addresses", json::array({{{"type", "InternalIP"}, {"address", n.address}}, {{"type", "Hostname"}, {"address", n.hostname}}})},
        {"capacity", {{"cpu", "4"}, {"memory", "8148488Ki"}, {"pods", "110"}}},
        {"allocatable", {{"cpu", "4"}, {"memory", "7946248Ki"}, {"pods", "110"}}},
        {"conditions", conditions},
        {"nodeInfo",
         {{"kubeletVersion", n.kubelet_version},
          {"kubeProxyVersion", n.kubelet_version},
          {"osImage", "Talos (v1.9.5)"},
          {"kernelVersion", "6.12.18-talos"},
          {"containerRuntimeVersion", "containerd://2.0.3"},
          {"operatingSystem", "linux"},
          {"architecture", "amd64"}}}}}};
  if (!api_.get("v1", "Node", "", n.hostname) || ready) api_.put(node);
}

void ClusterSim::cni_installed() {
  std::vector<TalosNode> to_ready;
  Millis delay;
  {
    std::lock_guard lock(mu_);
    if (cni_ready_) return;
    cni_ready_ = true;
    delay = scenario_.node_ready_delay;
    for (const auto& [addr, name] : registered_) {
      auto it = talos_.nodes().find(addr);
      if (it != talos_.nodes().end() && !listed(scenario_.nodes_never_ready, it->second)) to_ready.push_back(it->second);
    }
  }
  log_line("cilium installed: nodes turn Ready");
  for (const auto& n : to_ready)
    scheduler_->after(delay, [this, n] {
      put_node(n, true);
      log_line(fmt::format("node {} Ready", n.hostname));
    });
}

// The cilium operator registers its CRDs at run time (they are not in the chart).
void ClusterSim::create_cilium_crds() {
  {
    std::lock_guard lock(mu_);
    if (cilium_crds_) return;
    cilium_crds_ = true;
  }
  const std::string g = "cilium.io";
  std::vector<json> crds = {
      crd(g, "v2", "CiliumNetworkPolicy", "ciliumnetworkpolicies", true, {"cnp", "ciliumnp"}),
      crd(g, "v2", "CiliumClusterwideNetworkPolicy", "ciliumclusterwidenetworkpolicies", false, {"ccnp"}),
      crd(g, "v2", "CiliumEndpoint", "ciliumendpoints", true, {"cep", "ciliumep"}),
      crd(g, "v2", "CiliumNode", "ciliumnodes", false, {"cn", "ciliumn"}),
      crd(g, "v2", "CiliumIdentity", "ciliumidentities", false, {"ciliumid"}),
      crd(g, "v2alpha1", "CiliumLoadBalancerIPPool", "ciliumloadbalancerippools", false, {"ippools", "ippool", "lbippool", "lbippools"}),
      crd(g, "v2alpha1", "CiliumL2AnnouncementPolicy", "ciliuml2announcementpolicies", false, {"l2announcement"}),
      crd(g, "v2alpha1", "CiliumBGPPeeringPolicy", "ciliumbgppeeringpolicies", false, {"bgpp"}),
      crd(g, "v2alpha1", "CiliumBGPClusterConfig", "ciliumbgpclusterconfigs", false, {"cbgpcluster"}),
      crd(g, "v2alpha1", "CiliumBGPPeerConfig", "ciliumbgppeerconfigs", false, {"cbgppeer"}),
      crd(g, "v2alpha1", "CiliumBGPAdvertisement", "ciliumbgpadvertisements", false, {"cbgpadvert"}),
  };
  for (auto& c : crds) api_.put(std::move(c));
  log_line("cilium operator registered its CRDs");
}

// ---- Flux ---------------------------------------------------------------------------------------

void ClusterSim::reconcile_flux_instance(const std::string& ns, const std::string& name) {
  Scenario s;
  {
    std::lock_guard lock(mu_);
    if (!operator_present_) {
      pending_instances_.insert(ns + "/" + name);
      return;
    }
    s = scenario_;
  }
  auto obj = api_.get(kFluxGroupVersion, "FluxInstance", ns, name);
  if (!obj) return;
  const json& spec = obj->value("spec", json::object());
  auto generation = (*obj)["metadata"].value("generation", 1);
  std::string now = now_rfc3339();
  if (s.flux_stalled) {
    json status = {{"observedGeneration", generation},
                   {"conditions",
                    json::array({{{"type", "Ready"}, {"status", "False"}, {"reason", s.flux_stalled_reason},
                                  {"message", s.flux_stalled_message}, {"observedGeneration", generation},
                                  {"lastTransitionTime", now}},
                                 {{"type", "Stalled"}, {"status", "True"}, {"reason", s.flux_stalled_reason},
                                  {"message", s.flux_stalled_message}, {"observedGeneration", generation},
                                  {"lastTransitionTime", now}},
                                 {{"type", "Reconciling"}, {"status", "False"}, {"reason", s.flux_stalled_reason},
                                  {"message", s.flux_stalled_message}, {"observedGeneration", generation},
                                  {"lastTransitionTime", now}}})}};
    api_.patch_status(kFluxGroupVersion, "FluxInstance", ns, name, status);
    log_line(fmt::format("FluxInstance {}/{} Stalled: {}", ns, name, s.flux_stalled_message));
    return;
  }
  std::vector<std::string> components = {"source-controller", "kustomize-controller", "helm-controller",
                                         "notification-controller"};
  if (spec.contains("components") && spec["components"].is_array() && !spec["components"].empty()) {
    components.clear();
    for (const auto& c : spec["components"])
      if (c.is_string()) components.push_back(c.get<std::string>());
  }
  std::string version = resolve_flux_version(spec.value("distribution", json::object()).value("version", ""));
  std::string registry = spec.value("distribution", json::object()).value("registry", "ghcr.io/fluxcd");
  json status_components = json::array();
  for (const auto& c : components) {
    std::string image = fmt::format("{}/{}", registry, c);
    json labels = {{"app", c},
                   {"app.kubernetes.io/component", c},
                   {"app.kubernetes.io/instance", ns},
                   {"app.kubernetes.io/part-of", "flux"},
                   {"app.kubernetes.io/version", version},
                   {"control-plane", "controller"}};
    json dep = {{"apiVersion", "apps/v1"},
                {"kind", "Deployment"},
                {"metadata", {{"name", c}, {"namespace", ns}, {"labels", labels}}},
                {"spec",
                 {{"replicas", 1},
                  {"selector", {{"matchLabels", {{"app", c}}}}},
                  {"template",
                   {{"metadata", {{"labels", labels}}},
                    {"spec", {{"containers", json::array({{{"name", "manager"}, {"image", image + ":" + version}}})}}}}}}}};
    try {
      api_.put(dep);
    } catch (const std::exception& e) {
      log_line(fmt::format("FluxInstance {}/{}: cannot create {}: {}", ns, name, c, e.what()));
    }
    status_components.push_back({{"name", c}, {"repository", image}, {"tag", version},
                                 {"digest", "sha256:" + sha256_hex(image + version)}});
  }
  std::string revision = fmt::format("{}@sha256:{}", version, sha256_hex(obj->dump()).substr(0, 64));
  json status = {{"observedGeneration", generation},
                 {"lastAppliedRevision", revision},
                 {"lastAttemptedRevision", revision},
                 {"components", status_components},
                 {"conditions",
                  json::array({{{"type", "Ready"}, {"status", "True"}, {"reason", "ReconciliationSucceeded"},
                                {"message", fmt::format("Reconciliation finished in {}ms", s.flux_ready_delay.count())},
                                {"observedGeneration", generation}, {"lastTransitionTime", now}}})}};
  api_.patch_status(kFluxGroupVersion, "FluxInstance", ns, name, status);
  log_line(fmt::format("FluxInstance {}/{} Ready ({})", ns, name, version));
}

void ClusterSim::on_change(const std::string& type, const json& obj) {
  const std::string kind = obj.value("kind", "");
  const json& meta = obj.value("metadata", json::object());
  const std::string name = meta.value("name", "");
  const std::string ns = meta.value("namespace", "");
  const bool gone = type == "DELETED";
  if (kind == "DaemonSet" && name == "cilium" && !gone) {
    scheduler_->after(Millis(0), [this] {
      create_cilium_crds();
      cni_installed();
    });
  } else if (kind == "Deployment" && name == "cilium-operator" && !gone) {
    scheduler_->after(Millis(0), [this] { create_cilium_crds(); });
  } else if (kind == "Deployment" &&
             (name == "flux-operator" ||
              meta.value("labels", json::object()).value("app.kubernetes.io/name", "") == "flux-operator")) {
    std::set<std::string> pending;
    Millis delay;
    {
      std::lock_guard lock(mu_);
      operator_present_ = !gone;
      if (!gone) pending.swap(pending_instances_);
      delay = scenario_.flux_ready_delay;
    }
    for (const auto& key : pending) {
      auto slash = key.find('/');
      std::string pns = key.substr(0, slash), pname = key.substr(slash + 1);
      scheduler_->after(delay, [this, pns, pname] { reconcile_flux_instance(pns, pname); });
    }
  } else if (kind == "FluxInstance" && !gone) {
    auto generation = meta.value("generation", 1);
    auto observed = obj.value("status", json::object()).value("observedGeneration", -1);
    if (generation != observed) {
      Millis delay;
      {
        std::lock_guard lock(mu_);
        delay = scenario_.flux_ready_delay;
      }
      scheduler_->after(delay, [this, ns, name] { reconcile_flux_instance(ns, name); });
    }
  }
}

// ---- Releases and scenario ----------------------------------------------------------------------

ControlResponse ClusterSim::releases_route(const ControlRequest& req) {
  if (req.method == "GET") {
    std::lock_guard lock(mu_);
    json list = json::array();
    for (const auto& [k, v] : releases_) list.push_back(v);
    return json_response(list);
  }
  json body;
  try {
    body = json::parse(req.body.empty() ? "{}" : req.body);
  } catch (const std::exception& e) {
    return error_response(400, std::string("invalid JSON: ") + e.what());
  }
  const std::string name = body.value("name", ""), ns = body.value("namespace", "");
  if (name.empty()) return error_response(400, "name is required");
  const std::string key = ns + "/" + name;
  if (req.path == "/_sim/releases/begin") {
    std::lock_guard lock(mu_);
    bool installed = releases_.count(key) && releases_[key].value("revision", 0) > 0;
    for (const auto& f : scenario_.release_failures) {
      if (f.name != name && f.name != key) continue;
      int& served = release_failures_served_[key];
      if (f.times >= 0 && served >= f.times) continue;
      ++served;
      std::string message = f.message.empty() ? "context deadline exceeded" : f.message;
      log_line(fmt::format("scenario: release {} fails ({})", key, message));
      return json_response({{"fail", true}, {"message", message}, {"installed", installed}});
    }
    return json_response({{"fail", false}, {"installed", installed}});
  }
  if (req.path != "/_sim/releases") return error_response(404, "unknown route " + req.path);
  json record = {{"name", name},
                 {"namespace", ns},
                 {"chart", body.value("chart", "")},
                 {"version", body.value("version", "")},
                 {"status", body.value("status", "deployed")},
                 {"values", body.value("values", json::object())},
                 {"valuesSha256", sha256_hex(body.value("values", json::object()).dump())},
                 {"updated", now_rfc3339()}};
  bool cilium = false;
  {
    std::lock_guard lock(mu_);
    int revision = releases_.count(key) ? releases_[key].value("revision", 0) : 0;
    record["revision"] = record["status"] == "deployed" ? revision + 1 : revision;
    releases_[key] = record;
    cilium = name == "cilium" && record["status"] == "deployed";
  }
  log_line(fmt::format("release {} {} (values sha256 {})", key, record["status"].get<std::string>(),
                       record["valuesSha256"].get<std::string>().substr(0, 12)));
  if (cilium) {
    create_cilium_crds();
    cni_installed();
  }
  return json_response(record);
}

ControlResponse ClusterSim::scenario_route(const ControlRequest& req) {
  if (req.method == "GET") {
    std::lock_guard lock(mu_);
    return json_response(scenario_to_json(scenario_));
  }
  Scenario s;
  try {
    s = parse_scenario(req.body);
  } catch (const Error& e) {
    return error_response(400, e.what());
  }
  bool bootstrapped;
  {
    std::lock_guard lock(mu_);
    scenario_ = s;
    talos_.set_transient_failures(s.talos_apply_transient, s.talos_bootstrap_transient);
    release_failures_served_.clear();
    bootstrapped = talos_.bootstrapped();
  }
  api_.set_latency(s.api_latency);
  if (bootstrapped) arm_api_faults(s);
  log_line("scenario replaced");
  return json_response(scenario_to_json(s));
}

json ClusterSim::state() const {
  json st;
  {
    std::lock_guard lock(mu_);
    st["talos"] = talos_.to_json();
    st["scenario"] = scenario_to_json(scenario_);
    st["releases"] = json::array();
    for (const auto& [k, v] : releases_) {
      json r = v;
      r.erase("values");
      st["releases"].push_back(r);
    }
    st["cni"] = cni_ready_;
  }
  json nodes = json::array();
  for (const auto& n : api_.list("v1", "Node", "")) {
    json entry = {{"name", n["metadata"].value("name", "")}, {"ready", "Unknown"}, {"reason", ""}};
    for (const auto& c : n.value("status", json::object()).value("conditions", json::array()))
      if (c.value("type", "") == "Ready") {
        entry["ready"] = c.value("status", "Unknown");
        entry["reason"] = c.value("reason", "");
      }
    for (const auto& a : n.value("status", json::object()).value("addresses", json::array()))
      if (a.value("type", "") == "InternalIP") entry["address"] = a.value("address", "");
    nodes.push_back(entry);
  }
  st["kubernetes"] = {{"available", api_.available()},
                      {"url", api_.url()},
                      {"nodes", nodes},
                      {"resourceVersion", api_.resource_version()},
                      {"requests", api_.request_count()}};
  json instances = json::array();
  try {
    for (const auto& fi : api_.list(kFluxGroupVersion, "FluxInstance", "")) {
      json entry = {{"namespace", fi["metadata"].value("namespace", "")},
                    {"name", fi["metadata"].value("name", "")},
                    {"ready", "Unknown"},
                    {"reason", ""},
                    {"message", ""},
                    {"stalled", false}};
      for (const auto& c : fi.value("status", json::object()).value("conditions", json::array())) {
        if (c.value("type", "") == "Ready") {
          entry["ready"] = c.value("status", "Unknown");
          entry["reason"] = c.value("reason", "");
          entry["message"] = c.value("message", "");
        }
        if (c.value("type", "") == "Stalled" && c.value("status", "") == "True") entry["stalled"] = true;
      }
      instances.push_back(entry);
    }
  } catch (const std::exception&) {
    // the FluxInstance CRD isn't installed yet
  }
  st["fluxInstances"] = instances;
  return st;
}

}  // namespace fluxboot::sim
