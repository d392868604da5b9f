// The simulation inside the server process, driven in process over plain HTTP.
#include <chrono>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>

#include "sim/api/api_server.hpp"
#include "sim/cluster_sim.hpp"

namespace fluxboot::sim {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

const char* kCp = "version: v1alpha1\nmachine:\n  type: controlplane\n  network: {hostname: cp-1}\ncluster: {clusterName: home}\n";
const char* kWorker = "version: v1alpha1\nmachine:\n  type: worker\n";

class SimCluster : public ::testing::Test {
 protected:
  void start(const std::string& scenario_yaml = "") {
    ClusterSimOptions o;
    o.scenario = parse_scenario(scenario_yaml);
    o.scenario.node_register_delay = 20ms;
    o.scenario.node_ready_delay = 20ms;
    o.scenario.flux_ready_delay = 20ms;
    o.kubeconfig.ca_pem = "CA";
    sim_ = std::make_unique<ClusterSim>(api_, o);
    sim_->install();
    port_ = api_.start();
    sim_->set_server_url(api_.url());
  }
  void TearDown() override {
    if (sim_) sim_->stop();
    api_.stop();
  }
  json post(const std::string& path, const json& body) {
    httplib::Client c("127.0.0.1", port_);
    auto r = c.Post(path.c_str(), body.dump(), "application/json");
    EXPECT_TRUE(r);
    return r ? json::parse(r->body) : json();
  }
  json state() {
    httplib::Client c("127.0.0.1", port_);
    auto r = c.Get("/_sim/state");
    return r ? json::parse(r->body) : json();
  }
  // Polls until pred(state) or the deadline.
  template <typename Pred>
  bool eventually(Pred pred, std::chrono::milliseconds limit = 3s) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      if (pred()) return true;
      std::this_thread::sleep_for(10ms);
    }
    return pred();
  }
  std::string node_ready(const std::string& name) {
    auto n = api_.get("v1", "Node", "", name);
    if (!n) return "";
    for (const auto& c : (*n)["status"]["conditions"])
      if (c["type"] == "Ready") return c["status"];
    return "";
  }

  ApiServer api_{ServerOptions{}};
  std::unique_ptr<ClusterSim> sim_;
  int port_ = 0;
};

TEST_F(SimCluster, ApiIsUnavailableUntilBootstrapThenNodesRegisterNotReady) {
  start();
  EXPECT_FALSE(api_.available());
  EXPECT_EQ(post("/_sim/talos/apply", {{"node", "10.0.0.1"}, {"config", kCp}, {"insecure", true}})["exitCode"], 0);
  EXPECT_EQ(post("/_sim/talos/apply", {{"node", "10.0.0.2"}, {"config", kWorker}, {"insecure", true}})["exitCode"], 0);
  EXPECT_NE(post("/_sim/talos/kubeconfig", {{"node", "10.0.0.1"}})["exitCode"], 0);
  EXPECT_EQ(post("/_sim/talos/bootstrap", {{"node", "10.0.0.1"}})["exitCode"], 0);
  EXPECT_TRUE(api_.available());
  ASSERT_TRUE(eventually([&] { return node_ready("cp-1") == "False" && node_ready("10.0.0.2") == "False"; }));
  auto n = api_.get("v1", "Node", "", "cp-1");
  EXPECT_EQ((*n)["status"]["conditions"][3]["reason"], "KubeletNotReady");
  auto kc = post("/_sim/talos/kubeconfig", {{"node", "10.0.0.1"}});
  EXPECT_EQ(kc["exitCode"], 0);
  EXPECT_EQ(kc["kubeconfig"]["server"], api_.url());
  EXPECT_EQ(kc["kubeconfig"]["clusterName"], "home");
}

