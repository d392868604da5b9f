#pragma once
// End-to-end support: a fresh simulated cluster (fluxboot-sim) plus a copy of the example
// repository in a private TempDir, and the REAL fluxboot binary run against them.
//
// The environment of every command is built from DIR/env (parsed here, never sourced through a
// shell) plus FLUXBOOT_NO_DEBUG_LOG=1, HOME=<tempdir> and empty KUBECONFIG/TALOSCONFIG, so the
// caller's own cluster configuration can never leak in.
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/test_support.hpp"

namespace fluxboot::testing::e2e {

// The real kubectl and helm that .ci/install-deps puts into .tools/bin.
bool tools_installed();

// Parses the `export NAME=VALUE` lines of a file like DIR/env: single and double quotes,
// backslash escapes and $NAME / ${NAME} expansion (from `base`, then from earlier exports).
// Comments and other lines are ignored.
std::map<std::string, std::string> parse_env_file(const std::string& text,
                                                  const std::map<std::string, std::string>& base);

// The current process environment as a map.
std::map<std::string, std::string> current_environment();

// stdout of `--log-format json`: one JSON object per line. Lines that are not a JSON object are
// returned in `bad` (a test asserts there are none).
struct Events {
  std::vector<nlohmann::json> items;
  std::vector<std::string> bad;
  std::vector<nlohmann::json> of(const std::string& event, const std::string& stage = {}) const;
  bool has_progress(const std::string& stage, const std::string& needle) const;
};
Events parse_events(const std::string& out);

// One line of DIR/requests.log: METHOD PATH QUERY CONTENT-TYPE STATUS MS ("-" for an empty field).
struct Request {
  size_t index = 0;  // position in the log
  std::string method, path, query, content_type;
  int status = 0;
  std::string raw;
  bool query_has(const std::string& param) const;  // "fieldManager=fluxboot", "force=true"
};
std::vector<Request> parse_requests_log(const std::string& text);

// Processes (not zombies, not this process, not `exclude`) that belong to a run: their command
// line mentions one of `paths`, their working directory is under one of them, or their
// environment holds FLUXBOOT_SIM_DIR=<sim dir> (inherited by every tool fluxboot starts with the
// simulator's environment, even hooks started as plain `kubectl` from the repository).
struct ProcInfo {
  pid_t pid = 0;
  std::string cmdline;
};
std::vector<ProcInfo> processes_of(const std::vector<std::filesystem::path>& paths,
                                   const std::filesystem::path& sim_dir, const std::vector<pid_t>& exclude);

// A child started with fork/exec whose stdout is read line by line while it runs (for tests that
// act in the middle of a run: Ctrl-C). stderr is collected too. The child runs in its own process
// group (like run()), and is SIGKILLed (group) if still running on destruction.
class Background {
 public:
  Background(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
             const std::filesystem::path& cwd);
  ~Background();
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;
  pid_t pid() const { return pid_; }
  // Reads output until `pred(line)` is true for a complete stdout line, the child ends, or the
  // timeout passes. Returns whether the predicate matched.
  bool wait_for_line(const std::function<bool(const std::string&)>& pred, std::chrono::milliseconds timeout);
  // Reads output for `pred()` polled every 50ms (e.g. a process appeared).
  bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout);
  void signal(int sig) const;
  // Reads everything until the child exits (SIGKILL after `timeout`); the exit code (128+signal).
  RunResult finish(std::chrono::milliseconds timeout);

 private:
  void pump(int timeout_ms);
  pid_t pid_ = -1;
  int out_ = -1, err_ = -1;
  std::string out_buf_, err_buf_;
  size_t scanned_ = 0;  // stdout lines already offered to a predicate
  bool done_ = false;
  int exit_code_ = -1;
};

// A fresh simulated cluster with --nodes 3 and a copy of docs/examples/flux-talos.
// The kubectl/helm pair this e2e run uses (the matrix: FLUXBOOT_E2E_TOOLS_DIR, else .tools/bin).
std::filesystem::path tools_dir();
// Helm's major version in tools_dir() (3 or 4), from `helm version --short`.
int helm_major();

class SimCluster {
 public:
  // `scenario` (YAML) is written to a file and passed to `up --scenario` when not empty.
  // `fixture`: a layout fixture (tests/fixtures/<name>) instead of the example repository.
  explicit SimCluster(const std::string& scenario = {}, const std::string& fixture = {});
  ~SimCluster();  // always `fluxboot-sim down`, even when a test failed
  SimCluster(const SimCluster&) = delete;
  SimCluster& operator=(const SimCluster&) = delete;

  const RunResult& up_result() const { return up_; }
  bool up_ok() const { return up_.exit_code == 0; }
  const std::filesystem::path& root() const { return tmp_.path(); }
  std::filesystem::path repo() const { return tmp_ / "repo"; }
  std::filesystem::path sim_dir() const { return tmp_ / "sim"; }
  std::filesystem::path kubeconfig() const { return repo() / "kubeconfig"; }
  pid_t server_pid() const;
  const std::map<std::string, std::string>& env() const { return env_; }

  // `fluxboot <args> --root <repo>` with the simulator's environment, cwd = the repository.
  RunResult fluxboot(std::vector<std::string> args, int timeout_s = 150) const;
  std::vector<std::string> fluxboot_argv(std::vector<std::string> args) const;
  // The real kubectl (DIR/bin/kubectl) with the kubeconfig fluxboot wrote.
  RunResult kubectl(std::vector<std::string> args, int timeout_s = 60) const;
  // The fake talosctl (DIR/bin/talosctl).
  RunResult talosctl(std::vector<std::string> args) const;
  // `fluxboot-sim status --dir DIR -o json`, parsed (null when it failed).
  nlohmann::json status() const;
  // `fluxboot-sim scenario --dir DIR --file F`; empty YAML clears every fault.
  RunResult set_scenario(const std::string& yaml) const;
  std::vector<Request> requests() const;
  RunResult down() const;

 private:
  TempDir tmp_;  // declared first: destroyed last, after `down`
  std::vector<std::string> fixture_args_;  // tests/fixtures/<name>/args, after --root
  RunResult up_;
  std::map<std::string, std::string> env_;
  mutable int scenario_files_ = 0;
};

}  // namespace fluxboot::testing::e2e
