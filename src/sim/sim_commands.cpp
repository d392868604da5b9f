// fluxboot-sim up / down / status / scenario: the lifecycle of a simulated cluster in DIR.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <thread>

#include <fmt/format.h>

#include "fluxboot/duration.hpp"
#include "fluxboot/error.hpp"
#include "fluxboot/process.hpp"
#include "fluxboot/version.hpp"  // generated: kVersion
#include "sim/commands.hpp"
#include "sim/control_client.hpp"
#include "sim/file_util.hpp"
#include "sim/kubeconfig_file.hpp"
#include "sim/pki.hpp"
#include "sim/scenario.hpp"
#include "sim/sim_paths.hpp"
#include "sim/simple_flags.hpp"
#include "sim/yaml_json.hpp"

namespace fluxboot::sim {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kUsage = R"(fluxboot-sim: a simulated Talos + Kubernetes + Flux cluster for fluxboot's tests and demo.

Usage:
  fluxboot-sim up --dir DIR [--nodes N] [--scenario FILE] [--port P] [--bootstrapped]
                  [--kubectl PATH] [--helm PATH] [--max-lifetime 2h] [--watch-pid PID]
  fluxboot-sim down --dir DIR
  fluxboot-sim status --dir DIR [-o json]
  fluxboot-sim scenario --dir DIR --file FILE     replace the running cluster's scenario
  fluxboot-sim version

Started as `talosctl`, `helmfile`, `sops` or `op` (DIR/bin symlinks) it answers as the fake of that tool.
See docs/simulated-cluster.md.
)";

fs::path require_dir(const ParsedFlags& f) {
  if (!f.has("dir") || f.get("dir").empty()) throw UsageError("--dir DIR is required");
  return fs::absolute(f.get("dir")).lexically_normal();
}

std::string node_address(int i) { return fmt::format("127.0.0.{}", 11 + i); }

// Starts `fluxboot-sim serve` detached (own session, stdio to DIR/sim.log, no inherited fds).
pid_t spawn_server(const std::vector<std::string>& argv, const SimDir& dir) {
  std::vector<char*> cargv;
  std::vector<std::string> args = argv;
  for (auto& a : args) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  fs::path exe = self_executable();
  std::string log = dir.log_file().string();
  pid_t pid = ::fork();
  if (pid < 0) throw StageError(fmt::format("fork failed: {}", std::strerror(errno)));
  if (pid == 0) {
    ::setsid();
    int devnull = ::open("/dev/null", O_RDONLY);
    int logfd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (devnull < 0 || logfd < 0) _exit(127);
    ::dup2(devnull, 0);
    ::dup2(logfd, 1);
    ::dup2(logfd, 2);
    ::close_range(3, ~0U, 0);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int s : {SIGINT, SIGTERM, SIGHUP, SIGPIPE}) ::signal(s, SIG_DFL);
    ::execv(exe.c_str(), cargv.data());
    _exit(127);
  }
  return pid;
}

std::string tail_of(const fs::path& file, size_t lines) {
  std::string text;
  try {
    text = read_text(file);
  } catch (...) {
    return {};
  }
  size_t pos = text.size();
  for (size_t n = 0; n <= lines && pos > 0; ++n) {
    auto p = text.rfind('\n', pos - 1);
    if (p == std::string::npos) {
      pos = 0;
      break;
    }
    pos = p;
  }
  return text.substr(pos);
}

std::string env_file_text(const SimDir& d) {
  auto q = [](const fs::path& p) { return process::shell_quote(p.string()); };
  return fmt::format(
      "# fluxboot-sim: `source` this file to use the simulated cluster in {0}\n"
      "# (kubectl and helm here are the real binaries; talosctl and helmfile are the simulator's fakes).\n"
      "export FLUXBOOT_SIM_DIR={1}\n"
      "export PATH={2}\":$PATH\"\n"
      "export KUBECACHEDIR={3}\n"
      "export HELM_CACHE_HOME={4}\n"
      "export HELM_CONFIG_HOME={5}\n"
      "export HELM_DATA_HOME={6}\n",
      d.root.string(), q(d.root), q(d.bin()), q(d.kube_cache()), q(d.helm_home() / "cache"),
      q(d.helm_home() / "config"), q(d.helm_home() / "data"));
}

}  // namespace

