#pragma once
// What a stage may use: immutable config and options, the process runner, the reporter, and a
// small record of what earlier stages produced. No globals: tests build their own Context.
#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "fluxboot/config.hpp"
#include "fluxboot/duration.hpp"
#include "fluxboot/process.hpp"
#include "fluxboot/redact.hpp"
#include "fluxboot/reporter.hpp"

namespace fluxboot {

struct RunOptions {
  bool dry_run = false;
  bool strict = false;                              // unresolved ${VAR} is an error
  std::optional<Millis> timeout;                    // --timeout: overrides every stage deadline
  std::filesystem::path kubeconfig;                 // resolved (flag, env, default)
  std::filesystem::path talosconfig;                // resolved (flag, env, default)
  std::string kubeconfig_source;                    // "--kubeconfig", "KUBECONFIG", "default"
  std::string talosconfig_source;
  std::map<std::string, std::string> env;           // the environment (ENV in templates)
  // Variables only the templates read (secrets passed for resources.yaml.j2, say): removed from
  // every tool's environment (docs/configuration.md, "Environment").
  std::vector<std::string> template_only_env;
};

class Context {
 public:
  Context(const Config& cfg, const RunOptions& opts, process::Runner& run_with, Reporter& rep,
          Redactor& red)
      : config(cfg), options(opts), runner(run_with), reporter(rep), redactor(red) {}
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  const Config& config;
  const RunOptions& options;
  process::Runner& runner;
  Reporter& reporter;
  Redactor& redactor;

  // Set by the pipeline around each stage.
  std::string stage;
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();

  bool dry_run() const { return options.dry_run; }
  Millis remaining() const;
  // Throws DeadlineError("<stage>: deadline of X exceeded while <what>") when past the deadline,
  // InterruptedError when a signal arrived.
  void check_deadline(const std::string& what) const;

  // Runs through the runner with the stage's reporter hooks; the command's timeout is capped at
  // the stage's remaining time. Throws InterruptedError when cancelled by a signal.
  process::Result run(process::Command cmd);
  // run() and throw StageError("<what>: <tool> exited N: <stderr tail>") unless ok(); a timeout
  // becomes DeadlineError. Output in the message is redacted.
  process::Result run_checked(process::Command cmd, const std::string& what);

  // A command whose stdout is secret (`op inject`, `sops decrypt`): its command line is reported,
  // its output never is (neither on the display nor in the debug log). Returns stdout, or nullopt
  // when the dry-run runner only recorded it (mutating commands); throws StageError (stderr tail,
  // redacted) when it fails, DeadlineError on the stage deadline.
  std::optional<std::string> run_secret_output(process::Command cmd, const std::string& what);

  // Absolute path of a configured tool (resolved by the pipeline's preflight).
  std::string tool(const std::string& name) const;
  std::map<std::string, std::string> resolved_tools;
  // A tool only some repositories need (op for op:// references, sops for *.sops.yaml): resolved
  // on first use; ToolMissingError naming the stage and `because` when absent (a warning in a
  // dry run, which then plans it by name).
  std::string require_tool(const std::string& name, const std::string& because);

  // Environment for every child (KUBECONFIG/TALOSCONFIG pinned to the resolved files).
  std::vector<std::pair<std::string, std::string>> child_env() const;

  // The node inventory, loaded (and validated) on first use.
  const std::vector<NodeSpec>& inventory();
  // The first control-plane node: where etcd is bootstrapped and the kubeconfig comes from.
  const NodeSpec& controller();

  // Results earlier stages leave for later ones (e.g. "kubeconfig" → path written).
  std::map<std::string, std::string> outputs;

 private:
  // Deadline check, timeout capped at the stage's remaining time, child_env(), a default label.
  void prepare_command(process::Command& cmd) const;
  std::optional<std::vector<NodeSpec>> inventory_;
};

}  // namespace fluxboot
