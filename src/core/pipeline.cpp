#include "fluxboot/pipeline.hpp"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "fluxboot/error.hpp"

namespace fluxboot {

namespace {

std::string known_names(const StageList& all) {
  std::string s;
  for (const auto& st : all) s += (s.empty() ? "" : ", ") + std::string(st->name());
  return s;
}

size_t index_of(const StageList& all, const std::string& name, const char* flag) {
  for (size_t i = 0; i < all.size(); ++i)
    if (all[i]->name() == name) return i;
  throw UsageError(fmt::format("{}unknown stage '{}' (stages: {})",
                               flag[0] != '\0' ? std::string(flag) + ": " : "", name,
                               known_names(all)));
}

}  // namespace

std::vector<Stage*> select_stages(const StageList& all, const Selection& sel) {
  std::set<size_t> skip;
  for (const auto& s : sel.skip) skip.insert(index_of(all, s, "--skip"));
  std::vector<Stage*> out;
  if (!sel.only.empty()) {
    std::set<size_t> only;
    for (const auto& s : sel.only) only.insert(index_of(all, s, ""));
    for (size_t i : only)
      if (!skip.count(i)) out.push_back(all[i].get());
  } else {
    size_t from = sel.from.empty() ? 0 : index_of(all, sel.from, "--from");
    size_t to = sel.to.empty() ? all.size() - 1 : index_of(all, sel.to, "--to");
    if (from > to)
      throw UsageError(fmt::format("--from {} comes after --to {} in the stage order ({})",
                                   sel.from, sel.to, known_names(all)));
    for (size_t i = from; i <= to; ++i)
      if (!skip.count(i)) out.push_back(all[i].get());
  }
  if (out.empty()) throw UsageError("no stage left to run after --from/--to/--skip");
  return out;
}

void resolve_tools(Context& ctx, const std::vector<Stage*>& stages) {
  std::map<std::string, std::vector<std::string>> needed;  // tool → stages
  for (const auto* st : stages)
    for (const auto& t : st->tools()) needed[t].push_back(std::string(st->name()));
  Problems missing;
  for (const auto& [name, users] : needed) {
    std::string configured = ctx.tool(name);
    auto found = process::find_executable(configured);
    std::string who;
    for (const auto& u : users) who += (who.empty() ? "" : ", ") + u;
    if (found) {
      ctx.resolved_tools[name] = found->string();
      ctx.reporter.debug("", fmt::format("tool {}: {}", name, found->string()));
    } else if (ctx.dry_run()) {
      ctx.reporter.warn("", fmt::format("{} ({}) not found; the plan shows it by name (needed by {})",
                                        name, configured, who));
    } else {
      missing.add(fmt::format("{} not found{} — needed by stage {} (install it, or set tools.{} "
                              "in fluxboot.yaml)",
                              name, configured == name ? " on PATH" : " at " + configured, who,
                              name));
    }
  }
  if (!missing.empty()) {
    std::string msg = missing.items().size() == 1 ? missing.items().front() : "missing tools:";
    if (missing.items().size() > 1)
      for (const auto& m : missing.items()) msg += "\n  - " + m;
    throw ToolMissingError(msg);
  }
}

int run_pipeline(Context& ctx, const std::vector<Stage*>& stages, PipelineObserver* observer) {
  auto started = std::chrono::steady_clock::now();
  std::vector<StageSummary> summaries;
  for (const auto* st : stages) summaries.push_back({std::string(st->name()), StageOutcome::NotRun, {}, {}});
  int exit_code = 0;

  // prepare() may leave files behind (the helmfile hand-off): every selected stage's cleanup runs
  // once more at the end, in reverse order, whatever happened. Cleanups are idempotent.
  auto finish = [&](int code) {
    for (auto it = stages.rbegin(); it != stages.rend(); ++it) (*it)->cleanup(ctx);
    auto total = std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - started);
    ctx.reporter.summary(summaries, total, code);
    return code;
  };

  // Preflight and prepare for every selected stage before anything changes.
  try {
    resolve_tools(ctx, stages);
    // One line per problem: stages that fail on the same input (four stages read the node
    // inventory) are named together in front of it.
    std::vector<std::pair<std::string, std::string>> found;  // message, stages
    for (auto* st : stages) {
      ctx.stage = std::string(st->name());
      try {
        st->prepare(ctx);
      } catch (const InputError& e) {
        auto same = std::find_if(found.begin(), found.end(),
                                 [&](const auto& f) { return f.first == e.what(); });
        if (same != found.end()) same->second += ", " + std::string(st->name());
        else found.emplace_back(e.what(), std::string(st->name()));
      }
    }
    ctx.stage.clear();
    Problems problems;
    for (const auto& [message, names] : found) problems.add(fmt::format("{}: {}", names, message));
    if (!problems.empty()) {
      if (problems.items().size() == 1) throw InputError(problems.items().front());
      problems.throw_if_any("invalid input");
    }
  } catch (const Error& e) {
    ctx.reporter.error(e.what());
    return finish(static_cast<int>(e.code()));
  }

  const int total = static_cast<int>(stages.size());
  for (int i = 0; i < total; ++i) {
    Stage& st = *stages[static_cast<size_t>(i)];
    StageSummary& sum = summaries[static_cast<size_t>(i)];
    if (process::interrupted()) {
      exit_code = static_cast<int>(InterruptedError(process::pending_signal()).code());
      break;
    }
    ctx.stage = std::string(st.name());
    Millis limit = ctx.options.timeout.value_or(ctx.config.timeout_for(ctx.stage, st.default_timeout()));
    auto t0 = std::chrono::steady_clock::now();
    ctx.deadline = t0 + limit;
    ctx.reporter.stage_started(i + 1, total, st.name(), st.title());
    if (observer) observer->stage_started(st);
    try {
      sum.detail = st.run(ctx);
      sum.outcome = ctx.dry_run() ? StageOutcome::Planned : StageOutcome::Ok;
      sum.elapsed = std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - t0);
      ctx.reporter.stage_finished(st.name(), sum.elapsed, sum.detail);
    } catch (const Error& e) {
      sum.outcome = StageOutcome::Failed;
      sum.elapsed = std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - t0);
      sum.detail = e.what();
      exit_code = static_cast<int>(e.code());
      ctx.reporter.stage_failed(st.name(), sum.elapsed, e.what(), exit_code);
      ctx.reporter.error(fmt::format("{}: {}", st.name(), e.what()));
    } catch (const std::exception& e) {
      sum.outcome = StageOutcome::Failed;
      sum.elapsed = std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - t0);
      sum.detail = std::string("internal error: ") + e.what();
      exit_code = static_cast<int>(ExitCode::StageFailed);
      ctx.reporter.stage_failed(st.name(), sum.elapsed, sum.detail, exit_code);
      ctx.reporter.error(fmt::format("{}: {}", st.name(), sum.detail));
    }
    st.cleanup(ctx);
    if (observer) observer->stage_finished(st, sum);
    if (exit_code != 0) break;
  }
  ctx.stage.clear();
  ctx.deadline = std::chrono::steady_clock::time_point::max();
  return finish(exit_code);
}

}  // namespace fluxboot
