#include "fluxboot/helmfile_state.hpp"

#include <gtest/gtest.h>

#include "support/test_support.hpp"

using fluxboot::values::merge_helm_values;
using fluxboot::values::read_release_specs;
using nlohmann::json;

TEST(HelmfileState, MergesValuesEntriesInOrderAsHelmDoes) {
  fluxboot::testing::TempDir tmp;
  fluxboot::testing::write_file(tmp / "a.yaml",
                                "replicas: 1\nimage: {tag: v1, pull: Always}\nlist: [1, 2]\n");
  fluxboot::testing::write_file(tmp / "b.yaml", "image: {tag: v2}\nlist: [3]\n");
  fluxboot::testing::write_file(tmp / "state.yaml", R"(releases:
  - name: cilium
    namespace: kube-system
    chart: oci://ghcr.io/cilium/cilium
    version: 1.17.2
    values: [a.yaml, b.yaml, {extra: "1.10"}]
  - name: coredns
    namespace: kube-system
    chart: oci://x/coredns
    values: [templates/values.yaml.gotmpl]
)");
  auto specs = read_release_specs(tmp / "state.yaml");
  ASSERT_EQ(specs.size(), 2u);
  EXPECT_EQ(specs[0].name, "cilium");
  EXPECT_EQ(specs[0].version, "1.17.2");
  ASSERT_TRUE(specs[0].values.has_value());
  EXPECT_EQ(
      *specs[0].values,
      json::parse(
          R"({"replicas":1,"image":{"tag":"v2","pull":"Always"},"list":[3],"extra":"1.10"})"));
  // A Go template can only be rendered by helmfile: unknown, so the stage will sync.
  EXPECT_FALSE(specs[1].values.has_value());
}

TEST(HelmfileState, NullDeletesAKeyLikeHelm) {
  json into = json::parse(R"({"a":{"b":1,"c":2},"d":3})");
  merge_helm_values(into, json::parse(R"({"a":{"b":null},"d":null})"));
  EXPECT_EQ(into, json::parse(R"({"a":{"c":2}})"));
}
