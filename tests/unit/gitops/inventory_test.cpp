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

constexpr const char* kTalconfig = R"(clusterName: home
endpoint: https://10.0.0.10:6443
nodes:
  - hostname: cp-1
    ipAddress: 10.0.0.11
    controlPlane: true
  - hostname: cp-2
    ipAddress: 10.0.0.12, 10.0.1.12
    controlPlane: true
  - hostname: worker-1
    ipAddress: 10.0.0.21
    controlPlane: false
)";

constexpr const char* kTalosconfig = R"(context: home
contexts:
  home:
    endpoints:
      - 10.0.0.11
      - 10.0.0.12:50000
    nodes:
      - 10.0.0.11
      - 10.0.0.12
      - 10.0.0.21
    ca: Y2E=
  other:
    endpoints: [192.168.1.1]
)";

void machine_configs(const TempDir& dir, std::initializer_list<const char*> names) {
  for (const char* n : names) write_file(dir / "talos/clusterconfig" / n, "version: v1alpha1\n");
}

TEST(Inventory, ReadsTalhelperTalconfig) {
  TempDir dir;
  write_file(dir / "talos/talconfig.yaml", kTalconfig);
  machine_configs(dir, {"home-cp-1.yaml", "home-cp-2.yaml", "home-worker-1.yaml"});
  Config c = load_config(dir.path());
  auto nodes = load_inventory(c, {});
  ASSERT_EQ(nodes.size(), 3u);
  EXPECT_EQ(nodes[0].hostname, "cp-1");
  EXPECT_EQ(nodes[0].address, "10.0.0.11");
  EXPECT_TRUE(nodes[0].control_plane);
  EXPECT_EQ(nodes[0].config_file, dir / "talos/clusterconfig/home-cp-1.yaml");
  EXPECT_EQ(nodes[0].origin, "talos/talconfig.yaml:4");
  EXPECT_EQ(nodes[1].address, "10.0.0.12");  // first of a comma-separated list
  EXPECT_FALSE(nodes[2].control_plane);
  EXPECT_EQ(cluster_name(c), "home");
}

TEST(Inventory, ClusterNameIsEmptyWithoutTalconfig) {
  TempDir dir;
  EXPECT_EQ(cluster_name(load_config(dir.path())), "");
}

TEST(Inventory, TalconfigWinsOverTalosconfig) {
  TempDir dir;
  write_file(dir / "talos/talconfig.yaml", kTalconfig);
  write_file(dir / "talosconfig", "context: x\ncontexts: {x: {endpoints: [10.9.9.9]}}\n");
  machine_configs(dir, {"home-cp-1.yaml", "home-cp-2.yaml", "home-worker-1.yaml"});
  auto nodes = load_inventory(load_config(dir.path()), dir / "talosconfig");
  ASSERT_EQ(nodes.size(), 3u);
  EXPECT_EQ(nodes[0].hostname, "cp-1");
}

TEST(Inventory, ReportsMissingMachineConfigsWithTheTalhelperHint) {
  TempDir dir;
  write_file(dir / "talos/talconfig.yaml", kTalconfig);
  machine_configs(dir, {"home-cp-1.yaml"});
  auto msg = input_error([&] { load_inventory(load_config(dir.path()), {}); });
  EXPECT_THAT(msg, HasSubstr("invalid node inventory (2 problems)"));
  EXPECT_THAT(msg, HasSubstr("talos/talconfig.yaml:7: node 'cp-2': machine config "
                             "talos/clusterconfig/home-cp-2.yaml not found (run talhelper genconfig?)"));
  EXPECT_THAT(msg, HasSubstr("talos/talconfig.yaml:10: node 'worker-1': machine config "
                             "talos/clusterconfig/home-worker-1.yaml not found"));
}

