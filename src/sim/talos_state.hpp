#pragma once
// The simulated Talos nodes: a pure state machine (no I/O, no clock), driven by the talosctl
// personality through the server's /_sim/talos/ routes. Messages imitate talosctl 1.9's output.
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace fluxboot::sim {

// What talosctl would print and return.
struct TalosResult {
  int exit_code = 0;
  std::string out;  // stdout
  std::string err;  // stderr
  bool ok() const { return exit_code == 0; }
};

// The parts of a Talos machine config the simulation uses.
struct MachineConfig {
  std::string type;          // controlplane, init or worker
  std::string hostname;      // machine.network.hostname, may be empty
  std::string cluster_name;  // cluster.clusterName, may be empty
  std::string kubelet_image; // machine.kubelet.image, may be empty
};

// Parses and validates a machine config (multi-document YAML; the v1alpha1 document is the one
// that counts). Throws std::invalid_argument with a Talos-like validation message.
MachineConfig parse_machine_config(const std::string& text);

struct TalosNode {
  std::string address;
  std::string hostname;     // machine.network.hostname, else the address
  std::string type;         // empty while in maintenance mode
  std::string cluster_name;
  std::string kubelet_version = "v1.32.3";
  bool configured = false;
  int applies = 0;          // successful applies
  int failed_applies = 0;   // transient failures served so far
  bool preset = false;      // known from the start (fluxboot-sim up --nodes N)
  bool control_plane() const { return type == "controlplane" || type == "init"; }
};

class TalosCluster {
 public:
  TalosCluster(int apply_transient_failures, int bootstrap_transient_failures);

  // A node known before any apply (fluxboot-sim up --nodes N); still in maintenance mode.
  void add_maintenance_node(const std::string& address);
  // apply-config of `config_text` to `address`. Every address is a node in maintenance mode
  // until its first --insecure apply; after that --insecure fails with "certificate required".
  TalosResult apply(const std::string& address, const std::string& config_text, bool insecure,
                    bool dry_run);
  // etcd bootstrap: once on a configured control plane, then AlreadyExists.
  TalosResult bootstrap(const std::string& address);
  // Ok when `address` may hand out an admin kubeconfig (a configured control plane of a
  // bootstrapped cluster); the error talosctl prints otherwise.
  TalosResult kubeconfig_allowed(const std::string& address) const;
  // Ok when `address` answers `talosctl version` (configured; maintenance needs --insecure).
  TalosResult version_allowed(const std::string& address, bool insecure) const;

  bool bootstrapped() const { return !bootstrap_node_.empty(); }
  const std::string& bootstrap_node() const { return bootstrap_node_; }
  const std::map<std::string, TalosNode>& nodes() const { return nodes_; }
  std::string cluster_name() const;
  nlohmann::json to_json() const;
  // Changes the transient-failure budget (the scenario may be replaced at run time).
  void set_transient_failures(int apply, int bootstrap);

 private:
  TalosNode& node(const std::string& address);
  std::map<std::string, TalosNode> nodes_;
  std::string bootstrap_node_;
  int apply_transient_;
  int bootstrap_transient_;
  int bootstrap_failures_served_ = 0;
};

}  // namespace fluxboot::sim