int up_command(const std::vector<std::string>& args) {
  auto f = parse_flags(args, {{"dir", "nodes", "scenario", "port", "kubectl", "helm", "max-lifetime", "watch-pid"},
                              {"bootstrapped"},
                              {},
                              {}});
  if (!f.positional.empty()) throw UsageError("up: unexpected argument " + f.positional.front());
  const auto start = Clock::now();
  SimDir dir(require_dir(f));
  int nodes = 0;
  try {
    nodes = std::stoi(f.get("nodes", "0"));
  } catch (...) {
    throw UsageError("--nodes: expected a number");
  }
  if (nodes < 0 || nodes > 200) throw UsageError("--nodes: expected 0..200");
  int port = 0;
  try {
    port = std::stoi(f.get("port", "0"));
  } catch (...) {
    throw UsageError("--port: expected a number");
  }
  (void)parse_duration(f.get("max-lifetime", "2h"), "--max-lifetime");  // validated here, enforced by the server

  fs::create_directories(dir.root);
  if (int pid = read_pid_file(dir.pid_file()); is_sim_server(pid, dir.root))
    throw StageError(fmt::format("a simulated cluster is already running in {} (pid {}); run `fluxboot-sim down --dir {}` first",
                                 dir.root.string(), pid, dir.root.string()));
  std::error_code ec;
  fs::remove(dir.pid_file(), ec);
  fs::remove(dir.info_file(), ec);

  // The scenario is validated here so that a typo fails `up`, not the server in the background.
  if (f.has("scenario")) {
    std::string text;
    try {
      text = read_text(f.get("scenario"));
    } catch (const std::exception& e) {
      throw InputError(fmt::format("--scenario: {}", e.what()));
    }
    parse_scenario(text);
    write_text_atomic(dir.scenario(), text);
  } else {
    fs::remove(dir.scenario(), ec);
  }

  fs::path kubectl = find_real_tool("kubectl", f.get("kubectl"), dir.bin());
  fs::path helm = find_real_tool("helm", f.get("helm"), dir.bin());
  generate_pki(dir.pki());
  fs::create_directories(dir.bin());
  fs::create_directories(dir.kube_cache());
  for (const char* sub : {"cache", "config", "data"}) fs::create_directories(dir.helm_home() / sub);
  fs::path self = self_executable();
  replace_symlink(self, dir.bin() / "talosctl");
  replace_symlink(self, dir.bin() / "helmfile");
  replace_symlink(self, dir.bin() / "sops");
  replace_symlink(self, dir.bin() / "op");
  replace_symlink(self, dir.bin() / "fluxboot-sim");
  replace_symlink(kubectl, dir.bin() / "kubectl");
  replace_symlink(helm, dir.bin() / "helm");
  fs::remove(dir.requests_log(), ec);

  std::vector<std::string> argv = {"fluxboot-sim", "serve", "--dir", dir.root.string(), "--port", std::to_string(port),
                                   "--nodes", std::to_string(nodes), "--max-lifetime", f.get("max-lifetime", "2h"),
                                   "--kubectl", kubectl.string(), "--helm", helm.string()};
  if (f.has("watch-pid")) argv.insert(argv.end(), {"--watch-pid", f.get("watch-pid")});
  if (f.flag("bootstrapped")) argv.push_back("--bootstrapped");
  pid_t pid = spawn_server(argv, dir);

  std::optional<json> info;
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  while (Clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid)
      throw StageError(fmt::format("the simulated cluster's server exited during start-up; {}:\n{}",
                                   dir.log_file().string(), tail_of(dir.log_file(), 15)));
    info = read_sim_info(dir);
    if (info && info->value("pid", 0) == pid) break;
    info.reset();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!info) {
    ::kill(pid, SIGKILL);
    throw StageError(fmt::format("the simulated cluster's server did not start within 20s; {}:\n{}",
                                 dir.log_file().string(), tail_of(dir.log_file(), 15)));
  }
  ControlClient(dir).get("/_sim/state");  // TLS and client certificate work end to end

  PkiPaths pki(dir.pki());
  KubeconfigParts parts;
  parts.server = (*info)["url"].get<std::string>();
  parts.ca_pem = read_text(pki.ca_crt);
  parts.client_crt_pem = read_text(pki.client_crt);
  parts.client_key_pem = read_text(pki.client_key);
  write_text_atomic(dir.kubeconfig(), json_to_yaml(make_kubeconfig(parts)), 0600);

  json addrs = json::array();
  for (int i = 0; i < std::max(nodes, f.flag("bootstrapped") ? 1 : 0); ++i) addrs.push_back(node_address(i));
  json talosconfig = {
      {"context", "sim"},
      {"contexts",
       {{"sim",
         {{"endpoints", addrs.empty() ? json::array() : json::array({addrs[0]})},
          {"nodes", addrs},
          {"ca", base64_encode(parts.ca_pem)},
          {"crt", base64_encode(parts.client_crt_pem)},
          {"key", base64_encode(parts.client_key_pem)}}}}},
      {"fluxboot-sim", {{"dir", dir.root.string()}, {"control", parts.server + "/_sim"}}}};
  write_text_atomic(dir.talosconfig(), json_to_yaml(talosconfig), 0600);
  write_text_atomic(dir.env_file(), env_file_text(dir));

  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  std::cerr << fmt::format("fluxboot-sim: simulated cluster up in {} at {} (pid {}, {} node{})\n",
                           format_duration(ms), parts.server, pid, addrs.size(), addrs.size() == 1 ? "" : "s");
  std::cerr << fmt::format("  kubeconfig {}  talosconfig {}  log {}\n", dir.kubeconfig().string(),
                           dir.talosconfig().string(), dir.log_file().string());
  std::cout << "source " << process::shell_quote(dir.env_file().string()) << std::endl;
  return 0;
}

