#include "fluxboot/reporter.hpp"

#include "log/debug_log.hpp"

#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <ctime>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "fluxboot/duration.hpp"

namespace fluxboot {

namespace {

std::string now_iso8601() {
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

// Summarises what a command gets on stdin without ever showing secret material.
std::string input_summary(const process::Command& cmd) {
  if (!cmd.input) return {};
  if (cmd.input_is_secret) return fmt::format(" <stdin: {} bytes, secret, not shown>", cmd.input->size());
  return fmt::format(" <stdin: {} bytes>", cmd.input->size());
}

bool env_set(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0';
}

bool is_tty(std::FILE* f) { return f != nullptr && ::isatty(fileno(f)) != 0; }

// Display width in terminal columns, counting each UTF-8 code point as one column (the glyphs
// fluxboot prints are all narrow).
size_t columns(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80 ? 1 : 0;
  return n;
}

// Cuts `s` to `width` columns (a wrapped line would break the cursor arithmetic of the redraw).
std::string fit(const std::string& s, size_t width) {
  if (columns(s) <= width) return s;
  size_t cols = 0, i = 0;
  for (; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if ((c & 0xC0) != 0x80) {
      if (cols + 1 >= width) break;
      ++cols;
    }
  }
  return s.substr(0, i) + "…";
}

// Live lines are single lines whatever the message holds.
std::string one_line(std::string s) {
  for (auto& ch : s)
    if (ch == '\n' || ch == '\r' || ch == '\t') ch = ' ';
  return s;
}

const char* const kSpinner[] = {"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"};

// Elapsed time for live lines: whole seconds ("0s", "42s", "3m05s").
std::string seconds(std::chrono::steady_clock::duration d) {
  auto s = std::chrono::duration_cast<std::chrono::seconds>(d).count();
  if (s < 60) return fmt::format("{}s", s);
  return format_duration(std::chrono::milliseconds(s * 1000));
}

}  // namespace

bool live_progress_wanted(const ReporterOptions& o) {
  if (o.progress == ProgressMode::Live) return o.human != nullptr;
  if (o.progress == ProgressMode::Plain) return false;
  if (o.format != LogFormat::Text || o.verbosity == Verbosity::Quiet) return false;
  if (env_set("CI") || env_set("NO_COLOR")) return false;
  if (const char* term = std::getenv("TERM"); term != nullptr && std::string_view(term) == "dumb") return false;
  return is_tty(o.human) && is_tty(stdout);
}

std::string_view to_string(StageOutcome o) {
  switch (o) {
    case StageOutcome::Ok: return "ok";
    case StageOutcome::Skipped: return "skipped";
    case StageOutcome::Failed: return "failed";
    case StageOutcome::Planned: return "planned";
    case StageOutcome::NotRun: return "not run";
  }
  return "unknown";
}

Reporter::Reporter(ReporterOptions options, Redactor& redactor)
    : options_(std::move(options)), redactor_(redactor), start_(std::chrono::steady_clock::now()) {
  live_ = live_progress_wanted(options_);
  last_output_ = start_;
  if (!options_.debug_log.empty()) {
    debug_file_ = DebugLog::open(options_.debug_log, options_.debug_log_max);
    // Best effort: a read-only home (or a planted file at the name) must not stop a bootstrap.
    if (debug_file_ == nullptr) options_.debug_log.clear();
  }
}

Reporter::~Reporter() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    live_clear();
  }
  cv_.notify_all();
  if (ticker_.joinable()) ticker_.join();
  debug_file_.reset();
}

// The ticker redraws the live lines (spinner, elapsed time) and, in plain mode, prints a
// "still running" line when a stage has been silent for `heartbeat`. Started on first use so that
// a Reporter that never runs a stage costs no thread.
void Reporter::ensure_ticker() {
  if (ticker_.joinable() || options_.human == nullptr || options_.format != LogFormat::Text) return;
  if (!live_ && options_.heartbeat.count() <= 0) return;
  ticker_ = std::thread([this] { ticker_loop(); });
}

