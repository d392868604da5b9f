// Completion scripts and the man page from a CommandSpec. Each generator only formats: what the
// commands and options are is decided by the CLI definition (src/cli).
#include "fluxboot/completion.hpp"

#include <string_view>
#include <utility>

#include <fmt/format.h>

namespace fluxboot::ops {

namespace {

std::string join(const std::vector<std::string>& v, const std::string& sep = " ") {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : sep) + x;
  return s;
}

std::vector<std::string> flags_of(const OptionSpec& o) {
  std::vector<std::string> f;
  for (const auto& s : o.short_names) f.push_back("-" + s);
  for (const auto& l : o.long_names) f.push_back("--" + l);
  return f;
}

std::vector<std::string> all_flags(const std::vector<OptionSpec>& opts) {
  std::vector<std::string> f;
  for (const auto& o : opts) {
    auto x = flags_of(o);
    f.insert(f.end(), x.begin(), x.end());
  }
  return f;
}

bool is_dir(const OptionSpec& o) { return o.value_name == "DIR"; }
bool is_file(const OptionSpec& o) { return o.value_name == "FILE" || o.value_name.find("FILE") != std::string::npos; }

// First sentence, single line: for completion menus.
std::string short_desc(const std::string& d) {
  std::string s = d.substr(0, d.find('\n'));
  if (s.size() > 90) {
    auto cut = s.rfind(' ', 87);
    s = s.substr(0, cut == std::string::npos ? 87 : cut) + "...";
  }
  return s;
}

// ---- bash ----

std::string bash_value_case(const std::string& pattern, const OptionSpec& o) {
  std::string action;
  if (!o.choices.empty()) action = fmt::format("COMPREPLY=($(compgen -W \"{}\" -- \"$cur\"))", join(o.choices));
  else if (is_dir(o)) action = "COMPREPLY=($(compgen -d -- \"$cur\"))";
  else if (is_file(o)) action = "COMPREPLY=($(compgen -f -- \"$cur\"))";
  else action = "COMPREPLY=()";
  return fmt::format("    {}) {}; return ;;\n", pattern, action);
}

// ---- zsh ----

std::string zsh_escape_desc(const std::string& d) {
  std::string out;
  for (char c : short_desc(d)) {
    if (c == '[' || c == ']' || c == ':' || c == '\\') out += '\\';
    if (c == '\'') {
      out += "'\\''";
      continue;
    }
    out += c;
  }
  return out;
}

std::string zsh_option(const OptionSpec& o) {
  auto flags = flags_of(o);
  std::string desc = zsh_escape_desc(o.description);
  std::string value;
  if (o.takes_value) {
    std::string name = o.value_name.empty() ? "value" : o.value_name;
    for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (!o.choices.empty()) value = fmt::format(":{}:({})", name, join(o.choices));
    else if (is_dir(o)) value = fmt::format(":{}:_files -/", name);
    else if (is_file(o)) value = fmt::format(":{}:_files", name);
    else value = fmt::format(":{}: ", name);
  }
  if (flags.size() == 1) return fmt::format("'{}[{}]{}'", flags[0], desc, value);
  return fmt::format("'({})'{{{}}}'[{}]{}'", join(flags), join(flags, ","), desc, value);
}

// ---- fish ----

std::string fish_quote(const std::string& s) {
  std::string out = "'";
  for (char c : short_desc(s)) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

std::string fish_option(const OptionSpec& o, const std::string& condition) {
  std::string line = "complete -c fluxboot";
  if (!condition.empty()) line += " -n " + fish_quote(condition);
  for (const auto& s : o.short_names) line += " -s " + s;
  for (const auto& l : o.long_names) line += " -l " + l;
  if (o.takes_value) {
    if (!o.choices.empty()) line += " -x -a " + fish_quote(join(o.choices));
    else if (is_dir(o)) line += " -x -a '(__fish_complete_directories)'";
    else if (is_file(o)) line += " -r -F";
    else line += " -x";
  }
  return line + " -d " + fish_quote(o.description) + "\n";
}

// ---- man ----

std::string roff(const std::string& text) {
  // groff reads Latin-1 unless preconv runs: spell the non-ASCII characters fluxboot uses.
  static const std::pair<std::string_view, std::string_view> kSpecial[] = {
      {"→", "\\(->"}, {"…", "..."}, {"—", "\\(em"}, {"✓", "ok"}, {"✗", "x"}};
  std::string out;
  bool line_start = true;
  for (size_t i = 0; i < text.size();) {
    bool replaced = false;
    for (const auto& [from, to] : kSpecial)
      if (text.compare(i, from.size(), from) == 0) {
        out += to;
        i += from.size();
        replaced = true;
        line_start = false;
        break;
      }
    if (replaced) continue;
    char c = text[i++];
    if (line_start && (c == '.' || c == '\'')) out += "\\&";
    if (c == '\\') out += "\\e";
    else if (c == '-') out += "\\-";
    else out += c;
    line_start = c == '\n';
  }
  return out;
}

std::string man_option(const OptionSpec& o) {
  std::string head;
  for (const auto& f : flags_of(o)) head += (head.empty() ? "" : ", ") + std::string("\\fB") + roff(f) + "\\fR";
  if (o.takes_value) head += " \\fI" + (o.value_name.empty() ? std::string("VALUE") : o.value_name) + "\\fR";
  std::string desc = roff(o.description);
  if (!o.choices.empty()) desc += " (" + roff(join(o.choices, ", ")) + ")";
  return ".TP\n" + head + "\n" + desc + "\n";
}

}  // namespace

std::string bash_completion(const CommandSpec& root) {
  std::string subs;
  for (const auto& s : root.subcommands) subs += (subs.empty() ? "" : " ") + s.name;
  std::string globals = join(all_flags(root.options));
  std::string out = fmt::format(R"(# bash completion for fluxboot (generated by `fluxboot completion bash`; do not edit)
_fluxboot() {{
  local cur prev cmd="" i
  cur="${{COMP_WORDS[COMP_CWORD]}}"
  prev="${{COMP_WORDS[COMP_CWORD-1]}}"
  for ((i = 1; i < COMP_CWORD; i++)); do
    case " {} " in *" ${{COMP_WORDS[i]}} "*) cmd="${{COMP_WORDS[i]}}"; break ;; esac
  done
  case "$cmd $prev" in
)",
                                subs);
  for (const auto& s : root.subcommands)
    for (const auto& o : s.options)
      if (o.takes_value) {
        std::string pat;
        for (const auto& f : flags_of(o)) pat += (pat.empty() ? "" : "|") + fmt::format("\"{} {}\"", s.name, f);
        out += bash_value_case(pat, o);
      }
  for (const auto& o : root.options)
    if (o.takes_value) {
      std::string pat;
      for (const auto& f : flags_of(o)) pat += (pat.empty() ? "" : "|") + fmt::format("*\" {}\"", f);
      out += bash_value_case(pat, o);
    }
  out += "  esac\n  case \"$cmd\" in\n";
  out += fmt::format("    \"\") COMPREPLY=($(compgen -W \"{} {}\" -- \"$cur\")) ;;\n", subs, globals);
  for (const auto& s : root.subcommands) {
    std::string words = join(all_flags(s.options));
    if (!s.positional_choices.empty())
      out += fmt::format("    {}) if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W \"{} {}\" -- \"$cur\")); "
                         "else COMPREPLY=($(compgen -W \"{}\" -- \"$cur\")); fi ;;\n",
                         s.name, words, globals, join(s.positional_choices));
    else
      out += fmt::format("    {}) COMPREPLY=($(compgen -W \"{}{}{}\" -- \"$cur\")) ;;\n", s.name, words,
                         words.empty() ? "" : " ", globals);
  }
  out += "  esac\n}\ncomplete -F _fluxboot fluxboot\n";
  return out;
}

std::string zsh_completion(const CommandSpec& root) {
  std::string out = "#compdef fluxboot\n# zsh completion for fluxboot (generated by `fluxboot completion zsh`; do not edit)\n\n";
  out += "_fluxboot() {\n  local -a global_opts commands\n  global_opts=(\n";
  for (const auto& o : root.options) out += "    " + zsh_option(o) + "\n";
  out += "  )\n  commands=(\n";
  for (const auto& s : root.subcommands) {
    std::string d = short_desc(s.description);
    std::string esc;
    for (char c : d) {
      if (c == '\'') esc += "'\\''";
      else esc += c;
    }
    out += fmt::format("    '{}:{}'\n", s.name, esc);
  }
  out += "  )\n  local curcontext=\"$curcontext\" state line\n  typeset -A opt_args\n"
         "  _arguments -C $global_opts '1: :->command' '*:: :->args' && return\n"
         "  case $state in\n    command) _describe -t commands 'fluxboot command' commands ;;\n"
         "    args)\n      case $line[1] in\n";
  for (const auto& s : root.subcommands) {
    out += fmt::format("        {}) _arguments $global_opts", s.name);
    for (const auto& o : s.options) out += " " + zsh_option(o);
    if (!s.positional_choices.empty())
      out += fmt::format(" '1:{}:({})'", s.positional.empty() ? "argument" : s.positional, join(s.positional_choices));
    out += " ;;\n";
  }
  out += "      esac ;;\n  esac\n}\n\n_fluxboot \"$@\"\n";
  return out;
}

std::string fish_completion(const CommandSpec& root) {
  std::string out = "# fish completion for fluxboot (generated by `fluxboot completion fish`; do not edit)\n";
  std::vector<std::string> names;
  for (const auto& s : root.subcommands) names.push_back(s.name);
  out += "complete -c fluxboot -f\n";
  for (const auto& s : root.subcommands)
    out += fmt::format("complete -c fluxboot -n '__fish_use_subcommand' -a {} -d {}\n", s.name, fish_quote(s.description));
  for (const auto& o : root.options) out += fish_option(o, "");
  for (const auto& s : root.subcommands) {
    std::string cond = "__fish_seen_subcommand_from " + s.name;
    for (const auto& o : s.options) out += fish_option(o, cond);
    if (!s.positional_choices.empty())
      out += fmt::format("complete -c fluxboot -n {} -a {}\n", fish_quote(cond), fish_quote(join(s.positional_choices)));
  }
  return out;
}

std::string man_page(const CommandSpec& root, const std::string& version, const std::string& date) {
  std::string out;
  out += ".\\\" Generated by `fluxboot man` from the command-line definition; do not edit.\n";
  out += fmt::format(".TH FLUXBOOT 1 \"{}\" \"fluxboot {}\" \"User Commands\"\n", date, version);
  out += ".SH NAME\nfluxboot \\- " + roff(root.description.substr(root.description.find("— ") == std::string::npos ? 0 : root.description.find("— ") + 4)) + "\n";
  out += ".SH SYNOPSIS\n.B fluxboot\n\\fICOMMAND\\fR [\\fIOPTIONS\\fR]\n.br\n.B fluxboot all\n"
         "[\\fB\\-\\-from\\fR \\fISTAGE\\fR] [\\fB\\-\\-to\\fR \\fISTAGE\\fR] [\\fB\\-\\-skip\\fR \\fISTAGE\\fR]... "
         "[\\fB\\-\\-resume\\fR] [\\fB\\-\\-dry\\-run\\fR]\n";
  out += ".SH DESCRIPTION\n" + roff(
      "fluxboot replaces the `just bootstrap <stage>` recipes of Talos + Flux home-ops repositories with one "
      "command. It reads the GitOps repository as it is (talos/, bootstrap/, kubernetes/) and runs eight "
      "idempotent stages in order: talos, k8s, kubeconfig, wait, namespaces, resources, crds, apps. It shells out "
      "to talosctl, kubectl and helmfile (argv only, never a shell), validates every input before it changes "
      "anything, enforces a deadline per stage, and records each run in a journal so that a failed bootstrap "
      "can be resumed.") + "\n";
  out += ".SH COMMANDS\n";
  for (const auto& s : root.subcommands) {
    out += ".TP\n.B " + roff(s.name) + (s.positional.empty() ? "" : " \\fI" + s.positional + "\\fR") + "\n" +
           roff(s.description) + "\n";
    if (!s.positional_choices.empty())
      out += ".br\n" + roff(s.positional + " is one of: " + join(s.positional_choices, ", ") + ".") + "\n";
    if (!s.options.empty()) {
      out += ".RS\n";
      for (const auto& o : s.options) out += man_option(o);
      out += ".RE\n";
    }
  }
  out += ".SH GLOBAL OPTIONS\nValid before or after the command.\n";
  for (const auto& o : root.options) out += man_option(o);
  out += ".SH EXIT STATUS\n";
  const std::pair<const char*, const char*> codes[] = {
      {"0", "Success (every selected stage succeeded or was planned; doctor: no check failed)."},
      {"1", "A stage failed (a tool error, an API error, a release failure, a Stalled FluxInstance)."},
      {"2", "Usage error: unknown command, stage or flag value; rollback without --yes when stdin is not a terminal."},
      {"3", "Invalid input in the repository or fluxboot.yaml, reported before anything changed; doctor: a check failed."},
      {"4", "A required tool (talosctl, kubectl, helmfile, helm, sops) is missing."},
      {"5", "Another fluxboot run holds the repository lock; nothing was changed."},
      {"124", "A stage deadline was exceeded."},
      {"130", "Interrupted (SIGINT)."},
      {"143", "Terminated (SIGTERM)."}};
  for (const auto& [code, text] : codes) out += fmt::format(".TP\n.B {}\n{}\n", code, roff(text));
  out += ".SH ENVIRONMENT\n";
  const std::pair<const char*, const char*> env[] = {
      {"KUBECONFIG", "kubeconfig to write and use when --kubeconfig is not given (the first entry of a list)."},
      {"TALOSCONFIG", "talosconfig when --talosconfig is not given."},
      {"SOPS_AGE_KEY_FILE", "age identity used for sops-age and sops decryption (default: <root>/age.key)."},
      {"XDG_STATE_HOME", "where the debug logs go: $XDG_STATE_HOME/fluxboot/logs (default ~/.local/state)."},
      {"CI", "when set and not empty, progress is printed as plain lines instead of a live display."},
      {"NO_COLOR", "when set and not empty, no colours and no live display."},
      {"FLUXBOOT_NO_DEBUG_LOG", "when set, no debug log file is written."}};
  for (const auto& [name, text] : env) out += fmt::format(".TP\n.B {}\n{}\n", roff(name), roff(text));
  out += ".SH FILES\n";
  const std::pair<const char*, const char*> files[] = {
      {"<root>/fluxboot.yaml", "optional configuration (layout, tools, timeouts, nodes)."},
      {"<root>/.fluxboot/state.json", "run journal: each stage's last outcome and input hash, the last 50 runs."},
      {"<root>/.fluxboot/lock", "held while a run changes the cluster; a second run is refused with exit 5."},
      {"~/.local/state/fluxboot/logs/", "debug logs with the full (redacted) tool output; the newest 20 are kept."}};
  for (const auto& [name, text] : files) out += fmt::format(".TP\n.I {}\n{}\n", roff(name), roff(text));
  out += ".SH EXAMPLES\n.nf\n" +
         roff("fluxboot doctor                      # preflight checklist\n"
              "fluxboot all                         # bootstrap\n"
              "fluxboot all --resume                # continue after a failure\n"
              "fluxboot all --log-format json --diagnose-on-failure=diag.tar.gz   # in CI\n"
              "fluxboot history                     # past runs\n"
              "fluxboot diagnose -o support.tar.gz  # support bundle\n"
              "fluxboot rollback --dry-run          # what rollback would remove\n") +
         ".fi\n";
  out += ".SH SEE ALSO\n.BR talosctl (1),\n.BR kubectl (1),\n.BR helmfile (1),\n.BR helm (1)\n";
  return out;
}

}  // namespace fluxboot::ops
