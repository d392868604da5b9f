// The event-driven waits against the simulated API server.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <mutex>

#include "unit/kube/kube_fixture.hpp"

namespace fluxboot::kube {
namespace {

using namespace std::chrono_literals;
using test::After;
using test::Sim;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::string kFluxApi = "fluxcd.controlplane.io/v1";

// Progress messages, collected thread-safely.
struct Messages {
  std::mutex mu;
  std::vector<std::string> items;
  Progress sink() {
    return [this](const std::string& m) {
      std::lock_guard lock(mu);
      items.push_back(m);
    };
  }
};

template <typename F>
std::string error_of(F fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// ---- wait_api_ready ----

TEST(WaitApiReady, ReturnsOnceReadyzAnswers) {
  Sim sim;
  sim->set_available(false);
  Client client(sim.access());
  Messages progress;
  const auto started = Clock::now();
  {
    After up(300ms, [&] { sim->set_available(true); });
    wait_api_ready(client, test::in(20s), progress.sink());
  }
  EXPECT_LT(Clock::now() - started, 5s);
  ASSERT_FALSE(progress.items.empty());
  EXPECT_THAT(progress.items[0], HasSubstr("not ready: /readyz: 503 Service Unavailable"));
}

TEST(WaitApiReady, DeadlineSaysWhatItWaitedForAndTheLastReason) {
  Sim sim;
  sim->set_available(false);
  Client client(sim.access());
  std::string err = error_of([&] { wait_api_ready(client, test::in(600ms)); });
  EXPECT_THAT(err, HasSubstr("timed out after"));
  EXPECT_THAT(err, HasSubstr("waiting for the API server " + sim.url() +
                             " to be ready; last: /readyz: 503"));
}

TEST(WaitApiReady, ConnectionRefusedCountsAsNotReadyYet) {
  ClusterAccess a = test::access_for("https://127.0.0.1:1");
  Client client(a);
  std::string err = error_of([&] { wait_api_ready(client, test::in(500ms)); });
  EXPECT_THAT(err, HasSubstr("last: cannot connect"));
}

TEST(WaitApiReady, WrongCaFailsAtOnce) {
  Sim sim;
  ClusterAccess a = sim.access();
  a.ca_pem = test::slurp(test::Pki::get().other_ca_crt);
  Client client(a);
  const auto started = Clock::now();
  try {
    wait_api_ready(client, test::in(30s));
    FAIL() << "no error";
  } catch (const StageError& e) {
    EXPECT_THAT(e.what(), HasSubstr("certificate verify failed (wrong CA in kubeconfig?)"));
  }
  EXPECT_LT(Clock::now() - started, 3s);
}

// ---- wait_nodes_registered ----

TEST(WaitNodes, ReturnsPromptlyAfterTheLastNodeRegisters) {
  Sim sim;
  sim->put(test::node("k8s-0", "10.0.0.10"));
  sim->put(test::node("k8s-1", "10.0.0.11", "True"));
  Client client(sim.access());
  Messages progress;
  std::vector<std::string> names;
  const auto started = Clock::now();
  {
    After later(300ms, [&] { sim->put(test::node("k8s-2", "10.0.0.12")); });
    // By name, by InternalIP, by name.
    names = wait_nodes_registered(client, {"k8s-0", "10.0.0.11", "k8s-2"}, test::in(30s),
                                  progress.sink());
  }
  const auto took = Clock::now() - started;
  EXPECT_THAT(names, ElementsAre("k8s-0", "k8s-1", "k8s-2"));
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 5s);  // well before the 30 s deadline: the watch delivered the node
  EXPECT_THAT(progress.items, Contains("2/3 nodes registered; missing: k8s-2"));
  EXPECT_EQ(progress.items.back(), "3/3 nodes registered");
}

TEST(WaitNodes, DeadlineListsTheMissingNodes) {
  Sim sim;
  sim->put(test::node("k8s-0", "10.0.0.10"));
  Client client(sim.access());
  try {
    wait_nodes_registered(client, {"k8s-0", "k8s-1", "10.0.0.12"}, test::in(500ms));
    FAIL() << "no error";
  } catch (const DeadlineError& e) {
    EXPECT_THAT(
        e.what(),
        HasSubstr(
            "waiting for nodes to register: 1/3 nodes registered; missing: k8s-1, 10.0.0.12"));
  }
}

TEST(WaitNodes, EmptyInventoryWaitsForAnyNode) {
  Sim sim;
  Client client(sim.access());
  After later(200ms, [&] { sim->put(test::node("only", "10.0.0.10")); });
  EXPECT_THAT(wait_nodes_registered(client, {}, test::in(10s)), ElementsAre("only"));
}

TEST(WaitNodes, CtrlCInterruptsTheWaitPromptly) {
  Sim sim;
  Client client(sim.access());
  process::install_signal_handlers();
  const auto started = Clock::now();
  try {
    After later(200ms, [] { ::kill(::getpid(), SIGINT); });
    wait_nodes_registered(client, {"k8s-0"}, test::in(30s));
    ADD_FAILURE() << "no error";
  } catch (const InterruptedError& e) {
    EXPECT_EQ(e.code(), ExitCode::Interrupted);
  }
  process::reset_signal_state_for_tests();
  EXPECT_LT(Clock::now() - started, 2s);
}

// ---- wait_ready ----

class WaitReady : public ::testing::Test {
 protected:
  void SetUp() override { sim_.register_flux_types(); }
  void put_instance(const std::string& ready, const std::string& reason,
                    const std::string& message) {
    sim_->put(
        test::flux_object(kFluxApi, "FluxInstance", "flux-system", "flux", ready, reason, message));
  }
  std::vector<ObjectRef> refs() const {
    return {ObjectRef::pods("flux-system", "app=flux-operator"),
            ObjectRef::named("fluxinstance", kFluxApi, "fluxinstances", "flux-system", "flux")};
  }
  Sim sim_;
};

TEST_F(WaitReady, ReturnsWhenPodsAndInstanceBecomeReady) {
  sim_->put(test::pod("flux-system", "flux-operator-abc", {{"app", "flux-operator"}}, false));
  put_instance("Unknown", "Progressing", "Reconciliation in progress");
  Client client(sim_.access());
  Messages progress;
  const auto started = Clock::now();
  {
    After later(300ms, [&] {
      sim_->put(test::pod("flux-system", "flux-operator-abc", {{"app", "flux-operator"}}, true));
      sim_->set_condition(kFluxApi, "FluxInstance", "flux-system", "flux", "Ready", "True",
                          "ReconciliationSucceeded", "Reconciliation finished");
    });
    wait_ready(client, refs(), test::in(30s), progress.sink());
  }
  EXPECT_LT(Clock::now() - started, 5s);
  ASSERT_FALSE(progress.items.empty());
  EXPECT_EQ(progress.items.front(),
            "waiting for pods -l app=flux-operator in flux-system (0/1 ready), fluxinstance "
            "flux-system/flux (Progressing)");
}

TEST_F(WaitReady, PodsThatDoNotExistYetAreWaitedFor) {
  put_instance("True", "ReconciliationSucceeded", "ok");
  Client client(sim_.access());
  After later(300ms, [&] {
    sim_->put(test::pod("flux-system", "flux-operator-abc", {{"app", "flux-operator"}}, true));
  });
  EXPECT_NO_THROW(wait_ready(client, refs(), test::in(30s)));
}

TEST_F(WaitReady, FailsFastWhenTheInstanceStalls) {
  sim_->put(test::pod("flux-system", "flux-operator-abc", {{"app", "flux-operator"}}, true));
  put_instance("Unknown", "Progressing", "Reconciliation in progress");
  Client client(sim_.access());
  const auto started = Clock::now();
  std::string err;
  {
    After later(300ms, [&] {
      sim_->set_condition(kFluxApi, "FluxInstance", "flux-system", "flux", "Stalled", "True",
                          "InvalidDistribution", "distribution version 9.x not found");
    });
    try {
      wait_ready(client, refs(), test::in(60s));
    } catch (const DeadlineError& e) {
      err = std::string("deadline: ") + e.what();
    } catch (const StageError& e) {
      err = e.what();
    }
  }
  EXPECT_EQ(err,
            "fluxinstance flux-system/flux: Stalled: InvalidDistribution: distribution version 9.x "
            "not found");
  EXPECT_LT(Clock::now() - started, 5s);
}

TEST_F(WaitReady, FailsFastOnATerminalReadyFalseReason) {
  put_instance("False", "BuildFailed", "kustomize build failed: accumulating resources");
  Client client(sim_.access());
  EXPECT_EQ(
      error_of([&] { wait_ready(client, {refs()[1]}, test::in(60s)); }),
      "fluxinstance flux-system/flux: BuildFailed: kustomize build failed: accumulating resources");
}

TEST_F(WaitReady, DeadlineListsEveryObjectStillNotReady) {
  put_instance("Unknown", "Progressing", "Reconciliation in progress");
  sim_->put(test::pod("flux-system", "source-controller-1", {{"app.kubernetes.io/part-of", "flux"}},
                      false));
  Client client(sim_.access());
  auto all = refs();
  all.push_back(ObjectRef::pods("flux-system", "app.kubernetes.io/part-of=flux"));
  try {
    wait_ready(client, all, test::in(500ms));
    FAIL() << "no error";
  } catch (const DeadlineError& e) {
    const std::string msg = e.what();
    EXPECT_THAT(msg, HasSubstr("waiting for 3 objects to become Ready:\n"));
    EXPECT_THAT(msg, HasSubstr("\n  pods -l app=flux-operator in flux-system: none found"));
    EXPECT_THAT(
        msg,
        HasSubstr("\n  fluxinstance flux-system/flux: Progressing: Reconciliation in progress"));
    EXPECT_THAT(msg,
                HasSubstr("\n  pod flux-system/source-controller-1: ContainersNotReady: manager: "
                          "ImagePullBackOff: Back-off pulling image"));
    EXPECT_EQ(e.code(), ExitCode::DeadlineExceeded);
  }
}

}  // namespace
}  // namespace fluxboot::kube
