#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fluxboot/gitops.hpp"
#include "support/test_support.hpp"

namespace fluxboot::gitops {
namespace {

using fluxboot::testing::TempDir;
using fluxboot::testing::write_file;
using Kind = ResourcesSource::Kind;

TEST(AgeKey, EnvironmentWinsOverTheRepositoryDefault) {
  TempDir dir;
  Config c = load_config(dir.path());
  EXPECT_EQ(age_key(c, {}).path, dir / "age.key");
  EXPECT_FALSE(age_key(c, {}).from_env);
  EXPECT_EQ(age_key(c, {{"SOPS_AGE_KEY_FILE", "/keys/a.txt"}}).path, "/keys/a.txt");
  EXPECT_TRUE(age_key(c, {{"SOPS_AGE_KEY_FILE", "/keys/a.txt"}}).from_env);
  EXPECT_FALSE(age_key(c, {{"SOPS_AGE_KEY_FILE", ""}}).from_env);  // empty means unset
}

TEST(SopsDecrypt, PinsTheAgeKeyOnlyWhenItExists) {
  TempDir dir;
  Config c = load_config(dir.path());
  auto cmd = sops_decrypt_command("/bin/sops", dir / "a.sops.yaml", c, {});
  EXPECT_EQ(cmd.argv, (std::vector<std::string>{"/bin/sops", "decrypt", (dir / "a.sops.yaml").string()}));
  EXPECT_FALSE(cmd.mutating);
  EXPECT_TRUE(cmd.env.empty());  // no age.key: sops looks where it always does
  write_file(dir / "age.key", "AGE-SECRET-KEY-1X\n");
  cmd = sops_decrypt_command("/bin/sops", dir / "a.sops.yaml", c, {});
  ASSERT_EQ(cmd.env.size(), 1u);
  EXPECT_EQ(cmd.env[0], (std::pair<std::string, std::string>{"SOPS_AGE_KEY_FILE", (dir / "age.key").string()}));
}

TEST(ResourcesSource, TemplateFirstThenKustomizeThenSopsFiles) {
  TempDir dir;
  write_file(dir / "bootstrap/github-deploy-key.sops.yaml", "a: b\n");
  write_file(dir / "bootstrap/cluster-secrets.sops.yaml", "a: b\n");
  write_file(dir / "bootstrap/helmfile.yaml", "releases: []\n");
  Config c = load_config(dir.path());
  EXPECT_EQ(c.paths.resources, "bootstrap");
  auto s = resources_source(c);
  ASSERT_EQ(s.kind, Kind::Sops);
  ASSERT_EQ(s.items.size(), 2u);
  EXPECT_EQ(s.items[0].filename(), "cluster-secrets.sops.yaml");  // sorted
  EXPECT_EQ(s.describe(), "2 sops files in bootstrap");

  write_file(dir / "bootstrap/resources/kustomization.yaml", "resources: [s.yaml]\n");
  c = load_config(dir.path());
  EXPECT_EQ(c.paths.resources, "bootstrap/resources");
  EXPECT_EQ(resources_source(c).kind, Kind::Kustomize);

  write_file(dir / "bootstrap/resources.yaml.j2", "---\n");
  c = load_config(dir.path());
  EXPECT_EQ(resources_source(c).kind, Kind::Template);
  EXPECT_TRUE(c.paths.resources.empty());  // not looked for: the template is the source
}

TEST(ResourcesSource, ADirectoryOfKustomizationsIsBuiltInOrder) {
  TempDir dir;
  write_file(dir / "kubernetes/bootstrap/kustomize/personal/kustomization.yaml", "resources: []\n");
  write_file(dir / "kubernetes/bootstrap/kustomize/home-operations/kustomization.yaml", "resources: []\n");
  write_file(dir / "kubernetes/bootstrap/kustomize/README.md", "notes\n");
  Config c = load_config(dir.path());
  EXPECT_EQ(c.paths.resources, "kubernetes/bootstrap/kustomize");
  auto s = resources_source(c);
  ASSERT_EQ(s.kind, Kind::Kustomize);
  ASSERT_EQ(s.items.size(), 2u);
  EXPECT_EQ(s.describe(), "kustomize kubernetes/bootstrap/kustomize/home-operations kubernetes/bootstrap/kustomize/personal");
}

TEST(ResourcesSource, NothingFoundIsNone) {
  TempDir dir;
  write_file(dir / "bootstrap/helmfile.yaml", "releases: []\n");
  Config c = load_config(dir.path());
  EXPECT_EQ(resources_source(c).kind, Kind::None);
  EXPECT_THAT(layout_candidates(c, "paths.resources"),
              ::testing::HasSubstr("bootstrap/resources/kustomization.yaml"));
}

}  // namespace
}  // namespace fluxboot::gitops
