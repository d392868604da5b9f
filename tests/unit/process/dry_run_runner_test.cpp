#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "fluxboot/process.hpp"

namespace fluxboot::process {
namespace {

class CountingRunner : public Runner {
 public:
  Result run(const Command& cmd, const LineSink& sink) override {
    calls.push_back(cmd.argv);
    if (sink) sink(false, "inner line");
    Result r;
    r.exit_code = 0;
    r.out = "inner output\n";
    return r;
  }
  std::vector<std::vector<std::string>> calls;
};

TEST(DryRunner, RecordsMutatingCommandsInsteadOfRunningThem) {
  CountingRunner inner;
  std::vector<Command> recorded;
  auto dry = make_dry_runner(inner, [&](const Command& c) { recorded.push_back(c); });
  Command c;
  c.argv = {"talosctl", "apply-config", "--nodes", "10.0.0.1"};
  c.label = "talosctl apply-config cp-1";
  Result r = dry->run(c);
  EXPECT_TRUE(inner.calls.empty());
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0].argv, c.argv);
  EXPECT_EQ(recorded[0].label, c.label);
  EXPECT_TRUE(r.dry_run);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(r.out.empty());
}

TEST(DryRunner, DelegatesReadOnlyCommandsToInnerRunner) {
  CountingRunner inner;
  int recorded = 0;
  auto dry = make_dry_runner(inner, [&](const Command&) { ++recorded; });
  Command c;
  c.argv = {"kubectl", "get", "nodes"};
  c.mutating = false;
  std::vector<std::string> lines;
  Result r = dry->run(c, [&](bool, std::string_view l) { lines.emplace_back(l); });
  EXPECT_EQ(recorded, 0);
  ASSERT_EQ(inner.calls.size(), 1u);
  EXPECT_FALSE(r.dry_run);
  EXPECT_EQ(r.out, "inner output\n");
  EXPECT_EQ(lines, std::vector<std::string>{"inner line"});
}

TEST(DryRunner, RunsReadOnlyCommandsForReal) {
  auto real = make_real_runner();
  std::vector<std::string> recorded;
  auto dry = make_dry_runner(*real, [&](const Command& c) { recorded.push_back(c.argv[0]); });
  Command probe;
  probe.argv = {"echo", "probe"};
  probe.mutating = false;
  Command change;
  change.argv = {"fluxboot-tool-that-does-not-exist", "apply"};  // never looked up in dry-run
  EXPECT_EQ(dry->run(probe).out, "probe\n");
  EXPECT_TRUE(dry->run(change).dry_run);
  EXPECT_EQ(recorded, std::vector<std::string>{"fluxboot-tool-that-does-not-exist"});
}

TEST(DryRunner, WorksWithoutRecordCallback) {
  CountingRunner inner;
  auto dry = make_dry_runner(inner, nullptr);
  Command c;
  c.argv = {"helmfile", "sync"};
  EXPECT_TRUE(dry->run(c).dry_run);
  EXPECT_TRUE(inner.calls.empty());
}

}  // namespace
}  // namespace fluxboot::process
