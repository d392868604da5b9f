// The real fluxboot binary against fake talosctl/kubectl/helmfile (tests/fakes) on a copy of the
// example repository.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "integration/integration_support.hpp"

using fluxboot::testing::FakeCluster;
using fluxboot::testing::read_file;
using fluxboot::testing::write_file;

namespace {

bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

std::string diag(const fluxboot::testing::RunResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\nstdout:\n" + r.out + "\nstderr:\n" + r.err;
}

}  // namespace

TEST(Pipeline, AllRunsEveryStageWithTheExpectedCommands) {
  FakeCluster c;
  auto r = c.fluxboot({"all"});
  ASSERT_EQ(r.exit_code, 0) << diag(r);

  // talos: one insecure apply per node, with that node's own config file.
  EXPECT_EQ(c.count_calls("talosctl", "apply-config"), 3u);
  for (const auto& call : c.calls()) {
    if (call.size() > 1 && call[0] == "talosctl" && call[1] == "apply-config") {
      ASSERT_EQ(call.size(), 7u);
      EXPECT_EQ(call[2], "--insecure");
      EXPECT_EQ(call[3], "--nodes");
      EXPECT_TRUE(contains(call[6], "talos/clusterconfig/")) << call[6];
      EXPECT_TRUE(std::filesystem::exists(call[6])) << call[6];
    }
  }
  EXPECT_EQ(c.count_calls("talosctl", "bootstrap"), 1u);
  EXPECT_EQ(c.count_calls("talosctl", "kubeconfig"), 1u);
  // namespaces: ONE apply for all of them; resources: one apply.
  EXPECT_EQ(c.count_calls("kubectl", "apply"), 3u);  // namespaces, resources, crds
  EXPECT_EQ(c.count_calls("helmfile", "template"), 1u);
  EXPECT_EQ(c.count_calls("helmfile", "sync"), 1u);

  // The kubeconfig is in place, private, and no temporary file is left beside it.
  ASSERT_TRUE(std::filesystem::exists(c.kubeconfig()));
  auto perms = std::filesystem::status(c.kubeconfig()).permissions();
  EXPECT_EQ(perms & std::filesystem::perms::all, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  for (const auto& e : std::filesystem::directory_iterator(c.kubeconfig().parent_path()))
    EXPECT_EQ(e.path().filename(), "kubeconfig") << "left behind: " << e.path();

  // Generated values files were 0600 while helmfile ran and are gone afterwards.
  for (const auto& e : std::filesystem::recursive_directory_iterator(c.repo()))
    EXPECT_FALSE(contains(e.path().filename().string(), ".fluxboot-")) << "left behind: " << e.path();
  EXPECT_TRUE(contains(r.err, "summary (ok"));
}

// Without a lock nothing stops a second run: a repository where .fluxboot cannot be created refuses
// (exit 5, nothing run) unless --no-lock says no other run can start.
TEST(Pipeline, NoLockNoRunUnlessNoLockIsGiven) {
  FakeCluster c;
  write_file(c.repo() / ".fluxboot", "a file where the state directory should be\n");
  auto r = c.fluxboot({"talos"});
  EXPECT_EQ(r.exit_code, 5) << diag(r);
  EXPECT_TRUE(contains(r.err, "--no-lock")) << r.err;
  EXPECT_EQ(c.count_calls("talosctl"), 0u);
  auto forced = c.fluxboot({"talos", "--no-lock"});
  EXPECT_EQ(forced.exit_code, 0) << diag(forced);
  EXPECT_TRUE(contains(forced.err, "continuing without the repository lock")) << forced.err;
  EXPECT_EQ(c.count_calls("talosctl", "apply-config"), 3u);
}

// A run killed by SIGKILL mid-kubeconfig leaves a complete admin credential beside the target;
// the next kubeconfig stage removes it (issue: no credential file outlives a run).
TEST(Pipeline, ACredentialLeftByAKilledRunIsRemovedByTheNextOne) {
  FakeCluster c;
  ASSERT_EQ(c.fluxboot({"all", "--to", "k8s"}).exit_code, 0);
  const auto left = c.kubeconfig().parent_path() / ".kubeconfig.fluxboot-Ab12Cd";
  const auto unrelated = c.kubeconfig().parent_path() / ".kubeconfig.fluxboot-notmine.bak";
  write_file(left, "apiVersion: v1\nkind: Config\nusers: [{name: admin, user: {token: left-over}}]\n", 0600);
  write_file(unrelated, "keep\n");
  auto r = c.fluxboot({"kubeconfig"});
  ASSERT_EQ(r.exit_code, 0) << diag(r);
  EXPECT_FALSE(std::filesystem::exists(left));
  EXPECT_TRUE(std::filesystem::exists(unrelated));
  EXPECT_TRUE(contains(r.err, "left by an interrupted run")) << r.err;
  EXPECT_FALSE(contains(r.out + r.err, "left-over"));
}

TEST(Pipeline, NamespacesGoToTheClusterInOneServerSideApply) {
  FakeCluster c;
  ASSERT_EQ(c.fluxboot({"namespaces"}).exit_code, 0);
  auto calls = c.calls();
  ASSERT_EQ(calls.size(), 1u);
  std::vector<std::string> expected = {"kubectl", "apply", "--server-side", "--force-conflicts",
                                       "--field-manager", "kubectl-fluxboot", "-f", "-"};
  EXPECT_EQ(calls[0], expected);
  std::string input = read_file(c.fake_dir() / "stdin-last-kubectl");
  for (const char* ns : {"\"cert-manager\"", "\"flux-system\"", "\"kube-system\""})
    EXPECT_TRUE(contains(input, ns)) << input;
}

TEST(Pipeline, SecondRunSucceedsAndReportsNodesAsAlreadyConfigured) {
  FakeCluster c;
  ASSERT_EQ(c.fluxboot({"all"}).exit_code, 0);
  auto r = c.fluxboot({"all"});
  ASSERT_EQ(r.exit_code, 0) << diag(r);
  EXPECT_TRUE(contains(r.err, "already configured")) << r.err;
  EXPECT_TRUE(contains(r.err, "already bootstrapped")) << r.err;
}

TEST(Pipeline, DryRunPrintsThePlanAndRunsNoMutatingCommand) {
  FakeCluster c;
  auto r = c.fluxboot({"all", "--dry-run"});
  ASSERT_EQ(r.exit_code, 0) << diag(r);
  EXPECT_EQ(c.count_calls("talosctl", "apply-config"), 0u);
  EXPECT_EQ(c.count_calls("talosctl", "bootstrap"), 0u);
  EXPECT_EQ(c.count_calls("kubectl", "apply"), 0u);
  EXPECT_EQ(c.count_calls("helmfile", "sync"), 0u);
  EXPECT_FALSE(std::filesystem::exists(c.kubeconfig()));
  EXPECT_TRUE(contains(r.out, "talosctl apply-config --insecure --nodes")) << r.out;
  EXPECT_TRUE(contains(r.out, "kubectl apply --server-side --force-conflicts --field-manager kubectl-fluxboot -f -")) << r.out;
  EXPECT_TRUE(contains(r.out, "helmfile --file")) << r.out;
}

TEST(Pipeline, TransientTalosErrorsAreRetried) {
  FakeCluster c;
  c.inject("bootstrap-transient", "2");
  auto r = c.fluxboot({"all", "--to", "k8s"});
  ASSERT_EQ(r.exit_code, 0) << diag(r);
  EXPECT_EQ(c.count_calls("talosctl", "bootstrap"), 3u);
}

TEST(Pipeline, ApplyConfigFailureNamesTheNodeAndExitsOne) {
  FakeCluster c;
  c.inject("apply-fail-127.0.0.12");
  auto r = c.fluxboot({"talos"});
  EXPECT_EQ(r.exit_code, 1) << diag(r);
  EXPECT_TRUE(contains(r.err, "127.0.0.12")) << r.err;
  EXPECT_TRUE(contains(r.err, "config validation failed")) << r.err;
}

TEST(Pipeline, CrdStageFailsWhenHelmfileRendersNoCrd) {
  FakeCluster c;
  c.inject("no-crds");
  auto r = c.fluxboot({"crds"});
  EXPECT_EQ(r.exit_code, 1) << diag(r);
  EXPECT_TRUE(contains(r.err, "no CustomResourceDefinition")) << r.err;
}

TEST(Pipeline, FailingReleaseFailsTheAppsStage) {
  FakeCluster c;
  c.inject("sync-fail");
  auto r = c.fluxboot({"apps"});
  EXPECT_EQ(r.exit_code, 1) << diag(r);
  EXPECT_TRUE(contains(r.err, "UPGRADE FAILED")) << r.err;
}

TEST(Pipeline, StalledFluxInstanceFailsAtOnceWithItsMessage) {
  FakeCluster c;
  c.set_flux_instance("False", "BuildFailed", "kustomize build failed: missing path kubernetes/flux/cluster", true);
  auto t0 = std::chrono::steady_clock::now();
  auto r = c.fluxboot({"all"});
  EXPECT_EQ(r.exit_code, 1) << diag(r);
  EXPECT_TRUE(contains(r.err, "missing path kubernetes/flux/cluster")) << r.err;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(60));
}

