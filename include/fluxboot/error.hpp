#pragma once
// Error kinds and the exit codes they map to (docs/exit-codes.md is the user-facing table).
#include <stdexcept>
#include <string>
#include <vector>

namespace fluxboot {

enum class ExitCode : int {
  Ok = 0,
  StageFailed = 1,       // a stage ran and failed (tool error, API error, not-ready object)
  Usage = 2,             // bad command line
  InvalidInput = 3,      // bad repository content or fluxboot.yaml; nothing was changed
  MissingTool = 4,       // a required executable is not installed
  Locked = 5,            // another fluxboot run holds the repository's lock; nothing ran
  DeadlineExceeded = 124,
  Interrupted = 130,     // SIGINT
  Terminated = 143,      // SIGTERM
};

// Base of every error fluxboot reports to the user. The message is complete and user-facing;
// it never contains secret values (callers pass through Redactor where tool output is quoted).
class Error : public std::runtime_error {
 public:
  Error(ExitCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ExitCode code() const noexcept { return code_; }

 private:
  ExitCode code_;
};

struct UsageError : Error {
  explicit UsageError(const std::string& m) : Error(ExitCode::Usage, m) {}
};
struct InputError : Error {
  explicit InputError(const std::string& m) : Error(ExitCode::InvalidInput, m) {}
};
struct ToolMissingError : Error {
  explicit ToolMissingError(const std::string& m) : Error(ExitCode::MissingTool, m) {}
};
struct StageError : Error {
  explicit StageError(const std::string& m) : Error(ExitCode::StageFailed, m) {}
};
struct DeadlineError : Error {
  explicit DeadlineError(const std::string& m) : Error(ExitCode::DeadlineExceeded, m) {}
};
// signal is SIGINT or SIGTERM; the exit code is 128 + signal.
struct InterruptedError : Error {
  explicit InterruptedError(int signal)
      : Error(signal == 15 ? ExitCode::Terminated : ExitCode::Interrupted,
              signal == 15 ? "terminated (SIGTERM)" : "interrupted (Ctrl-C)") {}
};

// Collects every validation problem so the user sees all of them at once, not the first.
class Problems {
 public:
  void add(std::string message) { items_.push_back(std::move(message)); }
  bool empty() const noexcept { return items_.empty(); }
  const std::vector<std::string>& items() const noexcept { return items_; }
  void append(const Problems& other) {
    items_.insert(items_.end(), other.items_.begin(), other.items_.end());
  }
  // Throws InputError listing every problem (one per line) when there is any.
  void throw_if_any(const std::string& heading) const;

 private:
  std::vector<std::string> items_;
};

}  // namespace fluxboot
