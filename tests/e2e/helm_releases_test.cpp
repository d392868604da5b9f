// Helm's release records under both helm generations: the second `fluxboot all` skips the sync
// (the up-to-date check reads Helm's release Secrets, not helm's CLI output), and a release left
// pending-upgrade by an interrupted helm is rolled back before the sync instead of blocking it
// with "another operation is in progress".
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "e2e/e2e_support.hpp"
#include "fluxboot/redact.hpp"

namespace {

using fluxboot::testing::RunResult;
using fluxboot::testing::e2e::helm_major;
using fluxboot::testing::e2e::SimCluster;
using fluxboot::testing::e2e::tools_installed;
using json = nlohmann::json;

std::string describe(const RunResult& r) {
  auto tail = [](const std::string& s) { return s.size() <= 3000 ? s : "…" + s.substr(s.size() - 3000); };
  return "exit " + std::to_string(r.exit_code) + "\n--- stdout ---\n" + tail(r.out) + "\n--- stderr ---\n" + tail(r.err);
}

// (revision, status) of every record of kube-system/spegel.
std::vector<std::pair<int, std::string>> spegel_records(const SimCluster& sim) {
  auto r = sim.kubectl({"get", "secrets", "-n", "kube-system", "-l", "owner=helm,name=spegel", "-o", "json"});
  std::vector<std::pair<int, std::string>> out;
  auto doc = json::parse(r.out, nullptr, false);
  if (!doc.is_object()) return out;
  for (const auto& s : doc["items"])
    out.emplace_back(std::stoi(s["metadata"]["labels"].value("version", "0")), s["metadata"]["labels"].value("status", ""));
  std::sort(out.begin(), out.end());
  return out;
}

TEST(HelmReleases, ASecondRunSkipsTheSyncAndAStuckReleaseIsRolledBack) {
  if (!tools_installed()) GTEST_SKIP() << "real kubectl/helm not installed (.ci/install-deps)";
  SimCluster sim;
  ASSERT_TRUE(sim.up_ok()) << describe(sim.up_result());
  auto first = sim.fluxboot({"all"});
  ASSERT_EQ(first.exit_code, 0) << describe(first);
  auto second = sim.fluxboot({"all"});
  ASSERT_EQ(second.exit_code, 0) << describe(second);
  EXPECT_NE(second.err.find("already up to date (sync skipped)"), std::string::npos)
      << "helm " << helm_major() << ": " << describe(second);

  // Leave spegel as an interrupted `helm upgrade` does: a newer revision in pending-upgrade.
  auto records = spegel_records(sim);
  ASSERT_FALSE(records.empty());
  const int deployed = records.back().first;
  ASSERT_EQ(records.back().second, "deployed");
  const int stuck = deployed + 1;
  // A real pending-upgrade record carries the manifest helm was applying: the deployed one here.
  auto manifest = fluxboot::testing::run({(sim.sim_dir() / "bin/helm").string(), "--kubeconfig", sim.kubeconfig().string(),
                                          "get", "manifest", "spegel", "--namespace", "kube-system"},
                                         sim.env(), sim.repo(), {}, 60);
  ASSERT_EQ(manifest.exit_code, 0) << describe(manifest);
  json release = {{"name", "spegel"},
                  {"namespace", "kube-system"},
                  {"version", stuck},
                  {"info", {{"status", "pending-upgrade"}, {"description", "Preparing upgrade"}}},
                  {"chart", {{"metadata", {{"name", "spegel"}, {"version", "0.1.1"}, {"apiVersion", "v2"}}}}},
                  {"config", json::object()},
                  {"manifest", manifest.out}};
  // Helm reads records without gzip too: base64 (Kubernetes) of base64 (Helm) of the JSON.
  json secret = {{"apiVersion", "v1"},
                 {"kind", "Secret"},
                 {"type", "helm.sh/release.v1"},
                 {"metadata",
                  {{"name", "sh.helm.release.v1.spegel.v" + std::to_string(stuck)},
                   {"namespace", "kube-system"},
                   {"labels", {{"owner", "helm"}, {"name", "spegel"}, {"status", "pending-upgrade"},
                               {"version", std::to_string(stuck)}}}}},
                 {"data", {{"release", fluxboot::base64_encode(fluxboot::base64_encode(release.dump()))}}}};
  auto put = fluxboot::testing::run({(sim.sim_dir() / "bin/kubectl").string(), "--kubeconfig", sim.kubeconfig().string(),
                                     "create", "-f", "-"},
                                    sim.env(), sim.repo(), secret.dump(), 60);
  ASSERT_EQ(put.exit_code, 0) << describe(put);

  auto plan = sim.fluxboot({"all", "--dry-run"});
  ASSERT_EQ(plan.exit_code, 0) << describe(plan);
  EXPECT_NE(plan.err.find("kube-system/spegel is stuck in pending-upgrade (revision " + std::to_string(stuck) +
                          "): would be rolled back to revision " + std::to_string(deployed)),
            std::string::npos)
      << describe(plan);
  EXPECT_EQ(spegel_records(sim).back().second, "pending-upgrade");  // a dry run changes nothing

  auto fixed = sim.fluxboot({"all"});
  ASSERT_EQ(fixed.exit_code, 0) << "helm " << helm_major() << ": " << describe(fixed);
  EXPECT_NE(fixed.err.find("kube-system/spegel was stuck in pending-upgrade (revision " + std::to_string(stuck) +
                           ", an interrupted helm): rolled back to revision " + std::to_string(deployed)),
            std::string::npos)
      << describe(fixed);
  auto after = spegel_records(sim);
  ASSERT_FALSE(after.empty());
  EXPECT_GT(after.back().first, stuck);
  EXPECT_EQ(after.back().second, "deployed");
  // (Helm keeps the interrupted record as it was; what matters is that the newest is deployed.)
}

}  // namespace

