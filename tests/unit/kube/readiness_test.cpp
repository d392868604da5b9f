#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fluxboot/kube.hpp"

namespace fluxboot::kube {
namespace {

using ::testing::HasSubstr;

json with_conditions(json conditions, json extra_status = json::object(), long generation = 1) {
  extra_status["conditions"] = std::move(conditions);
  return {
      {"kind", "FluxInstance"},
      {"metadata", {{"namespace", "flux-system"}, {"name", "flux"}, {"generation", generation}}},
      {"status", extra_status}};
}

TEST(Readiness, ReadyTrueIsReady) {
  auto r = readiness(with_conditions(
      {{{"type", "Ready"}, {"status", "True"}, {"reason", "ReconciliationSucceeded"}}}));
  EXPECT_TRUE(r.ready());
}

TEST(Readiness, StalledTrueFailsWhateverReadySays) {
  auto r = readiness(
      with_conditions({{{"type", "Ready"}, {"status", "Unknown"}, {"reason", "Progressing"}},
                       {{"type", "Stalled"},
                        {"status", "True"},
                        {"reason", "InvalidDistribution"},
                        {"message", "version 9.x not found"}}}));
  EXPECT_EQ(r.state, Readiness::State::Failed);
  EXPECT_EQ(r.reason, "Stalled: InvalidDistribution");
  EXPECT_EQ(r.message, "version 9.x not found");
}

TEST(Readiness, ReadyFalseWithTerminalReasonFailsOtherwiseWaits) {
  auto failed = readiness(with_conditions({{{"type", "Ready"},
                                            {"status", "False"},
                                            {"reason", "BuildFailed"},
                                            {"message", "kustomize build failed"}}}));
  EXPECT_EQ(failed.state, Readiness::State::Failed);
  auto transient = readiness(
      with_conditions({{{"type", "Ready"}, {"status", "False"}, {"reason", "HealthCheckFailed"}}}));
  EXPECT_EQ(transient.state, Readiness::State::NotReady);
  auto custom = readiness(
      with_conditions({{{"type", "Ready"}, {"status", "False"}, {"reason", "HealthCheckFailed"}}}),
      "Ready", {"HealthCheckFailed"});
  EXPECT_EQ(custom.state, Readiness::State::Failed);
}

TEST(Readiness, StaleReadyConditionIsNotReady) {
  auto r = readiness(
      with_conditions({{{"type", "Ready"}, {"status", "True"}}}, {{"observedGeneration", 1}}, 2));
  EXPECT_EQ(r.state, Readiness::State::NotReady);
  EXPECT_EQ(r.reason, "Stale");
}

// Issue 12, "stale Stalled": the cause was fixed and the spec changed (generation 2), but the
// controller has not observed it yet: the old Stalled/terminal condition must not fail the wait.
TEST(Readiness, StalledOrTerminalConditionForAnOlderGenerationKeepsWaiting) {
  auto stalled = readiness(with_conditions(
      {{{"type", "Ready"}, {"status", "False"}, {"reason", "BuildFailed"}},
       {{"type", "Stalled"}, {"status", "True"}, {"reason", "InvalidDistribution"}}},
      {{"observedGeneration", 1}}, 2));
  EXPECT_EQ(stalled.state, Readiness::State::NotReady);
  EXPECT_EQ(stalled.reason, "Stale");
  EXPECT_THAT(stalled.message, HasSubstr("generation 1, the object is at 2"));
  // The same Stalled condition observed for the current generation still fails at once.
  auto current = readiness(with_conditions(
      {{{"type", "Stalled"}, {"status", "True"}, {"reason", "InvalidDistribution"}, {"observedGeneration", 2}}},
      {{"observedGeneration", 1}}, 2));
  EXPECT_EQ(current.state, Readiness::State::Failed);
}

TEST(Readiness, NoStatusYet) {
  auto r = readiness(json{{"kind", "FluxInstance"}, {"metadata", {{"name", "flux"}}}});
  EXPECT_EQ(r.state, Readiness::State::NotReady);
  EXPECT_EQ(r.message, "no status yet");
}

TEST(Readiness, PodMessageNamesTheWaitingContainer) {
  json pod = {
      {"kind", "Pod"},
      {"metadata", {{"namespace", "flux-system"}, {"name", "flux-operator-abc"}}},
      {"status",
       {{"conditions",
         {{{"type", "Ready"},
           {"status", "False"},
           {"reason", "ContainersNotReady"},
           {"message", "containers with unready status: [manager]"}}}},
        {"containerStatuses",
         {{{"name", "manager"},
           {"ready", false},
           {"state",
            {{"waiting",
              {{"reason", "ImagePullBackOff"}, {"message", "Back-off pulling image"}}}}}}}}}}};
  auto r = readiness(pod);
  EXPECT_EQ(r.state, Readiness::State::NotReady);
  EXPECT_EQ(r.reason, "ContainersNotReady");
  EXPECT_THAT(r.message, HasSubstr("manager: ImagePullBackOff: Back-off pulling image"));
  EXPECT_EQ(describe(pod), "pod flux-system/flux-operator-abc");
}

TEST(Readiness, ObjectRefDisplay) {
  EXPECT_EQ(ObjectRef::pods("flux-system", "app=flux-operator").display(),
            "pods -l app=flux-operator in flux-system");
  auto fi = ObjectRef::named("fluxinstance", "fluxcd.controlplane.io/v1", "fluxinstances",
                             "flux-system", "flux");
  EXPECT_EQ(fi.display(), "fluxinstance flux-system/flux");
  EXPECT_EQ(fi.path, "/apis/fluxcd.controlplane.io/v1/namespaces/flux-system/fluxinstances");
  EXPECT_EQ(resource_path("v1", "nodes", "", "k8s-0"), "/api/v1/nodes/k8s-0");
  EXPECT_EQ(url_encode("app in (a,b)"), "app%20in%20%28a%2Cb%29");
}

}  // namespace
}  // namespace fluxboot::kube
