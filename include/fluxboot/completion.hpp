#pragma once
// Shell completions (bash, zsh, fish) and the man page, rendered from a plain description of the
// command line. src/cli builds that description from the CLI11 definition, so completions and the
// man page can never disagree with `--help`.
#include <string>
#include <vector>

namespace fluxboot::ops {

struct OptionSpec {
  std::vector<std::string> long_names;   // without "--"
  std::vector<std::string> short_names;  // without "-"
  std::string description;
  bool takes_value = false;
  std::string value_name;                // FILE, DIR, STAGE, DURATION, FORMAT, …
  std::vector<std::string> choices;      // fixed values, when there are
};

struct CommandSpec {
  std::string name;
  std::string description;
  std::vector<OptionSpec> options;       // for the root: the global options (valid everywhere)
  std::vector<CommandSpec> subcommands;  // visible subcommands only
  std::string positional;                // name of a positional argument (e.g. SHELL), if any
  std::vector<std::string> positional_choices;
};

std::string bash_completion(const CommandSpec& root);
std::string zsh_completion(const CommandSpec& root);
std::string fish_completion(const CommandSpec& root);
// roff (man 7 man). `date` as YYYY-MM-DD.
std::string man_page(const CommandSpec& root, const std::string& version, const std::string& date);

}  // namespace fluxboot::ops
