#include <gtest/gtest.h>

#include "sim/talos_state.hpp"

namespace fluxboot::sim {
namespace {

const char* kControlPlane = R"(version: v1alpha1
machine:
  type: controlplane
  network:
    hostname: k8s-cp-1
  kubelet:
    image: ghcr.io/siderolabs/kubelet:v1.32.3
cluster:
  clusterName: home
)";
const char* kWorker = "version: v1alpha1\nmachine:\n  type: worker\ncluster:\n  clusterName: home\n";

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

TEST(SimTalos, FirstInsecureApplyConfiguresAMaintenanceNode) {
  TalosCluster t(0, 0);
  auto r = t.apply("10.0.0.1", kControlPlane, true, false);
  ASSERT_TRUE(r.ok()) << r.err;
  const auto& n = t.nodes().at("10.0.0.1");
  EXPECT_TRUE(n.configured);
  EXPECT_EQ(n.hostname, "k8s-cp-1");
  EXPECT_EQ(n.type, "controlplane");
  EXPECT_EQ(n.kubelet_version, "v1.32.3");
  EXPECT_EQ(t.cluster_name(), "home");
}

TEST(SimTalos, NodeWithoutHostnameIsNamedAfterItsAddress) {
  TalosCluster t(0, 0);
  ASSERT_TRUE(t.apply("10.0.0.2", kWorker, true, false).ok());
  EXPECT_EQ(t.nodes().at("10.0.0.2").hostname, "10.0.0.2");
}

TEST(SimTalos, SecondInsecureApplyAnswersCertificateRequired) {
  TalosCluster t(0, 0);
  ASSERT_TRUE(t.apply("10.0.0.1", kControlPlane, true, false).ok());
  auto r = t.apply("10.0.0.1", kControlPlane, true, false);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "error applying new configuration: rpc error: code = Unavailable"));
  EXPECT_TRUE(contains(r.err, "tls: certificate required")) << r.err;
}

TEST(SimTalos, SecureApplyWorksOnlyOnceConfigured) {
  TalosCluster t(0, 0);
  auto before = t.apply("10.0.0.1", kControlPlane, false, false);
  EXPECT_EQ(before.exit_code, 1);
  EXPECT_TRUE(contains(before.err, "certificate signed by unknown authority"));
  ASSERT_TRUE(t.apply("10.0.0.1", kControlPlane, true, false).ok());
  auto after = t.apply("10.0.0.1", kControlPlane, false, false);
  EXPECT_TRUE(after.ok()) << after.err;
  EXPECT_TRUE(contains(after.out, "Applied configuration without a reboot"));
}

TEST(SimTalos, RejectsConfigsThatAreNotV1alpha1MachineConfigs) {
  TalosCluster t(0, 0);
  auto r = t.apply("10.0.0.1", "foo: bar\n", true, false);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "InvalidArgument"));
  EXPECT_TRUE(t.nodes().empty()) << "a rejected config leaves no node behind";
  EXPECT_EQ(t.apply("10.0.0.1", "version: v1alpha1\n", true, false).exit_code, 1);
  EXPECT_EQ(t.apply("10.0.0.1", "version: v1alpha1\nmachine: {type: bogus}\n", true, false).exit_code, 1);
  EXPECT_EQ(t.apply("10.0.0.1", "a: [", true, false).exit_code, 1);
}

TEST(SimTalos, AcceptsMultiDocumentConfigs) {
  TalosCluster t(0, 0);
  std::string cfg = std::string(kWorker) + "---\napiVersion: v1alpha1\nkind: ExtensionServiceConfig\nname: x\n";
  EXPECT_TRUE(t.apply("10.0.0.2", cfg, true, false).ok());
}

TEST(SimTalos, DryRunChangesNothing) {
  TalosCluster t(0, 0);
  auto r = t.apply("10.0.0.1", kControlPlane, true, true);
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(contains(r.out, "Dry run"));
  EXPECT_FALSE(t.nodes().at("10.0.0.1").configured);
}

TEST(SimTalos, BootstrapWorksOnceThenAlreadyExists) {
  TalosCluster t(0, 0);
  ASSERT_TRUE(t.apply("10.0.0.1", kControlPlane, true, false).ok());
  EXPECT_TRUE(t.bootstrap("10.0.0.1").ok());
  EXPECT_TRUE(t.bootstrapped());
  EXPECT_EQ(t.bootstrap_node(), "10.0.0.1");
  auto again = t.bootstrap("10.0.0.1");
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_EQ(again.err,
            "error executing bootstrap: rpc error: code = AlreadyExists desc = etcd data directory is not empty\n");
}

TEST(SimTalos, BootstrapNeedsAConfiguredControlPlane) {
  TalosCluster t(0, 0);
  auto unconfigured = t.bootstrap("10.0.0.1");
  EXPECT_EQ(unconfigured.exit_code, 1);
  EXPECT_TRUE(contains(unconfigured.err, "code = Unavailable"));
  ASSERT_TRUE(t.apply("10.0.0.2", kWorker, true, false).ok());
  auto worker = t.bootstrap("10.0.0.2");
  EXPECT_TRUE(contains(worker.err, "code = FailedPrecondition")) << worker.err;
  EXPECT_FALSE(t.bootstrapped());
}

TEST(SimTalos, TransientFailuresComeFirstPerNodeForApplyAndGloballyForBootstrap) {
  TalosCluster t(2, 1);
  for (int i = 0; i < 2; ++i) {
    auto r = t.apply("10.0.0.1", kControlPlane, true, false);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_TRUE(contains(r.err, "connection refused"));
  }
  EXPECT_TRUE(t.apply("10.0.0.1", kControlPlane, true, false).ok());
  EXPECT_EQ(t.apply("10.0.0.2", kWorker, true, false).exit_code, 1) << "each node fails its own first applies";
  auto b = t.bootstrap("10.0.0.1");
  EXPECT_TRUE(contains(b.err, "code = Unavailable"));
  EXPECT_TRUE(t.bootstrap("10.0.0.1").ok());
}

TEST(SimTalos, KubeconfigOnlyFromABootstrappedControlPlane) {
  TalosCluster t(0, 0);
  EXPECT_FALSE(t.kubeconfig_allowed("10.0.0.1").ok());
  ASSERT_TRUE(t.apply("10.0.0.1", kControlPlane, true, false).ok());
  ASSERT_TRUE(t.apply("10.0.0.2", kWorker, true, false).ok());
  EXPECT_FALSE(t.kubeconfig_allowed("10.0.0.1").ok());
  ASSERT_TRUE(t.bootstrap("10.0.0.1").ok());
  EXPECT_TRUE(t.kubeconfig_allowed("10.0.0.1").ok());
  EXPECT_FALSE(t.kubeconfig_allowed("10.0.0.2").ok());
}

TEST(SimTalos, MachineTypeCannotChange) {
  TalosCluster t(0, 0);
  ASSERT_TRUE(t.apply("10.0.0.1", kControlPlane, true, false).ok());
  EXPECT_EQ(t.apply("10.0.0.1", kWorker, false, false).exit_code, 1);
}

TEST(SimTalos, StateAsJsonListsModes) {
  TalosCluster t(0, 0);
  t.add_maintenance_node("10.0.0.9");
  ASSERT_TRUE(t.apply("10.0.0.1", kControlPlane, true, false).ok());
  auto j = t.to_json();
  ASSERT_EQ(j["nodes"].size(), 2u);
  EXPECT_EQ(j["nodes"][0]["mode"], "configured");
  EXPECT_EQ(j["nodes"][1]["mode"], "maintenance");
}

}  // namespace
}  // namespace fluxboot::sim