TEST(Pipeline, MissingToolExitsFourNamingToolAndStage) {
  FakeCluster c;
  auto r = c.fluxboot({"k8s"}, {}, "/nonexistent-dir");
  EXPECT_EQ(r.exit_code, 4) << diag(r);
  EXPECT_TRUE(contains(r.err, "talosctl")) << r.err;
  EXPECT_TRUE(contains(r.err, "k8s")) << r.err;
}

TEST(Pipeline, UnknownStageIsAUsageError) {
  FakeCluster c;
  EXPECT_EQ(c.fluxboot({"all", "--from", "nope"}).exit_code, 2);
  EXPECT_EQ(c.fluxboot({"nope"}).exit_code, 2);
  EXPECT_EQ(c.calls().size(), 0u);
}

TEST(Pipeline, MalformedTalconfigExitsThreeNamingFileAndLineBeforeAnyChange) {
  FakeCluster c;
  write_file(c.repo() / "talos/talconfig.yaml", "clusterName: home\nnodes:\n  - hostname: [unclosed\n");
  auto r = c.fluxboot({"all"});
  EXPECT_EQ(r.exit_code, 3) << diag(r);
  EXPECT_TRUE(contains(r.err, "talconfig.yaml:")) << r.err;
  EXPECT_EQ(c.calls().size(), 0u);
}