TEST(Inventory, ReportsTalconfigShapeProblems) {
  TempDir dir;
  write_file(dir / "talos/talconfig.yaml", R"(nodes:
  - hostname: a
  - ipAddress: 10.0.0.2
    controlPlane: sometimes
  - hostname: c
    ipAddress: 10.0.0.256
)");
  auto msg = input_error([&] { load_inventory(load_config(dir.path()), {}); });
  EXPECT_THAT(msg, HasSubstr("talos/talconfig.yaml:1: no clusterName"));
  EXPECT_THAT(msg, HasSubstr("talos/talconfig.yaml:2: nodes[0] ('a') has no ipAddress"));
  EXPECT_THAT(msg, HasSubstr("talos/talconfig.yaml:3: nodes[1] has no hostname"));
  EXPECT_THAT(msg, HasSubstr("talos/talconfig.yaml:4: nodes[1].controlPlane must be true or false"));
  EXPECT_THAT(msg, HasSubstr("talos/talconfig.yaml:5: node 'c': '10.0.0.256' is not an IPv4/IPv6 "
                             "address or host name"));
  EXPECT_THAT(msg, HasSubstr("no control-plane node in the inventory (talos/talconfig.yaml)"));
}

TEST(Inventory, ReportsTalconfigSyntaxErrorWithLine) {
  TempDir dir;
  write_file(dir / "talos/talconfig.yaml", "clusterName: home\nnodes: [\n");
  auto msg = input_error([&] { load_inventory(load_config(dir.path()), {}); });
  EXPECT_THAT(msg, ::testing::StartsWith("talos/talconfig.yaml:"));
}

TEST(Inventory, ReportsDuplicateAddressesAndHostnames) {
  TempDir dir;
  write_file(dir / "talos/talconfig.yaml", R"(clusterName: home
nodes:
  - hostname: cp-1
    ipAddress: 10.0.0.11
    controlPlane: true
  - hostname: cp-1
    ipAddress: 10.0.0.11
)");
  machine_configs(dir, {"home-cp-1.yaml"});
  auto msg = input_error([&] { load_inventory(load_config(dir.path()), {}); });
  EXPECT_THAT(msg, HasSubstr("talos/talconfig.yaml:6: node 'cp-1': duplicate address 10.0.0.11 "
                             "(also at talos/talconfig.yaml:3)"));
  EXPECT_THAT(msg, HasSubstr("talos/talconfig.yaml:6: duplicate hostname 'cp-1'"));
}

TEST(Inventory, ExplicitNodesWinAndDeriveConfigFilesFromTheClusterName) {
  TempDir dir;
  write_file(dir / "talos/talconfig.yaml", kTalconfig);
  write_file(dir / "fluxboot.yaml", R"(nodes:
  - hostname: cp-1
    address: cp-1.home.arpa
    controlPlane: true
  - address: 10.0.0.40
    configFile: machines/extra.yaml
)");
  machine_configs(dir, {"home-cp-1.yaml"});
  write_file(dir / "machines/extra.yaml", "version: v1alpha1\n");
  auto nodes = load_inventory(load_config(dir.path()), {});
  ASSERT_EQ(nodes.size(), 2u);
  EXPECT_EQ(nodes[0].address, "cp-1.home.arpa");
  EXPECT_EQ(nodes[0].config_file, dir / "talos/clusterconfig/home-cp-1.yaml");
  EXPECT_EQ(nodes[1].config_file, dir / "machines/extra.yaml");
  EXPECT_FALSE(nodes[1].control_plane);
}

TEST(Inventory, ExplicitNodesWithoutHostnameFindTheirConfigByAddress) {
  TempDir dir;
  write_file(dir / "fluxboot.yaml", "nodes:\n  - address: 10.0.0.11\n    controlPlane: true\n");
  machine_configs(dir, {"home-10.0.0.11.yaml", "home-10.0.0.111.yaml"});
  auto nodes = load_inventory(load_config(dir.path()), {});
  ASSERT_EQ(nodes.size(), 1u);
  EXPECT_EQ(nodes[0].config_file, dir / "talos/clusterconfig/home-10.0.0.11.yaml");
}

