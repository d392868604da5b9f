// Image Factory schematic IDs computed offline, checked against the factory's own test vectors
// (siderolabs/image-factory pkg/schematic), IDs published for well-known schematics, and one
// pinned in a public repository; and the variables a node's templates are rendered with.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fluxboot/gitops.hpp"
#include "unit/gitops/gitops_test_util.hpp"
#include "support/test_support.hpp"

namespace fluxboot::gitops {
namespace {

using fluxboot::testing::TempDir;
using fluxboot::testing::write_file;
using ::testing::HasSubstr;

std::string id(const std::string& yaml) { return image_factory_schematic_id(yaml, "schematic.yaml"); }

TEST(SchematicId, MatchesTheFactorysTestVectors) {
  EXPECT_EQ(id(""), "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba");
  EXPECT_EQ(id("{}"), "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba");
  EXPECT_EQ(id("customization: {\"extraKernelArgs\": []}"), "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba");
  EXPECT_EQ(id("{\"customization\": {\"extraKernelArgs\": [\"noapic\", \"nolapic\"], \"systemExtensions\": {}}}"),
            "9cba8e32753f91a16c1837ab8abf356af021706ef284aef07380780177d9a06c");
  EXPECT_EQ(id("{\"customization\": {\"meta\": [{\"key\": 10, \"value\": \"foo\"}], \"extraKernelArgs\": []}}"),
            "d308a2a5ee2277bed5fbaa104fcbc8d59122abfa737df987a95b4ca763459a7f");
  EXPECT_EQ(id("customization:\n  meta:\n    - key: 0x0a\n      value: foo\n"),
            "d308a2a5ee2277bed5fbaa104fcbc8d59122abfa737df987a95b4ca763459a7f");
  EXPECT_EQ(id("{\"overlay\": {\"name\": \"rpi_generic\", \"image\": \"siderolabs/sbc-raspberrypi\"},\"customization\":{}}"),
            "ee21ef4a5ef808a9b7484cc0dda0f25075021691c8c09a276591eedb638ea1f9");
  EXPECT_EQ(id("customization:\n  secureboot:\n    includeWellKnownCertificates: true\n"),
            "fa8e05f142a851d3ee568eb0a8e5841eaf6b0ebc8df9a63df16ac5ed2c04f3e6");
}

TEST(SchematicId, MatchesPublishedIdsOfRealSchematics) {
  // Longhorn's documented schematic and the Proxmox guest agent's, comments and all.
  EXPECT_EQ(id("---\ncustomization:\n  systemExtensions:\n    officialExtensions:\n"
               "      - siderolabs/iscsi-tools # iSCSI\n      - siderolabs/util-linux-tools\n"),
            "613e1592b2da41ae5e265e8789429f22e121aab91cb4deb6bc3c0b6262961245");
  EXPECT_EQ(id("customization:\n  systemExtensions:\n    officialExtensions: [siderolabs/qemu-guest-agent]\n"),
            "ce4c980550dd2ab1b17bbf2b08801c7eb59418eafe8f279833297925d67c7515");
  // Kernel arguments with a leading '-', '=' and '.', as a public home-ops repository pins it.
  EXPECT_EQ(id("customization:\n  extraKernelArgs:\n    - -init_on_alloc\n    - -init_on_free\n    - -selinux\n"
               "    - apparmor=0\n    - i915.enable_guc=3\n    - init_on_alloc=0\n    - init_on_free=0\n"
               "    - intel_iommu=on\n    - iommu=pt\n    - mitigations=off\n    - security=none\n"
               "    - sysctl.kernel.kexec_load_disabled=1\n    - talos.auditd.disabled=1\n"
               "  systemExtensions:\n    officialExtensions:\n      - siderolabs/i915\n      - siderolabs/intel-ucode\n"
               "      - siderolabs/mei\n"),
            "07fc545562cc6c5d76cf282c30a95d10b86286cd345bac2fa963c786397475cd");
}

TEST(SchematicId, RefusesWhatTheFactoryRefusesOrCannotBeReproduced) {
  EXPECT_THAT(testing::input_error([] { id("customization:\n  extensions: [a]\n"); }),
              HasSubstr("schematic.yaml:2: 'customization.extensions' is not a field of an Image Factory schematic"));
  EXPECT_THAT(testing::input_error([] { id("customization:\n  extraKernelArgs: [\"console=tty0 quiet\"]\n"); }),
              HasSubstr("cannot compute the Image Factory ID offline"));
  EXPECT_THAT(testing::input_error([] { id("customization:\n  extraKernelArgs: [0x1f]\n"); }),
              HasSubstr("'0x1f' needs YAML quoting"));
  EXPECT_THAT(testing::input_error([] { id("customization: {}\n---\ncustomization: {}\n"); }),
              HasSubstr("a schematic is one YAML document"));
  // Numbers and booleans are quoted, as yaml.v3 writes strings that would read back as another type.
  EXPECT_NE(id("customization: {extraKernelArgs: [\"1\"]}"), id("customization: {extraKernelArgs: [\"a\"]}"));
}

TEST(TemplateVars, SchematicAndVersionsForANodeAndTheEnvironmentWins) {
  TempDir dir;
  write_file(dir / "talos/machineconfig.yaml.j2", "version: v1alpha1\n");
  write_file(dir / "talos/nodes/controlplane/k8s-0.yaml.j2", "machine: {type: controlplane}\n");
  write_file(dir / "talos/nodes/controlplane/k8s-1.yaml.j2", "machine: {type: controlplane}\n");
  write_file(dir / "talos/nodes/controlplane/k8s-1.schematic.yaml.j2",
             "customization:\n  systemExtensions:\n    officialExtensions:\n"
             "{% if ENV.IS_CONTROLPLANE %}      - siderolabs/qemu-guest-agent\n{% endif %}");
  write_file(dir / "talos/schematic.yaml", "customization: {}\n");
  write_file(dir / "talos/version.yaml", "talos_version: v1.9.5\nk8s_version: v1.32.3\n");
  Config c = load_config(dir.path());
  auto nodes = load_inventory(c, dir / "talosconfig");
  ASSERT_EQ(nodes.size(), 2u);
  auto shared = machineconfig_template_vars(c, nodes[0], node_template_env({{"K8S_VERSION", "v1.33.0"}}, nodes[0]));
  EXPECT_EQ(shared.vars["schematic"], "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba");
  EXPECT_EQ(shared.env["SCHEMATIC"], shared.vars["schematic"]);
  EXPECT_EQ(shared.schematic_file, "talos/schematic.yaml");
  EXPECT_EQ(shared.vars["talos_version"], "v1.9.5");
  EXPECT_EQ(shared.env["TALOS_VERSION"], "v1.9.5");
  EXPECT_EQ(shared.env["K8S_VERSION"], "v1.33.0");  // the environment wins
  auto own = machineconfig_template_vars(c, nodes[1], node_template_env({{"SCHEMATIC", "pinned"}}, nodes[1]));
  EXPECT_EQ(own.schematic_file, "talos/nodes/controlplane/k8s-1.schematic.yaml.j2");
  EXPECT_EQ(own.vars["schematic"], "ce4c980550dd2ab1b17bbf2b08801c7eb59418eafe8f279833297925d67c7515");
  EXPECT_EQ(own.env["SCHEMATIC"], "pinned");
  EXPECT_EQ(render_template("i: {{ schematic }}:{{ talos_version }}", own.env, "t", nullptr, &own.vars),
            "i: ce4c980550dd2ab1b17bbf2b08801c7eb59418eafe8f279833297925d67c7515:v1.9.5");
}

}  // namespace
}  // namespace fluxboot::gitops
