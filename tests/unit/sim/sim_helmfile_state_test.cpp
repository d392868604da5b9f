#include <gtest/gtest.h>

#include "fluxboot/error.hpp"
#include "sim/helmfile_state.hpp"
#include "support/test_support.hpp"

namespace fluxboot::sim {
namespace {

using fluxboot::testing::TempDir;
using fluxboot::testing::write_file;

std::vector<std::string> names(const std::vector<HelmfileRelease>& rs) {
  std::vector<std::string> out;
  for (const auto& r : rs) out.push_back(r.name);
  return out;
}

const char* kApps = R"(---
# yaml-language-server: $schema=https://json.schemastore.org/helmfile
helmDefaults:
  cleanupOnFail: true
  wait: true
  timeout: 600
  args: ['--no-hooks']
releases:
  - name: flux-instance
    namespace: flux-system
    chart: oci://ghcr.io/controlplaneio-fluxcd/charts/flux-instance
    version: 0.32.0
    values: ['values/flux-instance.yaml']
    needs: ['flux-system/flux-operator']
  - name: flux-operator
    namespace: flux-system
    chart: oci://ghcr.io/controlplaneio-fluxcd/charts/flux-operator
    version: 0.32.0
    needs: ['kube-system/cilium']
    wait: false
  - name: cilium
    namespace: kube-system
    chart: cilium/cilium
    version: 1.17.2
    values:
      - values/cilium.yaml
      - operator: {replicas: 1}
    set:
      - name: cluster.id
        value: "7"
    hooks:
      - events: ['postsync']
        command: kubectl
        args: [apply, --server-side, -f, networking.yaml]
        showlogs: true
)";

TEST(SimHelmfileState, ParsesReleasesHooksAndDefaults) {
  auto st = parse_helmfile_state(kApps, "/repo/bootstrap/helmfile.d/01-apps.yaml");
  ASSERT_EQ(st.releases.size(), 3u);
  EXPECT_EQ(st.dir, "/repo/bootstrap/helmfile.d");
  EXPECT_EQ(st.defaults.args, std::vector<std::string>{"--no-hooks"});
  EXPECT_EQ(st.defaults.timeout_s, 600);
  const auto& fi = st.releases[0];
  EXPECT_EQ(fi.id(), "flux-system/flux-instance");
  ASSERT_EQ(fi.values.size(), 1u);
  EXPECT_EQ(fi.values[0].file, "/repo/bootstrap/helmfile.d/values/flux-instance.yaml");
  const auto& cilium = st.releases[2];
  ASSERT_EQ(cilium.hooks.size(), 1u);
  EXPECT_EQ(cilium.hooks[0].command, "kubectl");
  EXPECT_EQ(cilium.hooks[0].events, std::vector<std::string>{"postsync"});
  EXPECT_TRUE(cilium.hooks[0].showlogs);
  EXPECT_FALSE(cilium.values[1].is_file());
  ASSERT_EQ(cilium.set.size(), 1u);
  EXPECT_EQ(cilium.set[0].second, "7");
}

TEST(SimHelmfileState, OrdersReleasesByNeeds) {
  auto st = parse_helmfile_state(kApps, "/x/h.yaml");
  EXPECT_EQ(names(order_by_needs(st.releases)), (std::vector<std::string>{"cilium", "flux-operator", "flux-instance"}));
}

TEST(SimHelmfileState, KeepsFileOrderAmongIndependentReleases) {
  auto st = parse_helmfile_state(
      "releases:\n- {name: b, namespace: n, chart: c}\n- {name: a, namespace: n, chart: c}\n"
      "- {name: c, namespace: n, chart: c, needs: [a]}\n",
      "/x/h.yaml");
  EXPECT_EQ(names(order_by_needs(st.releases)), (std::vector<std::string>{"b", "a", "c"}));
}

TEST(SimHelmfileState, NeedsMayCarryAKubeContext) {
  auto st = parse_helmfile_state(
      "releases:\n- {name: b, namespace: n, chart: c, needs: [ctx/n/a]}\n- {name: a, namespace: n, chart: c}\n", "/h.yaml");
  EXPECT_EQ(names(order_by_needs(st.releases)), (std::vector<std::string>{"a", "b"}));
}

TEST(SimHelmfileState, RejectsUnknownNeedsAndCycles) {
  auto unknown = parse_helmfile_state("releases:\n- {name: a, namespace: n, chart: c, needs: [n/zz]}\n", "/h.yaml");
  try {
    order_by_needs(unknown.releases);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("does not match any release"), std::string::npos);
  }
  auto cycle = parse_helmfile_state(
      "releases:\n- {name: a, namespace: n, chart: c, needs: [n/b]}\n- {name: b, namespace: n, chart: c, needs: [n/a]}\n",
      "/h.yaml");
  EXPECT_THROW(order_by_needs(cycle.releases), InputError);
}

