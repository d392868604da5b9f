#include "fluxboot/duration.hpp"

#include <gtest/gtest.h>

#include "fluxboot/error.hpp"

using fluxboot::format_duration;
using fluxboot::Millis;
using fluxboot::parse_duration;

TEST(Duration, ParsesGoStyleDurations) {
  EXPECT_EQ(parse_duration("90s"), Millis(90'000));
  EXPECT_EQ(parse_duration("10m"), Millis(600'000));
  EXPECT_EQ(parse_duration("1h30m"), Millis(5'400'000));
  EXPECT_EQ(parse_duration("500ms"), Millis(500));
  EXPECT_EQ(parse_duration("2m30s"), Millis(150'000));
  EXPECT_EQ(parse_duration("1.5s"), Millis(1500));
  EXPECT_EQ(parse_duration("45"), Millis(45'000));
}

TEST(Duration, RejectsGarbageNamingWhatWasParsed) {
  for (const char* bad : {"", "m", "10x", "-5s", "ten minutes", "1h-2m", "99999999999999h"}) {
    try {
      parse_duration(bad, "--timeout");
      ADD_FAILURE() << "accepted " << bad;
    } catch (const fluxboot::InputError& e) {
      EXPECT_NE(std::string(e.what()).find("--timeout"), std::string::npos);
    }
  }
}

TEST(Duration, FormatsForHumans) {
  EXPECT_EQ(format_duration(Millis(850)), "850ms");
  EXPECT_EQ(format_duration(Millis(1500)), "1.5s");
  EXPECT_EQ(format_duration(Millis(12'000)), "12s");
  EXPECT_EQ(format_duration(Millis(185'000)), "3m05s");
  EXPECT_EQ(format_duration(Millis(3'720'000)), "1h02m");
}
