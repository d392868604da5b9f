#include "process/real_runner.hpp"

#include <signal.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "fluxboot/error.hpp"
#include "fluxboot/process.hpp"
#include "process_test_util.hpp"
#include "support/test_support.hpp"

namespace fluxboot::process {
namespace {

using namespace std::chrono_literals;
using test::sh;

struct Line {
  bool is_stderr;
  std::string text;
  bool operator==(const Line&) const = default;
};

// A thread-safe LineSink that records every line.
class Lines {
 public:
  LineSink sink() {
    return [this](bool is_stderr, std::string_view line) {
      std::lock_guard lock(mu_);
      lines_.push_back({is_stderr, std::string(line)});
    };
  }
  std::vector<Line> all() {
    std::lock_guard lock(mu_);
    return lines_;
  }
  std::vector<std::string> of(bool is_stderr) {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    for (const auto& l : lines_)
      if (l.is_stderr == is_stderr) out.push_back(l.text);
    return out;
  }

 private:
  std::mutex mu_;
  std::vector<Line> lines_;
};

std::string numbered_lines(const std::string& prefix, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += prefix + std::to_string(i) + "\n";
  return s;
}

TEST(RealRunner, ReportsExitCodeZeroAsOk) {
  auto runner = make_real_runner();
  Result r = runner->run(sh("exit 0"));
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.term_signal, 0);
  EXPECT_TRUE(r.ok());
  EXPECT_FALSE(r.dry_run);
}

TEST(RealRunner, ReportsNonZeroExitCodeAsDataNotException) {
  auto runner = make_real_runner();
  Result r = runner->run(sh("exit 7"));
  EXPECT_EQ(r.exit_code, 7);
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(r.timed_out);
  EXPECT_FALSE(r.cancelled);
}

TEST(RealRunner, ReportsTerminatingSignal) {
  auto runner = make_real_runner();
  Result r = runner->run(sh("kill -USR1 $$; sleep 5"));
  EXPECT_EQ(r.exit_code, -1);
  EXPECT_EQ(r.term_signal, SIGUSR1);
  EXPECT_FALSE(r.ok());
}

TEST(RealRunner, KeepsStdoutAndStderrSeparate) {
  auto runner = make_real_runner();
  Result r = runner->run(sh("echo '{\"json\": true}'; echo warning >&2; echo more"));
  EXPECT_EQ(r.out, "{\"json\": true}\nmore\n");
  EXPECT_EQ(r.err, "warning\n");
}

TEST(RealRunner, LooksUpBareProgramNamesOnPath) {
  auto runner = make_real_runner();
  Command c;
  c.argv = {"echo", "hello", "world"};
  Result r = runner->run(c);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "hello world\n");
}

TEST(RealRunner, PassesArgumentsVerbatimWithoutAShell) {
  auto runner = make_real_runner();
  Command c;
  c.argv = {"/bin/sh", "-c", "printf '%s|' \"$@\"", "sh", "$HOME", "a b", "it's", "; rm -rf /"};
  Result r = runner->run(c);
  EXPECT_EQ(r.out, "$HOME|a b|it's|; rm -rf /|");
}

TEST(RealRunner, StreamsLinesInOrderIncludingFinalPartialLine) {
  auto runner = make_real_runner();
  Lines lines;
  Result r = runner->run(sh("printf 'a\\nb\\r\\n\\nc'; printf 'e1\\ne2' >&2"), lines.sink());
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(lines.of(false), (std::vector<std::string>{"a", "b", "", "c"}));
  EXPECT_EQ(lines.of(true), (std::vector<std::string>{"e1", "e2"}));
  EXPECT_EQ(r.out, "a\nb\r\n\nc");
}

TEST(RealRunner, StreamsManyInterleavedLinesInOrderPerStream) {
  auto runner = make_real_runner();
  Lines lines;
  Result r = runner->run(
      sh("i=0; while [ $i -lt 20000 ]; do echo out$i; echo err$i >&2; i=$((i+1)); done"),
      lines.sink());
  ASSERT_EQ(r.exit_code, 0);
  const auto out = lines.of(false);
  const auto err = lines.of(true);
  ASSERT_EQ(out.size(), 20000u);
  ASSERT_EQ(err.size(), 20000u);
  for (int i = 0; i < 20000; ++i) {
    ASSERT_EQ(out[static_cast<size_t>(i)], "out" + std::to_string(i));
    ASSERT_EQ(err[static_cast<size_t>(i)], "err" + std::to_string(i));
  }
  EXPECT_EQ(r.out, numbered_lines("out", 20000));
}