void Reporter::ticker_loop() {
  std::unique_lock lock(mu_);
  auto interval = live_ ? options_.frame : std::min<std::chrono::milliseconds>(options_.heartbeat, std::chrono::seconds(1));
  while (!stop_) {
    cv_.wait_for(lock, interval);
    if (stop_) break;
    auto now = std::chrono::steady_clock::now();
    if (live_) {
      if (stage_running_ || !commands_.empty()) {
        ++frame_;
        live_clear();
        live_draw();
      }
    } else if (stage_running_ && options_.verbosity != Verbosity::Quiet && now - last_output_ >= options_.heartbeat) {
      human_line(Verbosity::Normal, stage_prefix(current_stage_) + "still running (" + seconds(now - stage_start_) + ")");
    }
  }
}

std::string Reporter::mark(char kind) const {
  const bool color = live_ || options_.color;
  auto paint = [&](const char* code, const char* glyph) {
    return color ? fmt::format("\x1b[{}m{}\x1b[0m ", code, glyph) : fmt::format("{} ", glyph);
  };
  switch (kind) {
    case '+': return paint("32", "✓");
    case 'x': return paint("31", "✗");
    case '-': return paint("2", "-");
    default: return "";
  }
}

void Reporter::live_clear() {
  if (!live_ || drawn_lines_ == 0 || options_.human == nullptr) return;
  fmt::print(options_.human, "\x1b[{}A\r\x1b[J", drawn_lines_);
  drawn_lines_ = 0;
  std::fflush(options_.human);
}

void Reporter::live_draw() {
  if (!live_ || options_.human == nullptr || stop_) return;
  size_t width = 80, rows = 24;
  winsize ws{};
  if (::ioctl(fileno(options_.human), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
    width = ws.ws_col;
    if (ws.ws_row > 0) rows = ws.ws_row;
  }
  // The block must fit on the screen, or moving the cursor up no longer reaches its first line.
  const size_t max_lines = rows > 3 ? rows - 2 : 1;
  const auto now = std::chrono::steady_clock::now();
  const std::string spin = fmt::format("\x1b[36m{}\x1b[0m", kSpinner[frame_ % 10]);
  std::string out;
  int lines = 0;
  // Colour codes are added after fitting, so the width arithmetic sees only visible text.
  if (stage_running_) {
    std::string text = one_line(stage_prefix(current_stage_) + (last_progress_.empty() ? stage_title_ : last_progress_));
    std::string elapsed = " (" + seconds(now - stage_start_) + ")";
    text = fit(text, width > columns(elapsed) + 4 ? width - columns(elapsed) - 3 : 10);
    out += spin + " " + text + "\x1b[2m" + elapsed + "\x1b[0m\n";
    ++lines;
  }
  for (size_t i = 0; i < commands_.size(); ++i) {
    const auto& c = commands_[i];
    if (static_cast<size_t>(lines) + 1 >= max_lines && i + 1 < commands_.size()) {
      out += fmt::format("    … {} more commands running\n", commands_.size() - i);
      ++lines;
      break;
    }
    std::string elapsed = " (" + seconds(now - c.start) + ")";
    std::string text = fit(one_line(c.label), width > columns(elapsed) + 8 ? width - columns(elapsed) - 7 : 10);
    out += "    " + spin + " " + text + "\x1b[2m" + elapsed + "\x1b[0m\n";
    ++lines;
  }
  if (lines == 0) return;
  std::fputs(out.c_str(), options_.human);
  std::fflush(options_.human);
  drawn_lines_ = lines;
}

// A line that stays: printed above the live lines, which are then drawn again.
void Reporter::permanent(const std::string& line, std::FILE* to) {
  std::FILE* f = to != nullptr ? to : options_.human;
  if (f == nullptr) return;
  live_clear();
  std::fputs(line.c_str(), f);
  std::fputc('\n', f);
  std::fflush(f);
  last_output_ = std::chrono::steady_clock::now();
  live_draw();
}

void Reporter::emit_json(const std::string& line) {
  if (options_.format != LogFormat::Json || options_.json == nullptr) return;
  std::fputs(line.c_str(), options_.json);
  std::fputc('\n', options_.json);
  std::fflush(options_.json);
}

void Reporter::human_line(Verbosity min, const std::string& line) {
  if (options_.human == nullptr) return;
  if (static_cast<int>(options_.verbosity) < static_cast<int>(min)) return;
  permanent(line);
}

void Reporter::file_line(std::string_view level, std::string_view line) {
  if (debug_file_ == nullptr) return;
  auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start_);
  debug_file_->write(fmt::format("{} +{:>7}ms {:<5} {}", now_iso8601(), elapsed.count(), level, line));
}

