#include "fluxboot/context.hpp"

#include <fmt/format.h>

#include "fluxboot/error.hpp"
#include "fluxboot/gitops.hpp"

namespace fluxboot {

Millis Context::remaining() const {
  if (deadline == std::chrono::steady_clock::time_point::max()) return Millis::max();
  auto left = std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now());
  return left.count() > 0 ? left : Millis(0);
}

void Context::check_deadline(const std::string& what) const {
  if (process::interrupted()) throw InterruptedError(process::pending_signal());
  if (remaining().count() <= 0)
    throw DeadlineError(fmt::format("{}: stage deadline exceeded while {}", stage, what));
}

std::string Context::tool(const std::string& name) const {
  auto it = resolved_tools.find(name);
  if (it != resolved_tools.end()) return it->second;
  if (name == "talosctl") return config.tools.talosctl;
  if (name == "kubectl") return config.tools.kubectl;
  if (name == "helmfile") return config.tools.helmfile;
  if (name == "helm") return config.tools.helm;
  if (name == "sops") return config.tools.sops;
  if (name == "op") return config.tools.op;
  return name;
}

std::string Context::require_tool(const std::string& name, const std::string& because) {
  if (auto it = resolved_tools.find(name); it != resolved_tools.end()) return it->second;
  const std::string configured = tool(name);
  if (auto found = process::find_executable(configured)) {
    resolved_tools[name] = found->string();
    return found->string();
  }
  const std::string where = configured == name ? " on PATH" : " at " + configured;
  if (dry_run()) {
    reporter.warn(stage, fmt::format("{} not found{}; the plan shows it by name ({} needs it: {})", name,
                                     where, stage, because));
    return configured;
  }
  throw ToolMissingError(fmt::format("{} not found{} — needed by stage {} because {} (install it, or "
                                     "set tools.{} in fluxboot.yaml)",
                                     name, where, stage, because, name));
}

std::vector<std::pair<std::string, std::string>> Context::child_env() const {
  std::vector<std::pair<std::string, std::string>> env;
  if (!options.kubeconfig.empty()) env.emplace_back("KUBECONFIG", options.kubeconfig.string());
  if (!options.talosconfig.empty()) env.emplace_back("TALOSCONFIG", options.talosconfig.string());
  return env;
}

void Context::prepare_command(process::Command& cmd) const {
  check_deadline(cmd.label.empty() ? "starting a command" : "starting " + cmd.label);
  Millis left = remaining();
  if (left != Millis::max() && (cmd.timeout.count() == 0 || cmd.timeout > left)) cmd.timeout = left;
  auto env = child_env();
  env.insert(env.end(), cmd.env.begin(), cmd.env.end());
  cmd.env = std::move(env);
  cmd.unset_env.insert(cmd.unset_env.end(), options.template_only_env.begin(), options.template_only_env.end());
  if (cmd.label.empty() && !cmd.argv.empty())
    cmd.label = std::filesystem::path(cmd.argv[0]).filename().string();
}

process::Result Context::run(process::Command cmd) {
  prepare_command(cmd);

  if (!(dry_run() && cmd.mutating)) reporter.command_started(stage, cmd);
  const std::string label = cmd.label;
  process::Result result = runner.run(cmd, [this, &label](bool is_stderr, std::string_view line) {
    reporter.command_output(label, is_stderr, line);
  });
  if (!result.dry_run) reporter.command_exited(stage, cmd, result);
  if (result.cancelled) throw InterruptedError(process::pending_signal());
  return result;
}

process::Result Context::run_checked(process::Command cmd, const std::string& what) {
  std::string tool_name =
      cmd.argv.empty() ? "command" : std::filesystem::path(cmd.argv[0]).filename().string();
  process::Result r = run(std::move(cmd));
  if (r.timed_out)
    throw DeadlineError(fmt::format("{}: {} did not finish before the stage deadline{}", what,
                                    tool_name,
                                    r.tail().empty() ? "" : ": " + redactor.apply(r.tail())));
  if (!r.ok()) {
    std::string why = r.term_signal != 0 ? fmt::format("was killed by signal {}", r.term_signal)
                                         : fmt::format("exited {}", r.exit_code);
    std::string tail = redactor.apply(r.tail());
    throw StageError(fmt::format("{}: {} {}{}", what, tool_name, why,
                                 tail.empty() ? " (no output)" : ":\n" + tail));
  }
  return r;
}

std::optional<std::string> Context::run_secret_output(process::Command cmd, const std::string& what) {
  prepare_command(cmd);
  const std::string tool_name =
      cmd.argv.empty() ? "command" : std::filesystem::path(cmd.argv[0]).filename().string();
  if (!(dry_run() && cmd.mutating)) reporter.command_started(stage, cmd);
  // No line callback: the output is secret and reaches neither the display nor the debug log.
  process::Result r = runner.run(cmd);
  if (r.dry_run) return std::nullopt;
  if (r.cancelled) throw InterruptedError(process::pending_signal());
  if (r.timed_out)
    throw DeadlineError(fmt::format("{}: {} did not finish before the stage deadline", what, tool_name));
  if (!r.ok()) {
    // stderr only, redacted: stdout may hold part of the secret.
    std::string err = r.err;
    while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
    if (err.size() > 2000) err = "..." + err.substr(err.size() - 2000);
    err = redactor.apply(err);
    throw StageError(fmt::format("{}: {} exited {}{}", what, tool_name, r.exit_code,
                                 err.empty() ? " (no output on stderr)" : ":\n" + err));
  }
  return r.out;
}

const std::vector<NodeSpec>& Context::inventory() {
  if (!inventory_) inventory_ = gitops::load_inventory(config, options.talosconfig);
  return *inventory_;
}

const NodeSpec& Context::controller() {
  const auto& nodes = inventory();
  for (const auto& n : nodes)
    if (n.control_plane) return n;
  throw InputError("the node inventory has no control-plane node: mark one with controlPlane: true");
}

}  // namespace fluxboot
