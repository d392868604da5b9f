#pragma once
// Shared by the ops unit tests: a copy of the example repository, a rule-based fake process
// runner, a Context around both, and a tiny HTTP/TCP server on 127.0.0.1.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fluxboot/context.hpp"
#include "fluxboot/gitops.hpp"
#include "fluxboot/process.hpp"
#include "fluxboot/redact.hpp"
#include "fluxboot/reporter.hpp"
#include "support/test_support.hpp"

namespace fluxboot::testing {

// Answers commands by the newest rule that returns a result (so a test overrides the fixture's
// defaults by adding a rule); records every argv and environment.
class FakeRunner final : public process::Runner {
 public:
  using Rule = std::function<std::optional<process::Result>(const process::Command&)>;
  void on(Rule rule) {
    std::lock_guard lock(mu_);
    rules_.insert(rules_.begin(), std::move(rule));
  }
  // argv[0]'s file name == tool and argv[1..] starts with `prefix`.
  void on(const std::string& tool, std::vector<std::string> prefix, int exit_code, std::string out,
          std::string err = {}) {
    on([=](const process::Command& c) -> std::optional<process::Result> {
      if (c.argv.empty() || std::filesystem::path(c.argv[0]).filename() != tool) return std::nullopt;
      if (c.argv.size() < prefix.size() + 1) return std::nullopt;
      for (size_t i = 0; i < prefix.size(); ++i)
        if (c.argv[i + 1] != prefix[i]) return std::nullopt;
      process::Result r;
      r.exit_code = exit_code;
      r.out = out;
      r.err = err;
      return r;
    });
  }
  process::Result run(const process::Command& cmd, const process::LineSink& = {}) override {
    std::vector<Rule> rules;
    {
      std::lock_guard lock(mu_);
      calls_.push_back(cmd.argv);
      envs_.push_back(cmd.env);
      rules = rules_;
    }
    for (const auto& rule : rules)
      if (auto r = rule(cmd)) return *r;
    process::Result r;
    r.exit_code = 127;
    r.err = "fake runner: no rule for " + process::format_argv(cmd.argv);
    return r;
  }
  std::vector<std::vector<std::string>> calls() const {
    std::lock_guard lock(mu_);
    return calls_;
  }
  std::vector<std::vector<std::pair<std::string, std::string>>> envs() const {
    std::lock_guard lock(mu_);
    return envs_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<Rule> rules_;
  std::vector<std::vector<std::string>> calls_;
  std::vector<std::vector<std::pair<std::string, std::string>>> envs_;
};

// A copy of docs/examples/flux-talos with a Context over a FakeRunner, and executables named
// like the tools (the runner answers for them; they only need to exist for PATH lookups).
class OpsFixture {
 public:
  OpsFixture() {
    repo = tmp.path() / "repo";
    copy_tree(FLUXBOOT_EXAMPLE_DIR, repo);
    bin = tmp.path() / "bin";
    std::filesystem::create_directories(bin);
    for (const char* t : {"talosctl", "kubectl", "helmfile", "helm", "sops"}) write_file(bin / t, "#!/bin/sh\nexit 0\n", 0755);
    reload();
    options.kubeconfig = repo / "kubeconfig";
    options.kubeconfig_source = "default";
    options.talosconfig = repo / "talos/clusterconfig/talosconfig";
    options.talosconfig_source = "default";
    ReporterOptions ro;
    ro.human = nullptr;
    ro.json = nullptr;
    reporter = std::make_unique<Reporter>(ro, redactor);
    // Versions that pass every check.
    runner.on("talosctl", {"version"}, 0, "Client:\n\tTag:         v1.9.5\n");
    runner.on("kubectl", {"version"}, 0, "Client Version: v1.32.3\nKustomize Version: v5.5.0\n");
    runner.on("helmfile", {"--version"}, 0, "helmfile version v1.1.0\n");
    runner.on("helm", {"version"}, 0, "v3.17.2+gcc0bbbd\n");
    runner.on("sops", {"--version"}, 0, "sops 3.9.4 (latest)\n");
  }
  // Re-reads fluxboot.yaml (after a test wrote one) and points the tools at ./bin.
  void reload() {
    config = gitops::load_config(repo);
    for (auto* t : {&config.tools.talosctl, &config.tools.kubectl, &config.tools.helmfile, &config.tools.helm,
                    &config.tools.sops})
      *t = (bin / *t).string();
  }
  void remove_tool(const std::string& name) { std::filesystem::remove(bin / name); }
  Context& ctx() {
    ctx_ = std::make_unique<Context>(config, options, runner, *reporter, redactor);
    return *ctx_;
  }
  // Replaces the first occurrence of `from` with `to` in a repository file.
  void edit(const std::string& rel, const std::string& from, const std::string& to) {
    std::string text = read_file(repo / rel);
    auto pos = text.find(from);
    if (pos == std::string::npos) throw std::runtime_error(rel + ": no '" + from + "'");
    text.replace(pos, from.size(), to);
    write_file(repo / rel, text);
  }

  TempDir tmp;
  std::filesystem::path repo, bin;
  Config config;
  RunOptions options;
  Redactor redactor;
  std::unique_ptr<Reporter> reporter;
  FakeRunner runner;

 private:
  std::unique_ptr<Context> ctx_;
};

// Accepts connections on 127.0.0.1:<port> and answers each with `response` (raw HTTP), or just
// closes them (a TCP listener) when `response` is empty. Stops on destruction.
class LocalServer {
 public:
  explicit LocalServer(std::string response) : response_(std::move(response)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 16);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] {
      for (;;) {
        int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        if (stop_) {
          ::close(c);
          return;
        }
        ++hits_;
        if (!response_.empty()) {
          char buf[4096];
          (void)::recv(c, buf, sizeof buf, 0);
          (void)::send(c, response_.data(), response_.size(), MSG_NOSIGNAL);
        }
        ::close(c);
      }
    });
  }
  ~LocalServer() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    if (thread_.joinable()) thread_.join();
  }
  int port() const { return port_; }
  int hits() const { return hits_; }
  static std::string http(int status, const std::string& body = "ok") {
    return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n" + body;
  }

 private:
  std::string response_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> hits_{0};
  std::thread thread_;
};

// A port on 127.0.0.1 where nothing listens (bound, then closed).
inline int closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

}  // namespace fluxboot::testing
