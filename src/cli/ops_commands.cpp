// Operator commands: doctor, history, diagnose, rollback, completion (and the hidden `man`). Each
// binds its flags and calls one function in src/ops.
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "cli/app.hpp"
#include "fluxboot/completion.hpp"
#include "fluxboot/diagnose.hpp"
#include "fluxboot/doctor.hpp"
#include "fluxboot/error.hpp"
#include "fluxboot/journal.hpp"
#include "fluxboot/rollback.hpp"
#include "fluxboot/stages.hpp"
#include "fluxboot/version.hpp"

namespace fluxboot::cli {

namespace {

// "FORMAT:{text,json}" → name FORMAT, choices text, json (CLI11 appends IsMember's set).
void parse_type_name(const std::string& type, ops::OptionSpec& o) {
  auto colon = type.find(':');
  o.value_name = type.substr(0, colon);
  auto open = type.find('{');
  auto close = type.find('}', open == std::string::npos ? 0 : open);
  if (open == std::string::npos || close == std::string::npos) return;
  std::string list = type.substr(open + 1, close - open - 1);
  for (size_t start = 0; start <= list.size();) {
    auto comma = list.find(',', start);
    std::string item = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!item.empty()) o.choices.push_back(item);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
}

std::vector<std::string> stage_names() {
  std::vector<std::string> names;
  for (const auto& st : stages::all()) names.emplace_back(st->name());
  return names;
}

// The command line as completions and the man page see it: visible subcommands and options.
ops::CommandSpec describe(const CLI::App& app, const std::vector<std::string>& stage_list, bool root = true) {
  ops::CommandSpec spec;
  spec.name = app.get_name();
  spec.description = app.get_description();
  for (const CLI::Option* opt : app.get_options()) {
    if (opt->get_group().empty()) continue;  // hidden
    if (!root && opt->get_name() == "--help") continue;  // said once, for the root
    if (opt->get_lnames().empty() && opt->get_snames().empty()) {
      spec.positional = opt->get_name();
      ops::OptionSpec tmp;
      parse_type_name(opt->get_type_name(), tmp);
      spec.positional_choices = tmp.choices;
      if (!tmp.value_name.empty()) spec.positional = tmp.value_name;
      continue;
    }
    ops::OptionSpec o;
    o.long_names = opt->get_lnames();
    o.short_names = opt->get_snames();
    o.description = opt->get_description();
    o.takes_value = opt->get_items_expected_max() > 0 && opt->get_type_size() != 0;
    if (o.takes_value) parse_type_name(opt->get_type_name(), o);
    if (o.value_name == "STAGE") o.choices = stage_list;
    spec.options.push_back(std::move(o));
  }
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App* a) { return !a->get_group().empty(); }))
    spec.subcommands.push_back(describe(*sub, stage_list, false));
  return spec;
}

int write_output(const std::string& text, const std::string& path) {
  if (path.empty() || path == "-") {
    std::fputs(text.c_str(), stdout);
    std::fflush(stdout);
    return 0;
  }
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) {
    fmt::print(stderr, "fluxboot: cannot write {}\n", path);
    return 1;
  }
  f << text;
  return f ? 0 : 1;
}

std::string today() {
  // Reproducible builds set SOURCE_DATE_EPOCH; the man page's date follows it.
  std::time_t t = std::time(nullptr);
  if (const char* sde = std::getenv("SOURCE_DATE_EPOCH"); sde != nullptr && *sde != '\0') t = std::atoll(sde);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

}  // namespace

