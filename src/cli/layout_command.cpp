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
      GlobalOptions g = global;
      g.layout_only = true;  // show the clusters to choose from instead of refusing
      return with_session(g,
                          [&](Session& session) { return ops::run_layout(session, *options, stdout); });
    };
  });

  auto init = std::make_shared<ops::InitOptions>();
  CLI::App* icmd = app.add_subcommand(
      "init", "Write fluxboot.yaml pinning the layout fluxboot detected, commented (see `fluxboot layout`)");
  icmd->add_flag("--force", init->force, "Replace an existing fluxboot.yaml");
  icmd->add_flag("--stdout", init->to_stdout, "Print the file instead of writing it");
  icmd->callback([&global, &action, init] {
    action = [&global, init] {
      return with_session(global, [&](Session& session) { return ops::run_init(session, *init, stdout); });
    };
  });
}

}  // namespace fluxboot::cli
