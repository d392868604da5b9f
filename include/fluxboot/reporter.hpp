#pragma once
// Everything fluxboot tells the user goes through the Reporter: human lines on stderr (or stdout
// in text mode), one JSON object per event on stdout with --log-format json, and the full debug
// log file. Every string passes through the Redactor before it is written anywhere.
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "fluxboot/process.hpp"
#include "fluxboot/redact.hpp"

namespace fluxboot {

enum class LogFormat { Text, Json };
enum class Verbosity { Quiet = 0, Normal = 1, Verbose = 2 };

enum class StageOutcome { Ok, Skipped, Failed, Planned, NotRun };
std::string_view to_string(StageOutcome o);

struct StageSummary {
  std::string name;
  StageOutcome outcome = StageOutcome::NotRun;
  std::chrono::milliseconds elapsed{0};
  std::string detail;   // one line: what was done, why skipped, or the error
};

// How running stages and commands are shown on the human stream.
//   Live: one line per running stage and command with a spinner and the elapsed time, redrawn in
//         place, collapsing to a summary line when done (a terminal).
//   Plain: one line per event, plus a "still running" line after `heartbeat` without output.
//   Auto: Live when the human stream and stdout are terminals, the format is text, the verbosity
//         is not quiet, and neither CI nor NO_COLOR is set (non-empty) and TERM is not "dumb";
//         Plain otherwise.
enum class ProgressMode { Auto, Plain, Live };

struct ReporterOptions {
  LogFormat format = LogFormat::Text;
  Verbosity verbosity = Verbosity::Normal;
  std::FILE* human = stderr;     // human-readable lines
  std::FILE* json = stdout;      // JSON events (format == Json)
  std::filesystem::path debug_log;  // empty: no debug log file
  std::size_t debug_log_max = 32u << 20;  // bytes per file before it rotates (src/log/debug_log.hpp)
  bool color = false;            // colours in plain mode (live mode always colours)
  ProgressMode progress = ProgressMode::Auto;
  std::chrono::milliseconds heartbeat{60000};  // plain text mode; 0: never
  std::chrono::milliseconds frame{100};        // live mode redraw interval
};

// The ProgressMode::Auto decision, exposed for tests and `fluxboot doctor`.
bool live_progress_wanted(const ReporterOptions& options);

class DebugLog;  // src/log/debug_log.hpp

class Reporter {
 public:
  Reporter(ReporterOptions options, Redactor& redactor);
  ~Reporter();
  Reporter(const Reporter&) = delete;
  Reporter& operator=(const Reporter&) = delete;

  void stage_started(int index, int total, std::string_view stage, std::string_view title);
  void stage_skipped(std::string_view stage, std::string_view reason);
  void stage_finished(std::string_view stage, std::chrono::milliseconds elapsed,
                      std::string_view detail);
  void stage_failed(std::string_view stage, std::chrono::milliseconds elapsed,
                    std::string_view error, int exit_code);

  void command_started(std::string_view stage, const process::Command& cmd);
  void command_exited(std::string_view stage, const process::Command& cmd,
                      const process::Result& result);
  // One line of a child's output: debug log always, console only with --verbose.
  void command_output(std::string_view label, bool is_stderr, std::string_view line);
  // Dry-run: the command that would run (argv quoted, secrets masked; stdin summarised).
  void planned(std::string_view stage, const process::Command& cmd);

  // "[4/8] wait: 3/5 nodes registered (12s)". Repeated identical messages are not re-printed.
  void progress(std::string_view stage, std::string_view message);
  void info(std::string_view stage, std::string_view message);
  void warn(std::string_view stage, std::string_view message);
  void debug(std::string_view stage, std::string_view message);
  void error(std::string_view message);
  // A named event with extra string fields (JSON), shown as `message` to humans. E.g. the path of a
  // diagnostics bundle: event("diagnose", "diagnostics bundle: x.tar.gz", {{"path", "x.tar.gz"}}).
  void event(std::string_view name, std::string_view message,
             const std::vector<std::pair<std::string, std::string>>& fields = {});

  void summary(const std::vector<StageSummary>& stages, std::chrono::milliseconds total,
               int exit_code);

  const std::filesystem::path& debug_log_path() const { return options_.debug_log; }
  Redactor& redactor() { return redactor_; }
  LogFormat format() const { return options_.format; }
  bool live() const { return live_; }

 private:
  struct RunningCommand {
    const void* key;
    std::string label;
    std::chrono::steady_clock::time_point start;
  };
  // Live display and heartbeat (all with mu_ held).
  void ensure_ticker();
  void ticker_loop();
  void live_clear();
  void live_draw();
  void permanent(const std::string& line, std::FILE* to = nullptr);
  std::string mark(char kind) const;  // '+' done, 'x' failed, '-' skipped
  void emit_json(const std::string& json_line);
  void human_line(Verbosity min, const std::string& line);
  void file_line(std::string_view level, std::string_view line);
  std::string stage_prefix(std::string_view stage) const;

  ReporterOptions options_;
  Redactor& redactor_;
  std::mutex mu_;
  std::unique_ptr<DebugLog> debug_file_;
  std::chrono::steady_clock::time_point start_;
  std::string current_stage_;
  int current_index_ = 0;
  int total_ = 0;
  std::string last_progress_;

  bool live_ = false;
  bool stage_running_ = false;
  std::string stage_title_;
  std::chrono::steady_clock::time_point stage_start_;
  std::vector<RunningCommand> commands_;
  int drawn_lines_ = 0;
  unsigned frame_ = 0;
  std::chrono::steady_clock::time_point last_output_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread ticker_;
};

}  // namespace fluxboot
