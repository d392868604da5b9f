#include "cli/app.hpp"

#include <cstdio>

#include <fmt/format.h>

#include "fluxboot/error.hpp"
#include "fluxboot/process.hpp"
#include "fluxboot/version.hpp"

namespace fluxboot::cli {

namespace {

void add_global_flags(CLI::App& app, GlobalOptions& g) {
  app.add_option("--root", g.root, "Repository root (default: git top-level of the working directory)")
      ->type_name("DIR");
  app.add_option("--kubeconfig", g.kubeconfig,
                 "kubeconfig to write and use (default: $KUBECONFIG, then <root>/kubeconfig)")
      ->type_name("FILE");
  app.add_option("--talosconfig", g.talosconfig,
                 "talosconfig (default: $TALOSCONFIG, then <root>/talos/clusterconfig/talosconfig)")
      ->type_name("FILE");
  app.add_option("--cluster", g.cluster,
                 "The cluster of a multi-cluster repository (kubernetes/clusters/NAME, talos/NAME)")
      ->type_name("NAME");
  app.add_option("--timeout", g.timeout, "Deadline for each stage, overriding fluxboot.yaml (e.g. 15m)")
      ->type_name("DURATION");
  app.add_option("--log-format", g.log_format, "text, or json: one JSON event per line on stdout")
      ->check(CLI::IsMember({"text", "json"}))
      ->type_name("FORMAT");
  app.add_flag("-v,--verbose", g.verbose, "Show every command and its output");
  app.add_flag("-q,--quiet", g.quiet, "Only warnings, errors and the summary");
  app.add_flag("--dry-run", g.dry_run, "Print the commands that would run; change nothing");
  app.add_flag("--strict", g.strict, "Treat an unresolved ${VAR} in HelmRelease values as an error");
  app.add_flag("--no-lock", g.no_lock,
               "Go on when <root>/.fluxboot cannot be written (a read-only checkout); without it such a run "
               "refuses with exit 5, since nothing would stop a second run");
}

}  // namespace

int with_session(const GlobalOptions& global, const std::function<int(Session&)>& body) {
  std::unique_ptr<Session> session;
  try {
    session = std::make_unique<Session>(global);
  } catch (const Error& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return 1;
  }
  return run_guarded(session->reporter.get(), [&]() { return body(*session); });
}

int main(int argc, char** argv) {
  CLI::App app{"fluxboot — bootstrap a Talos + Kubernetes + Flux cluster from a GitOps repository"};
  app.name("fluxboot");
  app.set_version_flag("--version", std::string("fluxboot ") + kVersion);
  app.require_subcommand(1, 1);
  app.fallthrough();  // global flags may follow the subcommand: `fluxboot all --dry-run`
  app.footer(
      "Stages run in this order: talos k8s kubeconfig wait namespaces resources crds apps.\n"
      "Exit codes: 0 ok, 1 stage failed, 2 usage, 3 invalid input, 4 missing tool, 5 locked,\n"
      "124 deadline, "
      "130/143 interrupted. See docs/exit-codes.md.");

  GlobalOptions global;
  Action action;
  add_global_flags(app, global);
  add_stage_commands(app, global, action);
  add_values_command(app, global, action);
  add_status_command(app, global, action);
  add_layout_command(app, global, action);
  add_ops_commands(app, global, action);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "fluxboot: {}\nRun 'fluxboot --help' for the commands and flags.\n", e.what());
    return static_cast<int>(ExitCode::Usage);
  }
  if (global.verbose > 0 && global.quiet) {
    fmt::print(stderr, "fluxboot: --verbose and --quiet exclude each other\n");
    return static_cast<int>(ExitCode::Usage);
  }
  if (!action) return static_cast<int>(ExitCode::Usage);
  process::install_signal_handlers();
  int code = action();
  process::kill_all_children();
  // Nothing fluxboot started outlives it: what left its child's process group and was orphaned
  // (re-parented here, fluxboot being a subreaper) is killed now, and said so.
  const auto left = process::kill_descendants(std::chrono::milliseconds(500));
  if (!left.empty()) {
    std::string names;
    for (const auto& n : left) names += (names.empty() ? "" : ", ") + n;
    fmt::print(stderr, "fluxboot: killed {} process{} still running at exit: {}\n", left.size(),
               left.size() == 1 ? "" : "es", names);
  }
  return code;
}

}  // namespace fluxboot::cli
