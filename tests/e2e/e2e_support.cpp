#include "e2e/e2e_support.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace fluxboot::testing::e2e {

namespace fs = std::filesystem;
using json = nlohmann::json;

const char* const kFluxboot = FLUXBOOT_BINARY;
const char* const kSim = FLUXBOOT_SIM_BINARY;

// The tool pair of this run of the matrix: .tools/bin (kubectl 1.32, helm 3.17) unless
// FLUXBOOT_E2E_TOOLS_DIR names another (.tools/v35/bin: kubectl 1.35, helm 4.1).
fs::path tools_dir() {
  const char* dir = std::getenv("FLUXBOOT_E2E_TOOLS_DIR");
  return dir != nullptr && *dir ? fs::path(dir) : fs::path(FLUXBOOT_TOOLS_BIN_DIR);
}

int helm_major() {
  auto r = run({(tools_dir() / "helm").string(), "version", "--short"}, {}, {}, {}, 30);
  return r.out.rfind("v4.", 0) == 0 ? 4 : 3;
}

bool tools_installed() {
  const fs::path bin = tools_dir();
  return ::access((bin / "kubectl").c_str(), X_OK) == 0 && ::access((bin / "helm").c_str(), X_OK) == 0;
}

std::map<std::string, std::string> current_environment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv = *e;
    auto eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return env;
}

std::map<std::string, std::string> parse_env_file(const std::string& text,
                                                  const std::map<std::string, std::string>& base) {
  std::map<std::string, std::string> out;
  auto lookup = [&](const std::string& name) -> std::string {
    if (auto it = out.find(name); it != out.end()) return it->second;
    if (auto it = base.find(name); it != base.end()) return it->second;
    return {};
  };
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    size_t p = line.find_first_not_of(" \t");
    if (p == std::string::npos || line.compare(p, 7, "export ") != 0) continue;
    p = line.find_first_not_of(" \t", p + 7);
    if (p == std::string::npos) continue;
    auto eq = line.find('=', p);
    if (eq == std::string::npos) continue;
    std::string name = line.substr(p, eq - p);
    std::string value;
    char quote = 0;
    for (size_t i = eq + 1; i < line.size(); ++i) {
      char c = line[i];
      if (quote == '\'') {
        if (c == '\'') quote = 0;
        else value += c;
      } else if (c == '\\' && i + 1 < line.size() && quote == 0) {
        value += line[++i];
      } else if (c == '\\' && i + 1 < line.size() && quote == '"' &&
                 std::string("$`\"\\").find(line[i + 1]) != std::string::npos) {
        value += line[++i];
      } else if (c == '\'' && quote == 0) {
        quote = '\'';
      } else if (c == '"') {
        quote = quote == '"' ? 0 : '"';
      } else if (c == '$' && i + 1 < line.size()) {
        std::string var;
        if (line[i + 1] == '{') {
          auto close = line.find('}', i + 2);
          if (close == std::string::npos) throw std::runtime_error("unterminated ${ in: " + line);
          var = line.substr(i + 2, close - i - 2);
          i = close;
        } else {
          size_t j = i + 1;
          while (j < line.size() && (std::isalnum(static_cast<unsigned char>(line[j])) || line[j] == '_')) ++j;
          var = line.substr(i + 1, j - i - 1);
          if (var.empty()) {
            value += c;
            continue;
          }
          i = j - 1;
        }
        value += lookup(var);
      } else if ((c == ' ' || c == '\t' || c == '#') && quote == 0) {
        break;  // end of the word (a trailing comment)
      } else {
        value += c;
      }
    }
    out[name] = value;
  }
  return out;
}

std::vector<json> Events::of(const std::string& event, const std::string& stage) const {
  std::vector<json> r;
  for (const auto& e : items)
    if (e.value("event", "") == event && (stage.empty() || e.value("stage", "") == stage)) r.push_back(e);
  return r;
}

bool Events::has_progress(const std::string& stage, const std::string& needle) const {
  for (const auto& e : of("progress", stage))
    if (e.value("message", "").find(needle) != std::string::npos) return true;
  return false;
}

Events parse_events(const std::string& out) {
  Events ev;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    json j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("event")) ev.bad.push_back(line);
    else ev.items.push_back(std::move(j));
  }
  return ev;
}

bool Request::query_has(const std::string& param) const {
  std::istringstream in(query);
  std::string kv;
  while (std::getline(in, kv, '&'))
    if (kv == param) return true;
  return false;
}

std::vector<Request> parse_requests_log(const std::string& text) {
  std::vector<Request> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    Request r;
    std::string status;
    if (!(ls >> r.method >> r.path >> r.query >> r.content_type >> status)) continue;
    if (r.query == "-") r.query.clear();
    if (r.content_type == "-") r.content_type.clear();
    r.status = std::atoi(status.c_str());
    r.raw = line;
    r.index = out.size();
    out.push_back(std::move(r));
  }
  return out;
}

