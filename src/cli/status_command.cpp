#include <memory>

#include "cli/app.hpp"
#include "fluxboot/status.hpp"

namespace fluxboot::cli {

void add_status_command(CLI::App& app, GlobalOptions& global, Action& action) {
  auto options = std::make_shared<ops::StatusOptions>();
  CLI::App* cmd = app.add_subcommand(
      "status",
      "Is Flux healthy? Flux Operator pods, FluxInstance, controllers, GitRepositories, "
      "Kustomizations and HelmReleases with Ready and message (exit 0 when all are Ready)");
  cmd->add_option("-o,--output", options->output, "Output format: table or json")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  cmd->add_option("--context", options->context,
                  "Kubernetes context to use (default: the kubeconfig's current-context)");
  cmd->callback([&global, &action, options] {
    action = [&global, options] {
      return with_session(
          global, [&](Session& session) { return ops::run_status(session, *options, stdout); });
    };
  });
}

}  // namespace fluxboot::cli
