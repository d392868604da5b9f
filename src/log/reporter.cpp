#include "fluxboot/reporter.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
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

}  // namespace

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
  if (!options_.debug_log.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(options_.debug_log.parent_path(), ec);
    debug_file_ = std::fopen(options_.debug_log.c_str(), "w");
    if (debug_file_ == nullptr) {
      options_.debug_log.clear();  // best effort: a read-only home must not stop a bootstrap
    } else {
      ::fchmod(fileno(debug_file_), 0600);
    }
  }
}

Reporter::~Reporter() {
  if (debug_file_ != nullptr) std::fclose(debug_file_);
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
  std::fputs(line.c_str(), options_.human);
  std::fputc('\n', options_.human);
  std::fflush(options_.human);
}

void Reporter::file_line(std::string_view level, std::string_view line) {
  if (debug_file_ == nullptr) return;
  auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start_);
  fmt::print(debug_file_, "{} +{:>7}ms {:<5} {}\n", now_iso8601(), elapsed.count(), level, line);
  std::fflush(debug_file_);
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
  std::string line = stage_prefix(stage) + std::string(title);
  human_line(Verbosity::Normal, line);
  file_line("INFO", line);
  emit_json(nlohmann::json{{"ts", now_iso8601()}, {"event", "stage_started"}, {"stage", stage},
                           {"index", index}, {"total", total}, {"title", title}}
                .dump());
}

void Reporter::stage_skipped(std::string_view stage, std::string_view reason) {
  std::lock_guard lock(mu_);
  std::string r = redactor_.apply(reason);
  std::string line = stage_prefix(stage) + "skipped: " + r;
  human_line(Verbosity::Normal, line);
  file_line("INFO", line);
  emit_json(nlohmann::json{{"ts", now_iso8601()}, {"event", "stage_skipped"}, {"stage", stage},
                           {"reason", r}}
                .dump());
}

void Reporter::stage_finished(std::string_view stage, std::chrono::milliseconds elapsed,
                              std::string_view detail) {
  std::lock_guard lock(mu_);
  std::string d = redactor_.apply(detail);
  std::string line = stage_prefix(stage) + "done in " + format_duration(elapsed) +
                     (d.empty() ? "" : " — " + d);
  human_line(Verbosity::Normal, line);
  file_line("INFO", line);
  emit_json(nlohmann::json{{"ts", now_iso8601()}, {"event", "stage_finished"}, {"stage", stage},
                           {"duration_ms", elapsed.count()}, {"detail", d}}
                .dump());
}

void Reporter::stage_failed(std::string_view stage, std::chrono::milliseconds elapsed,
                            std::string_view error, int exit_code) {
  std::lock_guard lock(mu_);
  std::string e = redactor_.apply(error);
  std::string line = stage_prefix(stage) + "FAILED after " + format_duration(elapsed);
  human_line(Verbosity::Quiet, line);
  file_line("ERROR", line + ": " + e);
  emit_json(nlohmann::json{{"ts", now_iso8601()}, {"event", "stage_failed"}, {"stage", stage},
                           {"duration_ms", elapsed.count()}, {"error", e}, {"exit_code", exit_code}}
                .dump());
}

void Reporter::command_started(std::string_view stage, const process::Command& cmd) {
  std::lock_guard lock(mu_);
  std::string shown = process::format_argv(cmd.argv, &redactor_) + input_summary(cmd);
  human_line(Verbosity::Verbose, "  $ " + shown);
  file_line("CMD", shown);
  nlohmann::json argv = nlohmann::json::array();
  for (const auto& a : cmd.argv) argv.push_back(redactor_.apply(a));
  emit_json(nlohmann::json{{"ts", now_iso8601()}, {"event", "command_started"}, {"stage", stage},
                           {"argv", argv}, {"label", redactor_.apply(cmd.label)}}
                .dump());
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
  human_line(Verbosity::Verbose, line);
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
                .dump());
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
    emit_json(ev.dump());
  } else if (options_.human != nullptr) {
    // The plan is the product of a dry run: it goes to stdout, one command per line.
    fmt::print(stdout, "  would run: {}\n", shown);
    std::fflush(stdout);
  }
}

void Reporter::progress(std::string_view stage, std::string_view message) {
  std::lock_guard lock(mu_);
  std::string m = redactor_.apply(message);
  if (m == last_progress_) return;
  last_progress_ = m;
  std::string line = stage_prefix(stage) + m;
  human_line(Verbosity::Normal, line);
  file_line("INFO", line);
  emit_json(nlohmann::json{{"ts", now_iso8601()}, {"event", "progress"}, {"stage", stage},
                           {"message", m}}
                .dump());
}

void Reporter::info(std::string_view stage, std::string_view message) {
  std::lock_guard lock(mu_);
  std::string m = redactor_.apply(message);
  human_line(Verbosity::Normal, stage_prefix(stage) + m);
  file_line("INFO", stage_prefix(stage) + m);
  emit_json(nlohmann::json{{"ts", now_iso8601()}, {"event", "info"}, {"stage", stage},
                           {"message", m}}
                .dump());
}

void Reporter::warn(std::string_view stage, std::string_view message) {
  std::lock_guard lock(mu_);
  std::string m = redactor_.apply(message);
  human_line(Verbosity::Quiet, stage_prefix(stage) + "warning: " + m);
  file_line("WARN", stage_prefix(stage) + m);
  emit_json(nlohmann::json{{"ts", now_iso8601()}, {"event", "warning"}, {"stage", stage},
                           {"message", m}}
                .dump());
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
  emit_json(nlohmann::json{{"ts", now_iso8601()}, {"event", "error"}, {"message", m}}.dump());
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
    human_line(exit_code == 0 ? Verbosity::Normal : Verbosity::Quiet, head + "\n" + table.substr(0, table.empty() ? 0 : table.size() - 1));
  }
  file_line("INFO", head + "\n" + table);
  emit_json(nlohmann::json{{"ts", now_iso8601()}, {"event", "summary"}, {"exit_code", exit_code},
                           {"duration_ms", total.count()}, {"stages", items}}
                .dump());
}

}  // namespace fluxboot
