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

// A tool printing invalid UTF-8 (or a repository file holding binary bytes) never ends the run as
// an "internal error": every JSON event stays valid, the bad bytes become U+FFFD.
TEST(Reporter, InvalidUtf8BecomesReplacementCharactersInJson) {
  Redactor red;
  std::FILE* human = std::tmpfile();
  std::FILE* json = std::tmpfile();
  {
    ReporterOptions ro;
    ro.format = LogFormat::Json;
    ro.verbosity = Verbosity::Verbose;
    ro.human = human;
    ro.json = json;
    Reporter rep(ro, red);
    rep.stage_started(1, 1, "apps", "install");
    rep.command_output("helm", true, "bad \xff\xfe byte");
    rep.warn("apps", std::string("value \xc3 cut"));
    rep.stage_failed("apps", Millis(1), "failed: \xff", 1);
  }
  std::string out = slurp(json);
  size_t events = 0;
  for (size_t at = 0, nl; (nl = out.find('\n', at)) != std::string::npos; at = nl + 1) {
    auto line = out.substr(at, nl - at);
    if (line.empty()) continue;
    EXPECT_TRUE(nlohmann::json::accept(line)) << line;
    ++events;
  }
  EXPECT_GE(events, 3u);
  EXPECT_NE(out.find("\xef\xbf\xbd"), std::string::npos) << "U+FFFD in place of the bad bytes";
  std::fclose(human);
  std::fclose(json);
}

// A tool that floods its output cannot fill the disk: the debug log rotates once at its cap, the
// newest lines are kept, and the file says what went where.
TEST(Reporter, DebugLogIsCappedAndKeepsTheNewestLines) {
  fluxboot::testing::TempDir tmp;
  Redactor red;
  std::FILE* human = std::tmpfile();
  {
    ReporterOptions ro;
    ro.human = human;
    ro.verbosity = Verbosity::Quiet;
    ro.debug_log = tmp / "logs" / "run.log";
    ro.debug_log_max = 64 * 1024;
    Reporter rep(ro, red);
    for (int i = 0; i < 4000; ++i) rep.command_output("helm", false, "line " + std::to_string(i) + std::string(80, 'x'));
  }
  const auto size = std::filesystem::file_size(tmp / "logs" / "run.log");
  const auto rotated = std::filesystem::file_size(tmp / "logs" / "run.1.log");
  EXPECT_LE(size, 64u * 1024);
  EXPECT_LE(rotated, 64u * 1024);
  const std::string now = fluxboot::testing::read_file(tmp / "logs" / "run.log");
  EXPECT_NE(now.find("line 3999"), std::string::npos);
  EXPECT_EQ(now.rfind("debug log continued", 0), 0u) << now.substr(0, 200);
  EXPECT_NE(now.find("were dropped"), std::string::npos) << now.substr(0, 200);
  EXPECT_EQ(std::filesystem::status(tmp / "logs").permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_all);
  std::fclose(human);
}

// A file or symlink planted at the debug log's name is never opened, followed or truncated.
TEST(Reporter, DebugLogNeverFollowsAPlantedSymlink) {
  fluxboot::testing::TempDir tmp;
  fluxboot::testing::write_file(tmp / "victim", "keep me\n");
  std::filesystem::create_directories(tmp / "logs");
  std::filesystem::create_symlink(tmp / "victim", tmp / "logs" / "run.log");
  Redactor red;
  std::FILE* human = std::tmpfile();
  {
    ReporterOptions ro;
    ro.human = human;
    ro.debug_log = tmp / "logs" / "run.log";
    Reporter rep(ro, red);
    rep.warn("", "something");
    EXPECT_TRUE(rep.debug_log_path().empty()) << "the log is skipped, not written through the link";
  }
  EXPECT_EQ(fluxboot::testing::read_file(tmp / "victim"), "keep me\n");
  std::fclose(human);
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
