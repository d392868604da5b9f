#include "stages/kubectl.hpp"

#include <filesystem>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "fluxboot/error.hpp"
#include "fluxboot/retry.hpp"

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

bool transient_api_error(const std::string& output) {
  static const char* kPatterns[] = {
      "the server is currently unable to handle the request", "ServiceUnavailable", "(503)", " 503 ",
      "connection refused", "connection reset by peer", "TLS handshake timeout", "i/o timeout",
      "etcdserver: leader changed", "etcdserver: request timed out", "http2: server sent GOAWAY",
      "unexpected EOF", "net/http: request canceled while waiting for connection"};
  for (const char* p : kPatterns)
    if (output.find(p) != std::string::npos) return true;
  return false;
}

process::Result run_apply(Context& ctx, const process::Command& cmd, const std::string& what) {
  process::Result result;
  retry_until(ctx, what + " (the API server is not answering)", Backoff{Millis(500), 2.0, Millis(5000)},
              [&](int attempt) {
                process::Result r = ctx.run(cmd);
                if (r.ok() || r.dry_run || r.timed_out || r.cancelled || !transient_api_error(r.out + "\n" + r.err)) {
                  result = std::move(r);
                  return Attempt::finished();
                }
                const std::string line = ctx.redactor.apply(r.tail());
                ctx.reporter.warn(ctx.stage, fmt::format("{}: transient API error (attempt {}), retrying: {}", what,
                                                         attempt, line.substr(0, line.find('\n'))));
                return Attempt::again(line);
              });
  if (result.ok() || result.dry_run) return result;
  // The failure was not transient (or the deadline came first): reported as run_checked does.
  const std::string tool_name =
      cmd.argv.empty() ? "command" : std::filesystem::path(cmd.argv[0]).filename().string();
  if (result.timed_out)
    throw DeadlineError(fmt::format("{}: {} did not finish before the stage deadline{}", what, tool_name,
                                    result.tail().empty() ? "" : ": " + ctx.redactor.apply(result.tail())));
  const std::string why = result.term_signal != 0 ? fmt::format("was killed by signal {}", result.term_signal)
                                                  : fmt::format("exited {}", result.exit_code);
  const std::string tail = ctx.redactor.apply(result.tail());
  throw StageError(fmt::format("{}: {} {}{}", what, tool_name, why, tail.empty() ? " (no output)" : ":\n" + tail));
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
