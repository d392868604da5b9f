// WATCH and observe() against the simulated API server: drops, resumes, 410 Gone.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <sstream>

#include "unit/kube/kube_fixture.hpp"

namespace fluxboot::kube {
namespace {

using namespace std::chrono_literals;
using test::After;
using test::Sim;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

json configmap(const std::string& name, const std::string& value = "v") {
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", {{"namespace", "default"}, {"name", name}}},
          {"data", {{"k", value}}}};
}

// Each request line of the sim's log: "<method> <path> <query|-> <content-type|-> <status> <ms>".
std::vector<std::string> requests(const std::filesystem::path& log, const std::string& prefix) {
  std::vector<std::string> out;
  std::istringstream in(fluxboot::testing::read_file(log));
  for (std::string line; std::getline(in, line);)
    if (line.rfind(prefix, 0) == 0) out.push_back(line);
  return out;
}

struct LoggedSim {
  fluxboot::testing::TempDir dir;
  std::unique_ptr<sim::ApiServer> server;
  LoggedSim() {
    const auto& pki = test::Pki::get();
    sim::ServerOptions o;
    o.cert_file = pki.server_crt.string();
    o.key_file = pki.server_key.string();
    o.client_ca_file = pki.ca_crt.string();
    o.request_log = dir / "requests.log";
    server = std::make_unique<sim::ApiServer>(o);
    server->start();
  }
  std::filesystem::path log() const { return dir / "requests.log"; }
};

TEST(Watch, ResumesFromTheLastResourceVersionAfterTheServerDropsIt) {
  LoggedSim sim;
  Client client(test::access_for(sim.server->url()));
  json list = client.list("/api/v1/namespaces/default/configmaps");
  const std::string rv = list["metadata"]["resourceVersion"];

  std::vector<std::string> seen;
  std::atomic<bool> first_seen{false};
  std::thread writer([&] {
    sim.server->put(configmap("a"));
    while (!first_seen) std::this_thread::sleep_for(5ms);
    // Cut the stream and keep the client out (503s) while b and c happen: they can only reach
    // it through the resumed watch.
    sim.server->set_available(false);
    sim.server->drop_watches();
    std::this_thread::sleep_for(100ms);
    sim.server->put(configmap("b"));
    sim.server->put(configmap("c"));
    sim.server->set_available(true);
  });
  bool stopped = false;
  std::string error;
  try {
    stopped = client.watch(
        "/api/v1/namespaces/default/configmaps", rv,
        [&](const WatchEvent& ev) {
          seen.push_back(ev.type + " " + ev.object["metadata"]["name"].get<std::string>());
          first_seen = true;
          return ev.object["metadata"]["name"] != "c";
        },
        test::in(10s));
  } catch (const Error& e) {
    error = e.what();
    first_seen = true;
  }
  writer.join();
  EXPECT_EQ(error, "");
  EXPECT_TRUE(stopped);
  EXPECT_THAT(seen, ElementsAre("ADDED a", "ADDED b", "ADDED c"));
  auto watches = requests(sim.log(), "GET /api/v1/namespaces/default/configmaps watch=1");
  ASSERT_GE(watches.size(), 2u);
  EXPECT_THAT(watches.front(), HasSubstr("resourceVersion=" + rv + "&"));
  // The successful resume starts after "a", not from the beginning.
  EXPECT_THAT(watches.back(), ::testing::Not(HasSubstr("resourceVersion=" + rv + "&")));
  EXPECT_THAT(watches.back(), HasSubstr(" 200 "));
}

TEST(Watch, ReturnsFalseAtTheDeadline) {
  Sim sim;
  Client client(sim.access());
  const auto started = Clock::now();
  EXPECT_FALSE(client.watch(
      "/api/v1/nodes", "", [](const WatchEvent&) { return true; }, test::in(300ms)));
  EXPECT_LT(Clock::now() - started, 2s);
}

TEST(Watch, TooOldResourceVersionIsApiError410) {
  Sim sim;
  Client client(sim.access());
  const std::string old_rv =
      client.list("/api/v1/namespaces/default/configmaps")["metadata"]["resourceVersion"];
  for (int i = 0; i < 4200; ++i) sim->put(configmap("churn", std::to_string(i)));
  try {
    client.watch(
        "/api/v1/namespaces/default/configmaps", old_rv, [](const WatchEvent&) { return true; },
        test::in(5s));
    FAIL() << "no error";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 410);
  }
}

TEST(Observe, RelistsAfterGoneAndStillSeesTheChange) {
  LoggedSim sim;
  ClientOptions options;
  options.backoff_initial = 50ms;
  options.backoff_max = 100ms;
  options.max_attempts = 1000;
  Client client(test::access_for(sim.server->url()), options);
  std::atomic<int> calls{0};
  std::thread writer([&] {
    while (calls == 0) std::this_thread::sleep_for(5ms);
    std::this_thread::sleep_for(100ms);  // the watch is open
    // While the client is kept out (503s), churn past the sim's event log so that the resume
    // from the old resourceVersion gets 410 Gone.
    sim.server->set_available(false);
    sim.server->drop_watches();
    for (int i = 0; i < 9000; ++i) sim.server->put(configmap("churn", std::to_string(i)));
    sim.server->put(configmap("final"));
    sim.server->set_available(true);
  });
  bool ok = false;
  std::string error;
  try {
    ok = observe(
        client, {Query{"/api/v1/namespaces/default/configmaps", {}}},
        [&](const std::vector<ObjectMap>& maps) {
          ++calls;
          return maps[0].count("default/final") == 1;
        },
        test::in(20s));
  } catch (const Error& e) {
    error = e.what();
    calls = 1;
  }
  writer.join();
  EXPECT_EQ(error, "");
  EXPECT_TRUE(ok);
  // Two successful LISTs: the initial one and the relist after 410.
  auto lists = requests(sim.log(), "GET /api/v1/namespaces/default/configmaps limit=500 - 200");
  EXPECT_EQ(lists.size(), 2u);
}

TEST(Observe, WatchesSeveralCollectionsAtOnce) {
  Sim sim;
  Client client(sim.access());
  After later(200ms, [&] {
    sim->put(test::node("k8s-0", "10.0.0.10"));
    sim->put(configmap("x"));
  });
  const auto started = Clock::now();
  const bool ok = observe(
      client, {Query{"/api/v1/nodes", {}}, Query{"/api/v1/configmaps", {"", "metadata.name=x"}}},
      [&](const std::vector<ObjectMap>& maps) { return !maps[0].empty() && !maps[1].empty(); },
      test::in(10s));
  EXPECT_TRUE(ok);
  EXPECT_LT(Clock::now() - started, 3s);
}

TEST(Observe, WaitsForAResourceTypeThatIsNotServedYet) {
  Sim sim;
  Client client(sim.access());
  const std::string path = "/apis/fluxcd.controlplane.io/v1/namespaces/flux-system/fluxinstances";
  After later(300ms, [&] {
    sim.register_flux_types();
    sim->put(test::flux_object("fluxcd.controlplane.io/v1", "FluxInstance", "flux-system", "flux",
                               "True", "ReconciliationSucceeded", "done"));
  });
  EXPECT_TRUE(observe(
      client, {Query{path, {}}},
      [](const std::vector<ObjectMap>& maps) { return !maps[0].empty(); }, test::in(10s)));
}

}  // namespace
}  // namespace fluxboot::kube
