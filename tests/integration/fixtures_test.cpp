// Every layout fixture (tests/fixtures) through the commands a new user runs first, with no
// fluxboot.yaml: layout, values --all, all --dry-run, doctor --offline. The fake tools stand in
// for talosctl/kubectl/helmfile; sops and op are the simulator's fakes (its sops "decrypts" the
// fixtures' sops files with the demo age key), `kubectl kustomize` is the real kubectl's.
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "integration/integration_support.hpp"

namespace fluxboot::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using json = nlohmann::json;

std::string diag(const RunResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\nstdout:\n" + r.out + "\nstderr:\n" + r.err;
}

class Fixture : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (::access((std::string(FLUXBOOT_TOOLS_BIN_DIR) + "/kubectl").c_str(), X_OK) != 0)
      GTEST_SKIP() << "the real kubectl is not installed (.ci/install-deps)";
    std::filesystem::create_directories(bin_.path());
    for (const char* tool : {"sops", "op"})
      std::filesystem::create_symlink(FLUXBOOT_SIM_BINARY, bin_ / tool);
  }
  std::map<std::string, std::string> env(const FakeCluster& c) const {
    auto e = c.env();
    e["PATH"] = std::string(FLUXBOOT_FAKES_DIR) + ":" + bin_.path().string() + ":/usr/bin:/bin";
    e["FAKE_REAL_KUBECTL"] = std::string(FLUXBOOT_TOOLS_BIN_DIR) + "/kubectl";
    return e;
  }
  RunResult fluxboot(const FakeCluster& c, std::vector<std::string> args) const {
    std::vector<std::string> argv = {FLUXBOOT_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--root", c.repo().string()});
    // Parameterized tests run on a fixture by name; its args file (--cluster ...) goes with it.
    if (::testing::UnitTest::GetInstance()->current_test_info()->value_param() != nullptr)
      for (const auto& a : fixture_args(GetParam())) argv.push_back(a);
    return run(argv, env(c), c.repo());
  }
  TempDir bin_;
};

TEST_P(Fixture, LayoutDetectsEveryItemAndTheNodes) {
  FakeCluster c(GetParam());
  auto r = fluxboot(c, {"layout", "-o", "json"});
  ASSERT_EQ(r.exit_code, 0) << diag(r);
  auto doc = json::parse(r.out);
  EXPECT_EQ(doc["missing"], 0);
  EXPECT_TRUE(doc["inventory"]["ok"].get<bool>()) << doc["inventory"].dump();
  EXPECT_THAT(doc["inventory"]["detail"].get<std::string>(), HasSubstr("3 nodes (1 control plane)"));
}

TEST_P(Fixture, ValuesAllPrintsEveryBootstrapRelease) {
  FakeCluster c(GetParam());
  auto r = fluxboot(c, {"values", "--all", "-o", "json"});
  ASSERT_EQ(r.exit_code, 0) << diag(r);
  auto doc = json::parse(r.out);
  for (const char* release : {"kube-system/cilium", "kube-system/coredns", "cert-manager/cert-manager",
                              "flux-system/flux-operator", "flux-system/flux-instance"})
    EXPECT_TRUE(doc.contains(release)) << release << " missing in " << r.out.substr(0, 400);
  EXPECT_FALSE(doc["flux-system/flux-instance"].empty());
}

TEST_P(Fixture, DryRunPlansEveryStageAndChangesNothing) {
  FakeCluster c(GetParam());
  auto r = fluxboot(c, {"all", "--dry-run"});
  ASSERT_EQ(r.exit_code, 0) << diag(r);
  EXPECT_EQ(c.count_calls("talosctl", "apply-config"), 0u);
  EXPECT_EQ(c.count_calls("kubectl", "apply"), 0u);
  EXPECT_THAT(r.out + r.err, Not(HasSubstr("canary")));
}

TEST_P(Fixture, DoctorOfflinePasses) {
  FakeCluster c(GetParam());
  auto r = fluxboot(c, {"doctor", "--offline"});
  EXPECT_EQ(r.exit_code, 0) << diag(r);
  EXPECT_THAT(r.out, Not(HasSubstr("✗")));
  EXPECT_THAT(r.out + r.err, Not(HasSubstr("canary")));
}