TEST(SimHelmfileState, ReportsMissingFieldsAndDuplicates) {
  try {
    parse_helmfile_state("releases:\n- {namespace: n}\n- {name: a, namespace: n, chart: c}\n- {name: a, namespace: n, chart: c}\n",
                         "/h.yaml");
    FAIL();
  } catch (const InputError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("releases[0].name: required"), std::string::npos) << m;
    EXPECT_NE(m.find("releases[0].chart: required"), std::string::npos) << m;
    EXPECT_NE(m.find("duplicate release \"n/a\""), std::string::npos) << m;
  }
}

TEST(SimHelmfileState, RefusesGoTemplates) {
  EXPECT_THROW(parse_helmfile_state("releases: []\n", "/x/helmfile.yaml.gotmpl"), InputError);
  EXPECT_THROW(parse_helmfile_state("releases:\n- name: {{ .Values.x }}\n", "/x/h.yaml"), InputError);
  auto st = parse_helmfile_state("releases:\n- {name: a, namespace: n, chart: c, values: [t/values.yaml.gotmpl]}\n", "/x/h.yaml");
  try {
    merged_values(st.releases[0]);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("fake helmfile cannot render Go templates"), std::string::npos);
  }
}

TEST(SimHelmfileState, MergesValuesFilesInlineMapsAndSet) {
  TempDir dir;
  write_file(dir / "values/cilium.yaml", "operator: {replicas: 2, image: x}\ncluster: {name: home}\n");
  auto st = load_helmfile_state([&] {
    write_file(dir / "h.yaml", kApps);
    return dir / "h.yaml";
  }());
  auto v = merged_values(st.releases[2]);
  EXPECT_EQ(v["operator"]["replicas"], 1);
  EXPECT_EQ(v["operator"]["image"], "x");
  EXPECT_EQ(v["cluster"]["name"], "home");
  EXPECT_EQ(v["cluster"]["id"], 7);
  EXPECT_THROW(merged_values(st.releases[0]), InputError) << "values/flux-instance.yaml does not exist";
}

TEST(SimHelmfileState, EffectiveSettingsLetReleasesOverrideDefaults) {
  auto st = parse_helmfile_state(kApps, "/x/h.yaml");
  EXPECT_EQ(effective_settings(st, st.releases[2]).wait, true);
  EXPECT_EQ(effective_settings(st, st.releases[1]).wait, false);
  EXPECT_EQ(effective_settings(st, st.releases[1]).timeout_s, 600);
}

TEST(SimHelmfileState, MissingStateFileIsAnInputError) {
  EXPECT_THROW(load_helmfile_state("/nonexistent/helmfile.yaml"), InputError);
}

TEST(SimHelmfileState, PicksTheLocalChartByReleaseNameThenChartNameThenGeneric) {
  TempDir dir;
  for (const char* c : {"cilium", "coredns", "generic"}) write_file(dir / c / "Chart.yaml", "name: x\n");
  HelmfileRelease r;
  r.name = "cilium";
  r.chart = "oci://ghcr.io/home-operations/charts-mirror/cilium";
  EXPECT_EQ(local_chart_for(r, dir.path()), dir / "cilium");
  r.name = "dns";
  r.chart = "oci://ghcr.io/coredns/charts/coredns";
  EXPECT_EQ(local_chart_for(r, dir.path()), dir / "coredns");
  r.name = "echo";
  r.chart = "bjw-s/app-template";
  EXPECT_EQ(local_chart_for(r, dir.path()), dir / "generic");
}

TEST(SimHelmfileState, ShippedChartsCoverTheBootstrapApps) {
  const std::filesystem::path charts = FLUXBOOT_SOURCE_DIR "/src/sim/charts";
  for (const char* c : {"cilium", "coredns", "spegel", "cert-manager", "flux-operator", "flux-instance", "generic"})
    EXPECT_TRUE(std::filesystem::exists(charts / c / "Chart.yaml")) << c;
  // flux-operator templates its CRDs behind installCRDs, as the real chart.
  EXPECT_NE(fluxboot::testing::read_file(charts / "flux-operator/templates/crds.yaml").find("name: fluxinstances.fluxcd.controlplane.io"),
            std::string::npos);
  // cert-manager templates its CRDs behind crds.enabled, as the real chart does since v1.15.
  EXPECT_FALSE(std::filesystem::exists(charts / "cert-manager/crds"));
  EXPECT_NE(fluxboot::testing::read_file(charts / "cert-manager/templates/crds.yaml").find("name: certificates.cert-manager.io"),
            std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(charts / "prometheus-operator-crds/templates/crd-servicemonitors.yaml"));
}

}  // namespace
}  // namespace fluxboot::sim
