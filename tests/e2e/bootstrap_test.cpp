// End to end: the REAL fluxboot binary bootstraps a copy of docs/examples/flux-talos against a
// fresh simulated cluster (fluxboot-sim: in-memory Kubernetes API, the real kubectl and helm, fake
// talosctl and helmfile). Each test starts its own simulation with --nodes 3, optionally with a
// scenario (docs/simulated-cluster.md, "Scenario file"), and always stops it (SimCluster's
// destructor runs `fluxboot-sim down`; --watch-pid stops it too should this process die).
//
// What a test asserts about the cluster comes from the API server's own request log
// (DIR/requests.log), `fluxboot-sim status -o json` and the real kubectl; what it asserts about
// fluxboot comes from its exit code, `--log-format json` events on stdout and stderr.
//
// Cost: a full `fluxboot all` takes ~9 s on an idle 2-core machine. Fault runs only go as far as
// the fault matters (`all --to wait`, `--to k8s`); each is then followed by a full `fluxboot all`.
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <regex>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "e2e/e2e_support.hpp"

namespace {

namespace fs = std::filesystem;
using fluxboot::testing::read_file;
using fluxboot::testing::RunResult;
using fluxboot::testing::e2e::Background;
using fluxboot::testing::e2e::Events;
using fluxboot::testing::e2e::parse_events;
using fluxboot::testing::e2e::processes_of;
using fluxboot::testing::e2e::Request;
using fluxboot::testing::e2e::SimCluster;
using fluxboot::testing::e2e::tools_installed;
using json = nlohmann::json;
using namespace std::chrono_literals;

std::string tail(const std::string& s, size_t n = 4000) { return s.size() <= n ? s : "…" + s.substr(s.size() - n); }

// Everything needed to understand a failed run, for assertion messages.
std::string describe(const RunResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\n--- stdout (tail) ---\n" + tail(r.out) +
         "\n--- stderr (tail) ---\n" + tail(r.err);
}

long long seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - t0).count();
}

// The directories under kubernetes/apps: one namespace each.
std::vector<std::string> app_namespaces(const fs::path& repo) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(repo / "kubernetes/apps"))
    if (e.is_directory()) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

// kind/namespace/name → resourceVersion of every Namespace, CRD, Secret and ConfigMap (Helm's
// release records, Secrets sh.helm.release.v1.<release>.v<revision>, included).
std::map<std::string, std::string> resource_versions(const SimCluster& c) {
  auto r = c.kubectl({"get", "namespaces,customresourcedefinitions,secrets,configmaps", "-A", "-o", "json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto list = json::parse(r.out, nullptr, false);
  std::map<std::string, std::string> out;
  if (list.is_discarded()) {
    ADD_FAILURE() << "kubectl get printed no JSON: " << tail(r.out);
    return out;
  }
  for (const auto& item : list.value("items", json::array())) {
    const auto& meta = item["metadata"];
    out[item.value("kind", "") + "/" + meta.value("namespace", "") + "/" + meta.value("name", "")] =
        meta.value("resourceVersion", "");
  }
  return out;
}

std::string stage_detail(const Events& ev, const std::string& stage) {
  auto f = ev.of("stage_finished", stage);
  return f.empty() ? std::string() : f.back().value("detail", "");
}

class Bootstrap : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!tools_installed())
      GTEST_SKIP() << "the real kubectl and helm are missing in " << FLUXBOOT_TOOLS_BIN_DIR << ": run .ci/install-deps";
  }

  // A fresh simulation (and a fresh copy of the example repository). Use with
  // ASSERT_NO_FATAL_FAILURE.
  void start(const std::string& scenario = {}) {
    cluster_ = std::make_unique<SimCluster>(scenario);
    ASSERT_TRUE(cluster_->up_ok()) << describe(cluster_->up_result());
  }
  SimCluster& sim() { return *cluster_; }

  // `fluxboot all` (plus args) must exit 0; returns its JSON events. Stage deadlines are 60 s
  // unless `extra` sets one: a stuck stage fails in a minute instead of stalling the suite.
  Events all_ok(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"all", "--log-format", "json"};
    args.insert(args.end(), extra.begin(), extra.end());
    if (std::find(extra.begin(), extra.end(), "--timeout") == extra.end()) {
      args.push_back("--timeout");
      args.push_back("60s");
    }
    auto r = sim().fluxboot(args);
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    auto ev = parse_events(r.out);
    EXPECT_TRUE(ev.bad.empty()) << "not JSON events: " << ev.bad.front();
    return ev;
  }

  // Clears every fault of the running simulation (an empty scenario file).
  void clear_scenario() {
    auto r = sim().set_scenario("");
    ASSERT_EQ(r.exit_code, 0) << describe(r);
  }

  std::unique_ptr<SimCluster> cluster_;
};