TEST(RealRunner, EchoesLargeInputWithoutDeadlock) {
  auto runner = make_real_runner();
  Command c;
  c.argv = {"cat"};
  c.input = numbered_lines("line-of-input-", 300000);  // ~6 MB both ways at once
  ASSERT_GT(c.input->size(), 5u << 20);
  std::atomic<size_t> seen{0};
  Result r = runner->run(c, [&](bool, std::string_view) { ++seen; });
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(r.out == *c.input) << "output differs, size " << r.out.size();
  EXPECT_EQ(seen.load(), 300000u);
}

TEST(RealRunner, LargeStdoutAndStderrTogetherDoNotDeadlock) {
  auto runner = make_real_runner();
  Result r = runner->run(sh("head -c 4000000 /dev/zero | tr '\\0' o & head -c 4000000 /dev/zero | tr '\\0' e >&2; wait"));
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out.size(), 4000000u);
  EXPECT_LE(r.err.size(), 64u * 1024u);
  EXPECT_FALSE(r.err.empty());
}

TEST(RealRunner, ToleratesChildThatExitsWithoutReadingLargeInput) {
  auto runner = make_real_runner();
  Command c = sh("exit 3");
  c.input = std::string(8u << 20, 'x');
  Result r = runner->run(c);  // EPIPE on our side must neither kill us nor fail the run
  EXPECT_EQ(r.exit_code, 3);

  Command h;
  h.argv = {"head", "-c", "10"};
  h.input = std::string(8u << 20, 'y');
  Result r2 = runner->run(h);
  EXPECT_EQ(r2.exit_code, 0);
  EXPECT_EQ(r2.out, std::string(10, 'y'));
}

TEST(RealRunner, GivesChildEmptyStdinWhenNoInput) {
  auto runner = make_real_runner();
  Command c;
  c.argv = {"cat"};
  Result r = runner->run(c);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "");
}

TEST(RealRunner, WritesInputThenClosesStdin) {
  auto runner = make_real_runner();
  Command c = sh("read a; read b; echo \"$b-$a\"; cat");
  c.input = "first\nsecond\nrest";
  Result r = runner->run(c);
  EXPECT_EQ(r.out, "second-first\nrest");
}

TEST(RealRunner, AppliesEnvironmentOverridesAndKeepsTheRest) {
  ::setenv("FLUXBOOT_TEST_INHERITED", "inherited", 1);
  ::setenv("FLUXBOOT_TEST_REPLACED", "old", 1);
  auto runner = make_real_runner();
  Command c = sh("echo \"$FLUXBOOT_TEST_INHERITED $FLUXBOOT_TEST_REPLACED $FLUXBOOT_TEST_NEW\"; env | grep -c '^FLUXBOOT_TEST_REPLACED='");
  c.env = {{"FLUXBOOT_TEST_REPLACED", "first"}, {"FLUXBOOT_TEST_NEW", "new"}, {"FLUXBOOT_TEST_REPLACED", "last"}};
  Result r = runner->run(c);
  EXPECT_EQ(r.out, "inherited last new\n1\n");
  ::unsetenv("FLUXBOOT_TEST_INHERITED");
  ::unsetenv("FLUXBOOT_TEST_REPLACED");
}

TEST(RealRunner, UsesPathFromCommandEnvironmentForLookup) {
  fluxboot::testing::TempDir dir;
  fluxboot::testing::write_file(dir / "fluxboot-fake-tool", "#!/bin/sh\necho fake \"$@\"\n", 0755);
  auto runner = make_real_runner();
  Command c;
  c.argv = {"fluxboot-fake-tool", "arg"};
  EXPECT_THROW(runner->run(c), ToolMissingError);
  c.env = {{"PATH", dir.path().string() + ":/usr/bin:/bin"}};
  Result r = runner->run(c);
  EXPECT_EQ(r.out, "fake arg\n");
}