// `fluxboot init` pins what was detected: the layout afterwards is the same, item by item, now
// from fluxboot.yaml; a second init refuses to overwrite it.
TEST_P(Fixture, InitPinsTheDetectedLayout) {
  FakeCluster c(GetParam());
  auto before = fluxboot(c, {"layout", "-o", "json"});
  ASSERT_EQ(before.exit_code, 0) << diag(before);
  auto r = fluxboot(c, {"init"});
  ASSERT_EQ(r.exit_code, 0) << diag(r);
  ASSERT_TRUE(std::filesystem::exists(c.repo() / "fluxboot.yaml"));
  auto after = fluxboot(c, {"layout", "-o", "json"});
  ASSERT_EQ(after.exit_code, 0) << diag(after);
  auto b = json::parse(before.out), a = json::parse(after.out);
  ASSERT_EQ(a["items"].size(), b["items"].size());
  for (size_t i = 0; i < a["items"].size(); ++i) {
    EXPECT_EQ(a["items"][i]["value"], b["items"][i]["value"]) << a["items"][i].dump();
    // (The default HelmRelease lookup stays unpinned: pinned, it would lose its helm-release.yaml fallback.)
    // (Nor are a multi-cluster repository's per-cluster paths: --cluster picks them per run.)
    const bool per_cluster = b["cluster"].is_string() && b["clusters"].size() > 1 && b["items"][i]["value"].is_string() &&
                             ("/" + b["items"][i]["value"].get<std::string>() + "/")
                                     .find("/" + b["cluster"].get<std::string>() + "/") != std::string::npos;
    if (b["items"][i]["origin"] == "detected" && b["items"][i]["present"] == true &&
        b["items"][i]["key"] != "paths.helmrelease" && !per_cluster) {
      EXPECT_EQ(a["items"][i]["origin"], "fluxboot.yaml") << a["items"][i].dump();
    }
  }
  EXPECT_EQ(a["inventory"], b["inventory"]);
  auto again = fluxboot(c, {"init"});
  EXPECT_EQ(again.exit_code, 3) << diag(again);
  EXPECT_THAT(again.err, HasSubstr("fluxboot init --force"));
  EXPECT_EQ(fluxboot(c, {"init", "--stdout"}).exit_code, 0);
}

// Several clusters: without --cluster every command but `layout` refuses and names them; each
// cluster gets its own variables from the shared base, never the other's.
class MultiCluster : public Fixture {};

TEST_F(MultiCluster, RefusesWithoutAChoiceAndListsTheClusters) {
  FakeCluster c("multi-cluster");
  std::vector<std::string> argv = {FLUXBOOT_BINARY, "values", "--all", "--root", c.repo().string()};
  auto r = run(argv, env(c), c.repo());
  EXPECT_EQ(r.exit_code, 3) << diag(r);
  EXPECT_THAT(r.err, HasSubstr("this repository holds 2 clusters (home, lab): choose one with --cluster NAME"));
  auto layout = run({FLUXBOOT_BINARY, "layout", "-o", "json", "--root", c.repo().string()}, env(c), c.repo());
  EXPECT_EQ(layout.exit_code, 3) << diag(layout);
  auto doc = json::parse(layout.out);
  EXPECT_EQ(doc["clusters"], json::array({"home", "lab"}));
  EXPECT_TRUE(doc["cluster"].is_null());
  auto unknown = run({FLUXBOOT_BINARY, "all", "--dry-run", "--cluster", "staging", "--root", c.repo().string()}, env(c),
                     c.repo());
  EXPECT_EQ(unknown.exit_code, 3) << diag(unknown);
  EXPECT_THAT(unknown.err, HasSubstr("cluster 'staging' (from --cluster) is not in this repository: it holds home, lab"));
}

