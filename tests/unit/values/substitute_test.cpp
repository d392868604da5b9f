// Flux's post-build substitution syntax (fluxcd/pkg/envsubst), one rule per test.
#include <gtest/gtest.h>

#include "fluxboot/values.hpp"
#include "values/internal.hpp"

namespace fluxboot::values {
namespace {

const std::map<std::string, std::string> kVars = {
    {"A", "a"}, {"PORT", "8080"}, {"EMPTY", ""}, {"NAME", "Home-Lab"}};

std::string sub(const std::string& text, bool strict = false,
                std::vector<std::string>* undefined = nullptr) {
  return substitute(text, kVars, strict, "test.yaml", undefined);
}

TEST(Substitute, ReplacesBracedVariables) {
  EXPECT_EQ(sub("${A}"), "a");
  EXPECT_EQ(sub("x${A}y${PORT}"), "xay8080");
  EXPECT_EQ(sub("port: ${PORT}\n"), "port: 8080\n");
}

TEST(Substitute, LeavesUnbracedDollarAlone) {
  EXPECT_EQ(sub("$A and $PORT"), "$A and $PORT");
  EXPECT_EQ(sub("cost: 5$"), "cost: 5$");
}

TEST(Substitute, ColonEqualsDefaultAppliesWhenUnsetOrEmpty) {
  EXPECT_EQ(sub("${UNSET:=fallback}"), "fallback");
  EXPECT_EQ(sub("${EMPTY:=fallback}"), "fallback");
  EXPECT_EQ(sub("${A:=fallback}"), "a");
}

TEST(Substitute, ColonDashDefaultAppliesWhenUnsetOrEmpty) {
  EXPECT_EQ(sub("${UNSET:-fallback}"), "fallback");
  EXPECT_EQ(sub("${EMPTY:-fallback}"), "fallback");
  EXPECT_EQ(sub("${A:-fallback}"), "a");
}

TEST(Substitute, DefaultsMayContainSpacesColonsAndVariables) {
  EXPECT_EQ(sub("${UNSET:=a b: c}"), "a b: c");
  EXPECT_EQ(sub("${UNSET:=${A}-x}"), "a-x");
  EXPECT_EQ(sub("${UNSET=plain}"), "plain");
}

TEST(Substitute, DoubleDollarEscapes) {
  EXPECT_EQ(sub("$${A}"), "${A}");
  EXPECT_EQ(sub("echo $$HOME"), "echo $HOME");
  EXPECT_EQ(sub("$$$${A}"), "$${A}");
}

TEST(Substitute, UndefinedVariableBecomesEmptyAndIsReported) {
  std::vector<std::string> undefined;
  EXPECT_EQ(sub("a${MISSING}b${MISSING}${OTHER}", false, &undefined), "ab");
  EXPECT_EQ(undefined, (std::vector<std::string>{"MISSING", "OTHER"}));
}

TEST(Substitute, DefaultedVariablesAreNotReported) {
  std::vector<std::string> undefined;
  sub("${MISSING:=x}", false, &undefined);
  EXPECT_TRUE(undefined.empty());
}

TEST(Substitute, StrictModeRejectsUndefinedVariablesWithoutDefault) {
  try {
    sub("${MISSING}", true);
    ADD_FAILURE();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("\"MISSING\""), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("test.yaml"), std::string::npos) << e.what();
  }
  EXPECT_EQ(sub("${MISSING:=x}", true), "x");
  EXPECT_EQ(sub("${EMPTY}", true), "");
}

TEST(Substitute, MalformedExpressionsAreErrorsAsInFlux) {
  for (const char* bad : {"${A", "${}", "${ A}", "${A-default}", "${A:=x", "${A!}"}) {
    EXPECT_THROW(sub(bad), InputError) << bad;
  }
}

TEST(Substitute, StringFunctionsFluxAccepts) {
  EXPECT_EQ(sub("${NAME^^}"), "HOME-LAB");
  EXPECT_EQ(sub("${NAME,,}"), "home-lab");
  EXPECT_EQ(sub("${NAME,}"), "home-Lab");
  EXPECT_EQ(sub("${#NAME}"), "8");
  EXPECT_EQ(sub("${NAME:0:4}"), "Home");
  EXPECT_EQ(sub("${NAME:5}"), "Lab");
  EXPECT_EQ(sub("${NAME/-/_}"), "Home_Lab");
  EXPECT_EQ(sub("${PORT//0/9}"), "8989");
  EXPECT_EQ(sub("${NAME#Ho}"), "me-Lab");
  EXPECT_EQ(sub("${NAME%-*}"), "Home");
}

// Found by fuzz_substitute: Go's scanner reads a NUL rune as end of input, so Flux drops
// everything after it. Kept as Flux does it.
TEST(Substitute, NulByteEndsTheTextAsInGo) { EXPECT_EQ(sub(std::string("a\0b${A}", 7)), "a"); }

// Found by fuzz_values (out of memory): nested replacements multiply lengths. Results are capped
// at 16 MiB.
TEST(Substitute, ReplacementBombIsStopped) {
  const std::map<std::string, std::string> vars = {{"A", std::string(100, 'x')}};
  EXPECT_THROW(substitute("${A//x/${A//x/${A//x/${A//x/${A//x/yyyyyyyyyy}}}}}", vars, false, "t"),
               InputError);
  EXPECT_EQ(substitute("${A//x/y}", vars, false, "t"), std::string(100, 'y'));
}

// Found by fuzz_substitute: an overlong "\xc0\x80" decoded to U+0000 and ended the text; Go decodes
// it as an invalid byte.
TEST(Substitute, OverlongNulIsNotTheEndOfTheText) {
  EXPECT_EQ(sub("a\xc0\x80${A}b"),
            "a\xc0\x80"
            "ab");
}

// Found by fuzz_values: Flux's round trip (go-yaml v2 text, substitute, re-read) and the in-place
// path must agree; a string of only line breaks lost them in the literal block ("|" instead of
// "|+").
TEST(SubstituteDocument, InPlaceAndWholeDocumentRoutesAgree) {
  using nlohmann::json;
  json doc = {{"nl", "\n"},         {"nl2", "\n\n"}, {"block", "a\n${A}\n"},
              {"port", "${PORT}"},  {"q", "@${A}"},  {"list", {"${EMPTY}", "x${A}", "yes"}},
              {"spaced", " ${A} "}, {"n", 1}};
  std::vector<std::string> u1, u2;
  json exact = detail::substitute_document(doc, kVars, false, "t", u1, false);
  json fast = detail::substitute_document(doc, kVars, false, "t", u2, true);
  EXPECT_EQ(exact, fast);
  EXPECT_EQ(exact["nl"], "\n");
  EXPECT_EQ(exact["nl2"], "\n\n");
  EXPECT_EQ(exact["block"], "a\na\n");
  EXPECT_EQ(exact["port"], 8080);
  EXPECT_EQ(exact["q"], "@a");
  EXPECT_EQ(exact["list"], (json{nullptr, "xa", "yes"}));
  EXPECT_EQ(exact["spaced"], " a ");
}

TEST(Substitute, InvalidVariableNamesAreRejected) {
  EXPECT_THROW(substitute("x", {{"1BAD", "v"}}, false, "t"), InputError);
  EXPECT_THROW(substitute("x", {{"BAD-NAME", "v"}}, false, "t"), InputError);
  EXPECT_NO_THROW(substitute("x", {{"_ok9", "v"}}, false, "t"));
}

}  // namespace
}  // namespace fluxboot::values
