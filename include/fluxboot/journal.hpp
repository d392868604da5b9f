#pragma once
// The run journal (<root>/.fluxboot/state.json), the repository lock (<root>/.fluxboot/lock), the
// stage-input hashes that `fluxboot all --resume` compares, and `fluxboot history`.
// docs/operator-guide.md documents the file format and what each stage's inputs are.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "fluxboot/context.hpp"
#include "fluxboot/error.hpp"
#include "fluxboot/pipeline.hpp"
#include "fluxboot/stage.hpp"

namespace fluxboot {
class Session;
}

namespace fluxboot::ops {

// Another run holds the repository lock. Nothing was changed. docs/exit-codes.md: 5.
inline constexpr int kExitLocked = static_cast<int>(ExitCode::Locked);
struct LockedError : Error {
  explicit LockedError(const std::string& m) : Error(ExitCode::Locked, m) {}
};

// <root>/.fluxboot, created (0700) with a `.gitignore` of `*` so that it never shows up in the
// GitOps repository's `git status`. Throws StageError when it cannot be created.
std::filesystem::path ensure_state_dir(const std::filesystem::path& root);
std::filesystem::path journal_path(const std::filesystem::path& root);  // <root>/.fluxboot/state.json
std::filesystem::path lock_path(const std::filesystem::path& root);     // <root>/.fluxboot/lock

// RFC 3339 UTC with milliseconds: "2025-01-31T12:00:00.123Z".
std::string now_rfc3339();

// ---- journal -----------------------------------------------------------------------------------

// The latest attempt of one stage (what --resume looks at).
struct StageRecord {
  std::string outcome;            // "running", "ok", "failed", "rolled back"
  std::string started, finished;  // RFC 3339 UTC; finished empty while running
  long long duration_ms = 0;
  std::string error;              // redacted, first line(s) of the error; empty unless failed
  std::string inputs_hash;        // "sha256:<hex>" of the stage's inputs when it started
  int run = 0;                    // id of the run that wrote this record
};

struct RunStage {
  std::string name;
  std::string outcome;  // as StageRecord::outcome, or "not run"
  long long duration_ms = 0;
  std::string error;
};

struct RunRecord {
  int id = 0;
  std::string command;            // "all --resume", "namespaces", "rollback"
  std::string started, finished;  // finished empty while running (or when the process died)
  long long duration_ms = 0;
  int exit_code = -1;             // -1: still running, or the process died without finishing
  std::string host;
  int pid = 0;
  std::string resumed_from;       // first stage of an `all --resume` run
  std::string debug_log;          // that run's debug log file, when one was written
  std::vector<RunStage> stages;
};

struct JournalState {
  int next_run = 1;
  std::map<std::string, StageRecord> stages;
  std::vector<RunRecord> runs;  // oldest first, at most kMaxRuns
  static constexpr size_t kMaxRuns = 50;
};

nlohmann::json journal_to_json(const JournalState& state);
// Tolerant of unknown keys (a newer fluxboot may add some); throws InputError on a wrong shape.
JournalState journal_from_json(const nlohmann::json& doc);
// An absent file is an empty journal; an unreadable or corrupt one is an InputError naming it.
JournalState load_journal(const std::filesystem::path& root);
// Atomic (temporary file + rename), mode 0600. Throws StageError on I/O errors.
void save_journal(const std::filesystem::path& root, const JournalState& state);

// ---- lock --------------------------------------------------------------------------------------

struct LockOwner {
  int pid = 0;
  std::string host, started, command;
  std::string describe() const;  // "pid 123 on host ci-7 (fluxboot all, started 2025-…)"
};

// An exclusive flock(2) on <root>/.fluxboot/lock, held for the life of the object. The file names
// the holder (pid, host, start, command). The kernel drops the flock when a process dies, so a
// file whose flock is free is stale, whatever pid it names: it is taken over (`stale` tells the
// caller, who warns). Removed on destruction.
class RunLock {
 public:
  // Throws LockedError (exit 5) naming the holder when another process holds the lock,
  // StageError when the lock file cannot be created.
  static std::unique_ptr<RunLock> acquire(const std::filesystem::path& root, const std::string& command,
                                          std::optional<LockOwner>* stale = nullptr);
  ~RunLock();
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  RunLock(std::filesystem::path path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::filesystem::path path_;
  int fd_ = -1;
};

// Takes the lock for `command` and warns through the reporter about a stale lock taken over.
// When <root>/.fluxboot cannot be written at all (a read-only checkout) it refuses with
// LockedError (exit 5): two such runs would both go ahead. With `allow_unlocked` (--no-lock) it
// warns and returns nullptr instead: the run goes on without lock and journal.
std::unique_ptr<RunLock> lock_repository(const std::filesystem::path& root, const std::string& command,
                                         Reporter& reporter, bool allow_unlocked = false);

// ---- stage inputs ------------------------------------------------------------------------------

struct StageInputs {
  std::vector<std::string> items;  // what was hashed, for humans: "file talos/talconfig.yaml", "env GITHUB_DEPLOY_KEY"
  std::string hash;                // "sha256:<hex>"
};
// The inputs of stage `stage` as they are now (docs/operator-guide.md has the list per stage).
// Never throws: an input that cannot be read is hashed as its error, so it counts as changed.
StageInputs stage_inputs(Context& ctx, std::string_view stage);

// Where `all --resume` starts: the first stage of `stages` whose latest attempt did not succeed,
// or whose inputs changed since it succeeded. stage empty: every stage is done.
struct ResumePoint {
  std::string stage;
  std::string reason;  // "failed in run 3 (2025-…)", "never ran", "inputs changed since it succeeded …"
};
ResumePoint resume_point(Context& ctx, const JournalState& state, const std::vector<Stage*>& stages);

// ---- recording a run ---------------------------------------------------------------------------

// Records one run in the journal: a run entry when constructed, each stage's start and outcome,
// and the exit code at finish(). Journal write errors are warnings (once), never failures.
class RunJournal final : public PipelineObserver {
 public:
  RunJournal(Context& ctx, std::string command, std::string resumed_from = {});
  ~RunJournal() override;
  void stage_started(const Stage& stage) override;
  void stage_finished(const Stage& stage, const StageSummary& summary) override;
  // Stages of the selection that never started are recorded as "not run" in the run entry.
  void finish(int exit_code, const std::vector<Stage*>& selected = {});
  // Marks a stage's record as no longer done (rollback undoes the apps stage), so that --resume
  // runs it again. No-op when the stage has no record.
  void mark_stage(const std::string& stage, const std::string& outcome);
  int run_id() const { return run_id_; }

 private:
  RunRecord& run();
  void save();
  Context& ctx_;
  std::filesystem::path root_;
  JournalState state_;
  int run_id_ = 0;
  bool warned_ = false;
  bool finished_ = false;
  std::chrono::steady_clock::time_point t0_;
};

// ---- history -----------------------------------------------------------------------------------

struct HistoryOptions {
  std::string output = "table";  // table | json
  size_t limit = 20;             // newest N runs
};
// Human table of the newest runs plus the stage state and where --resume would start.
std::string render_history(const JournalState& state, size_t limit, const std::vector<std::string>& stage_order,
                           const ResumePoint* resume);
nlohmann::json history_json(const JournalState& state, size_t limit, const ResumePoint* resume);
// `fluxboot history`: reads the journal (no lock), prints to `out`. Returns 0.
int run_history(Session& session, const HistoryOptions& options, std::FILE* out);

}  // namespace fluxboot::ops
