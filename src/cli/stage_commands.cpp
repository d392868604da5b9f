// `fluxboot all`, `fluxboot <stage>` and `fluxboot stages`.
#include <fmt/format.h>

#include "cli/app.hpp"
#include "fluxboot/diagnose.hpp"
#include "fluxboot/error.hpp"
#include "fluxboot/journal.hpp"
#include "fluxboot/pipeline.hpp"
#include "fluxboot/stages.hpp"

namespace fluxboot::cli {

namespace {

struct RunFlags {
  bool resume = false;
  bool diagnose_on_failure = false;
  std::string diagnose_path;  // empty: <root>/.fluxboot/fluxboot-diagnose-<time>.tar.gz
};

// The command as the journal and the lock name it: "all --resume --to crds", "namespaces".
std::string describe_command(const Selection& sel, const RunFlags& flags) {
  if (!sel.only.empty()) return sel.only.front();
  std::string c = "all";
  if (flags.resume) c += " --resume";
  if (!sel.from.empty()) c += " --from " + sel.from;
  if (!sel.to.empty()) c += " --to " + sel.to;
  for (const auto& s : sel.skip) c += " --skip " + s;
  return c;
}

// A bundle helps when a stage ran and failed; not for bad input (nothing ran) or Ctrl-C.
bool worth_a_bundle(int code) {
  return code == static_cast<int>(ExitCode::StageFailed) || code == static_cast<int>(ExitCode::DeadlineExceeded);
}

int run_selection(const GlobalOptions& global, const Selection& selection, const RunFlags& flags) {
  auto list = stages::all();
  std::vector<Stage*> chosen;
  try {
    chosen = select_stages(list, selection);
  } catch (const Error& e) {
    fmt::print(stderr, "fluxboot: {}\n", e.what());
    return static_cast<int>(e.code());
  }
  const std::string command = describe_command(selection, flags);
  return with_session(global, [&](Session& s) {
    Context ctx(s.config, s.options, s.runner(), *s.reporter, s.redactor);
    // Dry runs change nothing: no lock, no journal (a plan must not look like a success to --resume).
    std::unique_ptr<ops::RunLock> lock;
    if (!ctx.dry_run()) lock = ops::lock_repository(s.config.root, command, *s.reporter, s.global.no_lock);

    std::string resumed_from;
    if (flags.resume) {
      ops::JournalState state;
      try {
        state = ops::load_journal(s.config.root);
      } catch (const Error& e) {
        s.reporter->warn("", std::string(e.what()) + "; resuming from the first stage");
      }
      auto rp = ops::resume_point(ctx, state, chosen);
      if (rp.stage.empty()) {
        s.reporter->info("", "nothing to resume: every selected stage succeeded and its inputs are unchanged "
                             "(run without --resume to run them again)");
        return 0;
      }
      while (!chosen.empty() && chosen.front()->name() != rp.stage) chosen.erase(chosen.begin());
      resumed_from = rp.stage;
      s.reporter->info("", fmt::format("resuming at {}: {}", rp.stage, rp.reason));
    }

    std::unique_ptr<ops::RunJournal> journal;
    if (!ctx.dry_run()) journal = std::make_unique<ops::RunJournal>(ctx, command, resumed_from);
    int code = run_pipeline(ctx, chosen, journal.get());
    if (journal) journal->finish(code, chosen);

    if (flags.diagnose_on_failure && worth_a_bundle(code)) {
      ops::DiagnoseOptions o;
      o.output = flags.diagnose_path.empty()
                     ? ops::default_bundle_path(ops::ensure_state_dir(s.config.root))
                     : std::filesystem::absolute(flags.diagnose_path);
      o.reason = fmt::format("fluxboot {} failed (exit {})", command, code);
      if (!s.reporter->debug_log_path().empty()) o.extra_logs.push_back(s.reporter->debug_log_path());
      try {
        ops::register_local_secrets(ctx);
        auto bundle = ops::write_diagnose_bundle(ctx, o);
        s.reporter->event("diagnose", fmt::format("diagnostics bundle: {} ({} files, {} could not be collected)",
                                                  bundle.path.string(), bundle.entries.size(), bundle.failed()),
                          {{"path", bundle.path.string()}});
      } catch (const InterruptedError&) {
        throw;
      } catch (const Error& e) {
        s.reporter->warn("", std::string("no diagnostics bundle: ") + e.what());
      }
    }
    return code;
  });
}

}  // namespace

void add_stage_commands(CLI::App& app, GlobalOptions& global, Action& action) {
  auto selection = std::make_shared<Selection>();
  auto flags = std::make_shared<RunFlags>();

  auto* all = app.add_subcommand("all", "Run every stage in order (talos → apps)");
  all->add_option("--from", selection->from, "Start at this stage")->type_name("STAGE");
  all->add_option("--to", selection->to, "Stop after this stage")->type_name("STAGE");
  all->add_option("--skip", selection->skip, "Leave this stage out (repeatable)")->type_name("STAGE");
  all->add_flag("--resume", flags->resume,
                               "Start at the first stage that has not succeeded since its inputs last changed "
                               "(see `fluxboot history`)");
  auto* diagnose = all->add_option("--diagnose-on-failure", flags->diagnose_path,
                                   "When a stage fails, write a diagnose bundle (default: "
                                   ".fluxboot/fluxboot-diagnose-<time>.tar.gz in the repository)")
                       ->expected(0, 1)
                       ->type_name("FILE");
  all->callback([&global, &action, selection, flags, diagnose]() {
    flags->diagnose_on_failure = diagnose->count() > 0;
    action = [&global, selection, flags]() {
      if (flags->resume && !selection->from.empty()) {
        fmt::print(stderr, "fluxboot: --resume and --from exclude each other (--resume picks the first stage)\n");
        return static_cast<int>(ExitCode::Usage);
      }
      return run_selection(global, *selection, *flags);
    };
  });

  for (const auto& stage : stages::all()) {
    std::string name(stage->name());
    auto* sub = app.add_subcommand(name, "Run one stage: " + std::string(stage->title()));
    sub->callback([&global, &action, name]() {
      action = [&global, name]() {
        Selection only;
        only.only = {name};
        return run_selection(global, only, RunFlags{});
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
