// Rollback planning and order, the diagnose bundle, the tar.gz writer, completions and the man page.
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "fluxboot/completion.hpp"
#include "fluxboot/diagnose.hpp"
#include "fluxboot/journal.hpp"
#include "fluxboot/rollback.hpp"
#include "ops/tar_gz.hpp"
#include "unit/ops/ops_test_util.hpp"

using namespace fluxboot;
using fluxboot::testing::OpsFixture;
using fluxboot::testing::read_file;
using fluxboot::testing::run;
using fluxboot::testing::TempDir;
using fluxboot::testing::write_file;

namespace {

std::string file_of(const std::vector<std::string>& argv) {
  return argv.empty() ? "" : std::filesystem::path(argv[0]).filename().string();
}

// Extracts a .tar.gz with the system tar into a directory and returns it.
std::filesystem::path extract(const std::filesystem::path& bundle, const std::filesystem::path& into) {
  std::filesystem::create_directories(into);
  auto r = run({"/bin/tar", "-xzf", bundle.string(), "-C", into.string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  for (const auto& e : std::filesystem::directory_iterator(into)) return e.path();
  return into;
}

}  // namespace

TEST(RollbackPlan, FindsTheFluxReleasesByChartInTheAppsHelmfile) {
  OpsFixture f;
  auto plan = ops::plan_rollback(f.config);
  EXPECT_EQ(plan.instance.str(), "flux-system/flux-instance");
  EXPECT_EQ(plan.flux_operator.str(), "flux-system/flux-operator");
  EXPECT_TRUE(plan.notes.empty());
  // Renamed releases are still found by their chart.
  f.edit("bootstrap/helmfile.d/01-apps.yaml", "  - name: flux-instance\n", "  - name: flux\n");
  plan = ops::plan_rollback(f.config);
  EXPECT_EQ(plan.instance.str(), "flux-system/flux");
}

TEST(RollbackPlan, FallsBackToTheConventionalNamesWithANote) {
  OpsFixture f;
  std::filesystem::remove(f.repo / "bootstrap/helmfile.d/01-apps.yaml");
  auto plan = ops::plan_rollback(f.config);
  EXPECT_EQ(plan.instance.str(), "flux-system/flux-instance");
  EXPECT_FALSE(plan.notes.empty());
}

TEST(Rollback, RemovesTheInstanceWaitsForItThenRemovesTheOperator) {
  OpsFixture f;
  auto& ctx = f.ctx();
  ctx.resolved_tools["helm"] = (f.bin / "helm").string();
  ctx.resolved_tools["kubectl"] = (f.bin / "kubectl").string();
  int polls = 0;
  f.runner.on("helm", {"uninstall"}, 0, "release uninstalled\n");
  f.runner.on([&](const process::Command& c) -> std::optional<process::Result> {
    if (file_of(c.argv) != "kubectl" || c.argv.size() < 3 || c.argv[2] != "fluxinstances.fluxcd.controlplane.io")
      return std::nullopt;
    process::Result r;
    r.exit_code = 0;
    r.out = ++polls < 2 ? "fluxinstance.fluxcd.controlplane.io/flux\n" : "";
    return r;
  });
  std::string summary = ops::execute_rollback(ctx, ops::plan_rollback(f.config));
  auto calls = f.runner.calls();
  ASSERT_GE(calls.size(), 4u);
  EXPECT_EQ(file_of(calls.front()), "helm");
  EXPECT_EQ(calls.front()[2], "flux-instance");
  EXPECT_EQ(file_of(calls.back()), "helm");
  EXPECT_EQ(calls.back()[2], "flux-operator");
  EXPECT_EQ(polls, 2);
  EXPECT_NE(summary.find("flux-system/flux-instance removed, then flux-system/flux-operator removed"), std::string::npos)
      << summary;
}

TEST(Rollback, AReleaseThatIsAlreadyGoneCountsAsRemovedAndOtherErrorsFail) {
  OpsFixture f;
  auto& ctx = f.ctx();
  f.runner.on("kubectl", {"get"}, 0, "");
  f.runner.on("helm", {"uninstall", "flux-instance"}, 1, "", "Error: uninstall: Release not loaded: flux-instance: release: not found");
  f.runner.on("helm", {"uninstall", "flux-operator"}, 1, "", "Error: uninstall: timed out waiting for the condition");
  try {
    ops::execute_rollback(ctx, ops::plan_rollback(f.config));
    FAIL() << "rollback succeeded";
  } catch (const StageError& e) {
    EXPECT_NE(std::string(e.what()).find("flux-system/flux-operator"), std::string::npos) << e.what();
  }
}

TEST(Diagnose, CollectsTheTroubleshootingCommandsAndRecordsFailures) {
  OpsFixture f;
  write_file(f.repo / "kubeconfig", "clusters: []\nusers:\n- name: a\n  user: {token: kube-token-abcdef}\n");
  f.options.env["GITHUB_DEPLOY_KEY"] = "deploy-key-secret-material-xyz";
  ops::save_journal(f.repo, {});
  auto& ctx = f.ctx();
  ops::register_local_secrets(ctx);
  f.runner.on("kubectl", {}, 0, "generic output\n");
  f.runner.on("kubectl", {"logs", "-n", "flux-system", "deployment/source-controller"}, 1, "",
              "error: deployments.apps \"source-controller\" not found");
  // A controller that logs a secret it should not: the bundle masks it.
  f.runner.on("kubectl", {"logs", "-n", "flux-system", "deployment/kustomize-controller"}, 0,
              "using key deploy-key-secret-material-xyz and token kube-token-abcdef\n");
  f.runner.on("kubectl", {"get", "secrets"}, 0, "secret/sops-age\nsecret/github-deploy-key\n");
  ops::DiagnoseOptions o;
  o.output = f.tmp.path() / "out/bundle.tar.gz";
  o.reason = "unit test";
  auto result = ops::write_diagnose_bundle(ctx, o);
  EXPECT_EQ(result.failed(), 1u);
  auto dir = extract(o.output, f.tmp.path() / "x");
  EXPECT_EQ(dir.filename(), "bundle");
  EXPECT_TRUE(std::filesystem::exists(dir / "flux/flux-operator.log"));
  EXPECT_TRUE(std::filesystem::exists(dir / "flux/events.txt"));
  EXPECT_TRUE(std::filesystem::exists(dir / "flux/source-controller.log.error.txt"));
  EXPECT_NE(read_file(dir / "flux/source-controller.log.error.txt").find("not found"), std::string::npos);
  EXPECT_NE(read_file(dir / "flux/bootstrap-secrets.txt").find("cluster-secrets      MISSING"), std::string::npos)
      << read_file(dir / "flux/bootstrap-secrets.txt");
  std::string logs = read_file(dir / "flux/kustomize-controller.log");
  EXPECT_EQ(logs.find("deploy-key-secret-material-xyz"), std::string::npos) << logs;
  EXPECT_EQ(logs.find("kube-token-abcdef"), std::string::npos) << logs;
  EXPECT_NE(read_file(dir / "README.txt").find("unit test"), std::string::npos);
  // Secrets only ever by name.
  for (const auto& c : f.runner.calls()) {
    bool secrets = std::find(c.begin(), c.end(), "secrets") != c.end() || std::find(c.begin(), c.end(), "secret") != c.end();
    if (secrets) {
      EXPECT_NE(std::find(c.begin(), c.end(), "name"), c.end()) << process::format_argv(c);
    }
  }
}

TEST(Diagnose, WithoutAKubeconfigTheBundleStillHasTheJournal) {
  OpsFixture f;
  ops::save_journal(f.repo, {});
  ops::DiagnoseOptions o;
  o.output = f.tmp.path() / "b.tar.gz";
  auto result = ops::write_diagnose_bundle(f.ctx(), o);
  EXPECT_TRUE(f.runner.calls().empty());
  auto dir = extract(o.output, f.tmp.path() / "x");
  EXPECT_TRUE(std::filesystem::exists(dir / "cluster.error.txt"));
  EXPECT_TRUE(std::filesystem::exists(dir / "fluxboot/state.json"));
  struct stat st {};
  ::stat(o.output.c_str(), &st);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(TarGz, WritesAnArchiveTarReadsBackIncludingLongNames) {
  TempDir tmp;
  const std::string long_dir = std::string(120, 'd');
  {
    ops::TarGzWriter w(tmp / "a.tar.gz");
    w.add_dir("top", 0);
    w.add_file("top/hello.txt", "hello\n", 0);
    w.add_file("top/" + long_dir + "/f.txt", std::string(1000, 'x'), 0);
    w.add_file("top/empty", "", 0);
    w.close();
  }
  auto dir = extract(tmp / "a.tar.gz", tmp / "x");
  EXPECT_EQ(read_file(dir / "hello.txt"), "hello\n");
  EXPECT_EQ(read_file(dir / long_dir / "f.txt"), std::string(1000, 'x'));
  EXPECT_TRUE(std::filesystem::exists(dir / "empty"));
}

namespace {

ops::CommandSpec sample_spec() {
  ops::CommandSpec root;
  root.name = "fluxboot";
  root.description = "fluxboot — bootstrap a cluster";
  root.options.push_back({{"root"}, {}, "Repository root", true, "DIR", {}});
  root.options.push_back({{"log-format"}, {}, "text or json", true, "FORMAT", {"text", "json"}});
  root.options.push_back({{"verbose"}, {"v"}, "Show every command [and] its 'output'", false, "", {}});
  ops::CommandSpec all{"all", "Run every stage", {}, {}, "", {}};
  all.options.push_back({{"from"}, {}, "Start at this stage", true, "STAGE", {"talos", "k8s"}});
  ops::CommandSpec comp{"completion", "Print completions", {}, {}, "SHELL", {"bash", "zsh", "fish"}};
  ops::CommandSpec diag{"diagnose", "Bundle", {}, {}, "", {}};
  diag.options.push_back({{"output"}, {"o"}, "Bundle file", true, "FILE", {}});
  root.subcommands = {all, comp, diag};
  return root;
}

// The absolute path of a program on PATH, or empty.
std::string have(const char* program) {
  auto p = process::find_executable(program);
  return p ? p->string() : std::string();
}

}  // namespace

TEST(Completion, BashScriptIsValidAndOffersCommandsFlagsAndValues) {
  TempDir tmp;
  std::string script = ops::bash_completion(sample_spec());
  write_file(tmp / "c.bash", script);
  EXPECT_EQ(run({"/bin/bash", "-n", (tmp / "c.bash").string()}).exit_code, 0) << script;
  // Drive it like bash does: COMP_WORDS for `fluxboot all --from <TAB>`.
  write_file(tmp / "drive.sh",
             ". " + (tmp / "c.bash").string() +
                 "\nCOMP_WORDS=(fluxboot all --from ''); COMP_CWORD=3; _fluxboot; echo \"${COMPREPLY[*]}\"\n"
                 "COMP_WORDS=(fluxboot ''); COMP_CWORD=1; _fluxboot; echo \"${COMPREPLY[*]}\"\n"
                 "COMP_WORDS=(fluxboot completion ''); COMP_CWORD=2; _fluxboot; echo \"${COMPREPLY[*]}\"\n");
  auto r = run({"/bin/bash", (tmp / "drive.sh").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("talos k8s\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("all completion diagnose"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("bash zsh fish"), std::string::npos) << r.out;
}

TEST(Completion, ZshAndFishScriptsParse) {
  TempDir tmp;
  std::string zsh = ops::zsh_completion(sample_spec());
  EXPECT_EQ(zsh.rfind("#compdef fluxboot", 0), 0u);
  EXPECT_NE(zsh.find("'--log-format[text or json]:format:(text json)'"), std::string::npos) << zsh;
  EXPECT_NE(zsh.find("\\[and\\]"), std::string::npos) << zsh;  // brackets in descriptions are escaped
  if (auto zsh_bin = have("zsh"); !zsh_bin.empty()) {
    write_file(tmp / "_fluxboot", zsh);
    EXPECT_EQ(run({zsh_bin, "-n", (tmp / "_fluxboot").string()}).exit_code, 0) << zsh;
  }
  std::string fish = ops::fish_completion(sample_spec());
  EXPECT_NE(fish.find("complete -c fluxboot -n '__fish_seen_subcommand_from all' -l from -x -a 'talos k8s'"),
            std::string::npos)
      << fish;
  EXPECT_NE(fish.find("\\'output\\'"), std::string::npos) << fish;
  if (auto fish_bin = have("fish"); !fish_bin.empty()) {
    write_file(tmp / "f.fish", fish);
    EXPECT_EQ(run({fish_bin, "--no-execute", (tmp / "f.fish").string()}).exit_code, 0) << fish;
  }
}

TEST(Completion, ManPageHasTheStandardSections) {
  std::string man = ops::man_page(sample_spec(), "1.2.3", "2025-01-31");
  for (const char* s : {".TH FLUXBOOT 1 \"2025-01-31\" \"fluxboot 1.2.3\"", ".SH NAME", ".SH SYNOPSIS", ".SH COMMANDS",
                        ".SH GLOBAL OPTIONS", ".SH EXIT STATUS", ".SH ENVIRONMENT", ".SH FILES"})
    EXPECT_NE(man.find(s), std::string::npos) << s;
  EXPECT_NE(man.find("\\fB\\-\\-log\\-format\\fR \\fIFORMAT\\fR"), std::string::npos) << man;
  if (auto groff = have("groff"); !groff.empty()) {
    TempDir tmp;
    write_file(tmp / "f.1", man);
    auto r = run({groff, "-man", "-Tutf8", "-ww", "-z", (tmp / "f.1").string()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(r.err.empty()) << r.err;
  }
}
