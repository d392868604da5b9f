// Terminal versus non-terminal output, under a real pseudo-terminal: live progress, and the
// rollback confirmation prompt.
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>

#include <gtest/gtest.h>

#include "integration/integration_support.hpp"

using fluxboot::testing::FakeCluster;
using fluxboot::testing::RunResult;

namespace {

bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

// Runs fluxboot with stdin, stdout and stderr on one pseudo-terminal; `input` is typed once the
// program printed `wait_for` (or at once when empty). Returns everything the terminal showed.
RunResult run_in_pty(const FakeCluster& c, std::vector<std::string> args, std::map<std::string, std::string> extra,
                     const std::string& input = {}, const std::string& wait_for = {}) {
  std::vector<std::string> argv = {FLUXBOOT_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), {"--root", c.repo().string(), "--kubeconfig", c.kubeconfig().string()});
  auto env = c.env();
  env["TERM"] = "xterm-256color";
  env["CI"] = "";
  env["NO_COLOR"] = "";
  for (const auto& [k, v] : extra) env[k] = v;
  int master = -1;
  winsize ws{};
  ws.ws_col = 120;
  ws.ws_row = 40;
  pid_t pid = ::forkpty(&master, nullptr, nullptr, &ws);
  if (pid == 0) {
    for (const auto& [k, v] : env) {
      if (v.empty()) ::unsetenv(k.c_str());
      else ::setenv(k.c_str(), v.c_str(), 1);
    }
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    ::execv(cargv[0], cargv.data());
    _exit(127);
  }
  RunResult r;
  bool typed = input.empty();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  char buf[4096];
  for (;;) {
    if (!typed && (wait_for.empty() || contains(r.out, wait_for))) {
      (void)!::write(master, input.data(), input.size());
      typed = true;
    }
    pollfd p{master, POLLIN, 0};
    int n = ::poll(&p, 1, 200);
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      break;
    }
    if (n <= 0) continue;
    ssize_t got = ::read(master, buf, sizeof buf);
    if (got <= 0) break;  // EIO: the child closed the terminal
    r.out.append(buf, static_cast<size_t>(got));
  }
  ::close(master);
  int status = 0;
  ::waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

}  // namespace

TEST(OpsTerminal, LiveProgressOnATerminal) {
  FakeCluster c;
  c.inject("slow-talosctl", "2");  // each stage takes 2 s: many frames, elapsed passes 1s
  auto r = run_in_pty(c, {"all", "--to", "k8s"}, {});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "\x1b[J")) << r.out;                              // redrawn in place
  EXPECT_TRUE(contains(r.out, "talosctl apply-config k8s-cp-1")) << r.out;     // one line per command
  EXPECT_TRUE(contains(r.out, "(1s)")) << r.out;                                // elapsed time
  EXPECT_TRUE(contains(r.out, "✓\x1b[0m [1/2] talos: done in")) << r.out;      // collapsed summary line
  EXPECT_TRUE(contains(r.out, "summary (ok")) << r.out;
}

TEST(OpsTerminal, PlainLinesWhenCiOrNoColorIsSet) {
  for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{{"CI", "true"}, {"NO_COLOR", "1"}}) {
    FakeCluster c;
    auto r = run_in_pty(c, {"all", "--to", "k8s"}, {{name, value}});
    ASSERT_EQ(r.exit_code, 0) << r.out;
    EXPECT_FALSE(contains(r.out, "\x1b[")) << name << ": " << r.out;
    EXPECT_TRUE(contains(r.out, "[1/2] talos: apply the Talos machine configs")) << r.out;
  }
}

TEST(OpsTerminal, PlainLinesWithJsonLogsAndWhenNotATerminal) {
  FakeCluster c;
  auto j = run_in_pty(c, {"all", "--to", "k8s", "--log-format", "json"}, {});
  ASSERT_EQ(j.exit_code, 0) << j.out;
  EXPECT_FALSE(contains(j.out, "\x1b[")) << j.out;
  auto p = c.fluxboot({"all", "--to", "k8s"});  // pipes
  ASSERT_EQ(p.exit_code, 0);
  EXPECT_FALSE(contains(p.err + p.out, "\x1b[")) << p.err;
  EXPECT_TRUE(contains(p.err, "[2/2] k8s: done in")) << p.err;
}

TEST(OpsTerminal, RollbackAsksOnATerminal) {
  FakeCluster c;
  ASSERT_EQ(c.fluxboot({"all"}).exit_code, 0);
  std::filesystem::remove(c.fake_dir() / "calls.log");
  auto no = run_in_pty(c, {"rollback"}, {}, "n\n", "[y/N]");
  EXPECT_EQ(no.exit_code, 1) << no.out;
  EXPECT_TRUE(contains(no.out, "flux-system/flux-instance")) << no.out;
  EXPECT_TRUE(contains(no.out, "nothing was changed")) << no.out;
  EXPECT_EQ(c.count_calls("helm", "uninstall"), 0u);
  auto yes = run_in_pty(c, {"rollback"}, {}, "y\n", "[y/N]");
  EXPECT_EQ(yes.exit_code, 0) << yes.out;
  EXPECT_EQ(c.count_calls("helm", "uninstall"), 2u);
}
