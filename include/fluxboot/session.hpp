#pragma once
// What every subcommand starts from: global flags resolved into a Config, RunOptions, a Reporter
// and a process Runner. Built once per invocation by the CLI layer; owns everything it hands out.
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "fluxboot/config.hpp"
#include "fluxboot/context.hpp"
#include "fluxboot/process.hpp"
#include "fluxboot/redact.hpp"
#include "fluxboot/reporter.hpp"

namespace fluxboot {

struct GlobalOptions {
  std::string root;                 // --root; empty: git top-level of cwd, else cwd
  std::string kubeconfig;           // --kubeconfig
  std::string talosconfig;          // --talosconfig
  std::string context;              // --context (kube context, for the API client)
  std::string timeout;              // --timeout DURATION
  std::string log_format = "text";  // --log-format text|json
  int verbose = 0;                  // -v (repeatable)
  bool quiet = false;               // -q
  bool dry_run = false;             // --dry-run
  bool strict = false;              // --strict (unresolved ${VAR} is an error)
  bool no_debug_log = false;        // tests: do not write the XDG debug log
  bool no_lock = false;             // --no-lock: go on when the repository lock cannot be created
  std::string cluster;              // --cluster NAME (multi-cluster repositories)
  bool layout_only = false;         // `fluxboot layout`: report an unresolved cluster instead of failing
};

class Session {
 public:
  // Resolves the root, reads fluxboot.yaml, resolves kubeconfig/talosconfig (flag, env var,
  // repository default) and sets up the reporter. Throws InputError/UsageError.
  explicit Session(const GlobalOptions& global);
  ~Session();

  GlobalOptions global;
  Config config;
  RunOptions options;
  Redactor redactor;
  std::unique_ptr<Reporter> reporter;

  // The runner stages use: the real one, or the dry-run recorder around it with --dry-run.
  process::Runner& runner();
  process::Runner& real_runner();

 private:
  std::unique_ptr<process::Runner> real_;
  std::unique_ptr<process::Runner> dry_;
};

// Root resolution on its own (used by Session, exposed for tests).
std::filesystem::path resolve_root(const std::string& flag);

// Runs a subcommand body: maps fluxboot::Error to its exit code and message, anything else to 1,
// prints the debug log path on failure. Nothing escapes to main.
int run_guarded(Reporter* reporter, const std::function<int()>& body);

}  // namespace fluxboot