// ---- 1 and 2: a fresh cluster, then a second run -------------------------------------------------

// Tests 1 and 2 share one simulation (a full run is the expensive part): the first run is made
// once, by whichever of them runs first, and its output and the length of requests.log at its end
// are kept, so each test works alone, in any order.
class FreshCluster : public Bootstrap {
 protected:
  struct Shared {
    std::unique_ptr<SimCluster> cluster;
    RunResult first;
    size_t first_requests = 0;  // requests.log lines written up to the end of the first run
    bool second_done = false;
  };
  static Shared& shared() {
    static Shared s;
    return s;
  }
  static void TearDownTestSuite() { shared().cluster.reset(); }

  // The shared simulation after the first `fluxboot all --log-format json`. Use with
  // ASSERT_NO_FATAL_FAILURE.
  void first_run() {
    auto& s = shared();
    if (!s.cluster) {
      s.cluster = std::make_unique<SimCluster>();
      ASSERT_TRUE(s.cluster->up_ok()) << describe(s.cluster->up_result());
      s.first = s.cluster->fluxboot({"all", "--log-format", "json"});
      s.first_requests = s.cluster->requests().size();
    }
    ASSERT_TRUE(s.cluster->up_ok()) << describe(s.cluster->up_result());
    ASSERT_EQ(s.first.exit_code, 0) << describe(s.first);
  }
  SimCluster& shared_sim() { return *shared().cluster; }
};

