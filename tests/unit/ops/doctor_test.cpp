// Every doctor check with a passing and a failing fixture (a copy of the example repository, a
// fake runner for tool versions and sops, and local servers on 127.0.0.1 for the network checks).
#include "fluxboot/doctor.hpp"

#include <gtest/gtest.h>

#include "unit/ops/ops_test_util.hpp"

using namespace fluxboot;
using fluxboot::ops::CheckStatus;
using fluxboot::testing::LocalServer;
using fluxboot::testing::OpsFixture;
using fluxboot::testing::read_file;
using fluxboot::testing::write_file;

namespace {

std::string describe(const ops::DoctorReport& r) { return ops::render_doctor_text(r, false); }

class Doctor : public ::testing::Test {
 protected:
  ops::DoctorReport run(bool offline = true) {
    ops::DoctorOptions o;
    o.offline = offline;
    o.network_timeout = std::chrono::milliseconds(2000);
    report = ops::run_doctor_checks(f.ctx(), o);
    return report;
  }
  CheckStatus status(const std::string& id) {
    const auto* c = report.find(id);
    EXPECT_NE(c, nullptr) << "no check " << id;
    return c != nullptr ? c->status : CheckStatus::Skip;
  }
  std::string text(const std::string& id) {
    const auto* c = report.find(id);
    if (c == nullptr) return {};
    std::string s = c->summary + "\n" + c->advice;
    for (const auto& d : c->details) s += "\n" + d;
    return s;
  }
  void expect(const std::string& id, CheckStatus want, const std::string& fragment = {}) {
    EXPECT_EQ(status(id), want) << describe(report);
    if (!fragment.empty()) {
      EXPECT_NE(text(id).find(fragment), std::string::npos) << text(id);
    }
  }
  OpsFixture f;
  ops::DoctorReport report;
};

}  // namespace

TEST_F(Doctor, ExampleRepositoryPassesEveryOfflineCheck) {
  run();
  EXPECT_TRUE(report.ok()) << describe(report);
  for (const auto& c : report.checks) EXPECT_NE(c.status, CheckStatus::Fail) << c.id << ": " << c.summary;
  expect("kubeconfig", CheckStatus::Warn, "does not exist yet");  // before the first bootstrap
  expect("api-server", CheckStatus::Skip, "--offline");
  expect("git-url", CheckStatus::Skip, "--offline");
  auto json = ops::doctor_json(report);
  EXPECT_TRUE(json["ok"].get<bool>());
  EXPECT_EQ(json["checks"].size(), report.checks.size());
}

TEST_F(Doctor, ConfigErrorIsTheFirstFailedCheck) {
  ops::DoctorOptions o;
  report = ops::run_doctor_checks(f.ctx(), o, "fluxboot.yaml:2: unknown key 'pathz'");
  expect("config", CheckStatus::Fail, "unknown key 'pathz'");
  EXPECT_FALSE(report.ok());
  EXPECT_EQ(report.checks.front().id, "config");
}

TEST_F(Doctor, MissingToolFailsWithInstallAdvice) {
  f.remove_tool("helmfile");
  run();
  expect("tool.helmfile", CheckStatus::Fail, "install helmfile");
  expect("tool.talosctl", CheckStatus::Pass, "v1.9.5");
}

TEST_F(Doctor, OldTalosctlFailsAndSkewWarns) {
  f.runner.on("talosctl", {"version"}, 0, "Client v0.14.3\n");
  run();
  expect("tool.talosctl", CheckStatus::Fail, "before v1.0");
}

TEST_F(Doctor, TalosctlFarFromTheClusterVersionWarns) {
  f.runner.on("talosctl", {"version"}, 0, "Client v1.6.0\n");
  run();
  expect("tool.talosctl", CheckStatus::Warn, "Talos v1.9.5");
}

TEST_F(Doctor, OldKubectlFails) {
  f.runner.on("kubectl", {"version"}, 0, "Client Version: v1.20.4\n");
  run();
  expect("tool.kubectl", CheckStatus::Fail, "server-side apply");
}

