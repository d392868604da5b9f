#include "fluxboot/pipeline.hpp"

#include <cstdio>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "fluxboot/error.hpp"
#include "fluxboot/retry.hpp"

using namespace fluxboot;

namespace {

// A runner that must never be called: these stages run no command.
class NoRunner final : public process::Runner {
 public:
  process::Result run(const process::Command&, const process::LineSink&) override {
    ADD_FAILURE() << "unexpected command";
    return {};
  }
};

struct Trace {
  std::vector<std::string> events;
};

class ScriptedStage final : public Stage {
 public:
  ScriptedStage(std::string n, Trace& t) : name_(std::move(n)), trace_(t) {}
  std::string_view name() const override { return name_; }
  std::string_view title() const override { return "scripted"; }
  void prepare(Context&) override {
    trace_.events.push_back("prepare " + name_);
    if (bad_input) throw InputError(shared_problem.empty() ? name_ + " input is bad" : shared_problem);
  }
  std::string run(Context& ctx) override {
    trace_.events.push_back("run " + name_);
    if (fail) throw StageError(name_ + " broke");
    if (wait_forever)
      retry_until(ctx, "godot", Backoff{Millis(10), 1.0, Millis(10)}, [](int) { return Attempt::again("not yet"); });
    return name_ + " done";
  }
  void cleanup(Context&) noexcept override { trace_.events.push_back("cleanup " + name_); }
  bool fail = false;
  bool bad_input = false;
  bool wait_forever = false;
  std::string shared_problem;  // when set, the message prepare() fails with

 private:
  std::string name_;
  Trace& trace_;
};

struct Fixture {
  Fixture() {
    for (const char* n : {"a", "b", "c", "d"}) {
      auto s = std::make_unique<ScriptedStage>(n, trace);
      stages.push_back(s.get());
      list.push_back(std::move(s));
    }
    out = std::tmpfile();
    ReporterOptions ro;
    ro.human = out;
    ro.json = out;
    reporter = std::make_unique<Reporter>(ro, redactor);
    ctx = std::make_unique<Context>(config, options, runner, *reporter, redactor);
  }
  ~Fixture() { std::fclose(out); }
  std::string output() {
    std::fflush(out);
    std::rewind(out);
    std::string s;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, out)) > 0) s.append(buf, n);
    return s;
  }
  ScriptedStage& stage(size_t i) { return *stages[i]; }

  Trace trace;
  StageList list;
  std::vector<ScriptedStage*> stages;
  Config config;
  RunOptions options;
  NoRunner runner;
  Redactor redactor;
  std::FILE* out;
  std::unique_ptr<Reporter> reporter;
  std::unique_ptr<Context> ctx;
};

std::vector<std::string> names(const std::vector<Stage*>& v) {
  std::vector<std::string> out;
  for (auto* s : v) out.emplace_back(s->name());
  return out;
}

}  // namespace