TEST_F(SimCluster, NodesTurnReadyOnceTheCiliumDaemonSetExistsAndItsCrdsAppear) {
  start();
  post("/_sim/talos/apply", {{"node", "10.0.0.1"}, {"config", kCp}, {"insecure", true}});
  post("/_sim/talos/bootstrap", {{"node", "10.0.0.1"}});
  ASSERT_TRUE(eventually([&] { return node_ready("cp-1") == "False"; }));
  api_.put({{"apiVersion", "apps/v1"},
            {"kind", "DaemonSet"},
            {"metadata", {{"name", "cilium"}, {"namespace", "kube-system"}}},
            {"spec",
             {{"selector", {{"matchLabels", {{"k8s-app", "cilium"}}}}},
              {"template", {{"metadata", {{"labels", {{"k8s-app", "cilium"}}}}}, {"spec", {{"containers", json::array()}}}}}}}});
  EXPECT_TRUE(eventually([&] { return node_ready("cp-1") == "True"; }));
  EXPECT_TRUE(api_.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", "", "ciliumloadbalancerippools.cilium.io"));
}

TEST_F(SimCluster, ScenarioNodesNeverRegisterAndNeverReady) {
  start("nodes: {never: [10.0.0.3], neverReady: [w2]}\n");
  post("/_sim/talos/apply", {{"node", "10.0.0.1"}, {"config", kCp}, {"insecure", true}});
  post("/_sim/talos/apply", {{"node", "10.0.0.2"}, {"config", "version: v1alpha1\nmachine: {type: worker, network: {hostname: w2}}\n"}, {"insecure", true}});
  post("/_sim/talos/apply", {{"node", "10.0.0.3"}, {"config", kWorker}, {"insecure", true}});
  post("/_sim/talos/bootstrap", {{"node", "10.0.0.1"}});
  post("/_sim/releases", {{"name", "cilium"}, {"namespace", "kube-system"}, {"chart", "cilium"}, {"values", json::object()}});
  ASSERT_TRUE(eventually([&] { return node_ready("cp-1") == "True"; }));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(node_ready("w2"), "False");
  EXPECT_EQ(node_ready("10.0.0.3"), "");
}

TEST_F(SimCluster, FluxInstanceTurnsReadyOnlyWithTheOperatorOrStalls) {
  start();
  post("/_sim/talos/apply", {{"node", "10.0.0.1"}, {"config", kCp}, {"insecure", true}});
  post("/_sim/talos/bootstrap", {{"node", "10.0.0.1"}});
  api_.put({{"apiVersion", "apiextensions.k8s.io/v1"},
            {"kind", "CustomResourceDefinition"},
            {"metadata", {{"name", "fluxinstances.fluxcd.controlplane.io"}}},
            {"spec",
             {{"group", "fluxcd.controlplane.io"},
              {"names", {{"kind", "FluxInstance"}, {"plural", "fluxinstances"}, {"singular", "fluxinstance"}, {"listKind", "FluxInstanceList"}}},
              {"scope", "Namespaced"},
              {"versions", json::array({{{"name", "v1"}, {"served", true}, {"storage", true}, {"subresources", {{"status", json::object()}}},
                                         {"schema", {{"openAPIV3Schema", {{"type", "object"}, {"x-kubernetes-preserve-unknown-fields", true}}}}}}})}}}});
  api_.put({{"apiVersion", "fluxcd.controlplane.io/v1"},
            {"kind", "FluxInstance"},
            {"metadata", {{"name", "flux"}, {"namespace", "flux-system"}}},
            {"spec", {{"distribution", {{"version", "2.x"}}}, {"components", json::array({"source-controller"})}}}});
  auto ready = [&] {
    auto fi = api_.get("fluxcd.controlplane.io/v1", "FluxInstance", "flux-system", "flux");
    if (!fi || !fi->contains("status")) return std::string();
    for (const auto& c : (*fi)["status"].value("conditions", json::array()))
      if (c["type"] == "Ready") return c["status"].get<std::string>();
    return std::string();
  };
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(ready(), "") << "no operator yet";
  api_.put({{"apiVersion", "apps/v1"},
            {"kind", "Deployment"},
            {"metadata", {{"name", "flux-operator"}, {"namespace", "flux-system"}, {"labels", {{"app.kubernetes.io/name", "flux-operator"}}}}},
            {"spec",
             {{"selector", {{"matchLabels", {{"app", "flux-operator"}}}}},
              {"template", {{"metadata", {{"labels", {{"app", "flux-operator"}}}}}, {"spec", {{"containers", json::array({{{"name", "m"}, {"image", "x"}}})}}}}}}}});
  ASSERT_TRUE(eventually([&] { return ready() == "True"; }));
  EXPECT_TRUE(api_.get("apps/v1", "Deployment", "flux-system", "source-controller"));
  auto st = state();
  ASSERT_EQ(st["fluxInstances"].size(), 1u);
  EXPECT_EQ(st["fluxInstances"][0]["ready"], "True");

  httplib::Client c("127.0.0.1", port_);
  auto r = c.Post("/_sim/scenario", "fluxInstance: {stalled: true, message: nope}\n", "application/yaml");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  auto fi = *api_.get("fluxcd.controlplane.io/v1", "FluxInstance", "flux-system", "flux");
  fi["spec"]["components"].push_back("helm-controller");
  api_.put(fi);
  ASSERT_TRUE(eventually([&] { return ready() == "False"; }));
  EXPECT_EQ(state()["fluxInstances"][0]["stalled"], true);
  EXPECT_EQ(state()["fluxInstances"][0]["message"], "nope");
}

TEST_F(SimCluster, ReleaseFailuresComeFromTheScenarioAndAreCounted) {
  start("releases: {fail: [{name: coredns, times: 1, message: boom}]}\n");
  auto first = post("/_sim/releases/begin", {{"name", "coredns"}, {"namespace", "kube-system"}});
  EXPECT_EQ(first["fail"], true);
  EXPECT_EQ(first["message"], "boom");
  EXPECT_EQ(post("/_sim/releases/begin", {{"name", "coredns"}, {"namespace", "kube-system"}})["fail"], false);
  EXPECT_EQ(post("/_sim/releases/begin", {{"name", "spegel"}, {"namespace", "kube-system"}})["fail"], false);
  auto rec = post("/_sim/releases", {{"name", "spegel"}, {"namespace", "kube-system"}, {"chart", "c"}, {"version", "1"},
                                     {"values", {{"a", 1}}}});
  EXPECT_EQ(rec["revision"], 1);
  EXPECT_EQ(rec["valuesSha256"].get<std::string>().size(), 64u);
  EXPECT_EQ(post("/_sim/releases", {{"name", "spegel"}, {"namespace", "kube-system"}, {"values", {{"a", 1}}}})["revision"], 2);
  EXPECT_EQ(state()["releases"].size(), 1u);
}

TEST_F(SimCluster, ApiDownWindowAfterBootstrap) {
  start("apiDown: {after: 100ms, for: 200ms}\n");
  post("/_sim/talos/apply", {{"node", "10.0.0.1"}, {"config", kCp}, {"insecure", true}});
  post("/_sim/talos/bootstrap", {{"node", "10.0.0.1"}});
  EXPECT_TRUE(api_.available());
  EXPECT_TRUE(eventually([&] { return !api_.available(); }, 1s));
  EXPECT_TRUE(eventually([&] { return api_.available(); }, 1s));
}

TEST_F(SimCluster, StartUpOutageDelaysTheApiAfterBootstrap) {
  start("apiDown: {for: 150ms}\n");
  post("/_sim/talos/apply", {{"node", "10.0.0.1"}, {"config", kCp}, {"insecure", true}});
  post("/_sim/talos/bootstrap", {{"node", "10.0.0.1"}});
  EXPECT_FALSE(api_.available());
  EXPECT_TRUE(eventually([&] { return api_.available(); }, 1s));
}

}  // namespace
}  // namespace fluxboot::sim
