// Every scalar keeps the type Flux gives it, and to_yaml hands exactly that to Helm.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <limits>

#include "fluxboot/values.hpp"

namespace fluxboot::values {
namespace {

using nlohmann::json;

json v3(const std::string& text) { return parse_yaml(text, Dialect::GoYamlV3, "test.yaml"); }
json v2(const std::string& text) { return parse_yaml(text, Dialect::GoYamlV2, "test.yaml"); }

TEST(TypeFidelity, QuotedScalarsAreAlwaysStrings) {
  json j = v3(
      "a: \"1.10\"\nb: 'true'\nc: \"8080\"\nd: '0755'\ne: \"\"\nf: \"~\"\ng: 'null'\nh: \"yes\"\n");
  EXPECT_EQ(j["a"], "1.10");
  EXPECT_EQ(j["b"], "true");
  EXPECT_EQ(j["c"], "8080");
  EXPECT_EQ(j["d"], "0755");
  EXPECT_EQ(j["e"], "");
  EXPECT_EQ(j["f"], "~");
  EXPECT_EQ(j["g"], "null");
  EXPECT_EQ(j["h"], "yes");
  for (auto& [k, v] : j.items()) EXPECT_TRUE(v.is_string()) << k;
}

TEST(TypeFidelity, PlainScalarsAreTypedAsGoYamlDoes) {
  json j = v3(
      "float: 1.10\nbool: true\nint: 8080\noctal: 0755\ntilde: ~\nnull: null\nempty:\nhex: 0x1F\n"
      "underscore: 1_000\nexp: 1e3\neight: 08\nocto: 0o17\nplus: +5\ndate: 2001-12-14\nhalf: .5\n"
      "version: 1.2.3\nTrue: True\nneg: -12\nbin: 0b101\n");
  EXPECT_DOUBLE_EQ(j["float"].get<double>(), 1.1);
  EXPECT_TRUE(j["float"].is_number_float());
  EXPECT_EQ(j["bool"], true);
  EXPECT_EQ(j["int"], 8080);
  EXPECT_EQ(j["octal"], 493);  // YAML 1.1 octal, still decoded by go-yaml v3
  EXPECT_TRUE(j["tilde"].is_null());
  EXPECT_TRUE(j["null"].is_null());
  EXPECT_TRUE(j["empty"].is_null());
  EXPECT_EQ(j["hex"], 31);
  EXPECT_EQ(j["underscore"], 1000);
  EXPECT_EQ(j["exp"], 1000);  // a float, written by Go's json.Marshal as 1000
  EXPECT_EQ(j["eight"], 8);   // not octal, not an int: go-yaml's float rule
  EXPECT_EQ(j["octo"], 15);
  EXPECT_EQ(j["plus"], 5);
  EXPECT_EQ(j["date"], "2001-12-14");
  EXPECT_DOUBLE_EQ(j["half"].get<double>(), 0.5);
  EXPECT_EQ(j["version"], "1.2.3");
  EXPECT_EQ(j["True"], true);
  EXPECT_EQ(j["neg"], -12);
  EXPECT_EQ(j["bin"], 5);
}

TEST(TypeFidelity, YesNoOnOffAreStringsInV3AndBooleansInV2) {
  const std::string text = "a: yes\nb: no\nc: on\nd: off\ne: y\nf: N\n";
  json a = v3(text);
  json b = v2(text);
  EXPECT_EQ(a["a"], "yes");
  EXPECT_EQ(a["c"], "on");
  EXPECT_EQ(a["e"], "y");
  EXPECT_EQ(b["a"], true);
  EXPECT_EQ(b["b"], false);
  EXPECT_EQ(b["c"], true);
  EXPECT_EQ(b["d"], false);
  EXPECT_EQ(b["e"], true);
  EXPECT_EQ(b["f"], false);
}

TEST(TypeFidelity, LargeIntegersKeepTheirValue) {
  json j =
      v3("max: 9223372036854775807\nmin: -9223372036854775808\numax: 18446744073709551615\n"
         "big: 12345678901234567890\nhuge: 123456789012345678901234\n");
  EXPECT_EQ(j["max"].get<std::int64_t>(), std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(j["min"].get<std::int64_t>(), std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(j["umax"].get<std::uint64_t>(), std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(j["big"].get<std::uint64_t>(), 12345678901234567890ULL);
  EXPECT_TRUE(j["huge"].is_number_float());
  EXPECT_DOUBLE_EQ(j["huge"].get<double>(), 1.2345678901234568e23);
  const std::string y = to_yaml(j);
  EXPECT_NE(y.find("max: 9223372036854775807\n"), std::string::npos) << y;
  EXPECT_NE(y.find("umax: 18446744073709551615\n"), std::string::npos) << y;
  EXPECT_NE(y.find("big: 12345678901234567890\n"), std::string::npos) << y;
  EXPECT_EQ(v2(y), j);
}

TEST(TypeFidelity, FloatsKeepTheirValue) {
  json j = v3("pi: 3.141592653589793\ntiny: 1e-7\navogadro: 6.02214076e23\nneg: -2.5\n");
  EXPECT_DOUBLE_EQ(j["pi"].get<double>(), 3.141592653589793);
  EXPECT_DOUBLE_EQ(j["tiny"].get<double>(), 1e-7);
  EXPECT_DOUBLE_EQ(j["avogadro"].get<double>(), 6.02214076e23);
  const std::string y = to_yaml(j);
  json back = v2(y);
  EXPECT_EQ(back["pi"].get<double>(), j["pi"].get<double>()) << y;
  EXPECT_EQ(back["tiny"].get<double>(), j["tiny"].get<double>()) << y;
  EXPECT_EQ(back["avogadro"].get<double>(), j["avogadro"].get<double>()) << y;
}

TEST(TypeFidelity, BlockScalarsKeepTheirNewlines) {
  json j =
      v3("clip: |\n  a\n  b\nstrip: |-\n  a\n  b\nkeep: |+\n  a\n\n\nfolded: >\n  a\n  b\n\n  c\n"
         "indented: |2\n    lead\n  back\n");
  EXPECT_EQ(j["clip"], "a\nb\n");
  EXPECT_EQ(j["strip"], "a\nb");
  EXPECT_EQ(j["keep"], "a\n\n\n");
  EXPECT_EQ(j["folded"], "a b\nc\n");
  EXPECT_EQ(j["indented"], "  lead\nback\n");
  const std::string y = to_yaml(j);
  EXPECT_EQ(v2(y), j) << y;
  EXPECT_EQ(v3(y), j) << y;
  EXPECT_NE(y.find("clip: |\n  a\n  b\n"), std::string::npos) << y;
  EXPECT_NE(y.find("strip: |-\n"), std::string::npos) << y;
  EXPECT_NE(y.find("keep: |+\n"), std::string::npos) << y;
}

TEST(TypeFidelity, NanAndInfinityAreRejectedLikeFlux) {
  for (const char* text : {"a: .nan\n", "a: .inf\n", "a: -.Inf\n"}) {
    try {
      v3(text);
      ADD_FAILURE() << text;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("test.yaml:1"), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(v3("a: '.nan'\n")["a"], ".nan");
}

TEST(TypeFidelity, ExplicitTagsDecideTheType) {
  json j =
      v3("a: !!str 123\nb: !!int \"42\"\nc: !!float 1.5\nd: !!binary aGVsbG8=\ne: !!null ''\nf: "
         "!custom text\n");
  EXPECT_EQ(j["a"], "123");
  EXPECT_EQ(j["b"], 42);
  EXPECT_DOUBLE_EQ(j["c"].get<double>(), 1.5);
  EXPECT_EQ(j["d"], "hello");
  EXPECT_TRUE(j["e"].is_null());
  EXPECT_EQ(j["f"], "text");
  EXPECT_THROW(v3("a: !!int abc\n"), InputError);
}

TEST(Anchors, AliasesAndMergeKeysAreResolved) {
  json j =
      v3("base: &base\n  cpu: 10m\n  memory: 32Mi\nother: &other\n  memory: 64Mi\n  gpu: 1\n"
         "copy: *base\n"
         "merged:\n  <<: *base\n  memory: 128Mi\n"
         "explicitFirst:\n  memory: 1Gi\n  <<: *base\n"
         "list:\n  <<: [*other, *base]\n");
  EXPECT_EQ(j["copy"], j["base"]);
  EXPECT_EQ(j["merged"], (json{{"cpu", "10m"}, {"memory", "128Mi"}}));
  EXPECT_EQ(j["explicitFirst"]["memory"], "1Gi");  // explicit keys win, wherever they are
  EXPECT_EQ(j["list"], (json{{"cpu", "10m"}, {"memory", "64Mi"}, {"gpu", 1}}));  // earlier maps win
  EXPECT_FALSE(j["merged"].contains("<<"));
}

TEST(Anchors, GoYamlV2MergesInOrderOfAppearance) {
  json j = v2("base: &base\n  memory: 32Mi\nexplicitFirst:\n  memory: 1Gi\n  <<: *base\n");
  EXPECT_EQ(j["explicitFirst"]["memory"], "32Mi");
}

TEST(Anchors, DuplicateKeysAreAnErrorInV3AndLastWinsInV2) {
  try {
    v3("a: 1\nb: 2\na: 3\n");
    ADD_FAILURE();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("test.yaml:3"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("already defined"), std::string::npos) << e.what();
  }
  EXPECT_EQ(v2("a: 1\na: 3\n")["a"], 3);
}

TEST(Anchors, RecursiveAliasesAreRejected) { EXPECT_THROW(v3("a: &x\n  b: *x\n"), InputError); }

TEST(Anchors, AliasBombIsStopped) {
  std::string text = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  std::string prev = "a";
  for (char c = 'b'; c <= 'i'; ++c) {
    std::string name(1, c);
    text += name + ": &" + name + " [";
    for (int i = 0; i < 10; ++i) text += (i ? ", *" : "*") + prev;
    text += "]\n";
    prev = name;
  }
  try {
    v3(text);
    ADD_FAILURE();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("excessive aliasing"), std::string::npos) << e.what();
  }
}

// A large plain document is not an alias bomb: every node is written out, so no "excessive aliasing".
TEST(Anchors, ALargePlainDocumentIsNotExcessiveAliasing) {
  std::string text;
  for (int i = 0; i < 140000; ++i) text += "k" + std::to_string(i) + ": [v, w]\n";
  json j = v3(text);
  EXPECT_EQ(j.size(), 140000u);
  EXPECT_EQ(j["k139999"], (json{"v", "w"}));
}

// Found by fuzz_values (out of memory): yaml-cpp 0.7's LoadAll never returns on a stray ',' at
// document level. The reader builds its tree from parser events and stops there.
TEST(Malformed, StrayCommaAtDocumentLevelIsAnErrorNotAHang) {
  for (const char* text : {",", ",,,,ull", " ,", "# c\n,", "---\n,", "- a\n,", "a\n---\n,"}) {
    try {
      v3(text);
      ADD_FAILURE() << text;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("test.yaml:"), std::string::npos) << e.what();
    }
  }
}

TEST(Malformed, ErrorNamesFileLineAndColumn) {
  try {
    v3("a: 1\nb: [1, 2\nc: 3\n");
    ADD_FAILURE();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("test.yaml:"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("malformed YAML"), std::string::npos) << e.what();
  }
  EXPECT_THROW(v3("a: \"\xff\"\n"), InputError);  // invalid UTF-8
}

TEST(ToYaml, QuotesExactlyTheStringsThatWouldReadAsSomethingElse) {
  EXPECT_EQ(to_yaml(json{{"a", "1.10"}}), "a: \"1.10\"\n");
  EXPECT_EQ(to_yaml(json{{"a", "true"}}), "a: \"true\"\n");
  EXPECT_EQ(to_yaml(json{{"a", "8080"}}), "a: \"8080\"\n");
  EXPECT_EQ(to_yaml(json{{"a", "0755"}}), "a: \"0755\"\n");
  EXPECT_EQ(to_yaml(json{{"a", ""}}), "a: \"\"\n");
  EXPECT_EQ(to_yaml(json{{"a", "~"}}), "a: \"~\"\n");
  EXPECT_EQ(to_yaml(json{{"a", "yes"}}), "a: \"yes\"\n");  // a boolean for YAML 1.1 readers
  EXPECT_EQ(to_yaml(json{{"a", "1:20"}}), "a: \"1:20\"\n");
  EXPECT_EQ(to_yaml(json{{"a", "@kubernetes"}}), "a: \"@kubernetes\"\n");
  EXPECT_EQ(to_yaml(json{{"a", nullptr}}), "a: null\n");
  EXPECT_EQ(to_yaml(json{{"a", "plain text"}}), "a: plain text\n");
  EXPECT_EQ(to_yaml(json{{"a", "--concurrent=10"}}), "a: --concurrent=10\n");
  EXPECT_EQ(to_yaml(json{{"a", json::object()}, {"b", json::array()}}), "a: {}\nb: []\n");
  EXPECT_EQ(to_yaml(json{{"true", 1}}), "\"true\": 1\n");
}

TEST(ToYaml, RoundTripsThroughBothGoYamlDialects) {
  json strings = json::array();
  for (const char* s : {"1.10",
                        "true",
                        "8080",
                        "0755",
                        "",
                        "~",
                        "null",
                        "NULL",
                        "yes",
                        "on",
                        "Off",
                        "y",
                        "1:20",
                        "2001-12-14",
                        "@kubernetes",
                        "a: b",
                        "a #b",
                        "#x",
                        "- x",
                        "-x",
                        "--x",
                        "- ",
                        " lead",
                        "trail ",
                        "multi\nline\n",
                        "no newline\nend",
                        "\n\nleading",
                        "  indented\nblock",
                        "tab\there",
                        "\ttab",
                        "quote\"s",
                        "back\\slash",
                        "emoji \xF0\x9F\x9A\x80",
                        "\x01"
                        "ctl",
                        "cr\r\nlf",
                        "---",
                        "...",
                        "--- x",
                        "*star",
                        "&amp",
                        "!bang",
                        "%pct",
                        "{brace}",
                        "[br]",
                        ",comma",
                        "?q",
                        "? q",
                        ":colon",
                        "key:",
                        "=",
                        "<<",
                        ".5",
                        "+1",
                        "0x1F",
                        "1e3",
                        "1_000",
                        ".inf",
                        ".nan",
                        "a\n",
                        "\n",
                        "\n\n",
                        "trailing spaces   \nline",
                        "x\n  \ny",
                        "\xC2\x85"
                        "nel",
                        "\xE2\x80\xA8"
                        "ls",
                        "\xEF\xBB\xBF"
                        "bom",
                        "{{ .Values.x }}",
                        "${VAR}",
                        "'single'",
                        "a'b",
                        "0",
                        "-0",
                        "0.0"}) {
    strings.push_back(s);
  }
  json doc = {
      {"strings", strings},
      {"numbers",
       {0, -1, 9223372036854775807LL, std::numeric_limits<std::uint64_t>::max(), 0.1, 1e21, -2.5e-7,
        1.5e300}},
      {"bools", {true, false}},
      {"null", nullptr},
      {"nested", {{"list", {json::array(), json::object(), {{"a", {1, 2}}}, {{"b", "x\ny\n"}}}}}},
      {"keys",
       {{"true", 1}, {"1", 2}, {"a: b", 3}, {"", 4}, {"null", 5}, {"- x", 6}, {"k\nl", 7}}}};
  const std::string y = to_yaml(doc);
  EXPECT_EQ(v2(y), doc) << y;
  EXPECT_EQ(v3(y), doc) << y;
  EXPECT_NO_THROW(YAML::Load(y));
}

// Found by fuzz_values: a key over 1024 characters cannot be a simple key; long keys are written
// as explicit "? key" entries, as libyaml does above 128 bytes.
TEST(ToYaml, LongKeysUseTheExplicitKeyForm) {
  const std::string long_key(2000, 'k');
  json doc = {{long_key, {{"nested", 1}}},
              {"list", {{{long_key, "v"}, {"b", 2}}}},
              {std::string(200, 'x') + "\nline", "y"}};
  const std::string y = to_yaml(doc);
  EXPECT_NE(y.find("? " + long_key + "\n:"), std::string::npos);
  EXPECT_EQ(v2(y), doc) << y;
  EXPECT_EQ(v3(y), doc) << y;
}

}  // namespace
}  // namespace fluxboot::values