TEST(Pipeline, DeadlineExceededExitsOneTwentyFour) {
  FakeCluster c;
  c.inject("slow-helmfile", "30");
  auto r = c.fluxboot({"crds", "--timeout", "2s"});
  EXPECT_EQ(r.exit_code, 124) << diag(r);
}

TEST(Pipeline, SecretsNeverReachTheOutput) {
  FakeCluster c;
  const std::string identity = "-----BEGIN OPENSSH PRIVATE KEY-----\nc2VjcmV0LWRlcGxveS1rZXktbWF0ZXJpYWw=\n-----END OPENSSH PRIVATE KEY-----";
  std::string age = read_file(c.repo() / "age.key");
  ASSERT_FALSE(age.empty());
  for (const auto& fmt : {"text", "json"}) {
    auto r = c.fluxboot({"all", "-v", "--log-format", fmt}, {{"GITHUB_DEPLOY_KEY", identity}});
    ASSERT_EQ(r.exit_code, 0) << diag(r);
    for (const std::string& secret : {std::string("c2VjcmV0LWRlcGxveS1rZXktbWF0ZXJpYWw="),
                                      std::string("fake-bearer-token-0123456789"),
                                      age.substr(age.find("AGE-SECRET-KEY-"), 40)}) {
      EXPECT_FALSE(contains(r.out, secret)) << fmt << " stdout leaks " << secret;
      EXPECT_FALSE(contains(r.err, secret)) << fmt << " stderr leaks " << secret;
    }
  }
}