namespace {

// A common setting (cert-manager's ServiceMonitor) needs a CRD-backed kind at install time. Without
// its CRDs, helm's own "no matches for kind" is the message, naming the release, with none of
// helmfile's ARGS block. With prometheus-operator-crds in the CRD helmfile, the crds stage applies
// those CRDs (and cert-manager's templated ones) with Helm's ownership metadata, helm adopts them
// instead of refusing them, and the ServiceMonitor exists.
TEST(HelmReleases, CrdBackedKindsInValuesInstallOnceTheCrdHelmfileProvidesThem) {
  if (!tools_installed()) GTEST_SKIP() << "real kubectl/helm not installed (.ci/install-deps)";
  SimCluster sim;
  ASSERT_TRUE(sim.up_ok()) << describe(sim.up_result());
  const auto values = sim.repo() / "kubernetes/apps/cert-manager/cert-manager/app/helm/values.yaml";
  std::string text = fluxboot::testing::read_file(values);
  const std::string off = "  servicemonitor:\n    enabled: false";
  ASSERT_NE(text.find(off), std::string::npos) << text;
  text.replace(text.find(off), off.size(), "  servicemonitor:\n    enabled: true");
  fluxboot::testing::write_file(values, text);

  auto missing = sim.fluxboot({"all"});
  EXPECT_EQ(missing.exit_code, 1) << describe(missing);
  EXPECT_NE(missing.err.find("failed on release cert-manager (exit"), std::string::npos) << describe(missing);
  EXPECT_NE(missing.err.find("no matches for kind \"ServiceMonitor\" in version \"monitoring.coreos.com/v1\""),
            std::string::npos)
      << describe(missing);
  EXPECT_EQ(missing.err.find("(4 bytes)"), std::string::npos) << "helm's argv leaked into the message\n"
                                                              << describe(missing);

  const auto crds = sim.repo() / "bootstrap/helmfile.d/00-crds.yaml";
  fluxboot::testing::write_file(crds, fluxboot::testing::read_file(crds) +
                                          "\n  - name: prometheus-operator-crds\n    namespace: observability\n"
                                          "    chart: oci://ghcr.io/prometheus-community/charts/prometheus-operator-crds\n"
                                          "    version: 20.0.0\n");
  auto fixed = sim.fluxboot({"all", "--from", "crds"});
  ASSERT_EQ(fixed.exit_code, 0) << describe(fixed);
  EXPECT_NE(fixed.err.find("labelled for Helm to adopt"), std::string::npos) << describe(fixed);
  auto sm = sim.kubectl({"get", "servicemonitors.monitoring.coreos.com", "-n", "cert-manager", "cert-manager", "-o", "json"});
  ASSERT_EQ(sm.exit_code, 0) << describe(sm);
  auto crd = sim.kubectl({"get", "crd", "certificates.cert-manager.io", "-o", "json"});
  ASSERT_EQ(crd.exit_code, 0) << describe(crd);
  auto meta = json::parse(crd.out)["metadata"];
  EXPECT_EQ(meta["labels"].value("app.kubernetes.io/managed-by", ""), "Helm");
  EXPECT_EQ(meta["annotations"].value("meta.helm.sh/release-name", ""), "cert-manager");
  auto again = sim.fluxboot({"all"});
  ASSERT_EQ(again.exit_code, 0) << describe(again);
  EXPECT_NE(again.err.find("already up to date (sync skipped)"), std::string::npos) << describe(again);
}

}  // namespace