TEST(SelectStages, FromToAndSkipKeepPipelineOrder) {
  Fixture f;
  EXPECT_EQ(names(select_stages(f.list, {"b", "c", {}, {}})), (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(names(select_stages(f.list, {{}, {}, {"b", "d"}, {}})), (std::vector<std::string>{"a", "c"}));
  EXPECT_EQ(names(select_stages(f.list, {{}, {}, {}, {"c"}})), (std::vector<std::string>{"c"}));
}

TEST(SelectStages, UnknownNamesAndEmptySelectionsAreUsageErrors) {
  Fixture f;
  EXPECT_THROW(select_stages(f.list, {"zz", {}, {}, {}}), UsageError);
  EXPECT_THROW(select_stages(f.list, {{}, {}, {"zz"}, {}}), UsageError);
  EXPECT_THROW(select_stages(f.list, {"c", "a", {}, {}}), UsageError);
  EXPECT_THROW(select_stages(f.list, {"a", "a", {"a"}, {}}), UsageError);
}

TEST(RunPipeline, PreparesEverythingBeforeRunningAnything) {
  Fixture f;
  EXPECT_EQ(run_pipeline(*f.ctx, {f.stages.begin(), f.stages.end()}), 0);
  ASSERT_GE(f.trace.events.size(), 8u);
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(f.trace.events[i].rfind("prepare", 0), 0u) << f.trace.events[i];
  EXPECT_EQ(f.trace.events[4], "run a");
}

TEST(RunPipeline, InvalidInputStopsBeforeAnyStageRunsAndReportsAllProblems) {
  Fixture f;
  f.stage(1).bad_input = true;
  f.stage(3).bad_input = true;
  EXPECT_EQ(run_pipeline(*f.ctx, {f.stages.begin(), f.stages.end()}), 3);
  for (const auto& e : f.trace.events) EXPECT_NE(e.rfind("run", 0), 0u) << e;
  auto out = f.output();
  EXPECT_NE(out.find("b input is bad"), std::string::npos) << out;
  EXPECT_NE(out.find("d input is bad"), std::string::npos) << out;
}

TEST(RunPipeline, TheSameProblemInSeveralStagesIsReportedOnceNamingThemAll) {
  Fixture f;
  for (size_t i : {0u, 1u, 3u}) {
    f.stage(i).bad_input = true;
    f.stage(i).shared_problem = "no node inventory";
  }
  EXPECT_EQ(run_pipeline(*f.ctx, {f.stages.begin(), f.stages.end()}), 3);
  auto out = f.output();
  EXPECT_NE(out.find("a, b, d: no node inventory"), std::string::npos) << out;
  EXPECT_EQ(out.find("no node inventory"), out.rfind("no node inventory")) << out;
}

TEST(RunPipeline, StopsAtTheFailingStageAndCleansUpInReverseOrder) {
  Fixture f;
  f.stage(1).fail = true;
  EXPECT_EQ(run_pipeline(*f.ctx, {f.stages.begin(), f.stages.end()}), 1);
  auto& ev = f.trace.events;
  EXPECT_EQ(std::find(ev.begin(), ev.end(), "run c"), ev.end());
  // The final sweep runs every cleanup, last stage first.
  std::vector<std::string> tail(ev.end() - 4, ev.end());
  EXPECT_EQ(tail, (std::vector<std::string>{"cleanup d", "cleanup c", "cleanup b", "cleanup a"}));
  EXPECT_NE(f.output().find("b broke"), std::string::npos);
}

TEST(RunPipeline, StageDeadlineBecomesExitCode124WithTheLastReason) {
  Fixture f;
  f.stage(0).wait_forever = true;
  f.options.timeout = Millis(200);
  EXPECT_EQ(run_pipeline(*f.ctx, {f.stages[0]}), 124);
  auto out = f.output();
  EXPECT_NE(out.find("waiting for godot"), std::string::npos) << out;
  EXPECT_NE(out.find("last: not yet"), std::string::npos) << out;
}

TEST(RunPipeline, JsonEventsAreOneObjectPerLine) {
  Fixture f;
  std::FILE* json = std::tmpfile();
  ReporterOptions ro;
  ro.format = LogFormat::Json;
  ro.human = nullptr;
  ro.json = json;
  Reporter rep(ro, f.redactor);
  Context ctx(f.config, f.options, f.runner, rep, f.redactor);
  EXPECT_EQ(run_pipeline(ctx, {f.stages[0], f.stages[1]}), 0);
  std::rewind(json);
  char line[8192];
  int events = 0;
  while (std::fgets(line, sizeof line, json) != nullptr) {
    auto j = nlohmann::json::parse(line);
    EXPECT_TRUE(j.contains("event"));
    EXPECT_TRUE(j.contains("ts"));
    ++events;
  }
  std::fclose(json);
  EXPECT_EQ(events, 5);  // 2 × (started, finished) + summary
}