namespace {

std::string read_proc(pid_t pid, const char* what) {
  std::string s = read_file(fs::path("/proc") / std::to_string(pid) / what);
  for (auto& c : s)
    if (c == '\0') c = ' ';
  return s;
}

bool is_zombie(pid_t pid) {
  std::string stat = read_file(fs::path("/proc") / std::to_string(pid) / "stat");
  auto paren = stat.rfind(')');
  if (stat.empty() || paren == std::string::npos || paren + 2 >= stat.size()) return true;  // gone
  return stat[paren + 2] == 'Z' || stat[paren + 2] == 'X';
}

bool under(const fs::path& p, const fs::path& dir) {
  auto ps = p.string(), ds = dir.string();
  return ps == ds || (ps.size() > ds.size() && ps.compare(0, ds.size(), ds) == 0 && ps[ds.size()] == '/');
}

}  // namespace

std::vector<ProcInfo> processes_of(const std::vector<fs::path>& paths, const fs::path& sim_dir,
                                   const std::vector<pid_t>& exclude) {
  std::vector<ProcInfo> found;
  DIR* d = ::opendir("/proc");
  if (d == nullptr) return found;
  const std::string env_marker = "FLUXBOOT_SIM_DIR=" + sim_dir.string();
  while (dirent* e = ::readdir(d)) {
    char* end = nullptr;
    long v = std::strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0') continue;
    pid_t pid = static_cast<pid_t>(v);
    if (pid == ::getpid()) continue;
    bool skip = false;
    for (pid_t x : exclude) skip = skip || x == pid;
    if (skip || is_zombie(pid)) continue;
    std::string cmdline = read_proc(pid, "cmdline");
    bool mine = false;
    for (const auto& p : paths) mine = mine || cmdline.find(p.string()) != std::string::npos;
    std::error_code ec;
    fs::path cwd = fs::read_symlink(fs::path("/proc") / std::to_string(pid) / "cwd", ec);
    if (!ec)
      for (const auto& p : paths) mine = mine || under(cwd, p);
    std::string environ_text = read_file(fs::path("/proc") / std::to_string(pid) / "environ");
    size_t pos = 0;
    while (!mine && (pos = environ_text.find(env_marker, pos)) != std::string::npos) {
      bool starts = pos == 0 || environ_text[pos - 1] == '\0';
      size_t after = pos + env_marker.size();
      bool ends = after >= environ_text.size() || environ_text[after] == '\0';
      mine = starts && ends;
      pos = after;
    }
    if (mine && !is_zombie(pid)) found.push_back({pid, cmdline});
  }
  ::closedir(d);
  return found;
}

// ---- Background ---------------------------------------------------------------------------------

Background::Background(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                       const fs::path& cwd) {
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  auto merged = current_environment();
  for (const auto& [k, v] : env) merged[k] = v;
  std::vector<std::string> envs;
  for (const auto& [k, v] : merged) envs.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : envs) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = argv;
  std::vector<char*> cargv;
  for (auto& s : args) cargv.push_back(s.data());
  cargv.push_back(nullptr);
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    ::setpgid(0, 0);
    int devnull = ::open("/dev/null", O_RDONLY);
    ::dup2(devnull, 0);
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) _exit(126);
    ::execve(cargv[0], cargv.data(), envp.data());
    _exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);
  out_ = out[0];
  err_ = err[0];
}

Background::~Background() {
  if (!done_ && pid_ > 0) {
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  if (out_ >= 0) ::close(out_);
  if (err_ >= 0) ::close(err_);
}

void Background::pump(int timeout_ms) {
  pollfd fds[2] = {{out_, POLLIN, 0}, {err_, POLLIN, 0}};
  if (out_ < 0 && err_ < 0) {
    if (timeout_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(timeout_ms));
    return;
  }
  int n = ::poll(fds, 2, timeout_ms);
  if (n <= 0) return;
  char buf[65536];
  for (int i = 0; i < 2; ++i) {
    if (fds[i].fd < 0 || (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
    ssize_t got = ::read(fds[i].fd, buf, sizeof buf);
    if (got <= 0) {
      ::close(fds[i].fd);
      (i == 0 ? out_ : err_) = -1;
    } else {
      (i == 0 ? out_buf_ : err_buf_).append(buf, static_cast<size_t>(got));
    }
  }
}

bool Background::wait_for_line(const std::function<bool(const std::string&)>& pred, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    size_t nl;
    while ((nl = out_buf_.find('\n', scanned_)) != std::string::npos) {
      std::string line = out_buf_.substr(scanned_, nl - scanned_);
      scanned_ = nl + 1;
      if (pred(line)) return true;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || (out_ < 0 && err_ < 0)) return false;
    pump(static_cast<int>(std::min<long long>(left.count(), 200)));
  }
}

bool Background::wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    pump(50);
  }
  return pred();
}

