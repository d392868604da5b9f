#pragma once
// The one seam through which fluxboot starts other programs (talosctl, kubectl, helmfile, sops).
// argv only: no shell is ever involved, so nothing user-controlled can be interpolated.
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fluxboot {
class Redactor;
}

namespace fluxboot::process {

struct Command {
  std::vector<std::string> argv;                            // argv[0] resolved or looked up on PATH
  std::optional<std::string> input;                         // written to stdin, then stdin is closed
  std::vector<std::pair<std::string, std::string>> env;     // set/override in the child
  std::filesystem::path cwd;                                // empty: inherit
  std::chrono::milliseconds timeout{0};                     // 0: none (still cancellable)
  std::chrono::milliseconds grace{2000};                    // SIGTERM → SIGKILL delay on timeout
  bool mutating = true;         // false: a read-only probe that dry-run may still execute
  bool input_is_secret = false; // stdin holds secret material: never log or print it
  std::string label;            // short name for logs, e.g. "talosctl apply-config cp-1"
  // true: the child leads a new process group, and signals and the leftover kill reach the whole
  // group. false: it stays in the caller's group, as Go's exec.Command leaves helm in helmfile's
  // (the sim's helmfile uses this to behave like the real one).
  bool new_group = true;
  // Names removed from the inherited environment (unless `env` sets them): the variables only
  // fluxboot's templates read, so that secrets meant for a template never reach a tool.
  std::vector<std::string> unset_env;
};

struct Result {
  int exit_code = -1;            // exit status; -1 when killed by a signal or not started
  int term_signal = 0;           // signal that ended the child, 0 if it exited
  bool timed_out = false;        // killed because Command::timeout passed
  bool cancelled = false;        // killed because fluxboot was interrupted
  bool dry_run = false;          // not executed: recorded by the dry-run runner
  std::string out;               // complete stdout
  std::string err;               // stderr (last 64 KiB)
  std::chrono::milliseconds elapsed{0};

  bool ok() const noexcept { return exit_code == 0 && !timed_out && !cancelled; }
  // Last `max_lines` non-empty lines of stderr (stdout when stderr is empty), joined with "\n".
  std::string tail(std::size_t max_lines = 15) const;
};

// Called for each complete line the child writes (without the newline), as it arrives.
using LineSink = std::function<void(bool is_stderr, std::string_view line)>;

class Runner {
 public:
  virtual ~Runner() = default;
  // Runs to completion (or timeout/cancellation). Never throws for a non-zero exit; throws
  // ToolMissingError if argv[0] cannot be found/executed. Thread-safe: stages run several
  // commands in parallel through one runner.
  virtual Result run(const Command& cmd, const LineSink& sink = {}) = 0;
};

// posix_spawn in a new process group, separate stdout/stderr pipes, one poll loop per run.
// stdin is /dev/null unless Command::input is set. argv[0] without '/' is looked up on PATH
// (Command::env's PATH when it sets one); a relative path with '/' is taken from fluxboot's cwd.
// When the child exits, whatever is left of its process group is SIGKILLed. A run is cancelled
// by signals that arrive while it runs: runs started after the first signal (cleanup) still
// execute, and only a further signal kills them.
std::unique_ptr<Runner> make_real_runner();

// Dry-run: mutating commands are reported through `record` and return a successful empty Result
// with dry_run=true; read-only commands (mutating=false) are delegated to `inner`.
std::unique_ptr<Runner> make_dry_runner(Runner& inner, std::function<void(const Command&)> record);

// Signal handling (SIGINT, SIGTERM): the handler only stores the signal and writes a byte to a
// self-pipe. First signal: running children's groups receive it and runs end as cancelled.
// Second signal: children are SIGKILLed at once.
// Also ignores SIGPIPE process-wide and registers kill_all_children() with atexit. Idempotent.
void install_signal_handlers();
int pending_signal() noexcept;      // 0, SIGINT or SIGTERM (the first one received)
bool interrupted() noexcept;        // pending_signal() != 0
int signal_count() noexcept;        // SIGINT/SIGTERM received so far (2+: the user insists)
void reset_signal_state_for_tests() noexcept;
// Sleeps up to `d`, returning early (false) if a signal arrives or one is already pending.
// true: slept the whole time.
bool interruptible_sleep(std::chrono::milliseconds d);
// SIGKILLs the process group of every child a real runner has started and not yet reaped.
// Async-signal-safe; for atexit/terminate/fatal-signal paths so no child outlives fluxboot.
void kill_all_children() noexcept;

// Makes this process the reaper of its orphaned descendants (Linux PR_SET_CHILD_SUBREAPER): a
// grandchild whose parent died (helm after helmfile was killed, a tool's `&` helper) is
// re-parented to fluxboot instead of init, so kill_descendants() can still find it. Returns false
// where the kernel does not support it. Called by install_signal_handlers().
bool become_subreaper() noexcept;

// The processes descending from this one, found through /proc (pid, parent pid, session), except
// those that started a session of their own (daemons such as gpg-agent detach on purpose).
struct Descendant {
  pid_t pid = 0;
  std::string command;  // /proc/PID/comm
  bool zombie = false;
};
std::vector<Descendant> list_descendants();

// The last step before fluxboot exits: SIGKILLs every descendant still alive (in fluxboot's
// session; see list_descendants), reaps those that are its children and repeats (a killed
// process's own children are re-parented here) until none is left or `wait` has passed. Not
// async-signal-safe (it reads /proc). Returns the commands that had to be killed.
std::vector<std::string> kill_descendants(std::chrono::milliseconds wait);

// Shell-quotes one word for display ('it'\''s'); never used to run anything.
std::string shell_quote(std::string_view word);
// The argv as one display line, each word quoted, each secret masked by `redactor` when given.
std::string format_argv(const std::vector<std::string>& argv, const Redactor* redactor = nullptr);

// PATH lookup of an executable name (or a path containing '/', checked for exec permission).
std::optional<std::filesystem::path> find_executable(std::string_view name);

}  // namespace fluxboot::process
