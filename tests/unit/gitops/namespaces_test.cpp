#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "fluxboot/gitops.hpp"
#include "support/test_support.hpp"
#include "unit/gitops/gitops_test_util.hpp"

namespace fluxboot::gitops {
namespace {

using fluxboot::testing::TempDir;
using fluxboot::testing::write_file;
using testing::input_error;
using ::testing::HasSubstr;
using json = nlohmann::json;

std::vector<NamespaceManifest> collect(const TempDir& dir) {
  return collect_namespaces(load_config(dir.path()));
}

TEST(Namespaces, OneBareNamespacePerDirectorySorted) {
  TempDir dir;
  write_file(dir / "kubernetes/apps/network/kustomization.yaml", "resources: []\n");
  write_file(dir / "kubernetes/apps/cert-manager/kustomization.yaml", "resources: []\n");
  write_file(dir / "kubernetes/apps/README.md", "not a namespace\n");
  write_file(dir / "kubernetes/apps/.hidden/x.yaml", "a: b\n");
  auto ns = collect(dir);
  ASSERT_EQ(ns.size(), 2u);
  EXPECT_EQ(ns[0].name, "cert-manager");
  EXPECT_EQ(ns[1].name, "network");
  EXPECT_FALSE(ns[0].from_file);
  EXPECT_EQ(json::parse(ns[0].json),
            json({{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "cert-manager"}}}}));
}

TEST(Namespaces, KeepsLabelsAndAnnotations) {
  TempDir dir;
  write_file(dir / "kubernetes/apps/kube-system/namespace.yaml", R"(---
# yaml-language-server: $schema=https://example/namespace.json
apiVersion: v1
kind: Namespace
metadata:
  name: kube-system
  labels:
    pod-security.kubernetes.io/enforce: privileged
    volsync.backube/privileged-movers: true
    numeric: 1
  annotations:
    kustomize.toolkit.fluxcd.io/prune: disabled
    empty:
)");
  auto ns = collect(dir);
  ASSERT_EQ(ns.size(), 1u);
  EXPECT_TRUE(ns[0].from_file);
  json j = json::parse(ns[0].json);
  EXPECT_EQ(j["metadata"]["labels"]["pod-security.kubernetes.io/enforce"], "privileged");
  EXPECT_EQ(j["metadata"]["labels"]["volsync.backube/privileged-movers"], "true");
  EXPECT_EQ(j["metadata"]["labels"]["numeric"], "1");
  EXPECT_EQ(j["metadata"]["annotations"]["kustomize.toolkit.fluxcd.io/prune"], "disabled");
  EXPECT_EQ(j["metadata"]["annotations"]["empty"], "");
}

TEST(Namespaces, TakesTheNamespaceDocumentOfAMultiDocumentFile) {
  TempDir dir;
  write_file(dir / "kubernetes/apps/flux-system/namespace.yaml", R"(---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata:
  name: alert-manager
  namespace: flux-system
spec:
  type: alertmanager
---
apiVersion: v1
kind: Namespace
metadata:
  name: flux-system
  labels:
    kustomize.toolkit.fluxcd.io/prune: disabled
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata:
  name: alert-manager
)");
  auto ns = collect(dir);
  ASSERT_EQ(ns.size(), 1u);
  EXPECT_TRUE(ns[0].from_file);
  json j = json::parse(ns[0].json);
  EXPECT_EQ(j["metadata"]["name"], "flux-system");
  EXPECT_EQ(j["metadata"]["labels"]["kustomize.toolkit.fluxcd.io/prune"], "disabled");
  EXPECT_FALSE(j["metadata"].contains("annotations"));
}

TEST(Namespaces, FileWithoutNamespaceDocumentGivesABareNamespace) {
  TempDir dir;
  write_file(dir / "kubernetes/apps/media/namespace.yaml", "kind: Alert\nmetadata: {name: a}\n");
  auto ns = collect(dir);
  ASSERT_EQ(ns.size(), 1u);
  EXPECT_FALSE(ns[0].from_file);
  EXPECT_EQ(json::parse(ns[0].json)["metadata"], json({{"name", "media"}}));
}

TEST(Namespaces, ReportsNameMismatchWithFileAndLine) {
  TempDir dir;
  write_file(dir / "kubernetes/apps/network/namespace.yaml",
             "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: networking\n");
  auto msg = input_error([&] { collect(dir); });
  EXPECT_THAT(msg, HasSubstr("kubernetes/apps/network/namespace.yaml:5: Namespace name "
                             "'networking' does not match its directory 'network'"));
}

// What go-yaml and the API would refuse is refused here, at the right line, before any apply.
TEST(Namespaces, RefusesDuplicateKeysNulBytesAndSymlinkLoops) {
  TempDir dir;
  write_file(dir / "kubernetes/apps/media/namespace.yaml",
             "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: media\n  labels:\n    a: b\n    a: c\n");
  EXPECT_THAT(input_error([&] { collect(dir); }),
              HasSubstr("kubernetes/apps/media/namespace.yaml:8:5: mapping key \"a\" already defined"));
  write_file(dir / "kubernetes/apps/media/namespace.yaml",
             std::string("---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: me\0dia\n", 60));
  EXPECT_THAT(input_error([&] { collect(dir); }), HasSubstr("namespace.yaml:5: holds a NUL byte"));
  std::filesystem::remove(dir / "kubernetes/apps/media/namespace.yaml");
  std::filesystem::create_symlink(dir / "kubernetes/apps/media/namespace.yaml",
                                  dir / "kubernetes/apps/media/namespace.yaml");
  EXPECT_THAT(input_error([&] { collect(dir); }), HasSubstr("a symlink loop"));
}

