#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fluxboot/gitops.hpp"
#include "support/test_support.hpp"
#include "unit/gitops/gitops_test_util.hpp"

namespace fluxboot::gitops {
namespace {

using fluxboot::testing::TempDir;
using fluxboot::testing::write_file;
using testing::input_error;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

Config load(const TempDir& dir, const std::string& yaml) {
  write_file(dir / "fluxboot.yaml", yaml);
  return load_config(dir.path());
}

TEST(LoadConfig, UsesDefaultsWithoutAFile) {
  TempDir dir;
  Config c = load_config(dir.path());
  EXPECT_EQ(c.root, dir.path());
  EXPECT_FALSE(c.file.has_value());
  EXPECT_EQ(c.paths.apps, "kubernetes/apps");
  EXPECT_EQ(c.paths.talosconfig, "talos/clusterconfig/talosconfig");
  EXPECT_EQ(c.tools.kubectl, "kubectl");
  EXPECT_EQ(c.field_manager, "kubectl-fluxboot");
  EXPECT_EQ(c.kube_context_name, "main");
  EXPECT_EQ(c.talos_parallelism, 16);
  EXPECT_TRUE(c.stage_timeouts.empty());
  EXPECT_FALSE(c.nodes.has_value());
  EXPECT_EQ(c.flux_namespace, "flux-system");
  EXPECT_EQ(c.flux_instance, "flux");
}

TEST(LoadConfig, ClusterKeyPicksTheClusterAndTheFlagWins) {
  TempDir dir;
  for (const char* n : {"a", "b"})
    write_file(dir / "kubernetes/clusters" / n / "ks.yaml",
               "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: x}\n");
  Config c = load(dir, "cluster: b\n");
  EXPECT_EQ(c.cluster, "b");
  EXPECT_EQ(c.cluster_origin, "fluxboot.yaml");
  Config flag = load_config(dir.path(), "a");
  EXPECT_EQ(flag.cluster, "a");
  EXPECT_EQ(flag.cluster_origin, "--cluster");
  EXPECT_THAT(input_error([&] { load(dir, "cluster: ../x\n"); }), HasSubstr("'cluster' must be a directory name"));
}

TEST(LoadConfig, AFluxbootYamlThatCannotBeReadIsAnErrorNotTheDefaults) {
  TempDir dir;
  std::filesystem::create_symlink(dir / "fluxboot.yaml", dir / "fluxboot.yaml");
  try {
    (void)load_config(dir.path());
    ADD_FAILURE() << "a fluxboot.yaml symlink loop was ignored";
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("fluxboot.yaml: cannot read: a symlink loop"));
  }
  std::filesystem::remove(dir / "fluxboot.yaml");
  write_file(dir / "fluxboot.yaml", "# padding\n" + std::string(2u << 20, '#'));
  try {
    (void)load_config(dir.path());
    ADD_FAILURE() << "a 2 MiB fluxboot.yaml was read";
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("more than fluxboot reads (1 MiB)"));
  }
}

// Found by fuzz_repo_files: yaml-cpp's Load never returns on a stray ',' at document level; the
// configuration (and every file the gitops module reads) is refused instead, with its line.
TEST(LoadConfig, AStrayCommaIsAnErrorNotAHang) {
  TempDir dir;
  for (const char* text : {",\n", "fieldManager: x\n---\n,\n", "\x91,oope\xff[]\n"})
    EXPECT_THAT(input_error([&] { load(dir, text); }), HasSubstr("fluxboot.yaml")) << text;
}

TEST(LoadConfig, MakesTheRootAbsolute) {
  TempDir dir;
  std::filesystem::create_directories(dir / "repo");
  auto cwd = std::filesystem::current_path();
  std::filesystem::current_path(dir.path());
  Config c = load_config("repo/");
  std::filesystem::current_path(cwd);
  EXPECT_EQ(c.root, dir.path() / "repo");
  EXPECT_EQ(c.abs("age.key"), dir.path() / "repo" / "age.key");
}

TEST(LoadConfig, RejectsARootThatIsNotADirectory) {
  TempDir dir;
  EXPECT_THAT(input_error([&] { load_config(dir / "missing"); }),
              HasSubstr("repository root is not a directory"));
}

TEST(LoadConfig, EmptyFileOrCommentsOnlyMeansDefaults) {
  TempDir dir;
  Config c = load(dir, "# nothing configured yet\n");
  ASSERT_TRUE(c.file.has_value());
  EXPECT_EQ(*c.file, dir / "fluxboot.yaml");
  EXPECT_EQ(c.field_manager, "kubectl-fluxboot");
}

