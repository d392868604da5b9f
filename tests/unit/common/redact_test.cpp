#include "fluxboot/redact.hpp"

#include <vector>

#include <gtest/gtest.h>

#include "fluxboot/error.hpp"

using fluxboot::Redactor;

TEST(Redactor, MasksEverySecretOccurrenceAndItsBase64Form) {
  Redactor r;
  r.add("hunter2-password");
  std::string b64 = fluxboot::base64_encode("hunter2-password");
  std::string out = r.apply("a=hunter2-password b=" + b64 + " c=hunter2-password");
  EXPECT_EQ(out.find("hunter2"), std::string::npos) << out;
  EXPECT_EQ(out.find(b64), std::string::npos) << out;
  EXPECT_NE(out.find("a=<redacted>"), std::string::npos) << out;
}

TEST(Redactor, MasksEachLineOfAMultiLineKey) {
  Redactor r;
  r.add("-----BEGIN KEY-----\nAAAAsecretline1\nBBBBsecretline2\n-----END KEY-----\n");
  std::string out = r.apply("tool said: BBBBsecretline2");
  EXPECT_EQ(out, "tool said: <redacted>");
}

TEST(Redactor, IgnoresValuesTooShortToMaskSafely) {
  Redactor r;
  r.add("ab");
  EXPECT_EQ(r.apply("abc ab"), "abc ab");
  EXPECT_TRUE(r.empty());
}

TEST(Base64, RoundTrips) {
  for (const std::string& s : std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\0\xff\x10", 3)}) {
    std::string back;
    ASSERT_TRUE(fluxboot::base64_decode(fluxboot::base64_encode(s), back));
    EXPECT_EQ(back, s);
  }
  std::string out;
  EXPECT_FALSE(fluxboot::base64_decode("not base64!", out));
  EXPECT_EQ(fluxboot::base64_encode("foobar"), "Zm9vYmFy");  // RFC 4648 vectors
  EXPECT_EQ(fluxboot::base64_encode("fo"), "Zm8=");
  ASSERT_TRUE(fluxboot::base64_decode("Zm9v\nYmE=\n", out));  // line breaks, padding
  EXPECT_EQ(out, "fooba");
  ASSERT_TRUE(fluxboot::base64_decode("Zm9vYg", out));  // padding left off
  EXPECT_EQ(out, "foob");
  EXPECT_FALSE(fluxboot::base64_decode("Zm=9v", out));   // '=' inside
  EXPECT_FALSE(fluxboot::base64_decode("Zm9vY", out));   // a length no encoder writes
}

TEST(Problems, IdenticalProblemsAreFoldedAndAFloodIsCapped) {
  fluxboot::Problems p;
  for (int i = 0; i < 3; ++i) p.add("talos/cluster.yaml.j2:39: variable ENV.SCHEMATIC is not set");
  p.add("other");
  try {
    p.throw_if_any("cannot render");
    FAIL();
  } catch (const fluxboot::InputError& e) {
    EXPECT_STREQ(e.what(), "cannot render (4 problems):\n  - talos/cluster.yaml.j2:39: variable ENV.SCHEMATIC is not set "
                           "(3 times)\n  - other");
  }
  fluxboot::Problems flood;
  for (int i = 0; i < 10000; ++i) flood.add("bad key " + std::to_string(i));
  try {
    flood.throw_if_any("fluxboot.yaml");
    FAIL();
  } catch (const fluxboot::InputError& e) {
    const std::string m = e.what();
    EXPECT_LT(m.size(), 2000u);
    EXPECT_NE(m.find("(10000 problems)"), std::string::npos);
    EXPECT_NE(m.find("bad key 49\n"), std::string::npos);
    EXPECT_EQ(m.find("bad key 50\n"), std::string::npos);
    EXPECT_NE(m.find("… and 9950 more"), std::string::npos);
  }
}

TEST(Problems, ReportsEveryProblemAtOnce) {
  fluxboot::Problems p;
  p.add("first");
  p.add("second");
  try {
    p.throw_if_any("fluxboot.yaml");
    FAIL();
  } catch (const fluxboot::InputError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("first"), std::string::npos);
    EXPECT_NE(m.find("second"), std::string::npos);
    EXPECT_EQ(e.code(), fluxboot::ExitCode::InvalidInput);
  }
}
