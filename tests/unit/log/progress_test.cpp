// Live progress versus plain lines.
#include <cstdio>
#include <cstdlib>
#include <thread>

#include <gtest/gtest.h>

#include "fluxboot/reporter.hpp"

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

void one_stage(Reporter& rep) {
  process::Command cmd;
  cmd.argv = {"/usr/bin/talosctl", "apply-config"};
  cmd.label = "talosctl apply-config cp-1";
  rep.stage_started(1, 2, "talos", "apply the Talos machine configs");
  rep.command_started("talos", cmd);
  rep.progress("talos", "1/3 nodes handled");
  std::this_thread::sleep_for(std::chrono::milliseconds(250));  // a few frames
  process::Result res;
  res.exit_code = 0;
  rep.command_exited("talos", cmd, res);
  rep.info("talos", "cp-1: config applied");
  rep.stage_finished("talos", std::chrono::milliseconds(1200), "3 nodes");
}

}  // namespace

TEST(Progress, LiveModeRedrawsInPlaceAndCollapsesToASummaryLine) {
  Redactor red;
  std::FILE* human = std::tmpfile();
  {
    ReporterOptions ro;
    ro.human = human;
    ro.progress = ProgressMode::Live;
    ro.frame = std::chrono::milliseconds(20);
    Reporter rep(ro, red);
    EXPECT_TRUE(rep.live());
    one_stage(rep);
  }
  std::string out = slurp(human);
  EXPECT_NE(out.find("\x1b[J"), std::string::npos) << out;                 // lines redrawn in place
  EXPECT_NE(out.find("talosctl apply-config cp-1"), std::string::npos);    // a line per running command
  EXPECT_NE(out.find("[1/2] talos: 1/3 nodes handled"), std::string::npos);  // progress on the stage line
  EXPECT_NE(out.find("✓\x1b[0m [1/2] talos: done in 1.2s — 3 nodes"), std::string::npos) << out;
  EXPECT_NE(out.find("[1/2] talos: cp-1: config applied\n"), std::string::npos) << out;
  std::fclose(human);
}

TEST(Progress, PlainModeWritesOneLinePerEventWithoutEscapes) {
  Redactor red;
  std::FILE* human = std::tmpfile();
  {
    ReporterOptions ro;
    ro.human = human;
    ro.progress = ProgressMode::Plain;
    Reporter rep(ro, red);
    EXPECT_FALSE(rep.live());
    one_stage(rep);
  }
  std::string out = slurp(human);
  EXPECT_EQ(out.find('\x1b'), std::string::npos) << out;
  EXPECT_NE(out.find("[1/2] talos: apply the Talos machine configs\n"), std::string::npos) << out;
  EXPECT_NE(out.find("[1/2] talos: 1/3 nodes handled\n"), std::string::npos) << out;
  EXPECT_NE(out.find("[1/2] talos: done in 1.2s — 3 nodes\n"), std::string::npos) << out;
  std::fclose(human);
}

TEST(Progress, AutoIsPlainForFilesCiNoColorJsonAndQuiet) {
  std::FILE* f = std::tmpfile();
  ReporterOptions ro;
  ro.human = f;
  EXPECT_FALSE(live_progress_wanted(ro));  // not a terminal
  ro.progress = ProgressMode::Live;
  EXPECT_TRUE(live_progress_wanted(ro));
  ro.progress = ProgressMode::Plain;
  EXPECT_FALSE(live_progress_wanted(ro));
  std::fclose(f);
}

TEST(Progress, PlainModeSaysStillRunningWhenAStageIsSilent) {
  Redactor red;
  std::FILE* human = std::tmpfile();
  {
    ReporterOptions ro;
    ro.human = human;
    ro.progress = ProgressMode::Plain;
    ro.heartbeat = std::chrono::milliseconds(200);
    Reporter rep(ro, red);
    rep.stage_started(4, 8, "wait", "wait for the nodes to register");
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    rep.stage_finished("wait", std::chrono::milliseconds(1500), "");
  }
  std::string out = slurp(human);
  EXPECT_NE(out.find("[4/8] wait: still running ("), std::string::npos) << out;
  std::fclose(human);
}

TEST(Progress, EventCarriesFieldsInJson) {
  Redactor red;
  std::FILE* json = std::tmpfile();
  {
    ReporterOptions ro;
    ro.format = LogFormat::Json;
    ro.human = nullptr;
    ro.json = json;
    Reporter rep(ro, red);
    rep.event("diagnose", "diagnostics bundle: /x.tar.gz", {{"path", "/x.tar.gz"}});
  }
  std::string out = slurp(json);
  EXPECT_NE(out.find("\"event\":\"diagnose\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"path\":\"/x.tar.gz\""), std::string::npos) << out;
  std::fclose(json);
}