TEST(RealRunner, RunsInRequestedWorkingDirectory) {
  fluxboot::testing::TempDir dir;
  auto runner = make_real_runner();
  Command c;
  c.argv = {"pwd", "-P"};
  c.cwd = dir.path();
  Result r = runner->run(c);
  EXPECT_EQ(r.out, std::filesystem::canonical(dir.path()).string() + "\n");
}

TEST(RealRunner, RejectsMissingWorkingDirectory) {
  auto runner = make_real_runner();
  Command c;
  c.argv = {"true"};
  c.cwd = "/nonexistent/fluxboot-test-dir";
  EXPECT_THROW(runner->run(c), StageError);
}

TEST(RealRunner, ThrowsToolMissingErrorNamingTheTool) {
  auto runner = make_real_runner();
  Command c;
  c.argv = {"fluxboot-no-such-tool", "version"};
  try {
    runner->run(c);
    FAIL() << "expected ToolMissingError";
  } catch (const ToolMissingError& e) {
    EXPECT_NE(std::string(e.what()).find("fluxboot-no-such-tool"), std::string::npos) << e.what();
    EXPECT_EQ(e.code(), ExitCode::MissingTool);
  }
}

TEST(RealRunner, ThrowsToolMissingErrorForMissingOrNonExecutablePath) {
  fluxboot::testing::TempDir dir;
  fluxboot::testing::write_file(dir / "not-executable", "#!/bin/sh\n", 0644);
  auto runner = make_real_runner();
  Command c;
  c.argv = {(dir / "absent").string()};
  EXPECT_THROW(runner->run(c), ToolMissingError);
  c.argv = {(dir / "not-executable").string()};
  EXPECT_THROW(runner->run(c), ToolMissingError);
  c.argv = {dir.path().string()};
  EXPECT_THROW(runner->run(c), ToolMissingError);
}

TEST(RealRunner, ThrowsOnEmptyArgv) {
  auto runner = make_real_runner();
  EXPECT_THROW(runner->run(Command{}), std::invalid_argument);
}

TEST(RealRunner, TimeoutTerminatesChildWithSigterm) {
  auto runner = make_real_runner();
  Command c;
  c.argv = {"sleep", "30"};
  c.timeout = 200ms;
  c.grace = 5s;
  Result r = runner->run(c);
  EXPECT_TRUE(r.timed_out);
  EXPECT_FALSE(r.cancelled);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.term_signal, SIGTERM);
  EXPECT_LT(r.elapsed, 10s);
}

TEST(RealRunner, TimeoutEscalatesToSigkillWhenChildIgnoresSigterm) {
  auto runner = make_real_runner();
  Command c = sh("trap '' TERM; sleep 30");
  c.timeout = 200ms;
  c.grace = 300ms;
  Result r = runner->run(c);
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.term_signal, SIGKILL);
  EXPECT_LT(r.elapsed, 10s);
}

TEST(RealRunner, KillsGrandchildrenLeftInTheProcessGroup) {
  auto runner = make_real_runner();
  Result r = runner->run(sh("sleep 300 & echo $!"));
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_LT(r.elapsed, 10s);  // the grandchild holds our pipes; the run must not wait for it
  const pid_t grandchild = static_cast<pid_t>(std::stol(r.out));
  ASSERT_GT(grandchild, 0);
  EXPECT_TRUE(test::process_ended(grandchild)) << "grandchild " << grandchild << " survived";
}

TEST(RealRunner, DoesNotWaitForProcessesThatLeftTheGroupHoldingThePipes) {
  auto runner = make_real_runner();
  Result r = runner->run(sh("setsid sleep 30 & echo $!; sleep 0.5"));
  const pid_t escaped = static_cast<pid_t>(std::stol(r.out));
  ASSERT_GT(escaped, 0);
  ::kill(escaped, SIGKILL);  // out of the runner's reach by design; clean up ourselves
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_LT(r.elapsed, 10s);
}