TEST(Inventory, ExplicitNodeWithoutConfigFileOrClusterNameIsAnError) {
  TempDir dir;
  write_file(dir / "fluxboot.yaml", R"(nodes:
  - hostname: cp-1
    address: 10.0.0.11
    controlPlane: true
)");
  auto msg = input_error([&] { load_inventory(load_config(dir.path()), {}); });
  EXPECT_THAT(msg, HasSubstr("fluxboot.yaml:2: node 'cp-1': no machine config for address "
                             "10.0.0.11 in talos/clusterconfig"));
  EXPECT_THAT(msg, HasSubstr("the cluster name is unknown"));
  EXPECT_THAT(msg, HasSubstr("set configFile"));
}

TEST(Inventory, ExplicitNodesNeedAControlPlaneAndExistingFiles) {
  TempDir dir;
  write_file(dir / "fluxboot.yaml", R"(nodes:
  - address: 10.0.0.11
    configFile: missing.yaml
)");
  auto msg = input_error([&] { load_inventory(load_config(dir.path()), {}); });
  EXPECT_THAT(msg, HasSubstr("fluxboot.yaml:2: node '10.0.0.11': machine config missing.yaml not found"));
  EXPECT_THAT(msg, Not(HasSubstr("talhelper")));
  EXPECT_THAT(msg, HasSubstr("no control-plane node in the inventory (fluxboot.yaml)"));
}

TEST(Inventory, EmptyExplicitNodeListIsAnError) {
  TempDir dir;
  write_file(dir / "fluxboot.yaml", "nodes: []\n");
  EXPECT_THAT(input_error([&] { load_inventory(load_config(dir.path()), {}); }),
              HasSubstr("fluxboot.yaml: no Talos nodes in the inventory"));
}

TEST(Inventory, FallsBackToTheTalosconfigContext) {
  TempDir dir;
  write_file(dir / "talos/clusterconfig/talosconfig", kTalosconfig);
  machine_configs(dir, {"home-10.0.0.11.yaml", "home-10.0.0.12.yaml", "10.0.0.21.yaml"});
  Config c = load_config(dir.path());
  auto nodes = load_inventory(c, c.abs(c.paths.talosconfig));
  ASSERT_EQ(nodes.size(), 3u);
  EXPECT_EQ(nodes[0].address, "10.0.0.11");
  EXPECT_EQ(nodes[0].hostname, "");
  EXPECT_TRUE(nodes[0].control_plane);
  EXPECT_TRUE(nodes[1].control_plane);   // listed as endpoint 10.0.0.12:50000
  EXPECT_FALSE(nodes[2].control_plane);
  EXPECT_EQ(nodes[2].config_file, dir / "talos/clusterconfig/10.0.0.21.yaml");
  EXPECT_EQ(nodes[0].origin, "talos/clusterconfig/talosconfig:8");
}

TEST(Inventory, TalosconfigWithoutNodesUsesEndpoints) {
  TempDir dir;
  write_file(dir / "talosconfig", "context: a\ncontexts:\n  a:\n    endpoints: [10.0.0.5]\n");
  machine_configs(dir, {"home-10.0.0.5.yaml"});
  auto nodes = load_inventory(load_config(dir.path()), dir / "talosconfig");
  ASSERT_EQ(nodes.size(), 1u);
  EXPECT_EQ(nodes[0].address, "10.0.0.5");
  EXPECT_TRUE(nodes[0].control_plane);
}

TEST(Inventory, TalosconfigWithVipEndpointTakesTheFirstNodeAsController) {
  TempDir dir;
  write_file(dir / "talosconfig",
             "context: a\ncontexts:\n  a:\n    endpoints: [10.0.0.100]\n    nodes: [10.0.0.5, 10.0.0.6]\n");
  machine_configs(dir, {"10.0.0.5.yaml", "10.0.0.6.yaml"});
  auto nodes = load_inventory(load_config(dir.path()), dir / "talosconfig");
  ASSERT_EQ(nodes.size(), 2u);
  EXPECT_TRUE(nodes[0].control_plane);
  EXPECT_FALSE(nodes[1].control_plane);
}

