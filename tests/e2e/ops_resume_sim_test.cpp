// Resume on the simulated cluster (real kubectl and helm): a failure injected in every stage in
// turn, and each `fluxboot all --resume` starts exactly at the stage that failed before. Then
// diagnose and rollback against the same cluster.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "e2e/e2e_support.hpp"

namespace {

using fluxboot::testing::read_file;
using fluxboot::testing::run;
using fluxboot::testing::RunResult;
using fluxboot::testing::write_file;
using fluxboot::testing::e2e::SimCluster;
using nlohmann::json;

bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

std::string diag(const RunResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\nstdout:\n" + r.out + "\nstderr:\n" + r.err;
}

// The stages the newest journal run started, in order.
std::vector<std::string> started(const SimCluster& c) {
  auto j = json::parse(read_file(c.repo() / ".fluxboot/state.json"));
  std::vector<std::string> names;
  for (const auto& s : j["runs"].back()["stages"])
    if (s["outcome"] != "not run") names.push_back(s["name"]);
  return names;
}

struct Fault {
  std::string stage;
  std::string scenario;              // simulator faults while this stage runs
  std::vector<std::string> extra;    // extra fluxboot flags
  int exit_code;                     // 0: any failure (1 or 124), as the stage decides
};

}  // namespace

class ResumeOnSim : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fluxboot::testing::e2e::tools_installed())
      GTEST_SKIP() << "the real kubectl and helm are missing in " << FLUXBOOT_TOOLS_BIN_DIR << ": run .ci/install-deps";
  }
};

TEST_F(ResumeOnSim, EveryStageFailsOnceAndEachResumeStartsWhereTheLastRunFailed) {
  SimCluster c;
  ASSERT_TRUE(c.up_ok()) << diag(c.up_result());
  // Short deadlines for the stages whose faults are "never ready" (transient errors, 503s).
  write_file(c.repo() / "fluxboot.yaml", "timeouts:\n  talos: 4s\n  k8s: 4s\n  wait: 6s\n");
  // A kubeconfig path whose parent is a regular file: the kubeconfig stage cannot write it.
  write_file(c.root() / "not-a-directory", "");
  const std::string bad_kubeconfig = (c.root() / "not-a-directory/sub/kubeconfig").string();

  const std::vector<Fault> faults = {
      {"talos", "talos:\n  applyTransientFailures: 100000\n", {}, 124},
      {"k8s", "talos:\n  bootstrapTransientFailures: 100000\n", {}, 124},
      {"kubeconfig", "", {"--kubeconfig", bad_kubeconfig}, 1},
      // An outage of 9 s against a wait deadline of 6 s: this run fails; the window (which outlives
      // the scenario) ends ~3 s into the next run, well inside that run's own 6 s.
      {"wait", "apiDown: {after: 0s, for: 9s}\n", {}, 0},
      // One refused server-side apply each (kubectl does not retry a 403, so the count is used up).
      {"namespaces", "api:\n  fail:\n    - {count: 1, status: 403, path: /api/v1/namespaces/cert-manager}\n", {}, 1},
      {"resources", "api:\n  fail:\n    - {count: 1, status: 403, path: /api/v1/namespaces/flux-system/secrets/github-deploy-key}\n", {}, 1},
      {"crds", "api:\n  fail:\n    - {count: 1, status: 403, path: /apis/apiextensions.k8s.io/v1/customresourcedefinitions/}\n", {}, 1},
      {"apps", "releases:\n  fail:\n    - cilium\n", {}, 1},
  };
  std::string previous;
  for (size_t i = 0; i < faults.size(); ++i) {
    const auto& f = faults[i];
    if (!f.scenario.empty()) {
      ASSERT_EQ(c.set_scenario(f.scenario).exit_code, 0) << f.stage;
    }
    std::vector<std::string> args = {"all"};
    if (i > 0) args.push_back("--resume");
    args.insert(args.end(), f.extra.begin(), f.extra.end());
    auto r = c.fluxboot(args);
    if (f.exit_code == 0) {
      ASSERT_TRUE(r.exit_code == 1 || r.exit_code == 124) << f.stage << "\n" << diag(r);
    } else {
      ASSERT_EQ(r.exit_code, f.exit_code) << f.stage << "\n" << diag(r);
    }
    auto s = started(c);
    ASSERT_FALSE(s.empty());
    EXPECT_EQ(s.front(), i == 0 ? "talos" : previous) << f.stage << "\n" << diag(r);
    EXPECT_EQ(s.back(), f.stage) << diag(r);
    if (i > 0) {
      EXPECT_TRUE(contains(r.err, "resuming at " + previous)) << r.err;
    }
    ASSERT_EQ(c.set_scenario("").exit_code, 0);
    previous = f.stage;
  }
  auto r = c.fluxboot({"all", "--resume"});
  ASSERT_EQ(r.exit_code, 0) << diag(r);
  EXPECT_EQ(started(c), std::vector<std::string>{"apps"});
  auto status = c.status();
  ASSERT_FALSE(status.is_null());
  EXPECT_TRUE(contains(status.dump(), "flux-instance")) << status.dump(2);
  auto again = c.fluxboot({"all", "--resume"});
  EXPECT_EQ(again.exit_code, 0) << diag(again);
  EXPECT_TRUE(contains(again.err, "nothing to resume")) << again.err;

  // diagnose against the real kubectl: the bundle has the Flux objects and no secret value.
  auto bundle = c.root() / "bundle.tar.gz";
  auto d = c.fluxboot({"diagnose", "-o", bundle.string()});
  ASSERT_EQ(d.exit_code, 0) << diag(d);
  auto x = c.root() / "x";
  std::filesystem::create_directories(x);
  ASSERT_EQ(run({"/bin/tar", "-xzf", bundle.string(), "-C", x.string()}).exit_code, 0);
  auto top = x / "bundle";
  EXPECT_TRUE(contains(read_file(top / "flux/fluxinstance.yaml"), "kind: FluxInstance")) << read_file(top / "README.txt");
  EXPECT_TRUE(contains(read_file(top / "flux/secrets.txt"), "secret/sops-age")) << read_file(top / "README.txt");
  std::string age = read_file(c.repo() / "age.key");
  std::string key = age.substr(age.find("AGE-SECRET-KEY-"), 40);
  for (const auto& e : std::filesystem::recursive_directory_iterator(top))
    if (e.is_regular_file()) {
      EXPECT_FALSE(contains(read_file(e.path()), key)) << e.path();
    }

  // rollback: the Flux releases go, instance first; --resume then reinstalls them.
  auto rb = c.fluxboot({"rollback", "--yes"});
  ASSERT_EQ(rb.exit_code, 0) << diag(rb);
  auto releases = c.kubectl({"get", "fluxinstances", "-A", "-o", "name"});
  EXPECT_FALSE(contains(releases.out, "fluxinstance")) << diag(releases);
  auto back = c.fluxboot({"all", "--resume"});
  ASSERT_EQ(back.exit_code, 0) << diag(back);
  EXPECT_EQ(started(c), std::vector<std::string>{"apps"});
}
