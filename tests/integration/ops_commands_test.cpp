// doctor, diagnose, rollback, completion and man through the real binary with the fake tools.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "integration/integration_support.hpp"

using fluxboot::testing::FakeCluster;
using fluxboot::testing::read_file;
using fluxboot::testing::run;
using fluxboot::testing::TempDir;
using fluxboot::testing::write_file;
using nlohmann::json;

namespace {

bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

std::string diag(const fluxboot::testing::RunResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\nstdout:\n" + r.out + "\nstderr:\n" + r.err;
}

// Every file below `dir`, concatenated (to look for leaks).
std::string all_text(const std::filesystem::path& dir) {
  std::string s;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.is_regular_file()) s += read_file(e.path());
  return s;
}

std::filesystem::path extract(const std::filesystem::path& bundle, const std::filesystem::path& into) {
  std::filesystem::create_directories(into);
  auto r = run({"/bin/tar", "-xzf", bundle.string(), "-C", into.string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  for (const auto& e : std::filesystem::directory_iterator(into)) return e.path();
  return into;
}

const std::string kDeployKey =
    "-----BEGIN OPENSSH PRIVATE KEY-----\nZGlhZ25vc2UtdGVzdC1kZXBsb3kta2V5LW1hdGVyaWFs\n-----END OPENSSH PRIVATE KEY-----";

}  // namespace

// ---- doctor ------------------------------------------------------------------------------------

TEST(OpsDoctor, ExampleRepositoryPassesOffline) {
  FakeCluster c;
  auto r = c.fluxboot({"doctor", "--offline"});
  EXPECT_EQ(r.exit_code, 0) << diag(r);
  EXPECT_TRUE(contains(r.out, "✓ talosctl")) << r.out;
  EXPECT_TRUE(contains(r.out, "skipped (--offline)")) << r.out;
  EXPECT_TRUE(contains(r.out, "0 failed")) << r.out;
}

TEST(OpsDoctor, FailingCheckExitsThreeWithAdvice) {
  FakeCluster c;
  std::string hf = read_file(c.repo() / "bootstrap/helmfile.d/01-apps.yaml");
  hf.replace(hf.find("version: 0.32.0"), 15, "version: 0.31.0");
  write_file(c.repo() / "bootstrap/helmfile.d/01-apps.yaml", hf);
  auto r = c.fluxboot({"doctor", "--offline"});
  EXPECT_EQ(r.exit_code, 3) << diag(r);
  EXPECT_TRUE(contains(r.out, "✗ helmfile vs OCIRepository versions")) << r.out;
  EXPECT_TRUE(contains(r.out, "→ ")) << r.out;
}

TEST(OpsDoctor, JsonOutputIsOneParseableDocument) {
  FakeCluster c;
  auto r = c.fluxboot({"doctor", "--offline", "-o", "json"});
  ASSERT_EQ(r.exit_code, 0) << diag(r);
  auto doc = json::parse(r.out);
  EXPECT_TRUE(doc["ok"].get<bool>());
  EXPECT_GE(doc["checks"].size(), 15u);
  EXPECT_EQ(doc["summary"]["fail"], 0);
}

TEST(OpsDoctor, BrokenConfigIsReportedAndTheOtherChecksStillRun) {
  FakeCluster c;
  write_file(c.repo() / "fluxboot.yaml", "pathz:\n  apps: x\n");
  auto r = c.fluxboot({"doctor", "--offline", "-o", "json"});
  EXPECT_EQ(r.exit_code, 3) << diag(r);
  auto doc = json::parse(r.out);
  EXPECT_EQ(doc["checks"][0]["id"], "config");
  EXPECT_EQ(doc["checks"][0]["status"], "fail");
  EXPECT_TRUE(contains(doc["checks"][0]["details"][0].get<std::string>(), "pathz"));
  EXPECT_GE(doc["checks"].size(), 15u);
}

TEST(OpsDoctor, MissingToolIsAFailedCheckNotACrash) {
  FakeCluster c;
  // Only the fakes that exist, minus helmfile: a PATH with everything but helmfile.
  TempDir bin;
  for (const char* t : {"talosctl", "kubectl", "helm", "common.sh"})
    std::filesystem::create_symlink(std::filesystem::path(FLUXBOOT_FAKES_DIR) / t, bin / t);
  auto r = c.fluxboot({"doctor", "--offline"}, {}, bin.path().string() + ":/usr/bin:/bin");
  EXPECT_EQ(r.exit_code, 3) << diag(r);
  EXPECT_TRUE(contains(r.out, "✗ helmfile")) << r.out;
  EXPECT_TRUE(contains(r.out, "install helmfile")) << r.out;
}

// ---- diagnose ----------------------------------------------------------------------------------

TEST(OpsDiagnose, BundleHasTheTroubleshootingFilesAndNoSecretValue) {
  FakeCluster c;
  std::map<std::string, std::string> env = {{"GITHUB_DEPLOY_KEY", kDeployKey}};
  ASSERT_EQ(c.fluxboot({"all"}, env).exit_code, 0);
  // A controller that logs a secret value: the bundle must mask it.
  c.inject("log-line", "ssh: using identity ZGlhZ25vc2UtdGVzdC1kZXBsb3kta2V5LW1hdGVyaWFs\n");
  auto bundle = c.repo().parent_path() / "support.tar.gz";
  auto r = c.fluxboot({"diagnose", "-o", bundle.string()}, env);
  ASSERT_EQ(r.exit_code, 0) << diag(r);
  EXPECT_TRUE(contains(r.out, bundle.string())) << r.out;
  auto dir = extract(bundle, c.repo().parent_path() / "x");
  for (const char* f : {"README.txt", "manifest.json", "flux/flux-operator.log", "flux/flux-operator.describe.txt",
                        "flux/fluxinstance.describe.txt", "flux/events.txt", "flux/gitrepository.describe.txt",
                        "flux/source-controller.log", "flux/kustomize-controller.log", "flux/secrets.txt",
                        "flux/bootstrap-secrets.txt", "fluxboot/state.json"})
    EXPECT_TRUE(std::filesystem::exists(dir / f)) << f;
  EXPECT_TRUE(contains(read_file(dir / "flux/secrets.txt"), "secret/sops-age"));
  std::string everything = all_text(dir);
  std::string age = read_file(c.repo() / "age.key");
  EXPECT_FALSE(contains(everything, "ZGlhZ25vc2UtdGVzdC1kZXBsb3kta2V5LW1hdGVyaWFs"));
  EXPECT_FALSE(contains(everything, age.substr(age.find("AGE-SECRET-KEY-"), 40)));
  EXPECT_TRUE(contains(read_file(dir / "flux/kustomize-controller.log"), "<redacted>"));
  // Secrets are only ever listed by name.
  for (const auto& call : c.calls()) {
    if (call.empty() || call[0] != "kubectl") continue;
    bool secret = std::find(call.begin(), call.end(), "secrets") != call.end() ||
                  std::find(call.begin(), call.end(), "secret") != call.end();
    if (secret) {
      EXPECT_NE(std::find(call.begin(), call.end(), "name"), call.end());
    }
  }
}

TEST(OpsDiagnose, FailedCollectionsAreRecordedNotFatal) {
  FakeCluster c;
  ASSERT_EQ(c.fluxboot({"all"}).exit_code, 0);
  c.inject("logs-fail");
  auto bundle = c.repo().parent_path() / "b.tar.gz";
  auto r = c.fluxboot({"diagnose", "-o", bundle.string()});
  ASSERT_EQ(r.exit_code, 0) << diag(r);
  auto dir = extract(bundle, c.repo().parent_path() / "x");
  EXPECT_TRUE(std::filesystem::exists(dir / "flux/source-controller.log.error.txt"));
  EXPECT_TRUE(contains(read_file(dir / "flux/source-controller.log.error.txt"), "not found"));
  EXPECT_TRUE(std::filesystem::exists(dir / "flux/events.txt"));
  EXPECT_TRUE(contains(read_file(dir / "README.txt"), "FAILED"));
}

TEST(OpsDiagnose, AllWritesABundleWhenAStageFails) {
  FakeCluster c;
  c.inject("sync-fail");
  auto bundle = c.repo().parent_path() / "on-failure.tar.gz";
  auto r = c.fluxboot({"all", "--log-format", "json", "--diagnose-on-failure", bundle.string()});
  EXPECT_EQ(r.exit_code, 1) << diag(r);
  ASSERT_TRUE(std::filesystem::exists(bundle)) << diag(r);
  bool event = false;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    auto ev = json::parse(line);  // stdout stays one JSON object per line
    if (ev["event"] == "diagnose") event = ev["path"] == bundle.string();
  }
  EXPECT_TRUE(event) << r.out;
  auto dir = extract(bundle, c.repo().parent_path() / "x");
  EXPECT_TRUE(contains(read_file(dir / "README.txt"), "fluxboot all failed (exit 1)"));
  EXPECT_TRUE(contains(read_file(dir / "fluxboot/state.json"), "UPGRADE FAILED"));
}

