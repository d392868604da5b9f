// `fluxboot all`, `fluxboot <stage>` and `fluxboot stages`.
#include <fmt/format.h>

#include "cli/app.hpp"
#include "fluxboot/error.hpp"
#include "fluxboot/pipeline.hpp"
#include "fluxboot/stages.hpp"

namespace fluxboot::cli {

namespace {

int run_selection(const GlobalOptions& global, const Selection& selection) {
  auto list = stages::all();
  std::vector<Stage*> chosen;
  try {
    chosen = select_stages(list, selection);
  } catch (const Error& e) {
    fmt::print(stderr, "fluxboot: {}\n", e.what());
    return static_cast<int>(e.code());
  }
  return with_session(global, [&](Session& s) {
    Context ctx(s.config, s.options, s.runner(), *s.reporter, s.redactor);
    return run_pipeline(ctx, chosen);
  });
}

}  // namespace

void add_stage_commands(CLI::App& app, GlobalOptions& global, Action& action) {
  auto selection = std::make_shared<Selection>();

  auto* all = app.add_subcommand("all", "Run every stage in order (talos → apps)");
  all->add_option("--from", selection->from, "Start at this stage")->type_name("STAGE");
  all->add_option("--to", selection->to, "Stop after this stage")->type_name("STAGE");
  all->add_option("--skip", selection->skip, "Leave this stage out (repeatable)")->type_name("STAGE");
  all->callback([&global, &action, selection]() {
    action = [&global, selection]() { return run_selection(global, *selection); };
  });

  for (const auto& stage : stages::all()) {
    std::string name(stage->name());
    auto* sub = app.add_subcommand(name, "Run one stage: " + std::string(stage->title()));
    sub->callback([&global, &action, name]() {
      action = [&global, name]() {
        Selection only;
        only.only = {name};
        return run_selection(global, only);
      };
    });
  }

  auto* list = app.add_subcommand("stages", "List the stages in order, with what each does");
  list->callback([&action]() {
    action = []() {
      int i = 0;
      for (const auto& st : stages::all())
        fmt::print("{}. {:<11} {}\n", ++i, st->name(), st->title());
      return 0;
    };
  });
}

}  // namespace fluxboot::cli
