// The run journal: <root>/.fluxboot/state.json. Only the holder of the repository lock writes it
// (RunJournal, invalidate_stage); readers (history, --resume, diagnose) rely on the atomic rename.
#include "fluxboot/journal.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "fluxboot/session.hpp"

namespace fluxboot::ops {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string hostname() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

// Errors are kept short in the journal: the debug log has the whole text.
std::string clip(const std::string& text, size_t max = 2000) {
  if (text.size() <= max) return text;
  return text.substr(0, max) + " …";
}

template <typename T>
T get_or(const json& j, const char* key, T fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  return it->get<T>();
}

}  // namespace

std::string now_rfc3339() {
  using namespace std::chrono;
  auto now = system_clock::now();
  auto secs = system_clock::to_time_t(now);
  auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:03}Z", buf, ms);
}

fs::path ensure_state_dir(const fs::path& root) {
  fs::path dir = root / ".fluxboot";
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw StageError(fmt::format("cannot create {}: {}", dir.string(), ec.message()));
  ::chmod(dir.c_str(), 0700);
  // The directory ignores itself, so the user's GitOps repository needs no .gitignore entry.
  fs::path ignore = dir / ".gitignore";
  if (!fs::exists(ignore, ec)) {
    std::ofstream f(ignore);
    f << "# fluxboot's run journal, lock and bundles: local state, never committed\n*\n";
  }
  return dir;
}

fs::path journal_path(const fs::path& root) { return root / ".fluxboot" / "state.json"; }
fs::path lock_path(const fs::path& root) { return root / ".fluxboot" / "lock"; }

json journal_to_json(const JournalState& s) {
  json stages = json::object();
  for (const auto& [name, r] : s.stages) {
    stages[name] = {{"outcome", r.outcome},         {"started", r.started},
                    {"finished", r.finished},       {"duration_ms", r.duration_ms},
                    {"error", r.error},             {"inputs_hash", r.inputs_hash},
                    {"run", r.run}};
  }
  json runs = json::array();
  for (const auto& r : s.runs) {
    json st = json::array();
    for (const auto& x : r.stages)
      st.push_back({{"name", x.name}, {"outcome", x.outcome}, {"duration_ms", x.duration_ms}, {"error", x.error}});
    runs.push_back({{"id", r.id},
                    {"command", r.command},
                    {"started", r.started},
                    {"finished", r.finished},
                    {"duration_ms", r.duration_ms},
                    {"exit_code", r.exit_code},
                    {"host", r.host},
                    {"pid", r.pid},
                    {"resumed_from", r.resumed_from},
                    {"debug_log", r.debug_log},
                    {"stages", st}});
  }
  return {{"version", 1}, {"next_run", s.next_run}, {"stages", stages}, {"runs", runs}};
}

JournalState journal_from_json(const json& doc) {
  JournalState s;
  try {
    if (!doc.is_object()) throw InputError("not a JSON object");
    s.next_run = get_or<int>(doc, "next_run", 1);
    if (auto it = doc.find("stages"); it != doc.end() && it->is_object()) {
      for (const auto& [name, r] : it->items()) {
        StageRecord rec;
        rec.outcome = get_or<std::string>(r, "outcome", "");
        rec.started = get_or<std::string>(r, "started", "");
        rec.finished = get_or<std::string>(r, "finished", "");
        rec.duration_ms = get_or<long long>(r, "duration_ms", 0);
        rec.error = get_or<std::string>(r, "error", "");
        rec.inputs_hash = get_or<std::string>(r, "inputs_hash", "");
        rec.run = get_or<int>(r, "run", 0);
        s.stages[name] = rec;
      }
    }
    if (auto it = doc.find("runs"); it != doc.end() && it->is_array()) {
      for (const auto& r : *it) {
        RunRecord run;
        run.id = get_or<int>(r, "id", 0);
        run.command = get_or<std::string>(r, "command", "");
        run.started = get_or<std::string>(r, "started", "");
        run.finished = get_or<std::string>(r, "finished", "");
        run.duration_ms = get_or<long long>(r, "duration_ms", 0);
        run.exit_code = get_or<int>(r, "exit_code", -1);
        run.host = get_or<std::string>(r, "host", "");
        run.pid = get_or<int>(r, "pid", 0);
        run.resumed_from = get_or<std::string>(r, "resumed_from", "");
        run.debug_log = get_or<std::string>(r, "debug_log", "");
        if (auto st = r.find("stages"); st != r.end() && st->is_array())
          for (const auto& x : *st)
            run.stages.push_back({get_or<std::string>(x, "name", ""), get_or<std::string>(x, "outcome", ""),
                                  get_or<long long>(x, "duration_ms", 0), get_or<std::string>(x, "error", "")});
        s.runs.push_back(std::move(run));
      }
    }
  } catch (const json::exception& e) {
    throw InputError(std::string("unexpected journal content: ") + e.what());
  }
  for (const auto& r : s.runs) s.next_run = std::max(s.next_run, r.id + 1);
  return s;
}

