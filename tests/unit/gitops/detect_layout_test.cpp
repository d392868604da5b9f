// Layout detection: each helmfile variant of docs/layouts.md found with no fluxboot.yaml, and
// fluxboot.yaml keys always winning over detection.
#include <algorithm>

#include <gtest/gtest.h>

#include "fluxboot/gitops.hpp"
#include "support/test_support.hpp"

namespace fluxboot::gitops {
namespace {

using fluxboot::testing::TempDir;
using fluxboot::testing::write_file;

const std::string kState = "releases: [{name: cilium, namespace: kube-system, chart: oci://x/cilium}]\n";

std::string origin(const Config& c, const std::string& key) {
  const LayoutItem* i = c.layout_item(key);
  return i == nullptr ? "<no item>" : i->origin;
}

TEST(DetectLayout, FindsTheExampleHelmfileDirectory) {
  TempDir dir;
  write_file(dir / "bootstrap/helmfile.d/00-crds.yaml", kState);
  write_file(dir / "bootstrap/helmfile.d/01-apps.yaml", kState);
  Config c = load_config(dir.path());
  EXPECT_EQ(c.paths.apps_helmfile, "bootstrap/helmfile.d/01-apps.yaml");
  EXPECT_EQ(c.paths.crds_helmfile, "bootstrap/helmfile.d/00-crds.yaml");
  EXPECT_EQ(origin(c, "paths.appsHelmfile"), "detected");
  EXPECT_TRUE(c.layout_item("paths.crdsHelmfile")->present);
}

TEST(DetectLayout, FindsTheSplitHelmfileDirectoryUnderKubernetesBootstrap) {
  TempDir dir;
  write_file(dir / "kubernetes/bootstrap/helmfile/apps.yaml", kState);
  write_file(dir / "kubernetes/bootstrap/helmfile/crds.yaml", kState);
  write_file(dir / "kubernetes/bootstrap/helmfile/default.yaml", "helmDefaults: {wait: true}\n");
  Config c = load_config(dir.path());
  EXPECT_EQ(c.paths.apps_helmfile, "kubernetes/bootstrap/helmfile/apps.yaml");
  EXPECT_EQ(c.paths.crds_helmfile, "kubernetes/bootstrap/helmfile/crds.yaml");
}

TEST(DetectLayout, SingleGotmplHelmfileHasNoCrdHelmfile) {
  TempDir dir;
  write_file(dir / "kubernetes/bootstrap/helmfile.yaml.gotmpl", kState);
  Config c = load_config(dir.path());
  EXPECT_EQ(c.paths.apps_helmfile, "kubernetes/bootstrap/helmfile.yaml.gotmpl");
  EXPECT_TRUE(c.paths.crds_helmfile.empty());
  const LayoutItem* crds = c.layout_item("paths.crdsHelmfile");
  ASSERT_NE(crds, nullptr);
  EXPECT_FALSE(crds->present);
  EXPECT_NE(layout_candidates(c, "paths.crdsHelmfile").find("crds/helmfile.yaml"), std::string::npos);
}

TEST(DetectLayout, SingleHelmfileWithACrdsDirectoryBesideIt) {
  TempDir dir;
  write_file(dir / "bootstrap/helmfile.yaml", kState);
  write_file(dir / "bootstrap/crds/helmfile.yaml", kState);
  Config c = load_config(dir.path());
  EXPECT_EQ(c.paths.apps_helmfile, "bootstrap/helmfile.yaml");
  EXPECT_EQ(c.paths.crds_helmfile, "bootstrap/crds/helmfile.yaml");
}

TEST(DetectLayout, SplitDirectoryWinsOverALoneHelmfileBesideIt) {
  TempDir dir;
  write_file(dir / "bootstrap/helmfile.yaml", kState);
  write_file(dir / "bootstrap/helmfile/apps.yaml", kState);
  Config c = load_config(dir.path());
  EXPECT_EQ(c.paths.apps_helmfile, "bootstrap/helmfile/apps.yaml");
}

TEST(DetectLayout, FluxbootYamlWinsOverDetection) {
  TempDir dir;
  write_file(dir / "bootstrap/helmfile/apps.yaml", kState);
  write_file(dir / "bootstrap/helmfile/crds.yaml", kState);
  write_file(dir / "deploy/apps.yaml", kState);
  write_file(dir / "fluxboot.yaml", "paths:\n  appsHelmfile: deploy/apps.yaml\n");
  Config c = load_config(dir.path());
  EXPECT_EQ(c.paths.apps_helmfile, "deploy/apps.yaml");
  EXPECT_EQ(origin(c, "paths.appsHelmfile"), "fluxboot.yaml");
  // No CRD helmfile beside deploy/apps.yaml: the configured layout has none.
  EXPECT_TRUE(c.paths.crds_helmfile.empty());
}

TEST(DetectLayout, KeepsDefaultsWhenNothingIsThere) {
  TempDir dir;
  Config c = load_config(dir.path());
  EXPECT_EQ(c.paths.apps_helmfile, "bootstrap/helmfile.d/01-apps.yaml");
  EXPECT_EQ(c.paths.crds_helmfile, "bootstrap/helmfile.d/00-crds.yaml");
  EXPECT_EQ(origin(c, "paths.appsHelmfile"), "default");
  EXPECT_FALSE(c.layout_item("paths.appsHelmfile")->present);
}

TEST(DetectLayout, FindsResourcesTemplateAndTalconfigUnderKubernetes) {
  TempDir dir;
  write_file(dir / "kubernetes/bootstrap/resources.yaml.j2", "---\n");
  write_file(dir / "kubernetes/talos/talconfig.yaml", "clusterName: x\n");
  Config c = load_config(dir.path());
  EXPECT_EQ(c.paths.resources_template, "kubernetes/bootstrap/resources.yaml.j2");
  EXPECT_EQ(c.paths.talconfig, "kubernetes/talos/talconfig.yaml");
  EXPECT_EQ(c.paths.clusterconfig, "kubernetes/talos/clusterconfig");
  EXPECT_EQ(c.paths.talosconfig, "kubernetes/talos/clusterconfig/talosconfig");
}

}  // namespace
}  // namespace fluxboot::gitops