TEST(Inventory, TalosconfigNodeWithoutMachineConfigIsNamed) {
  TempDir dir;
  write_file(dir / "talosconfig", kTalosconfig);
  machine_configs(dir, {"home-10.0.0.11.yaml", "a-10.0.0.12.yaml", "b-10.0.0.12.yaml"});
  auto msg = input_error([&] { load_inventory(load_config(dir.path()), dir / "talosconfig"); });
  EXPECT_THAT(msg, HasSubstr("talosconfig:9: node '10.0.0.12': several machine configs match "
                             "address 10.0.0.12: talos/clusterconfig/a-10.0.0.12.yaml, "
                             "talos/clusterconfig/b-10.0.0.12.yaml"));
  EXPECT_THAT(msg, HasSubstr("talosconfig:10: node '10.0.0.21': no machine config for address "
                             "10.0.0.21 in talos/clusterconfig (looked for 10.0.0.21.yaml and "
                             "*-10.0.0.21.yaml)"));
}

TEST(Inventory, TalosconfigShapeErrors) {
  TempDir dir;
  write_file(dir / "talosconfig", "context: missing\ncontexts:\n  a: {}\n");
  EXPECT_THAT(input_error([&] { load_inventory(load_config(dir.path()), dir / "talosconfig"); }),
              HasSubstr("talosconfig:1: context 'missing' is not defined under 'contexts'"));
  write_file(dir / "talosconfig", "context: a\ncontexts:\n  a:\n    ca: x\n");
  EXPECT_THAT(input_error([&] { load_inventory(load_config(dir.path()), dir / "talosconfig"); }),
              HasSubstr("talosconfig:4: context 'a' lists neither nodes nor endpoints"));
}

TEST(Inventory, NoSourceAtAllIsAnError) {
  TempDir dir;
  auto msg = input_error([&] { load_inventory(load_config(dir.path()), dir / "talosconfig"); });
  EXPECT_THAT(msg, HasSubstr("no node inventory: fluxboot.yaml has no `nodes`, talos/talconfig.yaml "
                             "does not exist, talos holds no machine-config templates "
                             "(machineconfig.yaml.j2 and nodes/*.yaml.j2) and talosconfig talosconfig "
                             "does not exist"));
}

// Plain talosctl + minijinja layouts: one patch per node, role from the directory or machine.type.
TEST(Inventory, MachineConfigTemplatesFlatNodesTakeTheirRoleFromMachineType) {
  TempDir dir;
  write_file(dir / "kubernetes/talos/machineconfig.yaml.j2", "version: v1alpha1\nmachine:\n  type: {{ ENV.T }}\n");
  write_file(dir / "kubernetes/talos/nodes/127.0.0.12.yaml.j2",
             "machine:\n  type: worker\n---\napiVersion: v1alpha1\nkind: HostnameConfig\nhostname: w1\n");
  write_file(dir / "kubernetes/talos/nodes/127.0.0.11.yaml.j2", "machine:\n  # the first node\n  type: controlplane\n");
  write_file(dir / "kubernetes/talos/nodes/127.0.0.11.schematic.yaml.j2", "customization: {}\n");
  write_file(dir / "kubernetes/talos/nodes/README.md", "not a node\n");
  Config c = load_config(dir.path());
  EXPECT_EQ(c.paths.talos_templates, "kubernetes/talos");
  auto nodes = load_inventory(c, dir / "talosconfig");
  ASSERT_EQ(nodes.size(), 2u);
  EXPECT_EQ(nodes[0].address, "127.0.0.11");
  EXPECT_TRUE(nodes[0].hostname.empty());
  EXPECT_TRUE(nodes[0].control_plane);
  EXPECT_FALSE(nodes[1].control_plane);
  EXPECT_TRUE(nodes[0].config_file.empty());
  ASSERT_EQ(nodes[0].config_templates.size(), 2u);
  EXPECT_EQ(nodes[0].config_templates[0], dir / "kubernetes/talos/machineconfig.yaml.j2");
  EXPECT_EQ(nodes[0].config_templates[1], dir / "kubernetes/talos/nodes/127.0.0.11.yaml.j2");
  EXPECT_EQ(nodes[1].origin, "kubernetes/talos/nodes/127.0.0.12.yaml.j2");
}

