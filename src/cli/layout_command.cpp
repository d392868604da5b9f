// `fluxboot layout`: what was detected in the repository and where it came from.
#include <memory>

#include "cli/app.hpp"
#include "fluxboot/layout.hpp"

namespace fluxboot::cli {

void add_layout_command(CLI::App& app, GlobalOptions& global, Action& action) {
  auto options = std::make_shared<ops::LayoutOptions>();
  CLI::App* cmd = app.add_subcommand(
      "layout",
      "Show the repository layout fluxboot detected (helmfiles, resources, talconfig, apps) and "
      "where each came from; exit 3 when something the stages need is missing");
  cmd->add_option("-o,--output", options->output, "Output format: text or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  cmd->callback([&global, &action, options] {
    action = [&global, options] {
      return with_session(global,
                          [&](Session& session) { return ops::run_layout(session, *options, stdout); });
    };
  });
}

}  // namespace fluxboot::cli