TEST_F(FreshCluster, FirstRunCompletesEveryStage) {
  ASSERT_NO_FATAL_FAILURE(first_run());
  const RunResult& r = shared().first;

  // stdout is nothing but JSON events, one per line, ending with the summary.
  auto ev = parse_events(r.out);
  EXPECT_TRUE(ev.bad.empty()) << ev.bad.size() << " lines are not JSON events, first: " << ev.bad.front();
  ASSERT_FALSE(ev.items.empty());
  const json& last = ev.items.back();
  EXPECT_EQ(last.value("event", ""), "summary") << last.dump();
  EXPECT_EQ(last.value("exit_code", -1), 0) << last.dump();
  ASSERT_EQ(last["stages"].size(), 8u) << last.dump();
  for (const auto& s : last["stages"]) EXPECT_EQ(s.value("outcome", ""), "ok") << s.dump();

  // ONE kubectl process applies every namespace: a single command in the namespaces stage.
  auto ns_cmds = ev.of("command_started", "namespaces");
  ASSERT_EQ(ns_cmds.size(), 1u) << "namespaces stage ran " << ns_cmds.size() << " commands";
  const auto& argv = ns_cmds[0]["argv"];
  ASSERT_GE(argv.size(), 2u);
  EXPECT_EQ(fs::path(argv[0].get<std::string>()).filename(), "kubectl") << argv.dump();
  EXPECT_EQ(argv[1], "apply") << argv.dump();

  // What reached the API server during the first run.
  auto reqs = shared_sim().requests();
  reqs.resize(std::min(reqs.size(), shared().first_requests));
  ASSERT_FALSE(reqs.empty());
  for (const auto& ns : app_namespaces(shared_sim().repo())) {
    auto it = std::find_if(reqs.begin(), reqs.end(), [&](const Request& q) {
      return q.method == "PATCH" && q.path == "/api/v1/namespaces/" + ns;
    });
    ASSERT_NE(it, reqs.end()) << "no server-side apply of namespace " << ns;
    EXPECT_TRUE(it->query_has("fieldManager=kubectl-fluxboot")) << it->raw;
    EXPECT_TRUE(it->query_has("force=true")) << it->raw;
    EXPECT_EQ(it->content_type, "application/apply-patch+yaml") << it->raw;
    EXPECT_LT(it->status, 300) << it->raw;
  }

  // The hand-off to Flux: each namespace's fields are owned by an Apply manager whose name starts
  // with "kubectl" and that is not a subresource entry, which is exactly what Flux's
  // kustomize-controller transfers to itself on its first reconcile (fluxcd/pkg/ssa cleanup:
  // prefix "kubectl", operation Apply).
  for (const auto& ns : app_namespaces(shared_sim().repo())) {
    auto got = shared_sim().kubectl({"get", "namespace", ns, "-o", "json", "--show-managed-fields"});
    ASSERT_EQ(got.exit_code, 0) << got.err;
    bool flux_takes_over = false;
    const json object = json::parse(got.out);
    for (const auto& f : object["metadata"]["managedFields"])
      if (f.value("manager", "").rfind("kubectl", 0) == 0 && f.value("operation", "") == "Apply" &&
          f.value("subresource", "").empty())
        flux_takes_over = true;
    EXPECT_TRUE(flux_takes_over) << got.out;
  }

  // The CRDs are applied (field manager kubectl-fluxboot) before helm touches the cluster for the apps.
  // Marker for "helm starts on the apps": the first list of Helm's release records, a GET of
  // .../secrets with labelSelector owner=helm. Helm's Secret storage driver issues it at the
  // start of every `helm upgrade --install`, before it writes anything; kubectl never sends this
  // selector, and `helm template` (the crds stage) never talks to the API. As a second marker the
  // fake helmfile's `POST /_sim/releases/begin` (it asks the simulation before each release)
  // opens the apps stage's `helmfile sync`.
  auto first_helm = std::find_if(reqs.begin(), reqs.end(), [](const Request& q) {
    return q.method == "GET" && q.path.find("/secrets") != std::string::npos &&
           q.query.find("owner%3Dhelm") != std::string::npos;
  });
  ASSERT_NE(first_helm, reqs.end()) << "no request from helm in requests.log";
  auto first_begin = std::find_if(reqs.begin(), reqs.end(), [](const Request& q) { return q.path == "/_sim/releases/begin"; });
  ASSERT_NE(first_begin, reqs.end());
  size_t crd_patches = 0;
  for (const auto& q : reqs) {
    if (q.method != "PATCH" || q.path.find("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/") != 0) continue;
    ++crd_patches;
    EXPECT_TRUE(q.query_has("fieldManager=kubectl-fluxboot")) << q.raw;
    EXPECT_LT(q.index, first_helm->index) << q.raw << " came after helm's first request " << first_helm->raw;
    EXPECT_LT(q.index, first_begin->index) << q.raw;
  }
  // 00-crds.yaml: cert-manager (6) and flux-operator (4) CRDs.
  EXPECT_GE(crd_patches, 10u);
  // fluxboot waited for them to be Established: the CRDs were read back (GET, list or watch)
  // after the last apply and before helm's first request.
  auto last_patch = std::find_if(reqs.rbegin(), reqs.rend(), [](const Request& q) {
    return q.method == "PATCH" && q.path.find("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/") == 0;
  });
  ASSERT_NE(last_patch, reqs.rend());
  bool read_back = std::any_of(reqs.begin() + static_cast<std::ptrdiff_t>(last_patch->index), first_helm, [](const Request& q) {
    return q.method == "GET" && q.path.find("/apis/apiextensions.k8s.io/v1/customresourcedefinitions") == 0;
  });
  EXPECT_TRUE(read_back) << "no CRD was read between the apply and helm's first request";
  EXPECT_NE(stage_detail(ev, "crds").find("established"), std::string::npos) << stage_detail(ev, "crds");
  auto crds = shared_sim().kubectl({"get", "customresourcedefinitions", "-o", "json"});
  ASSERT_EQ(crds.exit_code, 0) << describe(crds);
  for (const auto& crd : json::parse(crds.out)["items"]) {
    bool established = false;
    for (const auto& c : crd["status"].value("conditions", json::array()))
      established = established || (c.value("type", "") == "Established" && c.value("status", "") == "True");
    EXPECT_TRUE(established) << crd["metadata"]["name"];
  }

  // The simulated cluster's view: Flux is up.
  auto st = shared_sim().status();
  ASSERT_TRUE(st.is_object());
  ASSERT_EQ(st["fluxInstances"].size(), 1u) << st.dump(2);
  EXPECT_EQ(st["fluxInstances"][0]["ready"], "True") << st["fluxInstances"].dump(2);
  EXPECT_EQ(st["talos"]["bootstrapped"], true);
  ASSERT_EQ(st["kubernetes"]["nodes"].size(), 3u);
  for (const auto& n : st["kubernetes"]["nodes"]) EXPECT_EQ(n["ready"], "True") << n.dump();
}

