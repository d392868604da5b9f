// `fluxboot history`: the journal's runs, newest first, and each stage's latest attempt.
#include <signal.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>

#include "fluxboot/duration.hpp"
#include "fluxboot/journal.hpp"
#include "fluxboot/session.hpp"
#include "fluxboot/stages.hpp"

namespace fluxboot::ops {

using nlohmann::json;

namespace {

std::string this_host() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return {};
  return buf;
}

// "ok", "exit 1", "running", or "incomplete" (no exit code and its process is gone).
std::string result_of(const RunRecord& r) {
  if (r.exit_code == 0) return "ok";
  if (r.exit_code > 0) return fmt::format("exit {}", r.exit_code);
  if (r.host == this_host() && r.pid > 0 && (::kill(r.pid, 0) == 0 || errno == EPERM)) return "running";
  return "incomplete";
}

std::string mark(const std::string& outcome) {
  if (outcome == "ok") return "✓";
  if (outcome == "failed") return "✗";
  if (outcome == "running") return "…";
  if (outcome == "not run") return "·";
  return "?";
}

// "2025-01-31T12:00:03.123Z" → "2025-01-31 12:00:03Z".
std::string short_time(const std::string& t) {
  if (t.size() < 19) return t;
  return t.substr(0, 10) + " " + t.substr(11, 8) + "Z";
}

std::string first_line(const std::string& s, size_t max = 160) {
  std::string l = s.substr(0, s.find('\n'));
  if (l.size() > max) l = l.substr(0, max) + " …";
  return l;
}

}  // namespace

std::string render_history(const JournalState& state, size_t limit, const std::vector<std::string>& stage_order,
                           const ResumePoint* resume) {
  std::string out;
  if (state.runs.empty()) {
    out += "No runs recorded yet (the journal is written by `fluxboot all` and the stage commands; "
           "dry runs are not recorded).\n";
  } else {
    out += fmt::format("{:<5} {:<21} {:>9}  {:<22} {:<11} {}\n", "RUN", "STARTED", "DURATION", "COMMAND",
                       "RESULT", "STAGES");
    size_t shown = 0;
    for (auto it = state.runs.rbegin(); it != state.runs.rend() && shown < limit; ++it, ++shown) {
      const auto& r = *it;
      std::string stages;
      for (const auto& s : r.stages) stages += (stages.empty() ? "" : " ") + s.name + " " + mark(s.outcome);
      out += fmt::format("{:<5} {:<21} {:>9}  {:<22} {:<11} {}\n", r.id, short_time(r.started),
                         r.finished.empty() ? "-" : format_duration(std::chrono::milliseconds(r.duration_ms)),
                         r.command, result_of(r), stages);
      for (const auto& s : r.stages)
        if (s.outcome == "failed" && !s.error.empty())
          out += fmt::format("{:<5} {}: {}\n", "", s.name, first_line(s.error));
    }
    if (state.runs.size() > shown)
      out += fmt::format("({} older runs not shown; -n to show more)\n", state.runs.size() - shown);
  }
  if (!state.stages.empty()) {
    out += "\nStage state (what `fluxboot all --resume` compares):\n";
    out += fmt::format("  {:<11} {:<12} {:<21} {:>4}\n", "STAGE", "LAST", "FINISHED", "RUN");
    for (const auto& name : stage_order) {
      auto it = state.stages.find(name);
      if (it == state.stages.end()) {
        out += fmt::format("  {:<11} {:<12}\n", name, "never ran");
        continue;
      }
      const auto& r = it->second;
      out += fmt::format("  {:<11} {:<12} {:<21} {:>4}\n", name, r.outcome,
                         short_time(r.finished.empty() ? r.started : r.finished), r.run);
    }
  }
  if (resume != nullptr) {
    if (resume->stage.empty())
      out += "\n`fluxboot all --resume` has nothing to do: every stage succeeded and its inputs are unchanged.\n";
    else
      out += fmt::format("\n`fluxboot all --resume` would start at {}: {}.\n", resume->stage, resume->reason);
  }
  return out;
}

json history_json(const JournalState& state, size_t limit, const ResumePoint* resume) {
  json doc = journal_to_json(state);
  json runs = json::array();
  size_t shown = 0;
  for (auto it = state.runs.rbegin(); it != state.runs.rend() && shown < limit; ++it, ++shown) {
    json r = journal_to_json(JournalState{0, {}, {*it}})["runs"][0];
    r["result"] = result_of(*it);
    runs.push_back(r);
  }
  doc["runs"] = runs;
  doc.erase("next_run");
  if (resume != nullptr)
    doc["resume"] = resume->stage.empty() ? json(nullptr) : json{{"stage", resume->stage}, {"reason", resume->reason}};
  return doc;
}

int run_history(Session& s, const HistoryOptions& options, std::FILE* out) {
  JournalState state = load_journal(s.config.root);
  Context ctx(s.config, s.options, s.runner(), *s.reporter, s.redactor);
  auto list = stages::all();
  std::vector<Stage*> all;
  std::vector<std::string> order;
  for (auto& st : list) {
    all.push_back(st.get());
    order.emplace_back(st->name());
  }
  ResumePoint rp = resume_point(ctx, state, all);
  std::string text = options.output == "json" ? history_json(state, options.limit, &rp).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n"
                                              : render_history(state, options.limit, order, &rp);
  std::fputs(text.c_str(), out);
  std::fflush(out);
  return 0;
}

}  // namespace fluxboot::ops