TEST(Inventory, MachineConfigTemplatesRoleDirectoriesAddTheRoleTemplate) {
  TempDir dir;
  write_file(dir / "talos/cluster.yaml.j2", "version: v1alpha1\n");
  write_file(dir / "talos/controlplane.yaml.j2", "machine:\n  type: controlplane\n");
  write_file(dir / "talos/nodes/controlplane/k8s-0.yaml.j2", "apiVersion: v1alpha1\nkind: HostnameConfig\nhostname: k8s-0\n");
  write_file(dir / "talos/nodes/workers/k8s-9.yaml.j2", "apiVersion: v1alpha1\nkind: HostnameConfig\nhostname: k8s-9\n");
  auto nodes = load_inventory(load_config(dir.path()), dir / "talosconfig");
  ASSERT_EQ(nodes.size(), 2u);
  EXPECT_EQ(nodes[0].hostname, "k8s-0");
  EXPECT_EQ(nodes[0].address, "k8s-0");  // a host name talosctl resolves, as `talosctl -n k8s-0` does
  EXPECT_TRUE(nodes[0].control_plane);
  ASSERT_EQ(nodes[0].config_templates.size(), 3u);
  EXPECT_EQ(nodes[0].config_templates[1], dir / "talos/controlplane.yaml.j2");
  EXPECT_FALSE(nodes[1].control_plane);
  EXPECT_EQ(nodes[1].config_templates.size(), 2u);  // no worker.yaml.j2
}

// talos/<cluster>/machineconfig.yaml.j2 beside <role>/<node>.yaml (no nodes/): only files naming a
// hostname are nodes; <role>/<role>.yaml is the role's patch; schematics and optional patches are not nodes.
TEST(Inventory, MachineConfigTemplatesWithRoleDirectoriesBesideTheBase) {
  TempDir dir;
  write_file(dir / "kubernetes/clusters/main/ks.yaml",
             "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: x}\n");
  write_file(dir / "talos/main/machineconfig.yaml.j2", "version: v1alpha1\n");
  write_file(dir / "talos/main/controlplane/ayaka.yaml", "apiVersion: v1alpha1\nkind: HostnameConfig\nhostname: ayaka\n");
  write_file(dir / "talos/main/controlplane/controlplane.yaml", "cluster: {allowSchedulingOnControlPlanes: true}\n");
  write_file(dir / "talos/main/controlplane/schematic.yaml", "customization: {}\n");
  write_file(dir / "talos/main/controlplane/eGPU.yaml", "machine: {kernel: {modules: [{name: thunderbolt}]}}\n");
  write_file(dir / "talos/main/worker/skirk.yaml", "machine:\n  network:\n    hostname: skirk\n");
  auto nodes = load_inventory(load_config(dir.path()), dir / "talosconfig");
  ASSERT_EQ(nodes.size(), 2u);
  EXPECT_EQ(nodes[0].address, "ayaka");
  EXPECT_TRUE(nodes[0].control_plane);
  ASSERT_EQ(nodes[0].config_templates.size(), 3u);
  EXPECT_EQ(nodes[0].config_templates[1], dir / "talos/main/controlplane/controlplane.yaml");
  EXPECT_EQ(nodes[1].address, "skirk");
  EXPECT_FALSE(nodes[1].control_plane);
  EXPECT_EQ(nodes[1].config_templates.size(), 2u);
  NodeSpec w = nodes[1];
  auto env = node_template_env({{"IS_CONTROLPLANE", "true"}}, w);
  EXPECT_EQ(env.count("IS_CONTROLPLANE"), 0u);
  EXPECT_EQ(env["MACHINE_TYPE"], "worker");
  EXPECT_EQ(node_template_env({}, nodes[0])["MACHINE_TYPE"], "controlplane");
}