TEST_F(Doctor, HelmfileV0Warns) {
  f.runner.on("helmfile", {"--version"}, 0, "helmfile version v0.169.2\n");
  run();
  expect("tool.helmfile", CheckStatus::Warn, "no longer maintained");
}

TEST_F(Doctor, Helm2FailsAndOldHelm3FailsWithOciCharts) {
  f.runner.on("helm", {"version"}, 0, "Client: &version.Version{SemVer:\"v2.17.0\"}\n");
  run();
  expect("tool.helm", CheckStatus::Fail, "Helm 2");
  f.runner.on("helm", {"version"}, 0, "v3.7.2+g663a896\n");
  run();
  expect("tool.helm", CheckStatus::Fail, "oci://");
}

TEST_F(Doctor, SopsIsSkippedWithoutEncryptedFilesAndRequiredWithThem) {
  f.remove_tool("sops");
  run();
  expect("tool.sops", CheckStatus::Skip, "not needed");
  write_file(f.repo / "kubernetes/components/common/cluster-secrets.sops.yaml", "apiVersion: v1\nkind: Secret\n");
  run();
  expect("tool.sops", CheckStatus::Fail, "1 *.sops.yaml");
  expect("sops-decrypt", CheckStatus::Fail, "not installed");
}

TEST_F(Doctor, SopsWithoutTheDecryptSubcommandFails) {
  write_file(f.repo / "bootstrap/deploy-key.sops.yaml", "a: b\n");
  f.runner.on("sops", {"--version"}, 0, "sops 3.8.1\n");
  run();
  expect("tool.sops", CheckStatus::Fail, "3.9");
}

TEST_F(Doctor, HelmFourRejectsPostRenderers) {
  f.runner.on("helm", {"version"}, 0, "v4.0.0+g1\n");
  f.edit("bootstrap/helmfile.d/01-apps.yaml", "  timeout: 600\n", "  timeout: 600\n  forceConflicts: true\n");
  f.edit("bootstrap/helmfile.d/01-apps.yaml", "    version: 1.39.1\n",
         "    version: 1.39.1\n    postRenderer: bash\n    postRendererArgs: [-c, 'yq .']\n");
  run();
  expect("helm-features", CheckStatus::Fail, "release coredns: an executable post-renderer");
}

TEST_F(Doctor, HelmFourWithoutForceConflictsWarnsAndHelmThreePasses) {
  run();
  expect("helm-features", CheckStatus::Pass, "Helm v3.17.2");
  f.runner.on("helm", {"version"}, 0, "v4.0.1\n");
  run();
  expect("helm-features", CheckStatus::Warn, "forceConflicts");
}

TEST_F(Doctor, CrdHelmfileWithoutIncludeCrdsFails) {
  f.edit("bootstrap/helmfile.d/00-crds.yaml", "args: ['--include-crds', '--no-hooks']", "args: ['--no-hooks']");
  run();
  expect("helm-features", CheckStatus::Fail, "--include-crds");
}

TEST_F(Doctor, MissingLayoutPathsAreNamedWithTheirKey) {
  std::filesystem::remove(f.repo / "bootstrap/resources.yaml.j2");
  run();
  expect("layout", CheckStatus::Fail, "paths.resourcesTemplate");
}

TEST_F(Doctor, UnparseableYamlNamesFileAndLine) {
  write_file(f.repo / "kubernetes/apps/kube-system/spegel/app/extra.yaml", "a: b\nc: [unclosed\n");
  run();
  expect("yaml", CheckStatus::Fail, "kubernetes/apps/kube-system/spegel/app/extra.yaml");
  expect("layout", CheckStatus::Pass);
}

TEST_F(Doctor, DuplicateKeysAreYamlErrorsAsInFlux) {
  write_file(f.repo / "kubernetes/apps/kube-system/spegel/app/extra.yaml", "a: 1\na: 2\n");
  run();
  expect("yaml", CheckStatus::Fail, "extra.yaml");
}

TEST_F(Doctor, InventoryWithoutMachineConfigFails) {
  std::filesystem::remove(f.repo / "talos/clusterconfig/home-k8s-worker-2.yaml");
  run();
  expect("inventory", CheckStatus::Fail, "k8s-worker-2");
  expect("inventory", CheckStatus::Fail);
}

