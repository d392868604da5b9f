// The run journal through the real binary: resume after an injected failure in every stage, input
// changes, dry runs, history, and the repository lock.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "integration/integration_support.hpp"

using fluxboot::testing::FakeCluster;
using fluxboot::testing::read_file;
using fluxboot::testing::write_file;
using nlohmann::json;

namespace {

bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

std::string diag(const fluxboot::testing::RunResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\nstdout:\n" + r.out + "\nstderr:\n" + r.err;
}

json journal(FakeCluster& c) { return json::parse(read_file(c.repo() / ".fluxboot/state.json")); }

// The stages the newest run of the journal started, in order.
std::vector<std::string> started_in_last_run(FakeCluster& c) {
  std::vector<std::string> names;
  const json j = journal(c);
  for (const auto& s : j["runs"].back()["stages"])
    if (s["outcome"] != "not run") names.push_back(s["name"]);
  return names;
}

struct Fault {
  std::string stage;
  std::function<void(FakeCluster&)> inject;
  std::function<void(FakeCluster&)> clear;
  int exit_code;
};

void remove_fake(FakeCluster& c, const std::string& name) { std::filesystem::remove(c.fake_dir() / name); }

// One injected failure per stage, each specific to that stage.
std::vector<Fault> faults() {
  return {
      {"talos", [](FakeCluster& c) { c.inject("apply-fail-127.0.0.12"); },
       [](FakeCluster& c) { remove_fake(c, "apply-fail-127.0.0.12"); }, 1},
      {"k8s", [](FakeCluster& c) { c.inject("bootstrap-fail"); },
       [](FakeCluster& c) { remove_fake(c, "bootstrap-fail"); }, 1},
      {"kubeconfig", [](FakeCluster& c) { c.inject("kubeconfig-fail"); },
       [](FakeCluster& c) { remove_fake(c, "kubeconfig-fail"); }, 1},
      {"wait",
       [](FakeCluster& c) {  // a node that never registers, and a short wait deadline
         c.api().remove("v1", "Node", "", "node-127.0.0.13");
         write_file(c.repo() / "fluxboot.yaml", "timeouts:\n  wait: 2s\n");
       },
       [](FakeCluster& c) {
         c.api().put({{"apiVersion", "v1"},
                      {"kind", "Node"},
                      {"metadata", {{"name", "node-127.0.0.13"}}},
                      {"status",
                       {{"addresses", {{{"type", "InternalIP"}, {"address", "127.0.0.13"}}}},
                        {"conditions", {{{"type", "Ready"}, {"status", "False"}}}}}}});
         std::filesystem::remove(c.repo() / "fluxboot.yaml");
       },
       124},
      {"namespaces", [](FakeCluster& c) { c.inject("apply-fail-match", "\"kind\":\"Namespace\""); },
       [](FakeCluster& c) { remove_fake(c, "apply-fail-match"); }, 1},
      {"resources", [](FakeCluster& c) { c.inject("apply-fail-match", "github-deploy-key"); },
       [](FakeCluster& c) { remove_fake(c, "apply-fail-match"); }, 1},
      {"crds", [](FakeCluster& c) { c.inject("no-crds"); }, [](FakeCluster& c) { remove_fake(c, "no-crds"); }, 1},
      {"apps", [](FakeCluster& c) { c.inject("sync-fail"); }, [](FakeCluster& c) { remove_fake(c, "sync-fail"); }, 1},
  };
}

}  // namespace