namespace fluxboot::gitops {
namespace {

// The values lookup pattern comes from the repository's own gotmpl, relative to the gotmpl's
// directory or to the helmfile's, whichever names a directory of the repository.
TEST(DetectHelmreleasePattern, ReadFromTheRepositorysGotmpl) {
  fluxboot::testing::TempDir dir;
  using fluxboot::testing::write_file;
  write_file(dir / "bootstrap/helmfile.d/01-apps.yaml", "releases: []\n");
  write_file(dir / "bootstrap/helmfile.d/templates/values.yaml.gotmpl",
             "{{ (fromYaml (readFile (printf \"../../../kubernetes/main/apps/%s/%s/app/helmrelease.yaml\" "
             ".Release.Namespace .Release.Name))).spec.values | toYaml }}\n");
  write_file(dir / "kubernetes/main/apps/kube-system/cilium/app/helmrelease.yaml", "kind: HelmRelease\n");
  Config c = load_config(dir.path());
  EXPECT_EQ(c.paths.helmrelease, "kubernetes/main/apps/{namespace}/{name}/app/helmrelease.yaml");
  ASSERT_NE(c.layout_item("paths.helmrelease"), nullptr);
  EXPECT_EQ(c.layout_item("paths.helmrelease")->origin, "detected");
  EXPECT_EQ(c.layout_item("paths.helmrelease")->looked_for,
            std::vector<std::string>{"bootstrap/helmfile.d/templates/values.yaml.gotmpl"});
}

TEST(DetectHelmreleasePattern, RelativeToTheHelmfileAndFromARootVariable) {
  fluxboot::testing::TempDir dir;
  using fluxboot::testing::write_file;
  write_file(dir / "kubernetes/bootstrap/helmfile.yaml.gotmpl",
             "{{ $rootDir := env \"ROOT\" }}\nvalues: [{{ readFile (printf \"%s/kubernetes/apps/base/%s/%s/app/helm-release.yaml\" $rootDir .Release.Namespace .Release.Name) }}]\n");
  write_file(dir / "kubernetes/apps/base/x/y/app/helm-release.yaml", "kind: HelmRelease\n");
  Config c = load_config(dir.path());
  EXPECT_EQ(c.paths.helmrelease, "kubernetes/apps/base/{namespace}/{name}/app/helm-release.yaml");
}

TEST(DetectHelmreleasePattern, UnknownArgumentsAndExplicitSettingsAreNotGuessedAt) {
  fluxboot::testing::TempDir dir;
  using fluxboot::testing::write_file;
  write_file(dir / "bootstrap/helmfile.yaml",
             "values: ['{{ readFile (printf \"%s/kubernetes/clusters/%s/app/helmrelease.yaml\" $rootDir $clusterId) }}']\n");
  write_file(dir / "kubernetes/clusters/main/app/helmrelease.yaml", "kind: HelmRelease\n");
  EXPECT_EQ(load_config(dir.path()).paths.helmrelease, Paths{}.helmrelease);
  write_file(dir / "fluxboot.yaml", "paths:\n  helmrelease: k8s/{namespace}/{name}.yaml\n");
  EXPECT_EQ(load_config(dir.path()).paths.helmrelease, "k8s/{namespace}/{name}.yaml");
}

}  // namespace
}  // namespace fluxboot::gitops