TEST_F(Doctor, InventoryListsNodes) {
  run();
  expect("inventory", CheckStatus::Pass, "k8s-cp-1 (127.0.0.11, control plane)");
}

TEST_F(Doctor, ResourcesTemplateWithUnsetVariableFails) {
  f.edit("bootstrap/resources.yaml.j2", "  identity: |\n", "  extra: {{ ENV.FLUXBOOT_DOCTOR_TEST_UNSET }}\n  identity: |\n");
  run();
  expect("resources", CheckStatus::Fail, "FLUXBOOT_DOCTOR_TEST_UNSET");
  f.options.env["FLUXBOOT_DOCTOR_TEST_UNSET"] = "set";
  run();
  expect("resources", CheckStatus::Pass, "Secret flux-system/github-deploy-key");
}

TEST_F(Doctor, ReleaseWithoutChartSourceFails) {
  std::filesystem::remove(f.repo / "kubernetes/apps/flux-system/flux-operator/app/ocirepository.yaml");
  run();
  expect("releases", CheckStatus::Fail, "flux-system/flux-operator");
}

TEST_F(Doctor, ReleaseNamesMustMatchTheAppsDirectories) {
  run();
  expect("release-names", CheckStatus::Pass, "6 releases");
  f.edit("bootstrap/helmfile.d/01-apps.yaml", "  - name: spegel\n", "  - name: spegel-registry\n");
  f.edit("bootstrap/helmfile.d/01-apps.yaml", "['kube-system/spegel']", "['kube-system/spegel-registry']");
  run();
  expect("release-names", CheckStatus::Fail, "kube-system/spegel-registry");
}

TEST_F(Doctor, HelmfileVersionDriftFromTheOciRepositoryFails) {
  run();
  expect("drift", CheckStatus::Pass, "agree");
  f.edit("bootstrap/helmfile.d/01-apps.yaml", "    version: 0.32.0\n", "    version: 0.31.0\n");
  run();
  expect("drift", CheckStatus::Fail, "helmfile pins 0.31.0");
}

TEST_F(Doctor, TalosStillRunningItsOwnCniFails) {
  run();
  expect("talos-cni", CheckStatus::Pass, "CNI, kube-proxy, CoreDNS disabled");
  f.edit("talos/clusterconfig/home-k8s-cp-1.yaml", "    cni:\n      name: none\n", "    cni:\n      name: flannel\n");
  f.edit("talos/clusterconfig/home-k8s-cp-1.yaml", "  coreDNS:\n    disabled: true\n", "  coreDNS:\n    disabled: false\n");
  run();
  expect("talos-cni", CheckStatus::Fail, "cluster.network.cni.name is 'flannel'");
  expect("talos-cni", CheckStatus::Fail, "cluster.coreDNS.disabled");
}

TEST_F(Doctor, FluxSyncPathMustExist) {
  run();
  expect("flux-sync", CheckStatus::Pass, "path kubernetes/flux/cluster");
  f.edit("kubernetes/apps/flux-system/flux-instance/app/helmrelease.yaml", "path: kubernetes/flux/cluster",
         "path: kubernetes/flux/clusters/home");
  run();
  expect("flux-sync", CheckStatus::Fail, "does not exist in this repository");
}

TEST_F(Doctor, FluxSyncRefMustBeAFullReference) {
  f.edit("kubernetes/apps/flux-system/flux-instance/app/helmrelease.yaml", "ref: refs/heads/${FLUX_SYNC_BRANCH:=main}",
         "ref: main");
  run();
  expect("flux-sync", CheckStatus::Fail, "refs/heads/main");
}

TEST_F(Doctor, SshSyncUrlNeedsPullSecretAndDeployKey) {
  f.edit("kubernetes/apps/flux-system/flux-instance/app/helmrelease.yaml", "url: https://github.com/fluxboot/flux-talos-demo",
         "url: ssh://git@github.com/fluxboot/flux-talos-demo");
  run();
  expect("flux-sync", CheckStatus::Fail, "pullSecret");
  f.edit("kubernetes/apps/flux-system/flux-instance/app/helmrelease.yaml", "        kind: GitRepository\n",
         "        kind: GitRepository\n        pullSecret: github-deploy-key\n");
  run();
  expect("flux-sync", CheckStatus::Pass, "pullSecret github-deploy-key");
  f.edit("kubernetes/apps/flux-system/flux-instance/app/helmrelease.yaml", "pullSecret: github-deploy-key",
         "pullSecret: other-key");
  run();
  expect("flux-sync", CheckStatus::Fail, "other-key is not among the bootstrap resources");
}