// A secret passed in the environment for resources.yaml.j2 reaches the template (and the cluster)
// but no tool's environment: talosctl, kubectl and helmfile run without it. Variables tools read
// themselves (here XDG_CACHE_HOME) are passed as before.
TEST(Pipeline, TemplateOnlyVariablesAreNotPassedToTools) {
  FakeCluster c;
  c.inject("dump-env");
  const std::string cache = (c.fake_dir() / "cache").string();
  auto r = c.fluxboot({"all", "-v"}, {{"GITHUB_DEPLOY_KEY", "canary-ssh-key-4711"}, {"XDG_CACHE_HOME", cache}});
  ASSERT_EQ(r.exit_code, 0) << diag(r);
  bool applied = false;
  for (const auto& e : std::filesystem::directory_iterator(c.fake_dir()))
    if (e.path().filename().string().rfind("stdin-", 0) == 0 && contains(read_file(e.path()), "canary-ssh-key-4711"))
      applied = true;
  EXPECT_TRUE(applied) << "the template did not get the variable";
  std::size_t dumps = 0;
  for (const auto& e : std::filesystem::directory_iterator(c.fake_dir())) {
    if (e.path().filename().string().rfind("env-", 0) != 0) continue;
    ++dumps;
    const std::string env = read_file(e.path());
    EXPECT_FALSE(contains(env, "canary-ssh-key-4711")) << e.path().filename() << " got the template's secret";
    EXPECT_FALSE(contains(env, "GITHUB_DEPLOY_KEY=")) << e.path().filename();
    EXPECT_TRUE(contains(env, "XDG_CACHE_HOME=" + cache)) << e.path().filename();
  }
  EXPECT_GE(dumps, 5u);
}

TEST(Pipeline, CtrlCStopsTheRunExitsOneThirtyAndLeavesNoProcess) {
  FakeCluster c;
  c.inject("slow-talosctl", "30");
  pid_t pid = ::fork();
  if (pid == 0) {
    auto env = c.env();
    for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
    int devnull = ::open("/dev/null", O_WRONLY);
    ::dup2(devnull, 1);
    ::dup2(devnull, 2);
    ::execl(FLUXBOOT_BINARY, FLUXBOOT_BINARY, "talos", "--root", c.repo().c_str(), nullptr);
    _exit(127);
  }
  // Wait until the fake talosctl processes are sleeping, then press Ctrl-C.
  auto pids_file = c.fake_dir() / "pids";
  for (int i = 0; i < 100 && read_file(pids_file).empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_FALSE(read_file(pids_file).empty());
  ::kill(pid, SIGINT);
  int status = 0;
  auto t0 = std::chrono::steady_clock::now();
  ::waitpid(pid, &status, 0);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(15));
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 130);
  std::istringstream in(read_file(pids_file));
  int a = 0;
  while (in >> a) EXPECT_FALSE(fluxboot::testing::process_alive(a)) << "pid " << a << " outlived fluxboot";
}

// A tool leaves a helper in a process group of its own and exits: the runner's group kill misses
// it, but fluxboot is its subreaper and kills it before exiting, saying so.
TEST(Pipeline, AnOrphanedDescendantInAnotherProcessGroupDoesNotOutliveFluxboot) {
  FakeCluster c;
  c.inject("orphan-talosctl");
  auto r = c.fluxboot({"k8s"});
  ASSERT_EQ(r.exit_code, 0) << diag(r);
  std::istringstream in(read_file(c.fake_dir() / "orphans"));
  int pid = 0, seen = 0;
  while (in >> pid) {
    ++seen;
    bool alive = fluxboot::testing::process_alive(pid);
    EXPECT_FALSE(alive) << "pid " << pid << " outlived fluxboot";
    if (alive) ::kill(pid, SIGKILL);
  }
  EXPECT_GE(seen, 1);
  // "sleep", or "perl" when it had not yet exec'd sleep on a busy machine.
  EXPECT_TRUE(contains(r.err, "process still running at exit: ")) << diag(r);
}

