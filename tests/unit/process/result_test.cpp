#include <string>

#include <gtest/gtest.h>

#include "fluxboot/process.hpp"

namespace fluxboot::process {
namespace {

TEST(ResultTail, ReturnsLastNonEmptyStderrLines) {
  Result r;
  r.err = "one\ntwo\n\n   \nthree\r\nfour\n\n";
  EXPECT_EQ(r.tail(3), "two\nthree\nfour");
  EXPECT_EQ(r.tail(), "one\ntwo\nthree\nfour");
  EXPECT_EQ(r.tail(1), "four");
  EXPECT_EQ(r.tail(0), "");
}

TEST(ResultTail, FallsBackToStdoutWhenStderrIsEmpty) {
  Result r;
  r.out = "a\nb\nc";
  EXPECT_EQ(r.tail(2), "b\nc");
  r.err = "\n  \n";
  EXPECT_EQ(r.tail(2), "b\nc");
  r.err = "boom";
  EXPECT_EQ(r.tail(2), "boom");
}

TEST(ResultTail, EmptyWhenNoOutput) { EXPECT_EQ(Result{}.tail(), ""); }

TEST(ResultOk, RequiresZeroExitAndNeitherTimeoutNorCancel) {
  Result r;
  EXPECT_FALSE(r.ok());  // never started
  r.exit_code = 0;
  EXPECT_TRUE(r.ok());
  r.timed_out = true;
  EXPECT_FALSE(r.ok());
  r.timed_out = false;
  r.cancelled = true;
  EXPECT_FALSE(r.ok());
}

}  // namespace
}  // namespace fluxboot::process