TEST_F(FreshCluster, SecondRunChangesNothing) {
  ASSERT_NO_FATAL_FAILURE(first_run());
  ASSERT_FALSE(shared().second_done) << "run this test once per process (--gtest_repeat shares the simulation)";
  shared().second_done = true;
  SimCluster& c = shared_sim();
  auto before = resource_versions(c);
  ASSERT_FALSE(before.empty());
  auto releases_before = c.status()["releases"];

  auto r = c.fluxboot({"all", "--log-format", "json"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  auto ev = parse_events(r.out);
  EXPECT_TRUE(ev.bad.empty());
  EXPECT_NE(stage_detail(ev, "talos").find("3 already configured"), std::string::npos) << stage_detail(ev, "talos");
  EXPECT_NE(stage_detail(ev, "k8s").find("already bootstrapped"), std::string::npos) << stage_detail(ev, "k8s");

  // The apps stage finds every release deployed with the same chart and values and skips
  // `helmfile sync` altogether (an earlier version re-ran it, which added a Helm revision per
  // release): no helmfile command, and every release keeps its revision.
  for (const auto& cmd : ev.of("command_started", "apps"))
    EXPECT_NE(fs::path(cmd["argv"][0].get<std::string>()).filename(), "helmfile") << cmd.dump();
  auto releases_after = c.status()["releases"];
  ASSERT_EQ(releases_after.size(), releases_before.size());
  ASSERT_EQ(releases_after.size(), 6u) << releases_after.dump();
  for (const auto& a : releases_after) {
    for (const auto& b : releases_before) {
      if (a["name"] != b["name"] || a["namespace"] != b["namespace"]) continue;
      EXPECT_EQ(a["valuesSha256"], b["valuesSha256"]) << a["name"];
      EXPECT_EQ(a.value("revision", 0), b.value("revision", 0)) << a["name"];
    }
  }

  // No Namespace, CRD, Secret or ConfigMap changed — Helm's release Secrets included: fluxboot's
  // server-side applies are identical, and the simulated API server (like the real one) keeps
  // the resourceVersion of an object that a write leaves unchanged.
  auto after = resource_versions(c);
  std::vector<std::string> changed, added, removed;
  for (const auto& [k, rv] : after) {
    auto it = before.find(k);
    if (it == before.end()) added.push_back(k);
    else if (it->second != rv) changed.push_back(k + " " + it->second + "→" + rv);
  }
  for (const auto& [k, rv] : before)
    if (!after.count(k)) removed.push_back(k);
  EXPECT_TRUE(changed.empty()) << ::testing::PrintToString(changed);
  EXPECT_TRUE(added.empty()) << ::testing::PrintToString(added);
  EXPECT_TRUE(removed.empty()) << ::testing::PrintToString(removed);
}

// ---- 3. faults ----------------------------------------------------------------------------------

// The API answers only 4 s after the etcd bootstrap: the wait stage (deadline 60 s here) waits.
TEST_F(Bootstrap, ApiDownShorterThanTheWaitDeadlineIsWaitedOut) {
  ASSERT_NO_FATAL_FAILURE(start("apiDown: {for: 4s}\n"));
  auto ev = all_ok({"--to", "wait", "--timeout", "60s"});
  EXPECT_TRUE(ev.has_progress("wait", "not ready")) << "the outage was not seen";
  EXPECT_NE(stage_detail(ev, "wait").find("3/3 nodes registered"), std::string::npos);
  all_ok();
}

TEST_F(Bootstrap, LateNodeRegistrationIsWaitedFor) {
  ASSERT_NO_FATAL_FAILURE(start("nodes: {registerDelay: 2s}\n"));
  auto ev = all_ok({"--to", "wait"});
  std::vector<std::string> progress;
  for (const auto& p : ev.of("progress", "wait")) progress.push_back(p.value("message", ""));
  const std::regex partial("^[0-2]/3 nodes registered.*");
  EXPECT_TRUE(std::any_of(progress.begin(), progress.end(), [&](const std::string& m) { return std::regex_match(m, partial); }))
      << ::testing::PrintToString(progress);
  EXPECT_TRUE(ev.has_progress("wait", "3/3 nodes registered")) << ::testing::PrintToString(progress);
  all_ok();
}

TEST_F(Bootstrap, NodeThatNeverRegistersHitsTheDeadlineNamingIt) {
  ASSERT_NO_FATAL_FAILURE(start("nodes: {never: [127.0.0.13]}\n"));
  auto pre = sim().fluxboot({"all", "--to", "kubeconfig"});
  ASSERT_EQ(pre.exit_code, 0) << describe(pre);

  auto t0 = std::chrono::steady_clock::now();
  auto r = sim().fluxboot({"wait", "--timeout", "5s"});
  EXPECT_EQ(r.exit_code, 124) << describe(r);
  EXPECT_LT(seconds_since(t0), 60) << "a 5 s deadline";
  // The inventory matches nodes by address (status.addresses), so the address names it.
  EXPECT_NE(r.err.find("127.0.0.13"), std::string::npos) << "the message names the missing node\n" << describe(r);
  EXPECT_NE(r.err.find("2/3 nodes registered"), std::string::npos) << describe(r);

  ASSERT_NO_FATAL_FAILURE(clear_scenario());
  // Simulator limit: `nodes.never` is decided when a registration is scheduled (bootstrap, or an
  // apply-config after it), and clearing the scenario schedules nothing. A node that finally
  // comes up re-registers by itself on real hardware; here a (secure) apply-config of its
  // unchanged config is what makes the simulated node register.
  auto apply = sim().talosctl({"apply-config", "--nodes", "127.0.0.13", "--file",
                               (sim().repo() / "talos/clusterconfig/home-k8s-worker-2.yaml").string()});
  ASSERT_EQ(apply.exit_code, 0) << describe(apply);
  all_ok();
}

TEST_F(Bootstrap, TransientTalosErrorsAreRetried) {
  ASSERT_NO_FATAL_FAILURE(start("talos: {applyTransientFailures: 2, bootstrapTransientFailures: 2}\n"));
  auto ev = all_ok({"--to", "k8s"});
  auto failures = [&](const std::string& stage) {
    size_t n = 0;
    for (const auto& c : ev.of("command_exited", stage))
      n += c.value("tool", "") == "talosctl" && c.value("exit_code", 0) != 0 ? 1 : 0;
    return n;
  };
  EXPECT_EQ(failures("talos"), 6u) << "3 nodes × 2 Unavailable";
  EXPECT_EQ(failures("k8s"), 2u) << "2 Unavailable bootstraps";
  EXPECT_NE(stage_detail(ev, "talos").find("3 applied"), std::string::npos) << stage_detail(ev, "talos");
  all_ok();
}

TEST_F(Bootstrap, FailingReleaseFailsTheStageNamingIt) {
  ASSERT_NO_FATAL_FAILURE(start("releases: {fail: [{name: spegel, times: 1, message: 'context deadline exceeded'}]}\n"));
  auto r = sim().fluxboot({"all", "--timeout", "60s"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  // The error must say WHICH release failed, not only helm's last words.
  EXPECT_NE(r.err.find("spegel"), std::string::npos) << describe(r);
  EXPECT_NE(r.err.find("apps"), std::string::npos) << describe(r);
  // times: 1 — the failure is spent; the next run installs it.
  all_ok();
  auto st = sim().status();
  std::set<std::string> names;
  for (const auto& rel : st["releases"]) names.insert(rel.value("name", ""));
  EXPECT_TRUE(names.count("spegel")) << st["releases"].dump();
}

// An API server restarting between stages (503 on the namespaces apply, twice): the apply is
// retried within the stage deadline instead of failing the run; a 403 still fails at once
// (ResumeOnSim covers that).
TEST_F(Bootstrap, TransientApiErrorsOnAnApplyAreRetried) {
  ASSERT_NO_FATAL_FAILURE(start("api:\n  fail:\n    - {count: 2, status: 503, path: /api/v1/namespaces/cert-manager}\n"));
  auto ev = all_ok();
  size_t failed = 0, applies = 0;
  for (const auto& c : ev.of("command_exited", "namespaces")) {
    ++applies;
    failed += c.value("exit_code", 0) != 0 ? 1 : 0;
  }
  EXPECT_EQ(failed, 2u) << "two 503s, each a failed kubectl apply";
  EXPECT_EQ(applies, 3u) << "then one that succeeds";
}

TEST_F(Bootstrap, SlowApiResponsesStillComplete) {
  ASSERT_NO_FATAL_FAILURE(start("api: {latency: 50ms}\n"));
  // A complete `fluxboot all` under the fault; the latency applies to every request.
  all_ok();
  auto st = sim().status();
  ASSERT_EQ(st["fluxInstances"].size(), 1u);
  EXPECT_EQ(st["fluxInstances"][0]["ready"], "True");
}

TEST_F(Bootstrap, StalledFluxInstanceFailsPromptly) {
  const std::string message = "GitRepository/flux-system/flux-system: authentication required";
  ASSERT_NO_FATAL_FAILURE(
      start("fluxInstance: {stalled: true, reason: ReconciliationFailed, message: '" + message + "'}\n"));
  auto t0 = std::chrono::steady_clock::now();
  // Stage deadlines of 2 minutes: waiting for the deadline would end in 124, not 1.
  auto r = sim().fluxboot({"all", "--log-format", "json", "--timeout", "2m"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_NE(r.err.find(message), std::string::npos) << describe(r);
  EXPECT_NE(r.err.find("Stalled"), std::string::npos) << describe(r);
  auto ev = parse_events(r.out);
  auto failed = ev.of("stage_failed", "apps");
  ASSERT_EQ(failed.size(), 1u) << describe(r);
  // Failing within a minute is failing at once, not waiting for Ready.
  EXPECT_LT(failed[0].value("duration_ms", 0LL), 60'000) << failed[0].dump();
  EXPECT_LT(seconds_since(t0), 120);

  ASSERT_NO_FATAL_FAILURE(clear_scenario());
  // Simulator limit: the FluxInstance is reconciled only when its spec changes (the real operator
  // also retries on an interval), and the next run leaves it alone (helmfile sync is skipped:
  // every release is deployed), so it would stay Stalled. A spec change that means nothing
  // (`wait: true` is the default) stands in for "the operator reconciles again".
  auto poke = sim().kubectl({"patch", "fluxinstance", "flux", "-n", "flux-system", "--type", "merge", "-p",
                             R"({"spec":{"wait":true}})"});
  ASSERT_EQ(poke.exit_code, 0) << describe(poke);
  all_ok();
  auto st = sim().status();
  ASSERT_EQ(st["fluxInstances"].size(), 1u);
  EXPECT_EQ(st["fluxInstances"][0]["ready"], "True");
}

TEST_F(Bootstrap, CtrlCDuringAppsLeavesNoChildAndTheNextRunCompletes) {
  ASSERT_NO_FATAL_FAILURE(start());
  const pid_t server = sim().server_pid();
  const std::vector<fs::path> ours = {sim().sim_dir(), sim().repo()};
  std::vector<std::string> helm_seen;
  {
    Background fb(sim().fluxboot_argv({"all", "--log-format", "json"}), sim().env(), sim().repo());
    bool apps = fb.wait_for_line(
        [](const std::string& line) {
          auto j = json::parse(line, nullptr, false);
          return !j.is_discarded() && j.value("event", "") == "stage_started" && j.value("stage", "") == "apps";
        },
        150s);
    ASSERT_TRUE(apps) << describe(fb.finish(1s));
    // Interrupt while helm is really at work (a `helm upgrade` grandchild exists), so there is
    // something to clean up.
    bool helm_running = fb.wait_until(
        [&] {
          for (const auto& p : processes_of(ours, sim().sim_dir(), {server, fb.pid()}))
            if (p.cmdline.find("helm") != std::string::npos && p.cmdline.find(" upgrade ") != std::string::npos) {
              helm_seen.push_back(p.cmdline);
              return true;
            }
          return false;
        },
        30s);
    EXPECT_TRUE(helm_running) << "no helm upgrade seen during the apps stage";
    fb.signal(SIGINT);
    auto r = fb.finish(60s);
    EXPECT_EQ(r.exit_code, 130) << "interrupted while running " << ::testing::PrintToString(helm_seen) << "\n"
                                << describe(r);
    auto ev = parse_events(r.out);
    EXPECT_TRUE(ev.bad.empty());
    ASSERT_FALSE(ev.items.empty());
    EXPECT_EQ(ev.items.back().value("event", ""), "summary");
    EXPECT_EQ(ev.items.back().value("exit_code", -1), 130);
  }
  // No helm, kubectl or helmfile left (zombies count as gone; a second's grace for the delivery
  // of a SIGKILL sent just before fluxboot exited).
  std::vector<fluxboot::testing::e2e::ProcInfo> left;
  for (int i = 0; i < 10; ++i) {
    left = processes_of(ours, sim().sim_dir(), {server});
    if (left.empty()) break;
    std::this_thread::sleep_for(100ms);
  }
  std::string listing;
  for (const auto& p : left) listing += std::to_string(p.pid) + ": " + p.cmdline + "\n";
  EXPECT_TRUE(left.empty()) << "left behind:\n" << listing;
  for (const auto& p : left) ::kill(p.pid, SIGKILL);  // don't let a leak outlive the test

  all_ok();
}

}  // namespace
