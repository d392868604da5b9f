#pragma once
// The simulated cluster inside the server process: Talos nodes (driven by the talosctl
// personality through /_sim/talos/*), Kubernetes Nodes registering after the etcd bootstrap and
// turning Ready once cilium is installed, the cilium operator's CRDs, FluxInstances turning
// Ready (or Stalled), the Helm releases the fake helmfile records, and the scenario's faults.
//
// Control routes (HTTPS, client certificate required like every request):
//   GET  /_sim/state                    everything below, as JSON (fluxboot-sim status)
//   POST /_sim/talos/{apply,bootstrap,kubeconfig,version}
//   POST /_sim/releases/begin           {name, namespace} -> {fail, message, installed}
//   POST /_sim/releases                 record {name, namespace, chart, version, values, status}
//   GET  /_sim/releases
//   GET  /_sim/scenario, POST /_sim/scenario (YAML body: replace the scenario at run time)
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/api/api_server.hpp"
#include "sim/kubeconfig_file.hpp"
#include "sim/scenario.hpp"
#include "sim/scheduler.hpp"
#include "sim/talos_state.hpp"

namespace fluxboot::sim {

struct ClusterSimOptions {
  Scenario scenario;
  std::vector<std::string> initial_nodes;  // addresses known from the start (maintenance mode)
  // Configure the initial nodes (the first as control plane, hostnames sim-1..N) and bootstrap
  // etcd at start, so the Kubernetes API answers at once.
  bool bootstrapped = false;
  KubeconfigParts kubeconfig;  // server URL and certificates handed out by `talosctl kubeconfig`
};

class ClusterSim {
 public:
  ClusterSim(ApiServer& api, ClusterSimOptions options);
  ~ClusterSim();
  ClusterSim(const ClusterSim&) = delete;
  ClusterSim& operator=(const ClusterSim&) = delete;

  // Registers the control routes and the change hook; call before ApiServer::start().
  void install();
  // The API server's URL, known once it listens (handed out by `talosctl kubeconfig`).
  void set_server_url(const std::string& url);
  // Stops background work (pending registrations, readiness flips).
  void stop();

  nlohmann::json state() const;

 private:
  ControlResponse talos_route(const ControlRequest& req);
  ControlResponse releases_route(const ControlRequest& req);
  ControlResponse scenario_route(const ControlRequest& req);
  void on_change(const std::string& type, const nlohmann::json& obj);

  void after_bootstrap();            // API availability, fault arming, node registration
  void arm_api_faults(const Scenario& s);
  void update_availability();
  void schedule_registration(const std::string& address);
  void register_node(const std::string& address);
  void put_node(const TalosNode& node, bool ready);
  void cni_installed();
  void create_cilium_crds();
  void reconcile_flux_instance(const std::string& ns, const std::string& name);

  ApiServer& api_;
  KubeconfigParts kubeconfig_;
  std::vector<std::string> initial_nodes_;
  bool start_bootstrapped_;
  std::unique_ptr<Scheduler> scheduler_;

  mutable std::mutex mu_;  // never held while calling into api_ (its hooks call back)
  Scenario scenario_;
  TalosCluster talos_;
  int outages_active_ = 0;
  bool cni_ready_ = false;
  bool cilium_crds_ = false;
  bool operator_present_ = false;
  std::set<std::string> registering_;  // addresses scheduled or registered
  std::map<std::string, std::string> registered_;  // address -> Node name
  std::set<std::string> pending_instances_;        // ns/name waiting for the operator
  std::map<std::string, nlohmann::json> releases_; // ns/name -> record
  std::map<std::string, int> release_failures_served_;
};

}  // namespace fluxboot::sim