TEST_F(Doctor, ScpLikeSyncUrlFails) {
  f.edit("kubernetes/apps/flux-system/flux-instance/app/helmrelease.yaml", "url: https://github.com/fluxboot/flux-talos-demo",
         "url: git@github.com:fluxboot/flux-talos-demo");
  run();
  expect("flux-sync", CheckStatus::Fail, "ssh://git@github.com/fluxboot/flux-talos-demo");
}

TEST_F(Doctor, AgeKeyMissingFailsWhenDecryptionIsConfigured) {
  run();
  expect("age-key", CheckStatus::Pass, "1 identity");
  std::filesystem::remove(f.repo / "age.key");
  run();
  expect("age-key", CheckStatus::Fail, "not found");
}

TEST_F(Doctor, AgeKeyWithoutIdentityFails) {
  write_file(f.repo / "age.key", "# public key: age1xyz\n");
  run();
  expect("age-key", CheckStatus::Fail, "no age identity");
}

TEST_F(Doctor, EncryptedFilesMustDecryptWithTheAgeKey) {
  write_file(f.repo / "bootstrap/github-deploy-key.sops.yaml", "sops: {}\n");
  write_file(f.repo / "kubernetes/components/common/cluster-secrets.sops.yaml", "sops: {}\n");
  f.runner.on([](const process::Command& c) -> std::optional<process::Result> {
    if (c.argv.size() < 3 || std::filesystem::path(c.argv[0]).filename() != "sops" || c.argv[1] != "decrypt")
      return std::nullopt;
    process::Result r;
    bool bad = c.argv[2].find("cluster-secrets") != std::string::npos;
    r.exit_code = bad ? 128 : 0;
    r.out = bad ? "" : "stringData: {identity: plaintext-never-shown}\n";
    r.err = bad ? "Failed to get the data key required to decrypt the SOPS file." : "";
    return r;
  });
  run();
  expect("sops-decrypt", CheckStatus::Fail, "cluster-secrets.sops.yaml: Failed to get the data key");
  EXPECT_EQ(describe(report).find("plaintext-never-shown"), std::string::npos);
  // sops got the age key explicitly.
  bool keyed = false;
  for (const auto& env : f.runner.envs())
    for (const auto& [k, v] : env) keyed = keyed || (k == "SOPS_AGE_KEY_FILE" && v == (f.repo / "age.key").string());
  EXPECT_TRUE(keyed);
}

TEST_F(Doctor, EncryptedFilesThatDecryptPass) {
  write_file(f.repo / "bootstrap/github-deploy-key.sops.yaml", "sops: {}\n");
  f.runner.on("sops", {"decrypt"}, 0, "a: b\n");
  run();
  expect("sops-decrypt", CheckStatus::Pass, "1 file decrypt");
}

// Git-ignored everywhere, so a fresh clone has none: a warning naming what writes it, not a failure.
TEST_F(Doctor, AMissingTalosconfigIsAWarningThatSaysWhatWritesIt) {
  run();
  expect("talosconfig", CheckStatus::Pass, "endpoints 127.0.0.11");
  std::filesystem::remove(f.repo / "talos/clusterconfig/talosconfig");
  run();
  expect("talosconfig", CheckStatus::Warn, "is not there yet");
}