namespace fluxboot::gitops {
namespace {

// `$path := printf ...` then `readFile $path`, and apps/ at the root: the lookup says both.
TEST(DetectHelmreleasePattern, AVariableLookupAlsoLocatesTheAppsDirectory) {
  fluxboot::testing::TempDir dir;
  using fluxboot::testing::write_file;
  write_file(dir / "bootstrap/helmfile.yaml", "releases: []\n");
  write_file(dir / "bootstrap/templates/values.yaml.gotmpl",
             "{{ $p := printf \"../../apps/%s/%s/app/helm-release.yaml\" .Release.Namespace .Release.Name }}\n"
             "{{ (fromYaml (readFile $p)).spec.values | toYaml }}\n");
  write_file(dir / "apps/kube-system/cilium/app/helm-release.yaml", "kind: HelmRelease\n");
  Config c = load_config(dir.path());
  EXPECT_EQ(c.paths.helmrelease, "apps/{namespace}/{name}/app/helm-release.yaml");
  EXPECT_EQ(c.paths.apps, "apps");
  ASSERT_NE(c.layout_item("paths.apps"), nullptr);
  EXPECT_TRUE(c.layout_item("paths.apps")->present);
  EXPECT_EQ(c.layout_item("paths.apps")->origin, "detected");
}


// ---- several clusters in one repository

const std::string kFluxKs =
    "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: cluster-apps}\n"
    "spec: {path: ./kubernetes/apps}\n";

TEST(DetectCluster, OneClusterDirectoryIsChosenAndItsPathsComeFirst) {
  TempDir dir;
  write_file(dir / "kubernetes/clusters/prod/ks.yaml", kFluxKs);
  write_file(dir / "talos/prod/talconfig.yaml", "clusterName: prod\n");
  write_file(dir / "talos/talconfig.yaml", "clusterName: other\n");
  Config c = load_config(dir.path());
  EXPECT_EQ(c.cluster, "prod");
  EXPECT_EQ(origin(c, "cluster"), "detected");
  EXPECT_EQ(c.paths.cluster_kustomization, "kubernetes/clusters/prod/ks.yaml");
  EXPECT_EQ(c.paths.talconfig, "talos/prod/talconfig.yaml");
  EXPECT_EQ(c.kube_context_name, "main");  // one cluster, not chosen: the default context name stays
  EXPECT_TRUE(c.foreign_dirs.empty());
}

TEST(DetectCluster, SeveralClustersNeedAChoiceAndTheOthersAreForeign) {
  TempDir dir;
  for (const char* n : {"main", "test", "utility"}) {
    write_file(dir / "kubernetes/clusters" / n / "apps.yaml", kFluxKs);
    write_file(dir / "talos" / n / "machineconfig.yaml.j2", "version: v1alpha1\n");
    write_file(dir / "kubernetes/apps" / n / "kube-system/cilium.yaml", kFluxKs);
  }
  write_file(dir / "kubernetes/clusters/README.md", "not a cluster\n");
  write_file(dir / "kubernetes/clusters/docs/notes.yaml", "kind: ConfigMap\n");  // no Flux Kustomization
  Config none = load_config(dir.path());
  EXPECT_TRUE(none.cluster.empty());
  EXPECT_EQ(none.clusters, (std::vector<std::string>{"main", "test", "utility"}));
  ASSERT_NE(none.layout_item("cluster"), nullptr);
  EXPECT_FALSE(none.layout_item("cluster")->present);

  Config c = load_config(dir.path(), "test");
  EXPECT_EQ(c.cluster, "test");
  EXPECT_EQ(origin(c, "cluster"), "--cluster");
  EXPECT_TRUE(c.layout_item("cluster")->present);
  EXPECT_EQ(c.paths.cluster_kustomization, "kubernetes/clusters/test/apps.yaml");
  EXPECT_EQ(c.kube_context_name, "test");
  std::vector<std::string> foreign;
  for (const auto& f : c.foreign_dirs) foreign.push_back(f.lexically_relative(dir.path()).generic_string());
  std::sort(foreign.begin(), foreign.end());
  EXPECT_EQ(foreign, (std::vector<std::string>{"kubernetes/apps/main", "kubernetes/apps/utility", "kubernetes/clusters/main",
                                               "kubernetes/clusters/utility", "talos/main", "talos/utility"}));

  Config unknown = load_config(dir.path(), "staging");
  EXPECT_FALSE(unknown.layout_item("cluster")->present);
  EXPECT_THROW(load_config(dir.path(), "../etc"), UsageError);
}

TEST(DetectCluster, ClusterEnvAndPerReleaseOverridesComeFromTheLookupTemplate) {
  TempDir dir;
  for (const char* n : {"a", "b"}) write_file(dir / "kubernetes/clusters" / n / "ks.yaml", kFluxKs);
  write_file(dir / "bootstrap/helmfile/apps.yaml", "releases: []\n");
  write_file(dir / "bootstrap/helmfile/templates/values.yaml.gotmpl",
             "{{- $o := dict \"network/envoy\" \"../../../kubernetes/apps/network/envoy/app/helmrelease.yaml\"\n"
             "   \"flux-system/flux-instance\" (printf \"../../../kubernetes/clusters/%s/fi/helmrelease.yaml\" (requiredEnv \"CLUSTER\"))\n"
             "   \"x/escape\" \"../../../../outside/helmrelease.yaml\" -}}\n"
             "{{- $p := index $o (printf \"%s/%s\" .Release.Namespace .Release.Name) | default (printf "
             "\"../../../kubernetes/apps/%s/%s/helmrelease.yaml\" .Release.Namespace .Release.Name) -}}\n"
             "{{ (fromYaml (readFile $p)).spec.values | toYaml }}\n");
  write_file(dir / "kubernetes/apps/kube-system/cilium/helmrelease.yaml", "kind: HelmRelease\n");
  Config c = load_config(dir.path(), "b");
  EXPECT_EQ(c.paths.helmrelease, "kubernetes/apps/{namespace}/{name}/helmrelease.yaml");
  EXPECT_EQ(c.cluster_env, (std::vector<std::string>{"CLUSTER"}));
  EXPECT_EQ(c.paths.helmrelease_overrides,
            (std::map<std::string, std::string>{{"network/envoy", "kubernetes/apps/network/envoy/app/helmrelease.yaml"},
                                                {"flux-system/flux-instance", "kubernetes/clusters/b/fi/helmrelease.yaml"}}))
      << "an override leaving the repository is dropped";
}

}  // namespace
}  // namespace fluxboot::gitops
