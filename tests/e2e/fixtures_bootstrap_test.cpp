// Every layout fixture (tests/fixtures) bootstrapped end to end on a fresh simulated cluster with
// no fluxboot.yaml: `fluxboot all` twice, the second changing nothing, and the objects each
// variant's own mechanism produces (sops-decrypted and op-injected Secrets, templated Talos
// configs) checked in the cluster. Secret canaries in the fixtures never reach the output.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "e2e/e2e_support.hpp"
#include "sim/api/util.hpp"

namespace {

using fluxboot::testing::fixture_names;
using fluxboot::testing::RunResult;
using fluxboot::testing::e2e::SimCluster;
using fluxboot::testing::e2e::tools_installed;
using json = nlohmann::json;

std::string describe(const RunResult& r) {
  auto tail = [](const std::string& s) { return s.size() <= 3000 ? s : "…" + s.substr(s.size() - 3000); };
  return "exit " + std::to_string(r.exit_code) + "\n--- stdout ---\n" + tail(r.out) + "\n--- stderr ---\n" + tail(r.err);
}

// data[key] of flux-system/<name>, decoded; "" when absent.
std::string secret_value(const SimCluster& sim, const std::string& name, const std::string& key) {
  auto r = sim.kubectl({"get", "secret", "-n", "flux-system", name, "-o", "json"});
  if (r.exit_code != 0) return {};
  auto doc = json::parse(r.out, nullptr, false);
  if (!doc.is_object() || !doc.contains("data") || !doc["data"].contains(key)) return {};
  std::string out;
  fluxboot::sim::api::base64_decode(doc["data"][key].get<std::string>(), out);
  return out;
}

class FixtureBootstrap : public ::testing::TestWithParam<std::string> {};

TEST_P(FixtureBootstrap, BootstrapsTwiceAndTheSecondRunChangesNothing) {
  if (!tools_installed()) GTEST_SKIP() << "real kubectl/helm not installed (.ci/install-deps)";
  SimCluster sim({}, GetParam());
  ASSERT_TRUE(sim.up_ok()) << describe(sim.up_result());

  auto first = sim.fluxboot({"all"});
  ASSERT_EQ(first.exit_code, 0) << describe(first);
  auto second = sim.fluxboot({"all"});
  ASSERT_EQ(second.exit_code, 0) << describe(second);
  EXPECT_NE(second.err.find("0 applied, 3 already configured"), std::string::npos) << describe(second);
  EXPECT_NE(second.err.find("already up to date (sync skipped)"), std::string::npos) << describe(second);
  for (const auto* r : {&first, &second}) {
    EXPECT_EQ((r->out + r->err).find("canary"), std::string::npos) << "a secret reached the output";
    EXPECT_EQ((r->out + r->err).find("sim-kubernetes-"), std::string::npos) << "an injected secret reached the output";
  }
  auto nodes = sim.kubectl({"get", "nodes", "-o", "name"});
  // The multi-cluster fixture's node patches name their hosts (machine.network.hostname).
  EXPECT_NE(nodes.out.find(GetParam() == "multi-cluster" ? "home-controlplane-11" : "k8s-cp-1"), std::string::npos)
      << nodes.out;

  const std::string fixture = GetParam();
  if (fixture == "sops-split") {
    EXPECT_EQ(secret_value(sim, "cluster-secrets", "SECRET_DOMAIN"), "fixture-sops-domain-canary.example");
    EXPECT_EQ(secret_value(sim, "github-deploy-key", "identity"), "fixture-sops-deploy-identity-canary");
  } else if (fixture == "kustomize-op") {
    EXPECT_EQ(secret_value(sim, "github-deploy-key", "identity"), "sim-kubernetes-flux-DEPLOY_KEY");
    EXPECT_EQ(secret_value(sim, "cluster-secrets", "CLUSTER_NAME"), "home");  // rendered after the build
    // The crds stage had nothing to do: this layout has no CRD helmfile.
    EXPECT_NE(first.err.find("nothing to do: this repository has no CRD helmfile"), std::string::npos);
  } else if (fixture == "talos-templates") {
    auto st = sim.status();
    ASSERT_TRUE(st.is_object());
    EXPECT_NE(st.dump().find("templated"), std::string::npos) << "the nodes run the templates' cluster: " << st.dump();
  } else if (fixture == "multi-cluster") {
    // Cluster home's own FluxInstance (its override in the values template), with home's variables.
    auto fi = sim.kubectl({"get", "fluxinstances", "-A", "-o", "json"});
    EXPECT_NE(fi.out.find("kubernetes/clusters/home"), std::string::npos) << fi.out.substr(0, 2000);
    EXPECT_EQ(fi.out.find("kubernetes/clusters/lab"), std::string::npos) << "cluster lab's FluxInstance was installed";
  }
  EXPECT_FALSE(secret_value(sim, "sops-age", "age.agekey").empty());
}

INSTANTIATE_TEST_SUITE_P(Layouts, FixtureBootstrap, ::testing::ValuesIn(fixture_names()),
                         [](const auto& param_info) {
                           std::string n = param_info.param;
                           for (auto& ch : n) ch = ch == '-' ? '_' : ch;
                           return n;
                         });

}  // namespace
