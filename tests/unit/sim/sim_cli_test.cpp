#include <gtest/gtest.h>

#include "fluxboot/error.hpp"
#include "sim/helmfile_cli.hpp"
#include "sim/simple_flags.hpp"
#include "sim/talosctl_cli.hpp"

namespace fluxboot::sim {
namespace {

using V = std::vector<std::string>;

TEST(SimTalosctlArgs, AcceptsEveryNodesFlagForm) {
  for (const V& args : {V{"apply-config", "--insecure", "--nodes", "10.0.0.1", "--file", "c.yaml"},
                        V{"-n", "10.0.0.1", "apply-config", "-i", "-f", "c.yaml"},
                        V{"apply-config", "--nodes=10.0.0.1", "--insecure=true", "-f=c.yaml"},
                        V{"--talosconfig", "/t", "apply", "-n10.0.0.1", "--insecure", "--file=c.yaml", "-e", "10.0.0.9"}}) {
    auto a = parse_talosctl_args(args);
    EXPECT_EQ(a.command, "apply-config");
    EXPECT_EQ(a.nodes, V{"10.0.0.1"});
    EXPECT_EQ(a.file, "c.yaml");
    EXPECT_TRUE(a.insecure);
  }
}

TEST(SimTalosctlArgs, NodesMayBeCommaSeparatedOrRepeated) {
  auto a = parse_talosctl_args({"bootstrap", "-n", "a,b", "--nodes", "c"});
  EXPECT_EQ(a.nodes, (V{"a", "b", "c"}));
}

TEST(SimTalosctlArgs, KubeconfigFlags) {
  auto a = parse_talosctl_args({"kubeconfig", "-n", "10.0.0.1", "-f", "--force-context-name", "main", "/repo", "--merge=false"});
  EXPECT_EQ(a.command, "kubeconfig");
  EXPECT_TRUE(a.force);
  EXPECT_FALSE(a.merge);
  EXPECT_EQ(a.force_context_name, "main");
  EXPECT_EQ(a.positional, V{"/repo"});
}

TEST(SimTalosctlArgs, VersionAndConfigInfo) {
  EXPECT_TRUE(parse_talosctl_args({"version", "--client"}).client_only);
  EXPECT_EQ(parse_talosctl_args({"config", "info"}).command, "config info");
  EXPECT_EQ(parse_talosctl_args({"--help"}).command, "help");
}

TEST(SimTalosctlArgs, UnknownCommandsAndFlagsAreUsageErrors) {
  EXPECT_THROW(parse_talosctl_args({"reboot"}), UsageError);
  EXPECT_THROW(parse_talosctl_args({"bootstrap", "--bogus"}), UsageError);
  EXPECT_THROW(parse_talosctl_args({"apply-config", "-f"}), UsageError);
  EXPECT_THROW(parse_talosctl_args({}), UsageError);
  EXPECT_THROW(parse_talosctl_args({"bootstrap", "extra"}), UsageError);
}

TEST(SimHelmfileArgs, TemplateAndSyncForms) {
  auto t = parse_helmfile_args({"--file", "00-crds.yaml", "template", "--quiet"});
  EXPECT_EQ(t.command, "template");
  EXPECT_EQ(t.files, V{"00-crds.yaml"});
  EXPECT_TRUE(t.quiet);
  auto s = parse_helmfile_args({"-f", "01-apps.yaml", "sync", "--hide-notes"});
  EXPECT_EQ(s.command, "sync");
  EXPECT_TRUE(s.hide_notes);
  auto q = parse_helmfile_args({"-q", "-f", "x.yaml", "template", "--include-crds", "--args", "--skip-tests --x"});
  EXPECT_TRUE(q.quiet);
  EXPECT_TRUE(q.include_crds);
  EXPECT_EQ(q.extra_args, (V{"--skip-tests", "--x"}));
  EXPECT_EQ(parse_helmfile_args({"--version"}).command, "version");
  EXPECT_EQ(parse_helmfile_args({"-l", "name=cilium", "sync"}).selectors, V{"name=cilium"});
}

TEST(SimHelmfileArgs, RejectsWhatTheFakeCannotDo) {
  EXPECT_THROW(parse_helmfile_args({"apply"}), UsageError);
  EXPECT_THROW(parse_helmfile_args({"template", "--output-dir", "x"}), UsageError);
  EXPECT_THROW(parse_helmfile_args({"sync", "--bogus"}), UsageError);
}

TEST(SimFlags, ParsesValuesBooleansAndPositionals) {
  FlagSpec spec{{"dir", "output"}, {"bootstrapped"}, {{"o", "output"}}, {}};
  auto f = parse_flags({"--dir=/x", "-o", "json", "--bootstrapped", "rest"}, spec);
  EXPECT_EQ(f.get("dir"), "/x");
  EXPECT_EQ(f.get("output"), "json");
  EXPECT_TRUE(f.flag("bootstrapped"));
  EXPECT_EQ(f.positional, V{"rest"});
  EXPECT_THROW(parse_flags({"--bootstrapped=maybe"}, spec), UsageError);
  EXPECT_THROW(parse_flags({"--dir"}, spec), UsageError);
}

}  // namespace
}  // namespace fluxboot::sim