TEST(Inventory, MachineConfigTemplatesWithoutAControlPlaneAreRejected) {
  TempDir dir;
  write_file(dir / "talos/machineconfig.yaml.j2", "version: v1alpha1\n");
  write_file(dir / "talos/nodes/127.0.0.21.yaml.j2", "machine:\n  type: worker\n");
  auto msg = input_error([&] { load_inventory(load_config(dir.path()), dir / "talosconfig"); });
  EXPECT_THAT(msg, HasSubstr("no control-plane node in the inventory (talos/nodes)"));
}

TEST(Inventory, TalconfigWinsOverTemplatesAndTemplatesOverTheTalosconfig) {
  TempDir dir;
  write_file(dir / "talos/machineconfig.yaml.j2", "version: v1alpha1\n");
  write_file(dir / "talos/nodes/127.0.0.31.yaml.j2", "machine:\n  type: controlplane\n");
  write_file(dir / "talosconfig", kTalosconfig);
  Config c = load_config(dir.path());
  EXPECT_EQ(c.paths.talosconfig, "talosconfig");  // detected at the root
  auto nodes = load_inventory(c, dir / "talosconfig");
  ASSERT_EQ(nodes.size(), 1u);
  EXPECT_EQ(nodes[0].address, "127.0.0.31");
  write_file(dir / "talos/talconfig.yaml", kTalconfig);
  // talhelper's outputs are not generated: the error shows talconfig.yaml is the source now.
  EXPECT_THAT(input_error([&] { load_inventory(load_config(dir.path()), dir / "talosconfig"); }),
              HasSubstr("machine config talos/clusterconfig/home-cp-1.yaml not found"));
}

TEST(Hosts, Dns1123Labels) {
  EXPECT_TRUE(is_dns1123_label("flux-system"));
  EXPECT_TRUE(is_dns1123_label("a"));
  EXPECT_TRUE(is_dns1123_label("0abc9"));
  EXPECT_TRUE(is_dns1123_label(std::string(63, 'a')));
  EXPECT_FALSE(is_dns1123_label(std::string(64, 'a')));
  EXPECT_FALSE(is_dns1123_label(""));
  EXPECT_FALSE(is_dns1123_label("Flux"));
  EXPECT_FALSE(is_dns1123_label("-a"));
  EXPECT_FALSE(is_dns1123_label("a-"));
  EXPECT_FALSE(is_dns1123_label("a_b"));
  EXPECT_FALSE(is_dns1123_label("a.b"));
}

TEST(Hosts, ValidHosts) {
  EXPECT_TRUE(is_valid_host("10.0.0.1"));
  EXPECT_TRUE(is_valid_host("255.255.255.255"));
  EXPECT_TRUE(is_valid_host("fd00::1"));
  EXPECT_TRUE(is_valid_host("2001:db8:0:0:0:0:2:1"));
  EXPECT_TRUE(is_valid_host("::ffff:10.0.0.1"));
  EXPECT_TRUE(is_valid_host("cp-1"));
  EXPECT_TRUE(is_valid_host("CP-1.Home.Arpa"));
  EXPECT_TRUE(is_valid_host("1node.example.com"));
  EXPECT_FALSE(is_valid_host(""));
  EXPECT_FALSE(is_valid_host("10.0.0.256"));
  EXPECT_FALSE(is_valid_host("10.0.0"));
  EXPECT_FALSE(is_valid_host("fd00::1::2"));
  EXPECT_FALSE(is_valid_host("[fd00::1]"));
  EXPECT_FALSE(is_valid_host("a..b"));
  EXPECT_FALSE(is_valid_host("a.b."));
  EXPECT_FALSE(is_valid_host("under_score"));
  EXPECT_FALSE(is_valid_host("-lead.example"));
  EXPECT_FALSE(is_valid_host("10.0.0.1:50000"));
  EXPECT_FALSE(is_valid_host(std::string(64, 'a') + ".com"));
}

}  // namespace
}  // namespace fluxboot::gitops
