#include "stages/kubectl.hpp"

#include <map>
#include <sstream>

#include <fmt/format.h>

namespace fluxboot::stages {

process::Command kubectl_apply(Context& ctx, std::string manifests, bool secret,
                               const std::string& label) {
  process::Command cmd;
  cmd.argv = {ctx.tool("kubectl"), "apply",         "--server-side", "--force-conflicts",
              "--field-manager",   ctx.config.field_manager, "-f", "-"};
  cmd.input = std::move(manifests);
  cmd.input_is_secret = secret;
  cmd.label = label;
  return cmd;
}

std::string summarize_apply_output(const std::string& out) {
  std::map<std::string, int> counts;
  std::istringstream in(out);
  std::string line;
  int total = 0;
  while (std::getline(in, line)) {
    auto sp = line.rfind(' ');
    if (sp == std::string::npos) continue;
    counts[line.substr(sp + 1)]++;
    ++total;
  }
  if (total == 0) return "nothing applied";
  std::string s = fmt::format("{} object{}", total, total == 1 ? "" : "s");
  std::string parts;
  for (const auto& [verb, n] : counts) parts += fmt::format("{}{} {}", parts.empty() ? "" : ", ", n, verb);
  return s + " (" + parts + ")";
}

}  // namespace fluxboot::stages