TEST(LoadConfig, ReadsEveryPath) {
  TempDir dir;
  Config c = load(dir, R"(paths:
  apps: k8s/apps
  talconfig: t/talconfig.yaml
  clusterconfig: t/out
  resourcesTemplate: boot/res.yaml.j2
  crdsHelmfile: boot/crds.yaml
  appsHelmfile: boot/apps.yaml
  clusterKustomization: k8s/flux/ks.yaml
  ageKey: secrets/age.key
  helmrelease: k8s/apps/{namespace}/{name}/hr.yaml
  kubeconfig: out/kubeconfig
  talosconfig: /etc/talosconfig
)");
  EXPECT_EQ(c.paths.apps, "k8s/apps");
  EXPECT_EQ(c.paths.talconfig, "t/talconfig.yaml");
  EXPECT_EQ(c.paths.clusterconfig, "t/out");
  EXPECT_EQ(c.paths.resources_template, "boot/res.yaml.j2");
  EXPECT_EQ(c.paths.crds_helmfile, "boot/crds.yaml");
  EXPECT_EQ(c.paths.apps_helmfile, "boot/apps.yaml");
  EXPECT_EQ(c.paths.cluster_kustomization, "k8s/flux/ks.yaml");
  EXPECT_EQ(c.paths.age_key, "secrets/age.key");
  EXPECT_EQ(c.paths.helmrelease, "k8s/apps/{namespace}/{name}/hr.yaml");
  EXPECT_EQ(c.paths.kubeconfig, "out/kubeconfig");
  EXPECT_EQ(c.paths.talosconfig, "/etc/talosconfig");
  EXPECT_EQ(c.abs(c.paths.talosconfig), "/etc/talosconfig");
  EXPECT_EQ(c.abs(c.paths.kubeconfig), dir / "out/kubeconfig");
}

TEST(LoadConfig, HelmreleasePathNeedsTheNamePlaceholder) {
  TempDir dir;
  auto msg = input_error([&] { load(dir, "paths:\n  helmrelease: apps/hr.yaml\n"); });
  EXPECT_THAT(msg, HasSubstr("fluxboot.yaml:2: 'paths.helmrelease' must contain the placeholder {name}"));
  msg = input_error([&] { load(dir, "paths:\n  helmrelease: apps/{ns}/{name}.yaml\n"); });
  EXPECT_THAT(msg, HasSubstr("fluxboot.yaml:2: 'paths.helmrelease' has an unknown placeholder"));
}

TEST(LoadConfig, ReadsToolsAndResolvesRelativePathsAgainstTheRoot) {
  TempDir dir;
  Config c = load(dir, R"(tools:
  talosctl: ./bin/talosctl
  kubectl: /usr/local/bin/kubectl
  helmfile: helmfile-1.0
  helm: helm4
  sops: sops
)");
  EXPECT_EQ(c.tools.talosctl, (dir / "bin/talosctl").string());
  EXPECT_EQ(c.tools.kubectl, "/usr/local/bin/kubectl");
  EXPECT_EQ(c.tools.helmfile, "helmfile-1.0");
  EXPECT_EQ(c.tools.helm, "helm4");
  EXPECT_EQ(c.tools.sops, "sops");
}

TEST(LoadConfig, ReadsScalarSettings) {
  TempDir dir;
  Config c = load(dir, R"(fieldManager: my-manager
kubeContextName: home
talos:
  parallelism: 8
flux:
  namespace: flux
  instance: main
)");
  EXPECT_EQ(c.field_manager, "my-manager");
  EXPECT_EQ(c.kube_context_name, "home");
  EXPECT_EQ(c.talos_parallelism, 8);
  EXPECT_EQ(c.flux_namespace, "flux");
  EXPECT_EQ(c.flux_instance, "main");
}

TEST(LoadConfig, ReadsTimeoutsPerStage) {
  TempDir dir;
  Config c = load(dir, R"(timeouts:
  talos: 5m
  k8s: 10m
  kubeconfig: 90s
  wait: 1h30m
  namespaces: 2m
  resources: 500ms
  crds: 120
  apps: 20m
)");
  EXPECT_EQ(c.stage_timeouts.size(), 8u);
  EXPECT_EQ(c.timeout_for("talos", 1s), 5min);
  EXPECT_EQ(c.timeout_for("kubeconfig", 1s), 90s);
  EXPECT_EQ(c.timeout_for("wait", 1s), 90min);
  EXPECT_EQ(c.timeout_for("resources", 1s), 500ms);
  EXPECT_EQ(c.timeout_for("crds", 1s), 120s);
  EXPECT_EQ(c.timeout_for("unknown", 7s), 7s);
}