int down_command(const std::vector<std::string>& args) {
  auto f = parse_flags(args, {{"dir"}, {}, {}, {}});
  SimDir dir(require_dir(f));
  int pid = read_pid_file(dir.pid_file());
  std::error_code ec;
  if (!is_sim_server(pid, dir.root)) {
    fs::remove(dir.pid_file(), ec);
    fs::remove(dir.info_file(), ec);
    std::cerr << fmt::format("fluxboot-sim: no simulated cluster running in {}\n", dir.root.string());
    return 0;
  }
  ::kill(pid, SIGTERM);
  auto deadline = Clock::now() + std::chrono::seconds(5);
  while (is_sim_server(pid, dir.root) && Clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (is_sim_server(pid, dir.root)) {
    ::kill(pid, SIGKILL);
    deadline = Clock::now() + std::chrono::seconds(2);
    while (is_sim_server(pid, dir.root) && Clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  fs::remove(dir.pid_file(), ec);
  fs::remove(dir.info_file(), ec);
  std::cerr << fmt::format("fluxboot-sim: stopped the simulated cluster in {} (pid {})\n", dir.root.string(), pid);
  return 0;
}

namespace {

void print_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) {
      if (widths.size() <= i) widths.push_back(0);
      widths[i] = std::max(widths[i], r[i].size());
    }
  for (const auto& r : rows) {
    std::string line = "  ";
    for (size_t i = 0; i < r.size(); ++i) line += i + 1 < r.size() ? fmt::format("{:<{}}  ", r[i], widths[i]) : r[i];
    std::cout << line << "\n";
  }
}

void print_state(const SimDir& dir, const json& info, const json& st) {
  std::cout << fmt::format("Simulated cluster in {} (pid {}, {})\n", dir.root.string(), info.value("pid", 0),
                           info.value("url", ""));
  const auto& talos = st["talos"];
  std::cout << fmt::format("\nTalos (cluster {}): {}\n", talos.value("clusterName", ""),
                           talos.value("bootstrapped", false)
                               ? "etcd bootstrapped on " + talos.value("bootstrapNode", "")
                               : std::string("not bootstrapped"));
  std::vector<std::vector<std::string>> rows = {{"ADDRESS", "HOSTNAME", "TYPE", "MODE"}};
  for (const auto& n : talos["nodes"])
    rows.push_back({n.value("address", ""), n.value("hostname", ""), n.value("type", "").empty() ? "-" : n.value("type", ""),
                    n.value("mode", "")});
  if (rows.size() > 1) print_table(rows);
  else std::cout << "  (no nodes yet)\n";

  const auto& k = st["kubernetes"];
  std::cout << fmt::format("\nKubernetes API: {}, {} requests served\n",
                           k.value("available", false) ? "available" : "unavailable (503)", k.value("requests", 0));
  rows = {{"NODE", "ADDRESS", "READY", "REASON"}};
  for (const auto& n : k["nodes"])
    rows.push_back({n.value("name", ""), n.value("address", ""), n.value("ready", ""), n.value("reason", "")});
  if (rows.size() > 1) print_table(rows);
  else std::cout << "  (no nodes registered)\n";

  std::cout << "\nHelm releases (fake helmfile):\n";
  rows = {{"NAMESPACE/NAME", "CHART", "VERSION", "REVISION", "STATUS", "VALUES SHA256"}};
  for (const auto& r : st["releases"])
    rows.push_back({r.value("namespace", "") + "/" + r.value("name", ""), r.value("chart", ""), r.value("version", ""),
                    std::to_string(r.value("revision", 0)), r.value("status", ""),
                    r.value("valuesSha256", "").substr(0, 12)});
  if (rows.size() > 1) print_table(rows);
  else std::cout << "  (none)\n";

  std::cout << "\nFluxInstances:\n";
  rows = {{"NAMESPACE/NAME", "READY", "REASON", "MESSAGE"}};
  for (const auto& fi : st["fluxInstances"])
    rows.push_back({fi.value("namespace", "") + "/" + fi.value("name", ""), fi.value("ready", ""),
                    fi.value("stalled", false) ? fi.value("reason", "") + " (Stalled)" : fi.value("reason", ""),
                    fi.value("message", "")});
  if (rows.size() > 1) print_table(rows);
  else std::cout << "  (none)\n";
}

}  // namespace

int status_command(const std::vector<std::string>& args) {
  auto f = parse_flags(args, {{"dir", "output"}, {}, {{"o", "output"}}, {}});
  SimDir dir(require_dir(f));
  std::string output = f.get("output", "text");
  if (output != "text" && output != "json") throw UsageError("-o: expected json or text");
  ControlClient client(dir);
  json st = client.get("/_sim/state");
  json info = read_sim_info(dir).value_or(json::object());
  if (output == "json") {
    st["sim"] = info;
    std::cout << st.dump(2) << std::endl;
  } else {
    print_state(dir, info, st);
  }
  return 0;
}

int scenario_command(const std::vector<std::string>& args) {
  auto f = parse_flags(args, {{"dir", "file"}, {}, {{"f", "file"}}, {}});
  SimDir dir(require_dir(f));
  if (!f.has("file")) throw UsageError("scenario: --file FILE is required (an empty file clears every fault)");
  std::string text = read_text(f.get("file"));
  parse_scenario(text);
  json applied = ControlClient(dir).post_text("/_sim/scenario", text, "application/yaml");
  write_text_atomic(dir.scenario(), text);
  std::cout << applied.dump(2) << std::endl;
  return 0;
}

int sim_main(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
    std::cout << kUsage;
    return args.empty() ? 2 : 0;
  }
  std::vector<std::string> rest(args.begin() + 1, args.end());
  const std::string& cmd = args[0];
  if (cmd == "up") return up_command(rest);
  if (cmd == "down") return down_command(rest);
  if (cmd == "status") return status_command(rest);
  if (cmd == "scenario") return scenario_command(rest);
  if (cmd == "serve") return serve_command(rest);
  if (cmd == "version" || cmd == "--version") {
    std::cout << "fluxboot-sim " << kVersion << std::endl;
    return 0;
  }
  throw UsageError(fmt::format("unknown command \"{}\"\n\n{}", cmd, kUsage));
}

int multicall_main(int argc, char** argv) {
  std::string argv0 = argc > 0 ? argv[0] : "fluxboot-sim";
  std::string base = fs::path(argv0).filename().string();
  std::vector<std::string> args(argv + (argc > 0 ? 1 : 0), argv + argc);
  try {
    if (base == "talosctl") return talosctl_main(argv0, args);
    if (base == "helmfile") return helmfile_main(argv0, args);
    if (base == "sops" || base == "op") return secret_tool_main(base, args);
    return sim_main(args);
  } catch (const UsageError& e) {
    std::cerr << "fluxboot-sim: " << e.what() << "\n";
    return 2;
  } catch (const Error& e) {
    std::cerr << "fluxboot-sim: " << e.what() << "\n";
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    std::cerr << "fluxboot-sim: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace fluxboot::sim
