#pragma once
// A tiny flag parser for fluxboot-sim's own commands (CLI11 stays confined to src/cli):
// --name value, --name=value, boolean --name / --name=false, and -x short aliases.
#include <map>
#include <set>
#include <string>
#include <vector>

namespace fluxboot::sim {

struct FlagSpec {
  std::set<std::string> with_value;                // long names ("dir")
  std::set<std::string> booleans;                  // long names ("bootstrapped")
  std::map<std::string, std::string> short_alias;  // "o" -> "output"
  std::set<std::string> repeatable;                // values accumulate, comma-joined
};

struct ParsedFlags {
  std::map<std::string, std::string> values;  // booleans: "true"/"false"
  std::vector<std::string> positional;
  bool has(const std::string& k) const { return values.count(k) != 0; }
  std::string get(const std::string& k, const std::string& def = "") const {
    auto it = values.find(k);
    return it == values.end() ? def : it->second;
  }
  bool flag(const std::string& k) const { return get(k, "false") == "true"; }
};

// Throws fluxboot::UsageError ("unknown flag: --x", "flag needs an argument: --dir").
ParsedFlags parse_flags(const std::vector<std::string>& args, const FlagSpec& spec);

}  // namespace fluxboot::sim
