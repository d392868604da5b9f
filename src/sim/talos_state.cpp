#include "sim/talos_state.hpp"

#include <stdexcept>

#include <fmt/format.h>

#include "sim/yaml_json.hpp"

namespace fluxboot::sim {

namespace {

std::string rpc_error(const std::string& code, const std::string& desc) {
  return fmt::format("rpc error: code = {} desc = {}", code, desc);
}

std::string refused(const std::string& address) {
  return rpc_error("Unavailable",
                   fmt::format("connection error: desc = \"transport: Error while dialing: dial tcp "
                               "{}:50000: connect: connection refused\"",
                               address));
}

// A maintenance-mode node serves a self-signed certificate that the talosconfig CA can't verify.
std::string unknown_authority() {
  return rpc_error("Unavailable",
                   "connection error: desc = \"transport: authentication handshake failed: tls: "
                   "failed to verify certificate: x509: certificate signed by unknown authority\"");
}

std::string certificate_required() {
  return rpc_error("Unavailable",
                   "connection error: desc = \"transport: authentication handshake failed: remote "
                   "error: tls: certificate required\"");
}

TalosResult fail(const std::string& text) { return TalosResult{1, "", text + "\n"}; }

}  // namespace

MachineConfig parse_machine_config(const std::string& text) {
  std::vector<nlohmann::json> docs;
  try {
    docs = parse_yaml_documents(text);
  } catch (const std::exception& e) {
    throw std::invalid_argument(fmt::format("failed to parse config: {}", e.what()));
  }
  const nlohmann::json* v1 = nullptr;
  for (const auto& d : docs)
    if (d.is_object() && d.value("version", "") == "v1alpha1") v1 = &d;
  if (v1 == nullptr)
    throw std::invalid_argument(
        "failed to parse config: no v1alpha1 machine config document (expected \"version: v1alpha1\")");
  if (!v1->contains("machine") || !(*v1)["machine"].is_object())
    throw std::invalid_argument("configuration validation failed: 1 error occurred:\n\t* machine instructions are required");
  const auto& machine = (*v1)["machine"];
  MachineConfig mc;
  mc.type = machine.value("type", "");
  if (mc.type != "controlplane" && mc.type != "init" && mc.type != "worker")
    throw std::invalid_argument(fmt::format(
        "configuration validation failed: 1 error occurred:\n\t* unknown machine type \"{}\"", mc.type));
  if (machine.contains("network") && machine["network"].is_object() &&
      machine["network"].contains("hostname") && machine["network"]["hostname"].is_string())
    mc.hostname = machine["network"]["hostname"].get<std::string>();
  // Talos 1.12+: the host name in its own document.
  for (const auto& d : docs)
    if (d.is_object() && d.value("kind", "") == "HostnameConfig" && d.contains("hostname") && d["hostname"].is_string())
      mc.hostname = d["hostname"].get<std::string>();
  if (v1->contains("cluster") && (*v1)["cluster"].is_object())
    mc.cluster_name = (*v1)["cluster"].value("clusterName", "");
  if (machine.contains("kubelet") && machine["kubelet"].is_object())
    mc.kubelet_image = machine["kubelet"].value("image", "");
  return mc;
}

TalosCluster::TalosCluster(int apply_transient_failures, int bootstrap_transient_failures)
    : apply_transient_(apply_transient_failures), bootstrap_transient_(bootstrap_transient_failures) {}

void TalosCluster::set_transient_failures(int apply, int bootstrap) {
  apply_transient_ = apply;
  bootstrap_transient_ = bootstrap;
}

TalosNode& TalosCluster::node(const std::string& address) {
  auto it = nodes_.find(address);
  if (it == nodes_.end()) {
    TalosNode n;
    n.address = address;
    n.hostname = address;
    it = nodes_.emplace(address, n).first;
  }
  return it->second;
}

void TalosCluster::add_maintenance_node(const std::string& address) { node(address).preset = true; }

TalosResult TalosCluster::apply(const std::string& address, const std::string& config_text,
                                bool insecure, bool dry_run) {
  const std::string prefix = "error applying new configuration: ";
  TalosNode& n = node(address);
  if (n.failed_applies < apply_transient_) {
    ++n.failed_applies;
    return fail(prefix + refused(address));
  }
  if (insecure && n.configured) return fail(prefix + certificate_required());
  if (!insecure && !n.configured) return fail(prefix + unknown_authority());
  MachineConfig mc;
  try {
    mc = parse_machine_config(config_text);
  } catch (const std::invalid_argument& e) {
    if (!n.configured && !n.preset && n.failed_applies == 0) nodes_.erase(address);  // no trace of a rejected config
    return fail(prefix + rpc_error("InvalidArgument", e.what()));
  }
  if (n.configured && n.control_plane() != (mc.type == "controlplane" || mc.type == "init"))
    return fail(prefix + rpc_error("InvalidArgument",
                                   fmt::format("configuration validation failed: 1 error occurred:\n\t* "
                                               "machine type can't be changed from \"{}\" to \"{}\"",
                                               n.type, mc.type)));
  if (dry_run)
    return TalosResult{0, "Dry run summary:\nApplied configuration without a reboot (skipped in dry-run).\n", ""};
  bool first = !n.configured;
  n.configured = true;
  n.type = mc.type;
  n.hostname = mc.hostname.empty() ? address : mc.hostname;
  n.cluster_name = mc.cluster_name;
  if (auto colon = mc.kubelet_image.rfind(':'); colon != std::string::npos)
    n.kubelet_version = mc.kubelet_image.substr(colon + 1);
  ++n.applies;
  // Maintenance mode answers nothing on success; a running node reports the apply mode.
  if (first) return TalosResult{0, "", ""};
  return TalosResult{0, "Applied configuration without a reboot\n", ""};
}

TalosResult TalosCluster::bootstrap(const std::string& address) {
  const std::string prefix = "error executing bootstrap: ";
  TalosNode& n = node(address);
  if (!n.configured) return fail(prefix + unknown_authority());
  if (bootstrap_failures_served_ < bootstrap_transient_) {
    ++bootstrap_failures_served_;
    return fail(prefix + refused(address));
  }
  if (!n.control_plane())
    return fail(prefix + rpc_error("FailedPrecondition",
                                   "bootstrap can only be performed on a control plane node"));
  if (bootstrapped()) return fail(prefix + rpc_error("AlreadyExists", "etcd data directory is not empty"));
  bootstrap_node_ = address;
  return TalosResult{0, "", ""};
}

TalosResult TalosCluster::kubeconfig_allowed(const std::string& address) const {
  const std::string prefix = "error fetching kubeconfig: ";
  auto it = nodes_.find(address);
  if (it == nodes_.end() || !it->second.configured) return fail(prefix + unknown_authority());
  if (!it->second.control_plane())
    return fail(prefix + rpc_error("FailedPrecondition",
                                   "kubeconfig is only available on control plane nodes"));
  if (!bootstrapped())
    return fail(prefix + rpc_error("Unavailable",
                                   "kubeconfig is not available yet: etcd is not bootstrapped (run talosctl bootstrap)"));
  return TalosResult{};
}

TalosResult TalosCluster::version_allowed(const std::string& address, bool insecure) const {
  auto it = nodes_.find(address);
  bool configured = it != nodes_.end() && it->second.configured;
  if (configured && insecure) return fail("error getting version: " + certificate_required());
  if (!configured && !insecure) return fail("error getting version: " + unknown_authority());
  return TalosResult{};
}

std::string TalosCluster::cluster_name() const {
  for (const auto& [addr, n] : nodes_)
    if (n.configured && !n.cluster_name.empty()) return n.cluster_name;
  return "sim";
}

nlohmann::json TalosCluster::to_json() const {
  nlohmann::json j;
  j["bootstrapped"] = bootstrapped();
  j["bootstrapNode"] = bootstrap_node_;
  j["clusterName"] = cluster_name();
  j["nodes"] = nlohmann::json::array();
  for (const auto& [addr, n] : nodes_)
    j["nodes"].push_back({{"address", n.address},
                          {"hostname", n.hostname},
                          {"type", n.type},
                          {"mode", n.configured ? "configured" : "maintenance"},
                          {"applies", n.applies}});
  return j;
}

}  // namespace fluxboot::sim