TEST(LoadConfig, ReadsExplicitNodes) {
  TempDir dir;
  Config c = load(dir, R"(nodes:
  - hostname: cp-1
    address: 10.0.0.11
    controlPlane: true
    configFile: talos/out/cp-1.yaml
  - address: fd00::12
)");
  ASSERT_TRUE(c.nodes.has_value());
  ASSERT_EQ(c.nodes->size(), 2u);
  const NodeSpec& a = (*c.nodes)[0];
  EXPECT_EQ(a.hostname, "cp-1");
  EXPECT_EQ(a.address, "10.0.0.11");
  EXPECT_TRUE(a.control_plane);
  EXPECT_EQ(a.config_file, dir / "talos/out/cp-1.yaml");
  EXPECT_EQ(a.origin, "fluxboot.yaml:2");
  const NodeSpec& b = (*c.nodes)[1];
  EXPECT_EQ(b.hostname, "");
  EXPECT_EQ(b.address, "fd00::12");
  EXPECT_FALSE(b.control_plane);
  EXPECT_TRUE(b.config_file.empty());
  EXPECT_EQ(b.origin, "fluxboot.yaml:6");
}

TEST(LoadConfig, NullNodesMeansNoExplicitInventory) {
  TempDir dir;
  EXPECT_FALSE(load(dir, "nodes:\n").nodes.has_value());
}

TEST(LoadConfig, ReportsUnknownTopLevelKeyWithLineAndSuggestion) {
  TempDir dir;
  auto msg = input_error([&] { load(dir, "kubeContextName: main\nfieldmanager: x\n"); });
  EXPECT_THAT(msg, HasSubstr("fluxboot.yaml:2: unknown key 'fieldmanager' at top level, did you "
                             "mean 'fieldManager'? (known: paths, tools, fieldManager"));
}

TEST(LoadConfig, ReportsUnknownNestedKeyWithSection) {
  TempDir dir;
  auto msg = input_error([&] { load(dir, "paths:\n  apps: a\n  talconfg: t.yaml\n"); });
  EXPECT_THAT(msg, HasSubstr("fluxboot.yaml:3: unknown key 'talconfg' in 'paths', did you mean "
                             "'talconfig'? (known: apps, talconfig,"));
}

TEST(LoadConfig, DoesNotSuggestWhenNothingIsClose) {
  TempDir dir;
  auto msg = input_error([&] { load(dir, "tools:\n  terraform: tf\n"); });
  EXPECT_THAT(msg, HasSubstr("fluxboot.yaml:2: unknown key 'terraform' in 'tools' (known: talosctl,"));
  EXPECT_THAT(msg, Not(HasSubstr("did you mean")));
}

TEST(LoadConfig, ReportsUnknownKeysInNodes) {
  TempDir dir;
  auto msg = input_error([&] {
    load(dir, "nodes:\n  - address: 10.0.0.1\n    controlplane: true\n");
  });
  EXPECT_THAT(msg, HasSubstr("fluxboot.yaml:3: unknown key 'controlplane' in 'nodes[0]', did you "
                             "mean 'controlPlane'?"));
}

TEST(LoadConfig, ReportsDuplicateKeys) {
  TempDir dir;
  auto msg = input_error([&] { load(dir, "fieldManager: a\nfieldManager: b\n"); });
  EXPECT_THAT(msg, HasSubstr("fluxboot.yaml:2: duplicate key 'fieldManager' at top level"));
}

TEST(LoadConfig, ReportsWrongTypes) {
  TempDir dir;
  auto msg = input_error([&] {
    load(dir, R"(paths: [a, b]
tools:
  kubectl: {path: x}
fieldManager: ""
talos: 3
flux:
  namespace: Flux_System
nodes:
  address: 10.0.0.1
)");
  });
  EXPECT_THAT(msg, HasSubstr("(6 problems)"));
  EXPECT_THAT(msg, HasSubstr("fluxboot.yaml:1: 'paths' must be a mapping, got a list"));
  EXPECT_THAT(msg, HasSubstr("fluxboot.yaml:3: 'tools.kubectl' must be a string, got a mapping"));
  EXPECT_THAT(msg, HasSubstr("fluxboot.yaml:4: 'fieldManager' must not be empty"));
  EXPECT_THAT(msg, HasSubstr("fluxboot.yaml:5: 'talos' must be a mapping, got a scalar"));
  EXPECT_THAT(msg, HasSubstr("fluxboot.yaml:7: 'flux.namespace' must be a DNS-1123 label"));
  EXPECT_THAT(msg, HasSubstr("fluxboot.yaml:9: 'nodes' must be a list, got a mapping"));
}

