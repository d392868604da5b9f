#include <gtest/gtest.h>

#include "fluxboot/error.hpp"
#include "sim/scenario.hpp"

namespace fluxboot::sim {
namespace {

using std::chrono::milliseconds;

TEST(SimScenario, EmptyTextIsTheDefaultScenario) {
  Scenario s = parse_scenario("");
  EXPECT_TRUE(s.api_down.empty());
  EXPECT_EQ(s.node_register_delay, milliseconds(500));
  EXPECT_EQ(s.talos_apply_transient, 0);
  EXPECT_FALSE(s.flux_stalled);
}

TEST(SimScenario, ParsesEveryKey) {
  Scenario s = parse_scenario(R"(
apiDown: {after: 2s, for: 5s}
api:
  latency: 50ms
  fail: [{count: 3, status: 429, path: /api/v1/namespaces, retryAfter: 1s}]
nodes: {registerDelay: 1s, readyDelay: 100ms, never: [127.0.0.13], neverReady: [k8s-worker-1]}
talos: {applyTransientFailures: 2, bootstrapTransientFailures: 3}
releases:
  fail:
    - coredns
    - {name: cilium, times: 1, message: "boom"}
fluxInstance: {stalled: true, message: "no git", readyDelay: 1s}
)");
  ASSERT_EQ(s.api_down.size(), 1u);
  EXPECT_EQ(s.api_down[0].after, milliseconds(2000));
  EXPECT_EQ(s.api_down[0].duration, milliseconds(5000));
  EXPECT_EQ(s.api_latency, milliseconds(50));
  ASSERT_EQ(s.api_fail.size(), 1u);
  EXPECT_EQ(s.api_fail[0].count, 3);
  EXPECT_EQ(s.api_fail[0].status, 429);
  EXPECT_EQ(s.api_fail[0].path, "/api/v1/namespaces");
  EXPECT_EQ(s.api_fail[0].retry_after_s, 1);
  EXPECT_EQ(s.node_register_delay, milliseconds(1000));
  EXPECT_EQ(s.node_ready_delay, milliseconds(100));
  EXPECT_EQ(s.nodes_never, std::vector<std::string>{"127.0.0.13"});
  EXPECT_EQ(s.nodes_never_ready, std::vector<std::string>{"k8s-worker-1"});
  EXPECT_EQ(s.talos_apply_transient, 2);
  EXPECT_EQ(s.talos_bootstrap_transient, 3);
  ASSERT_EQ(s.release_failures.size(), 2u);
  EXPECT_EQ(s.release_failures[0].name, "coredns");
  EXPECT_EQ(s.release_failures[0].times, -1);
  EXPECT_EQ(s.release_failures[1].name, "cilium");
  EXPECT_EQ(s.release_failures[1].times, 1);
  EXPECT_EQ(s.release_failures[1].message, "boom");
  EXPECT_TRUE(s.flux_stalled);
  EXPECT_EQ(s.flux_stalled_message, "no git");
  EXPECT_EQ(s.flux_ready_delay, milliseconds(1000));
}

TEST(SimScenario, AcceptsAListOfApiDownWindowsAndBareSeconds) {
  Scenario s = parse_scenario("apiDown:\n  - {for: 3}\n  - {after: 10s, for: 500ms}\n");
  ASSERT_EQ(s.api_down.size(), 2u);
  EXPECT_EQ(s.api_down[0].after, milliseconds(0));
  EXPECT_EQ(s.api_down[0].duration, milliseconds(3000));
  EXPECT_EQ(s.api_down[1].duration, milliseconds(500));
}

TEST(SimScenario, StalledWithoutMessageGetsARealisticOne) {
  Scenario s = parse_scenario("fluxInstance: {stalled: true}");
  EXPECT_NE(s.flux_stalled_message.find("GitRepository"), std::string::npos);
}

TEST(SimScenario, ReportsEveryProblemAtOnce) {
  try {
    parse_scenario("apiDown: {after: 1x}\nnodes: {nevr: [a]}\ntalos: {applyTransientFailures: -1}\nbogus: 1\n");
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("apiDown.after"), std::string::npos) << m;
    EXPECT_NE(m.find("apiDown.for: required"), std::string::npos) << m;
    EXPECT_NE(m.find("nodes.nevr: unknown key"), std::string::npos) << m;
    EXPECT_NE(m.find("talos.applyTransientFailures"), std::string::npos) << m;
    EXPECT_NE(m.find("scenario.bogus: unknown key"), std::string::npos) << m;
  }
}

TEST(SimScenario, RejectsInvalidYaml) { EXPECT_THROW(parse_scenario("a: [1, 2"), InputError); }

TEST(SimScenario, RoundTripsToJsonForStatus) {
  auto j = scenario_to_json(parse_scenario("releases: {fail: [x]}"));
  EXPECT_EQ(j["releases"]["fail"][0]["name"], "x");
  EXPECT_EQ(j["nodes"]["registerDelayMs"], 500);
}

}  // namespace
}  // namespace fluxboot::sim