void add_ops_commands(CLI::App& app, GlobalOptions& global, Action& action) {
  // doctor
  auto doctor = std::make_shared<ops::DoctorOptions>();
  auto* doc = app.add_subcommand(
      "doctor", "Preflight checklist: tools, repository, releases, Talos/Flux settings, age key, reachability "
                "(exit 0 when every check passes, 3 otherwise)");
  doc->add_option("-o,--output", doctor->output, "Output format")
      ->check(CLI::IsMember({"text", "json"}))
      ->type_name("FORMAT");
  doc->add_flag("--offline", doctor->offline, "Skip the network checks (API server, Git URL)");
  doc->callback([&global, &action, doctor]() {
    action = [&global, doctor]() { return ops::run_doctor(global, *doctor, stdout); };
  });

  // history
  auto history = std::make_shared<ops::HistoryOptions>();
  auto* his = app.add_subcommand("history", "List past runs and where `all --resume` would start");
  his->add_option("-o,--output", history->output, "Output format")
      ->check(CLI::IsMember({"table", "json"}))
      ->type_name("FORMAT");
  his->add_option("-n,--limit", history->limit, "Show the newest N runs (default 20)")->type_name("N");
  his->callback([&global, &action, history]() {
    action = [&global, history]() {
      GlobalOptions g = global;
      g.no_debug_log = true;  // read-only: must not rotate a failed run's debug log away
      return with_session(g, [&](Session& s) { return ops::run_history(s, *history, stdout); });
    };
  });

  // diagnose
  auto diag = std::make_shared<std::string>();
  auto* dia = app.add_subcommand(
      "diagnose", "Collect a support bundle (.tar.gz): Flux Operator and controller logs, FluxInstance, events, "
                  "GitRepository, bootstrap secret names (never values), the run journal and debug logs");
  dia->add_option("-o,--output", *diag, "Bundle to write (default: ./fluxboot-diagnose-<time>.tar.gz)")
      ->type_name("FILE");
  dia->callback([&global, &action, diag]() {
    action = [&global, diag]() {
      GlobalOptions g = global;
      g.no_debug_log = true;  // the bundle carries the logs of the runs that matter; keep them
      return with_session(g, [&](Session& s) {
        ops::DiagnoseOptions o;
        o.output = *diag;
        o.reason = "fluxboot diagnose";
        return ops::run_diagnose(s, o);
      });
    };
  });

  // rollback
  auto rollback = std::make_shared<ops::RollbackOptions>();
  auto* rb = app.add_subcommand(
      "rollback", "Remove the FluxInstance release, then the Flux Operator release (asks first; --yes in CI; "
                  "--dry-run shows the plan)");
  rb->add_flag("-y,--yes", rollback->yes, "Do not ask for confirmation (required when stdin is not a terminal)");
  rb->callback([&global, &action, rollback]() {
    action = [&global, rollback]() {
      return with_session(global, [&](Session& s) {
        return ops::run_rollback(s, *rollback, ::isatty(STDIN_FILENO) != 0, std::cin, stderr);
      });
    };
  });

  // completion, man: need the whole command tree, so they run after every subcommand is defined.
  auto shell = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto* comp = app.add_subcommand("completion", "Print the shell completion script for bash, zsh or fish");
  comp->add_option("shell", *shell, "Shell")->required()->check(CLI::IsMember({"bash", "zsh", "fish"}))->type_name("SHELL");
  comp->add_option("--output", *out, "Write to this file instead of stdout")->type_name("FILE")->group("");
  comp->callback([&app, &action, shell, out]() {
    action = [&app, shell, out]() {
      auto spec = describe(app, stage_names());
      std::string text = *shell == "bash" ? ops::bash_completion(spec)
                         : *shell == "zsh" ? ops::zsh_completion(spec)
                                           : ops::fish_completion(spec);
      return write_output(text, *out);
    };
  });
  auto* man = app.add_subcommand("man", "Print the man page (roff)");
  man->group("");  // hidden: build-time generator (cmake --install puts the page in place)
  man->add_option("--output", *out, "Write to this file instead of stdout")->type_name("FILE");
  man->callback([&app, &action, out]() {
    action = [&app, out]() { return write_output(ops::man_page(describe(app, stage_names()), kVersion, today()), *out); };
  });
}

}  // namespace fluxboot::cli