TEST_F(MultiCluster, EachClusterGetsItsOwnSubstitutionsAndNodes) {
  FakeCluster c("multi-cluster");
  auto values = [&](const std::string& cluster) {
    auto r = run({FLUXBOOT_BINARY, "values", "--all", "-o", "json", "--cluster", cluster, "--root", c.repo().string()},
                 env(c), c.repo());
    EXPECT_EQ(r.exit_code, 0) << diag(r);
    EXPECT_THAT(r.err, Not(HasSubstr("placeholders are left")));
    return json::parse(r.out);
  };
  auto home = values("home"), lab = values("lab");
  EXPECT_EQ(home["kube-system/coredns"]["service"]["clusterIP"], "10.43.0.10");
  EXPECT_EQ(lab["kube-system/coredns"]["service"]["clusterIP"], "10.43.0.20");
  EXPECT_EQ(home["flux-system/flux-instance"]["instance"]["sync"]["path"], "kubernetes/clusters/home");
  EXPECT_EQ(lab["flux-system/flux-instance"]["instance"]["sync"]["path"], "kubernetes/clusters/lab");
  auto layout = run({FLUXBOOT_BINARY, "layout", "-o", "json", "--cluster", "lab", "--root", c.repo().string()}, env(c),
                    c.repo());
  ASSERT_EQ(layout.exit_code, 0) << diag(layout);
  auto doc = json::parse(layout.out);
  EXPECT_THAT(doc["inventory"]["detail"].get<std::string>(), HasSubstr("2 nodes (1 control plane)"));
  EXPECT_EQ(doc["cluster"], "lab");
  auto plan = run({FLUXBOOT_BINARY, "all", "--dry-run", "--cluster", "lab", "--root", c.repo().string()}, env(c),
                  c.repo());
  ASSERT_EQ(plan.exit_code, 0) << diag(plan);
  EXPECT_THAT(plan.err + plan.out, HasSubstr("--force-context-name lab"));
  EXPECT_THAT(plan.err + plan.out, HasSubstr("apply-config --insecure --nodes 127.0.0.21"));
}

INSTANTIATE_TEST_SUITE_P(Layouts, Fixture, ::testing::ValuesIn(fixture_names()),
                         [](const auto& param_info) {
                           std::string n = param_info.param;
                           for (auto& ch : n) ch = ch == '-' ? '_' : ch;
                           return n;
                         });

// The templated node inventory end to end through the fakes: rendered, op-injected, merged by
// `talosctl machineconfig patch` in a private directory that is gone afterwards, then applied.
TEST_F(Fixture, TalosTemplatesAreRenderedInjectedMergedAndApplied) {
  FakeCluster c("talos-templates");
  auto r = fluxboot(c, {"talos"});
  ASSERT_EQ(r.exit_code, 0) << diag(r);
  EXPECT_EQ(c.count_calls("talosctl", "machineconfig"), 3u);
  EXPECT_EQ(c.count_calls("talosctl", "apply-config"), 3u);
  bool role_patch = false;
  for (const auto& call : c.calls()) {
    if (call.size() < 3 || call[0] != "talosctl" || call[1] != "machineconfig") continue;
    std::string line;
    for (const auto& a : call) line += a + " ";
    EXPECT_THAT(line, HasSubstr("--patch @"));
    EXPECT_THAT(line, Not(HasSubstr(c.repo().string())));  // rendered copies, never the repository
    role_patch = role_patch || line.find("controlplane.yaml") != std::string::npos;
  }
  EXPECT_TRUE(role_patch) << "the control plane's merge must include controlplane.yaml.j2";
  EXPECT_EQ(read_file(c.fake_dir() / "private-dir-mode"), "700\n");
  // The merged config the fake talosctl saw holds the injected secret and the rendered defaults.
  std::string merged;
  for (const auto& e : std::filesystem::directory_iterator(c.fake_dir()))
    if (e.path().filename().string().rfind("merged-", 0) == 0) merged += read_file(e.path());
  EXPECT_THAT(merged, HasSubstr("token: sim-kubernetes-talos-MACHINE_TOKEN"));
  EXPECT_THAT(merged, HasSubstr("disk: /dev/sda"));
  // The schematic ID computed offline (the factory's own ID for iscsi-tools + util-linux-tools),
  // and version.yaml's talos_version.
  EXPECT_THAT(merged, HasSubstr("image: factory.talos.dev/installer/"
                                "613e1592b2da41ae5e265e8789429f22e121aab91cb4deb6bc3c0b6262961245:v1.9.5"));
  EXPECT_THAT(merged, Not(HasSubstr("op://")));
  // The injected secrets never reach the output, and no private directory is left behind.
  EXPECT_THAT(r.out + r.err, Not(HasSubstr("sim-kubernetes-talos")));
  for (const auto& call : c.calls())
    for (const auto& a : call)
      if (a.find("/run-") != std::string::npos && a.find("fluxboot-") != std::string::npos) {
        auto dir = std::filesystem::path(a.front() == '@' ? a.substr(1) : a).parent_path();
        EXPECT_FALSE(std::filesystem::exists(dir)) << dir;
      }
}