TEST(OpsResume, ResumesAtEachStageAfterAnInjectedFailureThere) {
  FakeCluster c;
  auto list = faults();
  std::string previous;  // the stage that failed in the run before
  for (size_t i = 0; i < list.size(); ++i) {
    const auto& f = list[i];
    f.inject(c);
    std::filesystem::remove(c.fake_dir() / "calls.log");
    auto r = c.fluxboot(i == 0 ? std::vector<std::string>{"all"} : std::vector<std::string>{"all", "--resume"});
    ASSERT_EQ(r.exit_code, f.exit_code) << f.stage << "\n" << diag(r);
    auto started = started_in_last_run(c);
    ASSERT_FALSE(started.empty()) << f.stage;
    // The run started exactly at the stage that failed before, and failed at the injected one.
    EXPECT_EQ(started.front(), i == 0 ? "talos" : previous) << f.stage << "\n" << diag(r);
    EXPECT_EQ(started.back(), f.stage) << diag(r);
    EXPECT_EQ(journal(c)["stages"][f.stage]["outcome"], "failed");
    if (i > 0) {
      EXPECT_TRUE(contains(r.err, "resuming at " + previous)) << r.err;
      EXPECT_EQ(journal(c)["runs"].back()["resumed_from"], previous);
    }
    // Stages before the resume point did not run again: no talosctl call once past kubeconfig.
    if (i >= 4) {
      EXPECT_EQ(c.count_calls("talosctl"), 0u) << f.stage;
    }
    f.clear(c);
    previous = f.stage;
  }
  auto r = c.fluxboot({"all", "--resume"});
  ASSERT_EQ(r.exit_code, 0) << diag(r);
  EXPECT_EQ(started_in_last_run(c), std::vector<std::string>{"apps"});
  auto again = c.fluxboot({"all", "--resume"});
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_TRUE(contains(again.err, "nothing to resume")) << again.err;
}

TEST(OpsResume, AChangedInputMovesTheResumePointBack) {
  FakeCluster c;
  ASSERT_EQ(c.fluxboot({"all"}).exit_code, 0);
  std::string ns = read_file(c.repo() / "kubernetes/apps/cert-manager/namespace.yaml");
  write_file(c.repo() / "kubernetes/apps/cert-manager/namespace.yaml",
             ns.replace(ns.find("  labels:\n"), 10, "  labels:\n    team: x\n"));
  auto h = c.fluxboot({"history"});
  EXPECT_TRUE(contains(h.out, "would start at namespaces: its inputs changed")) << h.out;
  std::filesystem::remove(c.fake_dir() / "calls.log");
  auto r = c.fluxboot({"all", "--resume"});
  ASSERT_EQ(r.exit_code, 0) << diag(r);
  EXPECT_EQ(started_in_last_run(c).front(), "namespaces");
  EXPECT_EQ(c.count_calls("talosctl"), 0u);
}

TEST(OpsResume, DryRunsAreNotRecordedAndNeedNoLock) {
  FakeCluster c;
  ASSERT_EQ(c.fluxboot({"all", "--dry-run"}).exit_code, 0);
  EXPECT_FALSE(std::filesystem::exists(c.repo() / ".fluxboot/state.json"));
  // --resume with --dry-run shows the plan from the resume point.
  ASSERT_EQ(c.fluxboot({"all"}).exit_code, 0);
  c.inject("sync-fail");
  ASSERT_EQ(c.fluxboot({"apps"}).exit_code, 1);
  auto before = read_file(c.repo() / ".fluxboot/state.json");
  auto r = c.fluxboot({"all", "--resume", "--dry-run"});
  EXPECT_EQ(r.exit_code, 0) << diag(r);
  EXPECT_TRUE(contains(r.err, "resuming at apps")) << r.err;
  EXPECT_FALSE(contains(r.out, "talosctl")) << r.out;
  EXPECT_EQ(read_file(c.repo() / ".fluxboot/state.json"), before);
}

TEST(OpsResume, ResumeAndFromExcludeEachOther) {
  FakeCluster c;
  auto r = c.fluxboot({"all", "--resume", "--from", "crds"});
  EXPECT_EQ(r.exit_code, 2) << diag(r);
  EXPECT_TRUE(contains(r.err, "exclude each other")) << r.err;
}