void Background::signal(int sig) const {
  if (!done_ && pid_ > 0) ::kill(pid_, sig);
}

RunResult Background::finish(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  bool killed = false;
  while (out_ >= 0 || err_ >= 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 && !killed) {
      ::kill(-pid_, SIGKILL);
      ::kill(pid_, SIGKILL);
      killed = true;
    }
    pump(static_cast<int>(std::max<long long>(50, std::min<long long>(left.count(), 200))));
  }
  if (!done_) {
    // The pipes close when the last writer exits; the child itself might still linger.
    int status = 0;
    for (;;) {
      pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) break;
      if (r < 0 && errno != EINTR) break;
      if (std::chrono::steady_clock::now() > deadline && !killed) {
        ::kill(-pid_, SIGKILL);
        ::kill(pid_, SIGKILL);
        killed = true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    done_ = true;
  }
  return RunResult{exit_code_, out_buf_, err_buf_};
}

// ---- SimCluster ---------------------------------------------------------------------------------

SimCluster::SimCluster(const std::string& scenario, const std::string& fixture) {
  if (fixture.empty()) copy_tree(FLUXBOOT_EXAMPLE_DIR, repo());
  else materialize_fixture(fixture, repo());
  if (!fixture.empty()) fixture_args_ = fixture_args(fixture);
  fs::create_directories(tmp_ / "home");
  std::vector<std::string> argv = {kSim, "up", "--dir", sim_dir().string(), "--nodes", "3",
                                   "--kubectl", (tools_dir() / "kubectl").string(), "--helm", (tools_dir() / "helm").string(),
                                   "--watch-pid",
                                   std::to_string(::getpid()), "--max-lifetime", "15m"};
  if (!scenario.empty()) {
    write_file(tmp_ / "scenario-up.yaml", scenario);
    argv.push_back("--scenario");
    argv.push_back((tmp_ / "scenario-up.yaml").string());
  }
  up_ = run(argv, {}, {}, {}, 60);
  if (up_.exit_code != 0) return;
  env_ = parse_env_file(read_file(sim_dir() / "env"), current_environment());
  env_["FLUXBOOT_NO_DEBUG_LOG"] = "1";
  env_["HOME"] = (tmp_ / "home").string();
  // Never the caller's cluster: fluxboot writes and uses <repo>/kubeconfig and the repository's
  // talosconfig (the fake talosctl finds the simulation through FLUXBOOT_SIM_DIR).
  env_["KUBECONFIG"] = "";
  env_["TALOSCONFIG"] = "";
}

SimCluster::~SimCluster() { down(); }

RunResult SimCluster::down() const { return run({kSim, "down", "--dir", sim_dir().string()}, {}, {}, {}, 30); }

pid_t SimCluster::server_pid() const { return static_cast<pid_t>(std::atoi(read_file(sim_dir() / "sim.pid").c_str())); }

std::vector<std::string> SimCluster::fluxboot_argv(std::vector<std::string> args) const {
  std::vector<std::string> argv = {kFluxboot};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back("--root");
  argv.push_back(repo().string());
  argv.insert(argv.end(), fixture_args_.begin(), fixture_args_.end());
  return argv;
}

RunResult SimCluster::fluxboot(std::vector<std::string> args, int timeout_s) const {
  return run(fluxboot_argv(std::move(args)), env_, repo(), {}, timeout_s);
}

RunResult SimCluster::kubectl(std::vector<std::string> args, int timeout_s) const {
  std::vector<std::string> argv = {(sim_dir() / "bin/kubectl").string(), "--kubeconfig", kubeconfig().string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, env_, repo(), {}, timeout_s);
}

RunResult SimCluster::talosctl(std::vector<std::string> args) const {
  std::vector<std::string> argv = {(sim_dir() / "bin/talosctl").string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, env_, repo(), {}, 60);
}

json SimCluster::status() const {
  auto r = run({kSim, "status", "--dir", sim_dir().string(), "-o", "json"}, {}, {}, {}, 30);
  if (r.exit_code != 0) return nullptr;
  return json::parse(r.out, nullptr, false);
}

RunResult SimCluster::set_scenario(const std::string& yaml) const {
  fs::path file = tmp_ / ("scenario-" + std::to_string(++scenario_files_) + ".yaml");
  write_file(file, yaml);
  return run({kSim, "scenario", "--dir", sim_dir().string(), "--file", file.string()}, {}, {}, {}, 30);
}

std::vector<Request> SimCluster::requests() const { return parse_requests_log(read_file(sim_dir() / "requests.log")); }

}  // namespace fluxboot::testing::e2e