TEST(LoadConfig, RejectsParallelismBelowOne) {
  TempDir dir;
  EXPECT_THAT(input_error([&] { load(dir, "talos:\n  parallelism: 0\n"); }),
              HasSubstr("fluxboot.yaml:2: 'talos.parallelism' must be an integer >= 1, got '0'"));
  EXPECT_THAT(input_error([&] { load(dir, "talos:\n  parallelism: two\n"); }),
              HasSubstr("got 'two'"));
}

TEST(LoadConfig, ReportsBadDurationsAndUnknownStages) {
  TempDir dir;
  auto msg = input_error([&] {
    load(dir, "timeouts:\n  talos: 5 minutes\n  crd: 5m\n  apps: 0s\n  wait: [1]\n");
  });
  EXPECT_THAT(msg, HasSubstr("(4 problems)"));
  EXPECT_THAT(msg, HasSubstr("fluxboot.yaml:2: invalid timeouts.talos \"5 minutes\""));
  EXPECT_THAT(msg, HasSubstr("fluxboot.yaml:3: unknown stage 'crd' in 'timeouts', did you mean "
                             "'crds'? (known: talos, k8s, kubeconfig, wait, namespaces, resources, "
                             "crds, apps)"));
  EXPECT_THAT(msg, HasSubstr("fluxboot.yaml:4: 'timeouts.apps' must be longer than zero"));
  EXPECT_THAT(msg, HasSubstr("fluxboot.yaml:5: 'timeouts.wait' must be a string, got a list"));
}

TEST(LoadConfig, ValidatesNodes) {
  TempDir dir;
  auto msg = input_error([&] {
    load(dir, R"(nodes:
  - hostname: cp-1
  - address: not_a_host
    controlPlane: maybe
  - 10.0.0.3
)");
  });
  EXPECT_THAT(msg, HasSubstr("fluxboot.yaml:2: 'nodes[0]' has no 'address'"));
  EXPECT_THAT(msg, HasSubstr("fluxboot.yaml:3: 'nodes[1].address' is not an IPv4/IPv6 address or "
                             "host name: 'not_a_host'"));
  EXPECT_THAT(msg, HasSubstr("fluxboot.yaml:4: 'nodes[1].controlPlane' must be true or false, got 'maybe'"));
  EXPECT_THAT(msg, HasSubstr("fluxboot.yaml:5: 'nodes[2]' must be a mapping with 'address', got a scalar"));
}

TEST(LoadConfig, ReportsEveryProblemAtOnce) {
  TempDir dir;
  auto msg = input_error([&] {
    load(dir, "fieldManagr: x\npaths:\n  app: a\ntimeouts:\n  talos: soon\ntalos:\n  parallelism: -1\n");
  });
  EXPECT_THAT(msg, HasSubstr("invalid configuration (4 problems):"));
  EXPECT_THAT(msg, HasSubstr("fluxboot.yaml:1: unknown key 'fieldManagr'"));
  EXPECT_THAT(msg, HasSubstr("fluxboot.yaml:3: unknown key 'app' in 'paths', did you mean 'apps'?"));
  EXPECT_THAT(msg, HasSubstr("fluxboot.yaml:5: invalid timeouts.talos"));
  EXPECT_THAT(msg, HasSubstr("fluxboot.yaml:7: 'talos.parallelism'"));
}

TEST(LoadConfig, ReportsSyntaxErrorsWithLineAndColumn) {
  TempDir dir;
  auto msg = input_error([&] { load(dir, "paths:\n  apps: [unclosed\n"); });
  EXPECT_THAT(msg, ::testing::MatchesRegex("fluxboot.yaml:[23]:[0-9]+: .*"));
}

TEST(LoadConfig, RejectsANonMappingDocumentAndSeveralDocuments) {
  TempDir dir;
  EXPECT_THAT(input_error([&] { load(dir, "- a\n- b\n"); }),
              HasSubstr("fluxboot.yaml:1: expected a mapping at the top level, got a list"));
  EXPECT_THAT(input_error([&] { load(dir, "fieldManager: a\n---\nfieldManager: b\n"); }),
              HasSubstr("fluxboot.yaml:3: fluxboot.yaml must hold a single YAML document"));
}

}  // namespace
}  // namespace fluxboot::gitops
