#include <signal.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "fluxboot/process.hpp"
#include "process_test_util.hpp"

namespace fluxboot::process {
namespace {

using namespace std::chrono_literals;
using test::sh;

class Signals : public ::testing::Test {
 protected:
  void SetUp() override {
    install_signal_handlers();
    reset_signal_state_for_tests();
  }
  void TearDown() override { reset_signal_state_for_tests(); }
};

// Raises `sig` (`count` times) from another thread once the child printed "started", so the
// signal provably arrives while the run is in progress. The pause after "started" lets sh get
// into `sleep`: dash -c catches SIGINT, and a SIGINT landing in its fork-to-exec window is lost
// (the run would then only end by the grace SIGKILL).
class RaiseWhenStarted {
 public:
  explicit RaiseWhenStarted(int sig, int count = 1) {
    thread_ = std::thread([this, sig, count] {
      const auto until = std::chrono::steady_clock::now() + 20s;
      while (!started_ && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(5ms);
      std::this_thread::sleep_for(200ms);
      for (int i = 0; i < count; ++i) {
        if (i > 0) std::this_thread::sleep_for(200ms);
        ::raise(sig);
      }
    });
  }
  ~RaiseWhenStarted() {
    started_ = true;
    if (thread_.joinable()) thread_.join();
  }
  RaiseWhenStarted(const RaiseWhenStarted&) = delete;
  RaiseWhenStarted& operator=(const RaiseWhenStarted&) = delete;
  LineSink sink() {
    return [this](bool, std::string_view line) {
      if (line == "started") started_ = true;
    };
  }

 private:
  std::atomic<bool> started_{false};
  std::thread thread_;
};

TEST_F(Signals, HandlerRecordsFirstSignalAndCountsAll) {
  EXPECT_FALSE(interrupted());
  ::raise(SIGTERM);
  ::raise(SIGINT);
  EXPECT_TRUE(interrupted());
  EXPECT_EQ(pending_signal(), SIGTERM);
  EXPECT_EQ(signal_count(), 2);
  reset_signal_state_for_tests();
  EXPECT_FALSE(interrupted());
  EXPECT_EQ(signal_count(), 0);
}

TEST_F(Signals, FirstSignalIsForwardedAndCancelsTheRun) {
  auto runner = make_real_runner();
  RaiseWhenStarted raiser(SIGINT);
  Result r = runner->run(sh("echo started; sleep 30"), raiser.sink());
  EXPECT_TRUE(r.cancelled);
  EXPECT_FALSE(r.timed_out);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.term_signal, SIGINT);
  EXPECT_LT(r.elapsed, 10s);
  EXPECT_EQ(pending_signal(), SIGINT);
}

TEST_F(Signals, CancelledChildIgnoringTheSignalIsKilledAfterGrace) {
  auto runner = make_real_runner();
  RaiseWhenStarted raiser(SIGTERM);
  Command c = sh("trap '' TERM; echo started; sleep 30");
  c.grace = 300ms;
  Result r = runner->run(c, raiser.sink());
  EXPECT_TRUE(r.cancelled);
  EXPECT_EQ(r.term_signal, SIGKILL);
  EXPECT_LT(r.elapsed, 10s);
}

TEST_F(Signals, SecondSignalKillsAtOnce) {
  auto runner = make_real_runner();
  RaiseWhenStarted raiser(SIGINT, 2);
  Command c = sh("trap '' INT; echo started; sleep 30");
  c.grace = 60s;  // only the second signal can end this run early
  Result r = runner->run(c, raiser.sink());
  EXPECT_TRUE(r.cancelled);
  EXPECT_EQ(r.term_signal, SIGKILL);
  EXPECT_LT(r.elapsed, 10s);
  EXPECT_EQ(signal_count(), 2);
}

TEST_F(Signals, SignalReachesEveryConcurrentRun) {
  auto runner = make_real_runner();
  std::atomic<int> started{0};
  auto sink = [&](bool, std::string_view line) {
    if (line == "started") ++started;
  };
  Result results[3];
  std::thread threads[3];
  for (int i = 0; i < 3; ++i)
    threads[i] = std::thread([&, i] { results[i] = runner->run(sh("echo started; sleep 30"), sink); });
  const auto until = std::chrono::steady_clock::now() + 20s;
  while (started < 3 && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(5ms);
  std::this_thread::sleep_for(200ms);  // see RaiseWhenStarted
  ::raise(SIGTERM);
  for (auto& t : threads) t.join();
  for (const auto& r : results) {
    EXPECT_TRUE(r.cancelled);
    EXPECT_EQ(r.term_signal, SIGTERM);
    EXPECT_LT(r.elapsed, 10s);
  }
}

TEST_F(Signals, RunStartedAfterFirstSignalStillExecutes) {
  // Cleanup after Ctrl-C may still need tools; only a further signal stops them.
  ::raise(SIGINT);
  auto runner = make_real_runner();
  Result r = runner->run(sh("echo cleanup"));
  EXPECT_TRUE(r.ok());
  EXPECT_FALSE(r.cancelled);
  EXPECT_EQ(r.out, "cleanup\n");
}

TEST_F(Signals, SignalDuringCleanupRunKillsIt) {
  ::raise(SIGINT);
  auto runner = make_real_runner();
  RaiseWhenStarted raiser(SIGINT);
  Command c = sh("trap '' INT; echo started; sleep 30");
  c.grace = 60s;
  Result r = runner->run(c, raiser.sink());
  EXPECT_TRUE(r.cancelled);
  EXPECT_EQ(r.term_signal, SIGKILL);
  EXPECT_LT(r.elapsed, 10s);
}

TEST_F(Signals, InterruptibleSleepSleepsWholeTimeWithoutSignal) {
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(interruptible_sleep(50ms));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 50ms);
}

TEST_F(Signals, InterruptibleSleepReturnsEarlyOnSignal) {
  std::thread t([] {
    std::this_thread::sleep_for(100ms);
    ::raise(SIGINT);
  });
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(interruptible_sleep(30s));
  t.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
}

TEST_F(Signals, InterruptibleSleepReturnsAtOnceWhenAlreadyInterrupted) {
  ::raise(SIGTERM);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(interruptible_sleep(30s));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
}

TEST_F(Signals, SigpipeIsIgnoredAfterInstall) {
  struct sigaction sa {};
  ::sigaction(SIGPIPE, nullptr, &sa);
  EXPECT_EQ(sa.sa_handler, SIG_IGN);
  // ... yet children get the default back, so `yes | head` style pipelines end normally.
  auto runner = make_real_runner();
  Result r = runner->run(sh("yes | head -n 1"));
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.out, "y\n");
}

TEST(KillAllChildren, KillsTheGroupsOfRunningChildren) {
  auto runner = make_real_runner();
  std::atomic<bool> started{false};
  Result r;
  std::thread t([&] {
    r = runner->run(sh("echo started; sleep 30"), [&](bool, std::string_view line) {
      if (line == "started") started = true;
    });
  });
  const auto until = std::chrono::steady_clock::now() + 20s;
  while (!started && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(5ms);
  kill_all_children();
  t.join();
  EXPECT_EQ(r.term_signal, SIGKILL);
  EXPECT_LT(r.elapsed, 10s);
}

}  // namespace
}  // namespace fluxboot::process