// Aliases are bounded in every repository YAML read through the gitops module, in linear time: a
// billion-laughs prefix and a recursive alias are refused with their line; a large plain document
// (no aliases) is not refused for its size.
TEST(Namespaces, AliasBombsAndRecursiveAliasesAreRefusedQuicklyAndPlainBigFilesAreNot) {
  TempDir dir;
  std::string bomb = "x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  for (int i = 1; i < 10; ++i) {
    bomb += "x" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int k = 0; k < 9; ++k) bomb += std::string(k ? ", " : "") + "*a" + std::to_string(i - 1);
    bomb += "]\n";
  }
  write_file(dir / "kubernetes/apps/media/namespace.yaml",
             "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: media\n" + bomb);
  EXPECT_THAT(input_error([&] { collect(dir); }), HasSubstr("excessive aliasing"));
  write_file(dir / "kubernetes/apps/media/namespace.yaml",
             "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: media\nloop: &l [1, *l]\n");
  EXPECT_THAT(input_error([&] { collect(dir); }), HasSubstr("namespace.yaml:5:7: recursive alias"));
  std::string big = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: media\n  labels:\n";
  for (int i = 0; i < 150000; ++i) big += "    k" + std::to_string(i) + ": v\n";
  write_file(dir / "kubernetes/apps/media/namespace.yaml", big);
  EXPECT_NO_THROW(collect(dir));
}

TEST(Namespaces, ReportsInvalidDirectoryNamesAndBadFilesTogether) {
  TempDir dir;
  std::filesystem::create_directories(dir / "kubernetes/apps/Media_Apps");
  write_file(dir / "kubernetes/apps/ok/namespace.yaml",
             "kind: Namespace\nmetadata:\n  name: ok\n  labels: [a]\n");
  write_file(dir / "kubernetes/apps/broken/namespace.yaml", "kind: Namespace\nmetadata: {name: broken\n");
  write_file(dir / "kubernetes/apps/twice/namespace.yaml",
             "kind: Namespace\nmetadata: {name: twice}\n---\nkind: Namespace\nmetadata: {name: twice}\n");
  auto msg = input_error([&] { collect(dir); });
  EXPECT_THAT(msg, HasSubstr("invalid namespaces under kubernetes/apps (4 problems)"));
  EXPECT_THAT(msg, HasSubstr("kubernetes/apps/Media_Apps/: directory name 'Media_Apps' is not a "
                             "valid namespace name"));
  EXPECT_THAT(msg, HasSubstr("kubernetes/apps/ok/namespace.yaml:4: metadata.labels must be a "
                             "mapping, got a list"));
  EXPECT_THAT(msg, HasSubstr("kubernetes/apps/broken/namespace.yaml:"));
  EXPECT_THAT(msg, HasSubstr("kubernetes/apps/twice/namespace.yaml:4: a second Namespace document "
                             "(the first is at line 1)"));
}

TEST(Namespaces, MissingAppsDirectoryIsAnError) {
  TempDir dir;
  EXPECT_THAT(input_error([&] { collect(dir); }),
              HasSubstr("kubernetes/apps: apps directory not found"));
}

TEST(Namespaces, HonoursPathsApps) {
  TempDir dir;
  write_file(dir / "fluxboot.yaml", "paths:\n  apps: k8s/apps\n");
  std::filesystem::create_directories(dir / "k8s/apps/default");
  auto ns = collect(dir);
  ASSERT_EQ(ns.size(), 1u);
  EXPECT_EQ(ns[0].name, "default");
}

}  // namespace
}  // namespace fluxboot::gitops

namespace fluxboot::gitops {
namespace {

// kustomize's namespace transformer renames Namespace objects to the kustomization's namespace:
// a placeholder name (`_`) in namespace.yaml is what onedr0p-style repositories write.
TEST(Namespaces, KustomizationNamespaceRenamesAPlaceholderNamespace) {
  TempDir dir;
  write_file(dir / "kubernetes/apps/media/kustomization.yaml",
             "namespace: media\nresources: [./namespace.yaml]\n");
  write_file(dir / "kubernetes/apps/media/namespace.yaml",
             "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: _\n  labels:\n"
             "    kustomize.toolkit.fluxcd.io/prune: disabled\n");
  auto ns = collect(dir);
  ASSERT_EQ(ns.size(), 1u);
  EXPECT_EQ(ns[0].name, "media");
  EXPECT_TRUE(ns[0].from_file);
  auto j = json::parse(ns[0].json);
  EXPECT_EQ(j["metadata"]["name"], "media");
  EXPECT_EQ(j["metadata"]["labels"]["kustomize.toolkit.fluxcd.io/prune"], "disabled");
}

TEST(Namespaces, KustomizationNamespaceAloneDefinesTheNamespace) {
  TempDir dir;
  write_file(dir / "kubernetes/apps/observability/kustomization.yaml", "namespace: monitoring\n");
  auto ns = collect(dir);
  ASSERT_EQ(ns.size(), 1u);
  EXPECT_EQ(ns[0].name, "monitoring");
}

TEST(Namespaces, InvalidKustomizationNamespaceIsReportedWithFileAndLine) {
  TempDir dir;
  write_file(dir / "kubernetes/apps/media/kustomization.yaml", "resources: []\nnamespace: Media_Apps\n");
  auto msg = input_error([&] { collect(dir); });
  EXPECT_THAT(msg, HasSubstr("kubernetes/apps/media/kustomization.yaml:2: namespace 'Media_Apps'"));
}

}  // namespace
}  // namespace fluxboot::gitops