TEST(OpsResume, ResumeWithoutAJournalRunsEverything) {
  FakeCluster c;
  auto r = c.fluxboot({"all", "--resume"});
  ASSERT_EQ(r.exit_code, 0) << diag(r);
  EXPECT_TRUE(contains(r.err, "resuming at talos: it has never run")) << r.err;
  EXPECT_EQ(started_in_last_run(c).size(), 8u);
}

TEST(OpsHistory, ListsRunsAsTableAndJson) {
  FakeCluster c;
  c.inject("no-crds");
  ASSERT_EQ(c.fluxboot({"all"}).exit_code, 1);
  std::filesystem::remove(c.fake_dir() / "no-crds");
  ASSERT_EQ(c.fluxboot({"all", "--resume"}).exit_code, 0);
  auto t = c.fluxboot({"history"});
  ASSERT_EQ(t.exit_code, 0) << diag(t);
  EXPECT_TRUE(contains(t.out, "all --resume")) << t.out;
  EXPECT_TRUE(contains(t.out, "crds ✗")) << t.out;
  EXPECT_TRUE(contains(t.out, "no CustomResourceDefinition")) << t.out;
  auto j = c.fluxboot({"history", "-o", "json"});
  ASSERT_EQ(j.exit_code, 0);
  auto doc = json::parse(j.out);
  ASSERT_EQ(doc["runs"].size(), 2u);
  EXPECT_EQ(doc["runs"][0]["command"], "all --resume");  // newest first
  EXPECT_EQ(doc["runs"][1]["exit_code"], 1);
  EXPECT_TRUE(doc["resume"].is_null());
}

TEST(OpsLock, ASecondRunIsRefusedWhileTheFirstHoldsTheLock) {
  FakeCluster c;
  c.inject("slow-talosctl", "30");
  pid_t pid = ::fork();
  if (pid == 0) {
    for (const auto& [k, v] : c.env()) ::setenv(k.c_str(), v.c_str(), 1);
    int devnull = ::open("/dev/null", O_WRONLY);
    ::dup2(devnull, 1);
    ::dup2(devnull, 2);
    ::execl(FLUXBOOT_BINARY, FLUXBOOT_BINARY, "talos", "--root", c.repo().c_str(), nullptr);
    _exit(127);
  }
  auto pids_file = c.fake_dir() / "pids";
  for (int i = 0; i < 200 && read_file(pids_file).empty(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_FALSE(read_file(pids_file).empty());

  auto r = c.fluxboot({"all"});
  EXPECT_EQ(r.exit_code, 5) << diag(r);
  EXPECT_TRUE(contains(r.err, "another fluxboot run is in progress")) << r.err;
  EXPECT_TRUE(contains(r.err, "pid " + std::to_string(pid))) << r.err;
  EXPECT_TRUE(contains(r.err, "fluxboot talos")) << r.err;
  // A dry run changes nothing and is not blocked.
  EXPECT_EQ(c.fluxboot({"namespaces", "--dry-run"}).exit_code, 0);

  ::kill(pid, SIGINT);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_FALSE(std::filesystem::exists(c.repo() / ".fluxboot/lock"));
  std::filesystem::remove(c.fake_dir() / "slow-talosctl");
  EXPECT_EQ(c.fluxboot({"namespaces"}).exit_code, 0);
}

TEST(OpsLock, AStaleLockIsTakenOverWithAWarning) {
  FakeCluster c;
  write_file(c.repo() / ".fluxboot/lock",
             R"({"pid": 999999999, "host": "gone-host", "started": "2025-01-01T00:00:00.000Z", "command": "all"})");
  auto r = c.fluxboot({"namespaces"});
  ASSERT_EQ(r.exit_code, 0) << diag(r);
  EXPECT_TRUE(contains(r.err, "took over a stale lock left by pid 999999999 on host gone-host")) << r.err;
  EXPECT_FALSE(std::filesystem::exists(c.repo() / ".fluxboot/lock"));
}