TEST(OpsDiagnose, DefaultBundleOnFailureGoesIntoTheStateDirectory) {
  FakeCluster c;
  c.inject("sync-fail");
  auto r = c.fluxboot({"all", "--diagnose-on-failure"});
  EXPECT_EQ(r.exit_code, 1) << diag(r);
  bool found = false;
  for (const auto& e : std::filesystem::directory_iterator(c.repo() / ".fluxboot"))
    found = found || e.path().filename().string().rfind("fluxboot-diagnose-", 0) == 0;
  EXPECT_TRUE(found);
  EXPECT_TRUE(contains(r.err, "diagnostics bundle: " + (c.repo() / ".fluxboot").string())) << r.err;
}

TEST(OpsDiagnose, NoBundleWhenNothingFailed) {
  FakeCluster c;
  auto r = c.fluxboot({"all", "--diagnose-on-failure"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_FALSE(contains(r.err, "diagnostics bundle"));
}

// ---- rollback ----------------------------------------------------------------------------------

TEST(OpsRollback, RemovesInstanceThenOperatorAndMarksAppsForResume) {
  FakeCluster c;
  ASSERT_EQ(c.fluxboot({"all"}).exit_code, 0);
  c.inject("fluxinstance-finalizing", "2");  // the operator needs a moment to finalize
  std::filesystem::remove(c.fake_dir() / "calls.log");
  auto r = c.fluxboot({"rollback", "--yes"});
  ASSERT_EQ(r.exit_code, 0) << diag(r);
  std::vector<std::string> order;
  for (const auto& call : c.calls()) {
    if (call.size() > 2 && call[0] == "helm" && call[1] == "uninstall") order.push_back("uninstall " + call[2]);
    if (call.size() > 2 && call[0] == "kubectl" && call[2] == "fluxinstances.fluxcd.controlplane.io") order.push_back("wait");
  }
  ASSERT_GE(order.size(), 3u);
  EXPECT_EQ(order.front(), "uninstall flux-instance");
  EXPECT_EQ(order.back(), "uninstall flux-operator");
  EXPECT_EQ(std::count(order.begin(), order.end(), "wait"), 3);
  for (const auto& call : c.calls())
    if (call.size() > 2 && call[0] == "helm" && call[1] == "uninstall") {
      EXPECT_EQ(call[3], "--namespace");
      EXPECT_EQ(call[4], "flux-system");
    }
  auto h = c.fluxboot({"history"});
  EXPECT_TRUE(contains(h.out, "would start at apps")) << h.out;
  EXPECT_TRUE(contains(h.out, "rollback")) << h.out;
}

TEST(OpsRollback, NeedsYesWhenStdinIsNotATerminal) {
  FakeCluster c;
  ASSERT_EQ(c.fluxboot({"all"}).exit_code, 0);
  std::filesystem::remove(c.fake_dir() / "calls.log");
  auto r = c.fluxboot({"rollback"});
  EXPECT_EQ(r.exit_code, 2) << diag(r);
  EXPECT_TRUE(contains(r.err, "--yes")) << r.err;
  EXPECT_EQ(c.count_calls("helm"), 0u);
}

TEST(OpsRollback, DryRunPrintsThePlanAndChangesNothing) {
  FakeCluster c;
  ASSERT_EQ(c.fluxboot({"all"}).exit_code, 0);
  std::filesystem::remove(c.fake_dir() / "calls.log");
  auto r = c.fluxboot({"rollback", "--dry-run"});
  EXPECT_EQ(r.exit_code, 0) << diag(r);
  EXPECT_TRUE(contains(r.out, "helm uninstall flux-instance --namespace flux-system")) << r.out;
  EXPECT_LT(r.out.find("flux-instance"), r.out.find("uninstall flux-operator")) << r.out;
  EXPECT_EQ(c.count_calls("helm", "uninstall"), 0u);
}

TEST(OpsRollback, AlreadyRemovedReleasesAreFineAndMissingHelmIsExitFour) {
  FakeCluster c;
  ASSERT_EQ(c.fluxboot({"all"}).exit_code, 0);
  c.inject("helm-missing-flux-instance");
  c.inject("uninstalled-flux-instance");
  auto r = c.fluxboot({"rollback", "--yes"});
  EXPECT_EQ(r.exit_code, 0) << diag(r);
  EXPECT_TRUE(contains(r.err, "already removed")) << r.err;
  TempDir bin;
  for (const char* t : {"talosctl", "kubectl", "helmfile", "common.sh"})
    std::filesystem::create_symlink(std::filesystem::path(FLUXBOOT_FAKES_DIR) / t, bin / t);
  auto m = c.fluxboot({"rollback", "--yes"}, {}, bin.path().string() + ":/usr/bin:/bin");
  EXPECT_EQ(m.exit_code, 4) << diag(m);
  EXPECT_TRUE(contains(m.err, "helm not found")) << m.err;
}

// ---- completion and man --------------------------------------------------------------------------

TEST(OpsCompletion, BashCompletionKnowsEveryCommandAndFlag) {
  FakeCluster c;
  auto r = c.fluxboot({"completion", "bash"});
  ASSERT_EQ(r.exit_code, 0) << diag(r);
  for (const char* word : {"doctor", "history", "diagnose", "rollback", "completion", "--resume", "--diagnose-on-failure",
                           "--offline", "--yes", "--log-format"})
    EXPECT_TRUE(contains(r.out, word)) << word;
  EXPECT_FALSE(contains(r.out, " man ")) << "the hidden man command is not offered";
  TempDir tmp;
  write_file(tmp / "c.bash", r.out);
  write_file(tmp / "drive.sh", ". " + (tmp / "c.bash").string() +
                                   "\nCOMP_WORDS=(fluxboot all --skip ''); COMP_CWORD=3; _fluxboot; echo \"${COMPREPLY[*]}\"\n"
                                   "COMP_WORDS=(fluxboot doctor -o ''); COMP_CWORD=3; _fluxboot; echo \"${COMPREPLY[*]}\"\n");
  auto d = run({"/bin/bash", (tmp / "drive.sh").string()});
  ASSERT_EQ(d.exit_code, 0) << d.err;
  EXPECT_TRUE(contains(d.out, "talos k8s kubeconfig wait namespaces resources crds apps\n")) << d.out;
  EXPECT_TRUE(contains(d.out, "text json\n")) << d.out;
}

TEST(OpsCompletion, ZshFishAndManAreGenerated) {
  FakeCluster c;
  auto z = c.fluxboot({"completion", "zsh"});
  EXPECT_EQ(z.exit_code, 0);
  EXPECT_TRUE(contains(z.out, "#compdef fluxboot"));
  auto f = c.fluxboot({"completion", "fish"});
  EXPECT_EQ(f.exit_code, 0);
  EXPECT_TRUE(contains(f.out, "__fish_seen_subcommand_from rollback"));
  auto m = c.fluxboot({"man"});
  EXPECT_EQ(m.exit_code, 0);
  EXPECT_TRUE(contains(m.out, ".TH FLUXBOOT 1"));
  EXPECT_TRUE(contains(m.out, "\\-\\-resume"));
  EXPECT_EQ(c.fluxboot({"completion", "tcsh"}).exit_code, 2);
  TempDir tmp;
  EXPECT_EQ(c.fluxboot({"completion", "bash", "--output", (tmp / "x").string()}).exit_code, 0);
  EXPECT_TRUE(contains(read_file(tmp / "x"), "complete -F _fluxboot fluxboot"));
}