// An installer image pinned by schematic ID is compared with the schematic file's ID.
TEST_F(Fixture, DoctorComparesAPinnedSchematicIdWithTheSchematicFile) {
  FakeCluster c("talos-templates");
  const auto file = c.repo() / "talos/machineconfig.yaml.j2";
  std::string text = read_file(file);
  const std::string templated = "factory.talos.dev/installer/{{ schematic }}:";
  ASSERT_NE(text.find(templated), std::string::npos);
  const std::string right = "613e1592b2da41ae5e265e8789429f22e121aab91cb4deb6bc3c0b6262961245";
  write_file(file, std::string(text).replace(text.find(templated), templated.size(),
                                             "factory.talos.dev/installer/" + right + ":"));
  auto ok = fluxboot(c, {"doctor", "--offline"});
  EXPECT_THAT(ok.out, HasSubstr("pinned IDs match the schematic files")) << diag(ok);
  write_file(file, std::string(text).replace(text.find(templated), templated.size(),
                                             "factory.talos.dev/installer/" + std::string(64, 'a') + ":"));
  auto stale = fluxboot(c, {"doctor", "--offline"});
  EXPECT_THAT(stale.out, HasSubstr("1 pinned schematic ID differs from the schematic file")) << diag(stale);
  EXPECT_THAT(stale.out, HasSubstr("talos/machineconfig.yaml.j2:17: installs schematic aaaaaaaaaaaa…, but "
                                   "talos/schematic.yaml.j2 gives 613e1592b2da…"));
}

TEST_F(Fixture, TalosTemplatesWithAnUndefinedVariableFailBeforeAnyNodeChanges) {
  FakeCluster c("talos-templates");
  write_file(c.repo() / "talos/nodes/127.0.0.12.yaml.j2", "machine:\n  type: worker\n  install:\n    disk: {{ ENV.NODE_DISK }}\n");
  auto r = fluxboot(c, {"talos"});
  EXPECT_EQ(r.exit_code, 3) << diag(r);
  EXPECT_THAT(r.err, HasSubstr("talos/nodes/127.0.0.12.yaml.j2:4"));
  EXPECT_THAT(r.err, HasSubstr("NODE_DISK"));
  EXPECT_EQ(c.count_calls("talosctl"), 0u);
}

TEST_F(Fixture, OpReferencesWithoutOpInstalledNameTheTool) {
  FakeCluster c("talos-templates");
  auto e = env(c);
  e["PATH"] = std::string(FLUXBOOT_FAKES_DIR) + ":/usr/bin:/bin";  // no op
  std::vector<std::string> argv = {FLUXBOOT_BINARY, "talos", "--root", c.repo().string()};
  auto r = run(argv, e, c.repo());
  EXPECT_EQ(r.exit_code, 4) << diag(r);
  EXPECT_THAT(r.err, HasSubstr("op not found on PATH"));
  EXPECT_THAT(r.err, HasSubstr("op:// references"));
  EXPECT_EQ(c.count_calls("talosctl"), 0u);
}

}  // namespace
}  // namespace fluxboot::testing
