#include "fluxboot/reporter.hpp"

#include "fluxboot/duration.hpp"

#include <cstdio>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/test_support.hpp"

using namespace fluxboot;

namespace {

std::string slurp(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string s;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
  return s;
}

}  // namespace

TEST(Reporter, SecretsAreMaskedInHumanJsonAndDebugLog) {
  fluxboot::testing::TempDir tmp;
  Redactor red;
  red.add("s3cr3t-value");
  std::FILE* human = std::tmpfile();
  std::FILE* json = std::tmpfile();
  {
    ReporterOptions ro;
    ro.format = LogFormat::Json;
    ro.verbosity = Verbosity::Verbose;
    ro.human = human;
    ro.json = json;
    ro.debug_log = tmp / "debug.log";
    Reporter rep(ro, red);
    process::Command cmd;
    cmd.argv = {"kubectl", "create", "secret", "--from-literal=key=s3cr3t-value"};
    cmd.input = std::string("data: s3cr3t-value");
    cmd.input_is_secret = true;
    rep.stage_started(1, 1, "resources", "apply");
    rep.command_started("resources", cmd);
    rep.command_output("kubectl", true, "echo s3cr3t-value");
    rep.planned("resources", cmd);
    rep.warn("resources", "value was s3cr3t-value");
    rep.stage_failed("resources", Millis(5), "failed with s3cr3t-value", 1);
  }
  std::string all = slurp(human) + slurp(json) + fluxboot::testing::read_file(tmp / "debug.log");
  EXPECT_EQ(all.find("s3cr3t-value"), std::string::npos) << all;
  EXPECT_NE(all.find("<redacted>"), std::string::npos);
  EXPECT_NE(all.find("secret, not shown"), std::string::npos) << all;
  std::fclose(human);
  std::fclose(json);
}

TEST(Reporter, ProgressShowsStageIndexAndSkipsRepeats) {
  Redactor red;
  std::FILE* human = std::tmpfile();
  ReporterOptions ro;
  ro.human = human;
  Reporter rep(ro, red);
  rep.stage_started(4, 8, "wait", "wait for the nodes to register");
  rep.progress("wait", "3/5 nodes registered (12s)");
  rep.progress("wait", "3/5 nodes registered (12s)");
  std::string out = slurp(human);
  EXPECT_NE(out.find("[4/8] wait: 3/5 nodes registered (12s)"), std::string::npos) << out;
  EXPECT_EQ(out.find("registered (12s)"), out.rfind("registered (12s)"));
  std::fclose(human);
}

TEST(Reporter, QuietShowsWarningsAndErrorsOnly) {
  Redactor red;
  std::FILE* human = std::tmpfile();
  ReporterOptions ro;
  ro.human = human;
  ro.verbosity = Verbosity::Quiet;
  Reporter rep(ro, red);
  rep.stage_started(1, 1, "talos", "apply");
  rep.info("talos", "chatty");
  rep.warn("talos", "careful");
  std::string out = slurp(human);
  EXPECT_EQ(out.find("chatty"), std::string::npos);
  EXPECT_NE(out.find("careful"), std::string::npos);
  std::fclose(human);
}