// A layout with no CRD helmfile (a single helmfile.yaml, docs/layouts.md): detected with no
// fluxboot.yaml, the crds stage has nothing to do and apps still syncs the detected helmfile.
TEST(Pipeline, SingleHelmfileLayoutIsDetectedAndTheCrdsStageHasNothingToDo) {
  FakeCluster c;
  const auto hf = c.repo() / "bootstrap/helmfile.d";
  std::filesystem::remove(hf / "00-crds.yaml");
  std::filesystem::rename(hf / "01-apps.yaml", hf / "apps.yaml");
  auto layout = c.fluxboot({"layout"});
  EXPECT_EQ(layout.exit_code, 0) << diag(layout);
  EXPECT_TRUE(contains(layout.out, "bootstrap/helmfile.d/apps.yaml")) << layout.out;
  EXPECT_TRUE(contains(layout.out, "detected")) << layout.out;

  auto r = c.fluxboot({"all"});
  ASSERT_EQ(r.exit_code, 0) << diag(r);
  EXPECT_TRUE(contains(r.err, "nothing to do")) << r.err;
  EXPECT_EQ(c.count_calls("helmfile", "template"), 0u);
  EXPECT_EQ(c.count_calls("helmfile", "sync"), 1u);
}

// A helmfile that is nowhere to be found: `fluxboot layout` names what it looked for and the key.
TEST(Pipeline, LayoutNamesWhatItLookedForWhenTheHelmfileIsMissing) {
  FakeCluster c;
  std::filesystem::remove_all(c.repo() / "bootstrap/helmfile.d");
  auto r = c.fluxboot({"layout", "-o", "json"});
  EXPECT_EQ(r.exit_code, 3) << diag(r);
  EXPECT_TRUE(contains(r.out, "\"paths.appsHelmfile\"")) << r.out;
  EXPECT_TRUE(contains(r.out, "kubernetes/bootstrap/helmfile/apps.yaml")) << r.out;
  EXPECT_TRUE(contains(r.out, "\"missing\": 2")) << r.out;
}

// A CRD-only chart with no HelmRelease (prometheus-operator-crds): `values --all` prints the
// values its helmfile entry gives Helm and does not fail; doctor counts it as helmfile-only.
// A HelmRelease spelled helm-release.yaml is found without configuration.
TEST(Pipeline, ReleasesWithoutAHelmReleaseKeepTheHelmfileValues) {
  FakeCluster c;
  const auto crds = c.repo() / "bootstrap/helmfile.d/00-crds.yaml";
  write_file(crds, read_file(crds) +
                       "\n  - name: prometheus-operator-crds\n    namespace: observability\n"
                       "    chart: oci://ghcr.io/prometheus-community/charts/prometheus-operator-crds\n"
                       "    version: 20.0.0\n    values: [{crds: {annotations: {keep: 'yes'}}}]\n");
  const auto app = c.repo() / "kubernetes/apps/kube-system/spegel/app";
  std::filesystem::rename(app / "helmrelease.yaml", app / "helm-release.yaml");

  auto r = c.fluxboot({"values", "--all", "-o", "json"});
  ASSERT_EQ(r.exit_code, 0) << diag(r);
  EXPECT_TRUE(contains(r.out, "\"observability/prometheus-operator-crds\": {\n    \"crds\"")) << r.out;
  EXPECT_TRUE(contains(r.out, "\"keep\": \"yes\"")) << r.out;
  EXPECT_TRUE(contains(r.out, "\"kube-system/spegel\": {\n")) << r.out;

  auto one = c.fluxboot({"values", "kube-system/spegel"});
  EXPECT_EQ(one.exit_code, 0) << diag(one);

  auto doctor = c.fluxboot({"doctor", "--offline"});
  EXPECT_TRUE(contains(doctor.out + doctor.err, "without a HelmRelease")) << diag(doctor);
}