// Talos 1.13+ documents: KubeCoreDNSConfig/KubeProxyConfig `enabled: false` count as disabled; a
// config that states no CNI in a form doctor reads is a warning, never a false failure.
TEST_F(Doctor, TalosKubeConfigDocumentsAreUnderstood) {
  const auto file = f.repo / "talos/clusterconfig/home-k8s-cp-1.yaml";
  std::string text = read_file(file);
  for (const char* key : {"    cni:\n      name: none\n", "  proxy:\n    disabled: true\n", "  coreDNS:\n    disabled: true\n"}) {
    auto at = text.find(key);
    ASSERT_NE(at, std::string::npos) << key;
    text.erase(at, std::string(key).size());
  }
  text += "---\napiVersion: v1alpha1\nkind: KubeCoreDNSConfig\nenabled: false\n---\napiVersion: v1alpha1\nkind: KubeProxyConfig\nenabled: false\n";
  write_file(file, text);
  run();
  expect("talos-cni", CheckStatus::Warn, "cannot tell whether Talos's built-in CNI is disabled");
  write_file(file, text + "---\napiVersion: v1alpha1\nkind: KubeProxyConfig\nenabled: true\n");
  run();
  expect("talos-cni", CheckStatus::Fail, "would clash");
}

TEST_F(Doctor, KubeconfigPresentPassesAndGarbageFails) {
  write_file(f.repo / "kubeconfig",
             "apiVersion: v1\nkind: Config\nclusters:\n- name: home\n  cluster: {server: 'https://127.0.0.11:6443'}\n"
             "contexts:\n- name: main\n  context: {cluster: home, user: admin}\ncurrent-context: main\n"
             "users:\n- name: admin\n  user: {token: abc-secret-token}\n");
  run();
  expect("kubeconfig", CheckStatus::Pass, "context main → https://127.0.0.11:6443");
  write_file(f.repo / "kubeconfig", "clusters: [unclosed\n");
  run();
  expect("kubeconfig", CheckStatus::Fail, "does not parse");
}

TEST_F(Doctor, ApiServerThatAnswersReadyzPasses) {
  LocalServer api(LocalServer::http(200, "ok"));
  write_file(f.repo / "kubeconfig",
             "apiVersion: v1\nkind: Config\nclusters:\n- name: home\n  cluster: {server: 'http://127.0.0.1:" +
                 std::to_string(api.port()) + "'}\ncontexts:\n- name: main\n  context: {cluster: home, user: admin}\n"
                 "current-context: main\nusers:\n- name: admin\n  user: {token: abc-secret-token}\n");
  // The Git URL points at the same local server, which answers like a Git host.
  f.edit("kubernetes/apps/flux-system/flux-instance/app/helmrelease.yaml", "url: https://github.com/fluxboot/flux-talos-demo",
         "url: http://127.0.0.1:" + std::to_string(api.port()) + "/fluxboot/demo");
  run(false);
  expect("api-server", CheckStatus::Pass, "/readyz 200");
  expect("git-url", CheckStatus::Pass, "answers as a Git repository");
  EXPECT_GE(api.hits(), 2);
}

TEST_F(Doctor, ApiServerNotReachableFailsOnceAKubeconfigExists) {
  const int port = fluxboot::testing::closed_port();
  write_file(f.repo / "kubeconfig",
             "apiVersion: v1\nkind: Config\nclusters:\n- name: home\n  cluster: {server: 'http://127.0.0.1:" +
                 std::to_string(port) + "'}\ncontexts:\n- name: main\n  context: {cluster: home, user: admin}\n"
                 "current-context: main\nusers:\n- name: admin\n  user: {token: abc-secret-token}\n");
  f.edit("kubernetes/apps/flux-system/flux-instance/app/helmrelease.yaml", "url: https://github.com/fluxboot/flux-talos-demo",
         "url: http://127.0.0.1:" + std::to_string(port) + "/fluxboot/demo");
  run(false);
  expect("api-server", CheckStatus::Fail, "not reachable");
  expect("git-url", CheckStatus::Fail, "not reachable");
  EXPECT_EQ(describe(report).find("abc-secret-token"), std::string::npos);
}

TEST_F(Doctor, ApiServerNotReachableBeforeBootstrapOnlyWarns) {
  const int port = fluxboot::testing::closed_port();
  f.edit("talos/talconfig.yaml", "endpoint: https://127.0.0.11:6443", "endpoint: https://127.0.0.1:" + std::to_string(port));
  f.edit("kubernetes/apps/flux-system/flux-instance/app/helmrelease.yaml", "url: https://github.com/fluxboot/flux-talos-demo",
         "url: http://127.0.0.1:" + std::to_string(port) + "/x");
  run(false);
  expect("api-server", CheckStatus::Warn, "expected before the k8s stage");
}

