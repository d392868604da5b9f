// `fluxboot status` collection and output against the simulated API server.
#include "fluxboot/status.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>

#include "unit/kube/kube_fixture.hpp"

namespace fluxboot::ops {
namespace {

using kube::test::Sim;
using ::testing::HasSubstr;
using ::testing::Not;
namespace test = kube::test;
using nlohmann::json;

const json kOperatorLabels = {{"app", "flux-operator"}};
const json kControllerLabels = {{"app.kubernetes.io/part-of", "flux"}};

void seed_healthy(Sim& sim) {
  sim.register_flux_types();
  sim->put(test::pod("flux-system", "flux-operator-7d9f8c6b5-x2x9z", kOperatorLabels, true));
  sim->put(test::flux_object(
      "fluxcd.controlplane.io/v1", "FluxInstance", "flux-system", "flux", "True",
      "ReconciliationSucceeded", "Reconciliation finished in 3s",
      {{"lastAppliedRevision", "v2.4.0@sha256:0123456789abcdef0123456789abcdef"}}));
  for (const char* c :
       {"source-controller", "kustomize-controller", "helm-controller", "notification-controller"})
    sim->put(test::pod("flux-system", std::string(c) + "-5c8d-abcde", kControllerLabels, true));
  sim->put(test::flux_object(
      "source.toolkit.fluxcd.io/v1", "GitRepository", "flux-system", "flux-system", "True",
      "Succeeded", "stored artifact for revision 'refs/heads/main@sha1:4f1c2a'",
      {{"artifact",
        {{"revision", "refs/heads/main@sha1:4f1c2a9d0e8b7c6a5f4e3d2c1b0a99887766554"}}}}));
  sim->put(test::flux_object(
      "kustomize.toolkit.fluxcd.io/v1", "Kustomization", "flux-system", "cluster-apps", "True",
      "ReconciliationSucceeded", "Applied revision: refs/heads/main@sha1:4f1c2a",
      {{"lastAppliedRevision", "refs/heads/main@sha1:4f1c2a9d0e8b7c6a5f4e3d2c1b0a99887766554"}}));
  sim->put(test::flux_object("helm.toolkit.fluxcd.io/v2", "HelmRelease", "kube-system", "cilium",
                             "True", "InstallSucceeded",
                             "Helm install succeeded for release kube-system/cilium.v1",
                             {{"history", {{{"chartVersion", "1.16.5"}}}}}));
}

TEST(Status, HealthyClusterIsReadyInTableAndJson) {
  Sim sim;
  seed_healthy(sim);
  kube::Client client(sim.access());
  StatusReport report = collect_status(client, {});
  EXPECT_TRUE(report.ok());
  EXPECT_TRUE(report.problems().empty());

  const std::string table = render_status_table(report);
  EXPECT_THAT(table, HasSubstr("Cluster " + sim.url() + " (context sim)"));
  if (std::getenv("FLUXBOOT_SHOW_STATUS"))
    std::cout << table << status_json(report).dump(2) << "\n";
  EXPECT_THAT(
      table, HasSubstr("Flux Operator pods (pods -n flux-system -l app=flux-operator): 1/1 Ready"));
  EXPECT_THAT(table, HasSubstr("FluxInstance (fluxinstances -n flux-system): 1/1 Ready"));
  EXPECT_THAT(
      table,
      HasSubstr(
          "Flux controllers (pods -n flux-system -l app.kubernetes.io/part-of=flux): 4/4 Ready"));
  EXPECT_THAT(table, HasSubstr("HelmReleases (helmreleases -A): 1/1 Ready"));
  EXPECT_THAT(table, HasSubstr("v2.4.0@sha256:0123456789ab "));  // shortened revision
  EXPECT_THAT(table, HasSubstr("1.16.5"));
  EXPECT_THAT(table, HasSubstr("All 9 objects Ready."));

  json j = status_json(report);
  EXPECT_EQ(j["ready"], true);
  EXPECT_EQ(j["sections"].size(), 6u);
  EXPECT_EQ(j["sections"][1]["items"][0]["revision"],
            "v2.4.0@sha256:0123456789abcdef0123456789abcdef");
  EXPECT_EQ(j["sections"][1]["items"][0]["message"], "Reconciliation finished in 3s");
  EXPECT_TRUE(j["problems"].empty());
}

TEST(Status, BrokenClusterNamesEveryProblem) {
  Sim sim;
  seed_healthy(sim);
  sim->put(test::pod("flux-system", "flux-operator-7d9f8c6b5-x2x9z", kOperatorLabels, false));
  sim->set_condition("kustomize.toolkit.fluxcd.io/v1", "Kustomization", "flux-system",
                     "cluster-apps", "Ready", "False", "BuildFailed",
                     "kustomize build failed: accumulating resources: 'apps/missing' not found");
  sim->put(test::flux_object("helm.toolkit.fluxcd.io/v2", "HelmRelease", "cert-manager",
                             "cert-manager", "Unknown", "Progressing", "Running 'install' action"));
  json suspended = test::flux_object("helm.toolkit.fluxcd.io/v2", "HelmRelease", "media", "plex",
                                     "False", "UpgradeFailed", "old failure");
  suspended["spec"]["suspend"] = true;
  sim->put(suspended);
  kube::Client client(sim.access());
  StatusReport report = collect_status(client, {});
  EXPECT_FALSE(report.ok());

  const std::string table = render_status_table(report);
  EXPECT_THAT(
      table, HasSubstr("Flux Operator pods (pods -n flux-system -l app=flux-operator): 0/1 Ready"));
  EXPECT_THAT(table, HasSubstr("Kustomizations (kustomizations -A): 0/1 Ready"));
  EXPECT_THAT(table, HasSubstr("HelmReleases (helmreleases -A): 2/3 Ready"));
  EXPECT_THAT(table, HasSubstr("Suspended"));
  EXPECT_THAT(table, HasSubstr("3 problems:\n"));
  if (std::getenv("FLUXBOOT_SHOW_STATUS")) std::cout << table;
  EXPECT_THAT(
      table,
      HasSubstr("  pod flux-system/flux-operator-7d9f8c6b5-x2x9z: Ready=False: ContainersNotReady: "
                "manager: ImagePullBackOff: Back-off pulling image\n"));
  EXPECT_THAT(
      table,
      HasSubstr(
          "  kustomization flux-system/cluster-apps: Ready=False: BuildFailed: kustomize build "
          "failed: accumulating resources: 'apps/missing' not found\n"));
  EXPECT_THAT(
      table,
      HasSubstr("  helmrelease cert-manager/cert-manager: Ready=Unknown: Progressing: Running "
                "'install' action\n"));
  EXPECT_THAT(table, Not(HasSubstr("helmrelease media/plex:")));

  json j = status_json(report);
  EXPECT_EQ(j["ready"], false);
  EXPECT_EQ(j["problems"].size(), 3u);
  EXPECT_EQ(j["sections"][4]["ready"], false);
  EXPECT_EQ(j["sections"][4]["items"][0]["reason"], "BuildFailed");
}

TEST(Status, FluxNotInstalledIsAProblemNotACrash) {
  Sim sim;
  kube::Client client(sim.access());
  StatusReport report = collect_status(client, {});
  EXPECT_FALSE(report.ok());
  auto problems = report.problems();
  EXPECT_THAT(problems,
              ::testing::ElementsAre(
                  "Flux Operator pods: none found",
                  "FluxInstance: FluxInstance API (fluxcd.controlplane.io/v1) not installed",
                  "Flux controllers: none found"));
  const std::string table = render_status_table(report);
  EXPECT_THAT(table, HasSubstr("GitRepositories (gitrepositories -A): GitRepository API "
                               "(source.toolkit.fluxcd.io/v1) not installed"));
}

TEST(Status, MissingInstanceAndNewerOperatorLabels) {
  Sim sim;
  sim.register_flux_types();
  sim->put(test::pod("flux-system", "flux-operator-1",
                     {{"app.kubernetes.io/name", "flux-operator"}}, true));
  sim->put(test::flux_object("fluxcd.controlplane.io/v1", "FluxInstance", "flux-system", "other",
                             "True", "Ok", ""));
  kube::Client client(sim.access());
  StatusReport report = collect_status(client, {"flux-system", "flux"});
  EXPECT_EQ(report.sections[0].query,
            "pods -n flux-system -l app.kubernetes.io/name=flux-operator");
  EXPECT_TRUE(report.sections[0].ok());
  EXPECT_EQ(report.sections[1].problem, "fluxinstance flux-system/flux not found");
}

}  // namespace
}  // namespace fluxboot::ops