JournalState load_journal(const fs::path& root) {
  fs::path file = journal_path(root);
  std::error_code ec;
  if (!fs::exists(file, ec)) return {};
  std::ifstream in(file, std::ios::binary);
  if (!in) throw InputError(fmt::format("{}: cannot read the run journal", file.string()));
  std::stringstream buf;
  buf << in.rdbuf();
  json doc = json::parse(buf.str(), nullptr, false);
  if (doc.is_discarded())
    throw InputError(fmt::format("{}: the run journal is not valid JSON (delete it to start a new "
                                 "journal; --resume then runs every stage)",
                                 file.string()));
  try {
    return journal_from_json(doc);
  } catch (const InputError& e) {
    throw InputError(fmt::format("{}: {}", file.string(), e.what()));
  }
}

void save_journal(const fs::path& root, const JournalState& state) {
  ensure_state_dir(root);
  fs::path file = journal_path(root);
  fs::path tmp = file;
  tmp += fmt::format(".tmp-{}", ::getpid());
  std::string text = journal_to_json(state).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw StageError(fmt::format("cannot write {}: {}", tmp.string(), std::strerror(errno)));
  size_t off = 0;
  while (off < text.size()) {
    ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      throw StageError(fmt::format("cannot write {}: {}", tmp.string(), std::strerror(err)));
    }
    off += static_cast<size_t>(n);
  }
  ::fsync(fd);
  ::close(fd);
  if (::rename(tmp.c_str(), file.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    throw StageError(fmt::format("cannot replace {}: {}", file.string(), std::strerror(err)));
  }
}

// ---- RunJournal --------------------------------------------------------------------------------

RunJournal::RunJournal(Context& ctx, std::string command, std::string resumed_from)
    : ctx_(ctx), root_(ctx.config.root), t0_(std::chrono::steady_clock::now()) {
  try {
    state_ = load_journal(root_);
  } catch (const Error& e) {
    // A corrupt journal must not block a bootstrap: start a new one, keep the old for inspection.
    ctx_.reporter.warn("", fmt::format("{}; starting a new journal (the old file is kept as state.json.corrupt)", e.what()));
    std::error_code ec;
    fs::rename(journal_path(root_), fs::path(journal_path(root_)).concat(".corrupt"), ec);
    state_ = {};
  }
  RunRecord r;
  r.id = state_.next_run++;
  r.command = std::move(command);
  r.started = now_rfc3339();
  r.host = hostname();
  r.pid = static_cast<int>(::getpid());
  r.resumed_from = std::move(resumed_from);
  r.debug_log = ctx_.reporter.debug_log_path().string();
  run_id_ = r.id;
  state_.runs.push_back(std::move(r));
  while (state_.runs.size() > JournalState::kMaxRuns) state_.runs.erase(state_.runs.begin());
  save();
}

RunJournal::~RunJournal() {
  // A run that ends without finish() (an exception escaped the pipeline) is still closed.
  if (!finished_) finish(1);
}

RunRecord& RunJournal::run() {
  for (auto& r : state_.runs)
    if (r.id == run_id_) return r;
  state_.runs.push_back({});
  state_.runs.back().id = run_id_;
  return state_.runs.back();
}

void RunJournal::save() {
  try {
    save_journal(root_, state_);
  } catch (const Error& e) {
    if (!warned_) ctx_.reporter.warn("", std::string("run journal not written: ") + e.what());
    warned_ = true;
  }
}

void RunJournal::stage_started(const Stage& stage) {
  std::string name(stage.name());
  StageRecord rec;
  rec.outcome = "running";
  rec.started = now_rfc3339();
  rec.inputs_hash = stage_inputs(ctx_, name).hash;
  rec.run = run_id_;
  state_.stages[name] = rec;
  run().stages.push_back({name, "running", 0, {}});
  save();
}

void RunJournal::stage_finished(const Stage& stage, const StageSummary& summary) {
  std::string name(stage.name());
  auto& rec = state_.stages[name];
  rec.outcome = std::string(to_string(summary.outcome));
  rec.finished = now_rfc3339();
  rec.duration_ms = summary.elapsed.count();
  rec.error = summary.outcome == StageOutcome::Failed ? clip(ctx_.redactor.apply(summary.detail)) : "";
  rec.run = run_id_;
  for (auto& s : run().stages)
    if (s.name == name) {
      s.outcome = rec.outcome;
      s.duration_ms = rec.duration_ms;
      s.error = rec.error;
    }
  save();
}

void RunJournal::finish(int exit_code, const std::vector<Stage*>& selected) {
  finished_ = true;
  auto& r = run();
  for (const auto* st : selected) {
    bool seen = false;
    for (const auto& s : r.stages) seen = seen || s.name == st->name();
    if (!seen) r.stages.push_back({std::string(st->name()), "not run", 0, {}});
  }
  // A stage still "running" here was cut short (e.g. the process is unwinding after a signal).
  for (auto& s : r.stages)
    if (s.outcome == "running") {
      s.outcome = "failed";
      auto& rec = state_.stages[s.name];
      if (rec.outcome == "running") rec.outcome = "failed";
    }
  r.finished = now_rfc3339();
  r.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0_).count();
  r.exit_code = exit_code;
  save();
}

void RunJournal::mark_stage(const std::string& stage, const std::string& outcome) {
  auto it = state_.stages.find(stage);
  if (it == state_.stages.end()) return;
  it->second.outcome = outcome;
  it->second.finished = now_rfc3339();
  it->second.run = run_id_;
  save();
}

}  // namespace fluxboot::ops