TEST(RealRunner, KillsProcessGroupWhenTimedOut) {
  auto runner = make_real_runner();
  Lines lines;
  Command c = sh("sleep 300 & echo $!; sleep 30");
  c.timeout = 300ms;
  c.grace = 300ms;
  Result r = runner->run(c, lines.sink());
  EXPECT_TRUE(r.timed_out);
  const pid_t grandchild = static_cast<pid_t>(std::stol(r.out));
  EXPECT_TRUE(test::process_ended(grandchild));
}

TEST(RealRunner, KeepsOnlyTheLastPartOfStderr) {
  auto runner = make_real_runner();
  Result r = runner->run(sh("yes errline | head -n 50000 >&2; echo last >&2"));
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_LE(r.err.size(), 64u * 1024u);
  EXPECT_GT(r.err.size(), 60u * 1024u);
  EXPECT_EQ(r.err.substr(0, 8), "errline\n");  // starts at a whole line
  EXPECT_EQ(r.err.substr(r.err.size() - 5), "last\n");
  EXPECT_EQ(r.tail(2), "errline\nlast");
}

TEST(RealRunner, TruncatesStdoutBeyondLimitWithMarker) {
  RealRunnerLimits limits;
  limits.max_stdout = 1000;
  auto runner = make_real_runner(limits);
  std::atomic<int> lines{0};
  Result r = runner->run(sh("yes 123456789 | head -n 10000"), [&](bool, std::string_view) { ++lines; });
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out.substr(0, 10), "123456789\n");
  EXPECT_NE(r.out.find("truncated"), std::string::npos);
  EXPECT_LT(r.out.size(), 1200u);
  EXPECT_EQ(lines.load(), 10000);  // the sink still sees everything
}

TEST(RealRunner, SplitsOverlongLinesForTheSink) {
  RealRunnerLimits limits;
  limits.max_line = 100;
  auto runner = make_real_runner(limits);
  Lines lines;
  Result r = runner->run(sh("head -c 250 /dev/zero | tr '\\0' x; echo"), lines.sink());
  const auto out = lines.of(false);
  ASSERT_FALSE(out.empty());
  size_t total = 0;
  for (const auto& l : out) {
    EXPECT_LE(l.size(), 100u);
    total += l.size();
  }
  EXPECT_EQ(total, 250u);
  EXPECT_EQ(out.size(), 3u);
  EXPECT_EQ(r.out.size(), 251u);  // the stored output is not split
}

TEST(RealRunner, SinkExceptionPropagatesAndChildIsReaped) {
  auto runner = make_real_runner();
  Command c = sh("echo $$; sleep 30");
  pid_t pid = 0;
  EXPECT_THROW(runner->run(c,
                           [&](bool, std::string_view line) {
                             pid = static_cast<pid_t>(std::stol(std::string(line)));
                             throw std::runtime_error("sink failed");
                           }),
               std::runtime_error);
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(test::process_ended(pid, 100ms));
}

TEST(RealRunner, RunsInParallelFromSeveralThreads) {
  auto runner = make_real_runner();
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int k = 0; k < 5; ++k) {
        Command c = sh("cat; i=0; while [ $i -lt 500 ]; do echo err$i >&2; i=$((i+1)); done; exit " +
                       std::to_string(t));
        c.input = numbered_lines("t" + std::to_string(t) + "-", 20000);
        Lines lines;
        Result r = runner->run(c, lines.sink());
        if (r.exit_code != t || r.out != *c.input || lines.of(true).size() != 500u ||
            lines.of(false).size() != 20000u)
          ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST(RealRunner, ParallelTimeoutsDoNotAffectOtherRuns) {
  auto runner = make_real_runner();
  Result slow;
  Result quick;
  std::thread a([&] {
    Command c;
    c.argv = {"sleep", "30"};
    c.timeout = 300ms;
    slow = runner->run(c);
  });
  std::thread b([&] { quick = runner->run(sh("sleep 0.5; echo done")); });
  a.join();
  b.join();
  EXPECT_TRUE(slow.timed_out);
  EXPECT_TRUE(quick.ok());
  EXPECT_EQ(quick.out, "done\n");
}

}  // namespace
}  // namespace fluxboot::process