TEST_F(Doctor, GitUrlThatAnswers404Fails) {
  LocalServer git(LocalServer::http(404, "Repository not found"));
  f.edit("kubernetes/apps/flux-system/flux-instance/app/helmrelease.yaml", "url: https://github.com/fluxboot/flux-talos-demo",
         "url: http://127.0.0.1:" + std::to_string(git.port()) + "/nope/nope");
  f.edit("talos/talconfig.yaml", "endpoint: https://127.0.0.11:6443", "endpoint: http://127.0.0.1:" + std::to_string(git.port()));
  run(false);
  expect("git-url", CheckStatus::Fail, "HTTP 404");
}

TEST_F(Doctor, SshGitUrlIsProbedWithATcpConnect) {
  LocalServer ssh("");
  f.edit("kubernetes/apps/flux-system/flux-instance/app/helmrelease.yaml", "url: https://github.com/fluxboot/flux-talos-demo",
         "url: ssh://git@127.0.0.1:" + std::to_string(ssh.port()) + "/fluxboot/demo");
  f.edit("kubernetes/apps/flux-system/flux-instance/app/helmrelease.yaml", "        kind: GitRepository\n",
         "        kind: GitRepository\n        pullSecret: github-deploy-key\n");
  f.edit("talos/talconfig.yaml", "endpoint: https://127.0.0.11:6443", "endpoint: http://127.0.0.1:" + std::to_string(ssh.port()));
  run(false);
  expect("git-url", CheckStatus::Pass, "accepts connections");
  const int closed = fluxboot::testing::closed_port();
  f.edit("kubernetes/apps/flux-system/flux-instance/app/helmrelease.yaml", "127.0.0.1:" + std::to_string(ssh.port()),
         "127.0.0.1:" + std::to_string(closed));
  run(false);
  expect("git-url", CheckStatus::Fail, "cannot connect");
}

TEST(DoctorVersions, ParsesTheVersionEachToolPrints) {
  EXPECT_EQ(ops::parse_tool_version("Client:\n\tTag:         v1.9.5\nServer:\n\tTag: v1.8.0").text, "v1.9.5");
  EXPECT_EQ(ops::parse_tool_version("Client Version: v1.32.3\nKustomize Version: v5.5.0\n").minor, 32);
  EXPECT_EQ(ops::parse_tool_version("helmfile version 1.1.0").major, 1);
  EXPECT_EQ(ops::parse_tool_version("v3.17.2+gcc0bbbd").patch, 2);
  EXPECT_EQ(ops::parse_tool_version("sops 3.9.4 (latest)").minor, 9);
  EXPECT_FALSE(ops::parse_tool_version("no version here").known());
}

TEST(DoctorRender, TextHasMarksAdviceAndCounts) {
  ops::DoctorReport r;
  r.root = "/repo";
  r.checks.push_back({"a", "first", CheckStatus::Pass, "fine", {}, ""});
  r.checks.push_back({"b", "second", CheckStatus::Fail, "broken", {"file:3: bad"}, "fix it"});
  r.checks.push_back({"c", "third", CheckStatus::Warn, "hmm", {}, "look"});
  std::string t = ops::render_doctor_text(r, false);
  EXPECT_NE(t.find("✓ first"), std::string::npos) << t;
  EXPECT_NE(t.find("✗ second"), std::string::npos) << t;
  EXPECT_NE(t.find("    file:3: bad"), std::string::npos) << t;
  EXPECT_NE(t.find("→ fix it"), std::string::npos) << t;
  EXPECT_NE(t.find("! third"), std::string::npos) << t;
  EXPECT_NE(t.find("3 checks: 1 passed, 1 failed, 1 warning, 0 skipped"), std::string::npos) << t;
  EXPECT_EQ(t.find("\x1b["), std::string::npos);
  EXPECT_NE(ops::render_doctor_text(r, true).find("\x1b[31m✗"), std::string::npos);
  EXPECT_FALSE(r.ok());
}