std::string Reporter::stage_prefix(std::string_view stage) const {
  if (stage.empty()) return "";
  if (stage == current_stage_ && total_ > 0)
    return fmt::format("[{}/{}] {}: ", current_index_, total_, stage);
  return fmt::format("{}: ", stage);
}

void Reporter::stage_started(int index, int total, std::string_view stage, std::string_view title) {
  std::lock_guard lock(mu_);
  current_stage_ = stage;
  current_index_ = index;
  total_ = total;
  last_progress_.clear();
  stage_running_ = true;
  stage_title_ = title;
  stage_start_ = std::chrono::steady_clock::now();
  std::string line = stage_prefix(stage) + std::string(title);
  if (live_) {
    live_clear();
    live_draw();
  } else {
    human_line(Verbosity::Normal, line);
  }
  ensure_ticker();
  file_line("INFO", line);
  emit_json(nlohmann::json{{"ts", now_iso8601()}, {"event", "stage_started"}, {"stage", stage},
                           {"index", index}, {"total", total}, {"title", title}}
                .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void Reporter::stage_skipped(std::string_view stage, std::string_view reason) {
  std::lock_guard lock(mu_);
  std::string r = redactor_.apply(reason);
  std::string line = stage_prefix(stage) + "skipped: " + r;
  human_line(Verbosity::Normal, (live_ ? mark('-') : "") + line);
  file_line("INFO", line);
  emit_json(nlohmann::json{{"ts", now_iso8601()}, {"event", "stage_skipped"}, {"stage", stage},
                           {"reason", r}}
                .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void Reporter::stage_finished(std::string_view stage, std::chrono::milliseconds elapsed,
                              std::string_view detail) {
  std::lock_guard lock(mu_);
  std::string d = redactor_.apply(detail);
  std::string line = stage_prefix(stage) + "done in " + format_duration(elapsed) +
                     (d.empty() ? "" : " — " + d);
  if (stage == current_stage_) stage_running_ = false;
  commands_.clear();
  human_line(Verbosity::Normal, (live_ ? mark('+') : "") + line);
  file_line("INFO", line);
  emit_json(nlohmann::json{{"ts", now_iso8601()}, {"event", "stage_finished"}, {"stage", stage},
                           {"duration_ms", elapsed.count()}, {"detail", d}}
                .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void Reporter::stage_failed(std::string_view stage, std::chrono::milliseconds elapsed,
                            std::string_view error, int exit_code) {
  std::lock_guard lock(mu_);
  std::string e = redactor_.apply(error);
  std::string line = stage_prefix(stage) + "FAILED after " + format_duration(elapsed);
  if (stage == current_stage_) stage_running_ = false;
  commands_.clear();
  human_line(Verbosity::Quiet, (live_ ? mark('x') : "") + line);
  file_line("ERROR", line + ": " + e);
  emit_json(nlohmann::json{{"ts", now_iso8601()}, {"event", "stage_failed"}, {"stage", stage},
                           {"duration_ms", elapsed.count()}, {"error", e}, {"exit_code", exit_code}}
                .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void Reporter::command_started(std::string_view stage, const process::Command& cmd) {
  std::lock_guard lock(mu_);
  std::string shown = process::format_argv(cmd.argv, &redactor_) + input_summary(cmd);
  if (live_) {
    commands_.push_back({&cmd, redactor_.apply(cmd.label.empty() ? shown : cmd.label), std::chrono::steady_clock::now()});
    ensure_ticker();
  }
  human_line(Verbosity::Verbose, "  $ " + shown);
  if (live_ && options_.verbosity != Verbosity::Verbose) {
    live_clear();
    live_draw();
  }
  file_line("CMD", shown);
  nlohmann::json argv = nlohmann::json::array();
  for (const auto& a : cmd.argv) argv.push_back(redactor_.apply(a));
  emit_json(nlohmann::json{{"ts", now_iso8601()}, {"event", "command_started"}, {"stage", stage},
                           {"argv", argv}, {"label", redactor_.apply(cmd.label)}}
                .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void Reporter::command_exited(std::string_view stage, const process::Command& cmd,
                              const process::Result& result) {
  std::lock_guard lock(mu_);
  std::string what = result.timed_out   ? "timed out"
                     : result.cancelled ? "cancelled"
                     : result.term_signal != 0
                         ? fmt::format("killed by signal {}", result.term_signal)
                         : fmt::format("exit {}", result.exit_code);
  std::string tool = cmd.argv.empty() ? "" : std::filesystem::path(cmd.argv[0]).filename().string();
  std::string line = fmt::format("  {} {} ({})", tool, what, format_duration(result.elapsed));
  for (auto it = commands_.begin(); it != commands_.end(); ++it)
    if (it->key == &cmd) {
      commands_.erase(it);
      break;
    }
  human_line(Verbosity::Verbose, line);
  if (live_ && options_.verbosity != Verbosity::Verbose) {
    live_clear();
    live_draw();
  }
  file_line("CMD", line);
  emit_json(nlohmann::json{{"ts", now_iso8601()},
                           {"event", "command_exited"},
                           {"stage", stage},
                           {"tool", tool},
                           {"label", redactor_.apply(cmd.label)},
                           {"exit_code", result.exit_code},
                           {"signal", result.term_signal},
                           {"timed_out", result.timed_out},
                           {"cancelled", result.cancelled},
                           {"duration_ms", result.elapsed.count()}}
                .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void Reporter::command_output(std::string_view label, bool is_stderr, std::string_view line) {
  std::lock_guard lock(mu_);
  std::string l = redactor_.apply(line);
  file_line(is_stderr ? "ERR" : "OUT", fmt::format("[{}] {}", label, l));
  if (options_.verbosity == Verbosity::Verbose && options_.format == LogFormat::Text)
    human_line(Verbosity::Verbose, fmt::format("    {} | {}", label, l));
}

void Reporter::planned(std::string_view stage, const process::Command& cmd) {
  std::lock_guard lock(mu_);
  std::string shown = process::format_argv(cmd.argv, &redactor_) + input_summary(cmd);
  file_line("PLAN", shown);
  nlohmann::json argv = nlohmann::json::array();
  for (const auto& a : cmd.argv) argv.push_back(redactor_.apply(a));
  if (options_.format == LogFormat::Json) {
    nlohmann::json ev{{"ts", now_iso8601()},
                      {"event", "planned"},
                      {"stage", stage.empty() ? std::string_view(current_stage_) : stage},
                      {"argv", argv}};
    if (cmd.input) {
      ev["stdin_bytes"] = cmd.input->size();
      ev["stdin_secret"] = cmd.input_is_secret;
    }
    emit_json(ev.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  } else if (options_.human != nullptr) {
    // The plan is the product of a dry run: it goes to stdout, one command per line.
    permanent(fmt::format("  would run: {}", shown), stdout);
  }
}

void Reporter::progress(std::string_view stage, std::string_view message) {
  std::lock_guard lock(mu_);
  std::string m = redactor_.apply(message);
  if (m == last_progress_) return;
  last_progress_ = m;
  std::string line = stage_prefix(stage) + m;
  if (live_ && stage == current_stage_ && stage_running_) {
    live_clear();  // the stage's live line shows the latest progress
    live_draw();
  } else {
    human_line(Verbosity::Normal, line);
  }
  file_line("INFO", line);
  emit_json(nlohmann::json{{"ts", now_iso8601()}, {"event", "progress"}, {"stage", stage},
                           {"message", m}}
                .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void Reporter::info(std::string_view stage, std::string_view message) {
  std::lock_guard lock(mu_);
  std::string m = redactor_.apply(message);
  human_line(Verbosity::Normal, stage_prefix(stage) + m);
  file_line("INFO", stage_prefix(stage) + m);
  emit_json(nlohmann::json{{"ts", now_iso8601()}, {"event", "info"}, {"stage", stage},
                           {"message", m}}
                .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void Reporter::warn(std::string_view stage, std::string_view message) {
  std::lock_guard lock(mu_);
  std::string m = redactor_.apply(message);
  human_line(Verbosity::Quiet, stage_prefix(stage) + "warning: " + m);
  file_line("WARN", stage_prefix(stage) + m);
  emit_json(nlohmann::json{{"ts", now_iso8601()}, {"event", "warning"}, {"stage", stage},
                           {"message", m}}
                .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void Reporter::debug(std::string_view stage, std::string_view message) {
  std::lock_guard lock(mu_);
  std::string m = redactor_.apply(message);
  human_line(Verbosity::Verbose, stage_prefix(stage) + m);
  file_line("DEBUG", stage_prefix(stage) + m);
}

void Reporter::error(std::string_view message) {
  std::lock_guard lock(mu_);
  std::string m = redactor_.apply(message);
  human_line(Verbosity::Quiet, "error: " + m);
  file_line("ERROR", m);
  emit_json(nlohmann::json{{"ts", now_iso8601()}, {"event", "error"}, {"message", m}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void Reporter::event(std::string_view name, std::string_view message,
                     const std::vector<std::pair<std::string, std::string>>& fields) {
  std::lock_guard lock(mu_);
  std::string m = redactor_.apply(message);
  human_line(Verbosity::Quiet, m);
  file_line("INFO", m);
  nlohmann::json ev{{"ts", now_iso8601()}, {"event", name}, {"message", m}};
  for (const auto& [k, v] : fields) ev[k] = redactor_.apply(v);
  emit_json(ev.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void Reporter::summary(const std::vector<StageSummary>& stages, std::chrono::milliseconds total,
                       int exit_code) {
  std::lock_guard lock(mu_);
  nlohmann::json items = nlohmann::json::array();
  std::string table;
  for (const auto& s : stages) {
    std::string d = redactor_.apply(s.detail);
    auto nl = d.find('\n');
    std::string first = nl == std::string::npos ? d : d.substr(0, nl) + " …";
    table += fmt::format("  {:<11} {:<8} {:>8}  {}\n", s.name, to_string(s.outcome),
                         s.outcome == StageOutcome::NotRun ? "" : format_duration(s.elapsed), first);
    items.push_back({{"stage", s.name},
                     {"outcome", to_string(s.outcome)},
                     {"duration_ms", s.elapsed.count()},
                     {"detail", d}});
  }
  std::string head = fmt::format("summary ({} in {}, exit {}):", exit_code == 0 ? "ok" : "failed",
                                 format_duration(total), exit_code);
  if (options_.format == LogFormat::Text || options_.verbosity != Verbosity::Quiet) {
    // The summary is shown even with --quiet: it is the one thing a quiet run promises.
    human_line(Verbosity::Quiet, head + "\n" + table.substr(0, table.empty() ? 0 : table.size() - 1));
  }
  file_line("INFO", head + "\n" + table);
  emit_json(nlohmann::json{{"ts", now_iso8601()}, {"event", "summary"}, {"exit_code", exit_code},
                           {"duration_ms", total.count()}, {"stages", items}}
                .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace fluxboot
