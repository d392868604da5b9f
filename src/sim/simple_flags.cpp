#include "sim/simple_flags.hpp"

#include <fmt/format.h>

#include "fluxboot/error.hpp"

namespace fluxboot::sim {

ParsedFlags parse_flags(const std::vector<std::string>& args, const FlagSpec& spec) {
  ParsedFlags out;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {
      out.positional.insert(out.positional.end(), args.begin() + static_cast<long>(i) + 1, args.end());
      break;
    }
    if (a.size() < 2 || a[0] != '-' || a == "-") {
      out.positional.push_back(a);
      continue;
    }
    std::string name, value;
    bool has_value = false;
    if (a[1] == '-') {
      name = a.substr(2);
    } else {
      auto it = spec.short_alias.find(a.substr(1, 1));
      if (it == spec.short_alias.end()) throw UsageError(fmt::format("unknown shorthand flag: '{}' in {}", a[1], a));
      name = it->second;
      if (a.size() > 2) {
        value = a[2] == '=' ? a.substr(3) : a.substr(2);
        has_value = true;
      }
    }
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    if (spec.booleans.count(name)) {
      if (has_value && value != "true" && value != "false")
        throw UsageError(fmt::format("invalid argument \"{}\" for \"--{}\" flag: expected true or false", value, name));
      out.values[name] = has_value ? value : "true";
    } else if (spec.with_value.count(name)) {
      if (!has_value) {
        if (i + 1 >= args.size()) throw UsageError(fmt::format("flag needs an argument: --{}", name));
        value = args[++i];
      }
      if (spec.repeatable.count(name) && out.values.count(name))
        out.values[name] += "," + value;
      else
        out.values[name] = value;
    } else {
      throw UsageError(fmt::format("unknown flag: --{}", name));
    }
  }
  return out;
}

}  // namespace fluxboot::sim
