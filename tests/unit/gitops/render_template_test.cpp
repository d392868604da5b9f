#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fluxboot/gitops.hpp"
#include "support/test_support.hpp"
#include "unit/gitops/gitops_test_util.hpp"

namespace fluxboot::gitops {
namespace {

using testing::input_error;
using ::testing::HasSubstr;

const std::string kSource = "bootstrap/resources.yaml.j2";

std::string render(const std::string& text, const std::map<std::string, std::string>& env = {}) {
  return render_template(text, env, kSource);
}

std::string error_of(const std::string& text, const std::map<std::string, std::string>& env = {}) {
  return input_error([&] { render(text, env); });
}

// ---- expressions

TEST(RenderTemplate, PlainTextIsUnchanged) {
  EXPECT_EQ(render(""), "");
  EXPECT_EQ(render("a: {b}\n# {not a tag\n"), "a: {b}\n# {not a tag\n");
}

TEST(RenderTemplate, InlineConditionalExpression) {
  std::map<std::string, std::string> cp = {{"MACHINE_TYPE", "controlplane"}}, w = {{"MACHINE_TYPE", "worker"}};
  const std::string t = "zone: {{ 'm' if ENV.MACHINE_TYPE == 'controlplane' else 'w' }}\n";
  EXPECT_EQ(render(t, cp), "zone: m\n");
  EXPECT_EQ(render(t, w), "zone: w\n");
  EXPECT_EQ(render("[{{ 'x' if ENV.MACHINE_TYPE == 'none' }}]", w), "[]");  // no else: empty
  EXPECT_EQ(render("{{ 'a' if false else 'b' if true else 'c' }}"), "b");     // else binds right
}

TEST(RenderTemplate, SubstitutesEnvByAttributeAndSubscript) {
  std::map<std::string, std::string> env = {{"NAME", "flux"}, {"WITH-DASH", "x"}};
  EXPECT_EQ(render("a {{ ENV.NAME }} b\n", env), "a flux b\n");
  EXPECT_EQ(render("{{ENV[\"NAME\"]}}{{ ENV['WITH-DASH'] }}", env), "fluxx");
}

TEST(RenderTemplate, StringLiteralsWithEscapes) {
  EXPECT_EQ(render(R"({{ "a\"b" }}|{{ 'c\'d' }}|{{ "x\ny" }})"), "a\"b|c'd|x\ny");
}

TEST(RenderTemplate, LiteralsOfOtherTypes) {
  EXPECT_EQ(render("{{ 42 }} {{ true }} {{ none }} {{ [1, 'a'] }}"), "42 true none [1, \"a\"]");
}

TEST(RenderTemplate, DefaultFilterForUnsetVariables) {
  std::map<std::string, std::string> env = {{"OTHER", "o"}, {"EMPTY", ""}};
  EXPECT_EQ(render("{{ ENV.MISSING | default(\"x\") }}", env), "x");
  EXPECT_EQ(render("{{ ENV.MISSING | default(ENV.OTHER) }}", env), "o");
  EXPECT_EQ(render("{{ ENV.MISSING | d('y') }}", env), "y");
  EXPECT_EQ(render("{{ ENV.MISSING | default }}", env), "");
  EXPECT_EQ(render("[{{ ENV.EMPTY | default('z') }}]", env), "[]");  // set but empty: kept
  EXPECT_EQ(render("[{{ ENV.EMPTY | default('z', true) }}]", env), "[z]");
  EXPECT_EQ(render("[{{ ENV.EMPTY | default('z', boolean=true) }}]", env), "[z]");
}

TEST(RenderTemplate, DefaultOfAnUnsetVariableNamesTheFallback) {
  auto msg = error_of("{{ ENV.A | default(ENV.B) }}");
  EXPECT_THAT(msg, HasSubstr("variable ENV.B is not set"));
}

TEST(RenderTemplate, IndentFollowsMinijinja) {
  std::map<std::string, std::string> env = {{"KEY", "line1\nline2\n\nline4\n"}};
  EXPECT_EQ(render("k: |\n  {{ ENV.KEY | indent(2) }}\n", env), "k: |\n  line1\n  line2\n\n  line4\n");
  EXPECT_EQ(render("{{ ENV.KEY | indent(2, first=true) }}", env), "  line1\n  line2\n\n  line4");
  EXPECT_EQ(render("{{ ENV.KEY | indent(2, true, true) }}", env), "  line1\n  line2\n  \n  line4");
  EXPECT_EQ(render("{{ 'a\nb' | indent }}"), "a\n    b");
  EXPECT_EQ(render("{{ 'a\nb' | indent('> ') }}"), "a\n> b");
}

TEST(RenderTemplate, Base64AndTrimAndChainedFilters) {
  std::map<std::string, std::string> env = {{"V", "  hello \n"}};
  EXPECT_EQ(render("{{ ENV.V | trim | b64encode }}", env), "aGVsbG8=");
  EXPECT_EQ(render("{{ 'aGVsbG8=' | b64decode | upper }}", env), "HELLO");
  EXPECT_EQ(render("{{ 'xxhixx' | trim('x') }}"), "hi");
  EXPECT_EQ(render("{{ ENV.MISSING | default(' pad ') | trim | b64encode }}"), "cGFk");
}

TEST(RenderTemplate, OtherStringFilters) {
  EXPECT_EQ(render("{{ 'a-b-c' | replace('-', '_') }}"), "a_b_c");
  EXPECT_EQ(render("{{ 'MiXeD' | lower }}"), "mixed");
  EXPECT_EQ(render("{{ 'a,b' | split(',') | join(' ') }}"), "a b");
  EXPECT_EQ(render("{{ [1, 2, 3] | length }}"), "3");
}

TEST(RenderTemplate, ConcatenationWithTilde) {
  std::map<std::string, std::string> env = {{"D", "example.com"}};
  EXPECT_EQ(render("{{ 'app.' ~ ENV.D ~ ':' ~ 443 }}", env), "app.example.com:443");
}

TEST(RenderTemplate, ParenthesesGroup) {
  EXPECT_EQ(render("{{ ('a' ~ 'b') | upper }}"), "AB");
}

// ---- for

TEST(RenderTemplate, ForLoopOverLiteralList) {
  const std::string t =
      "{% for ns in [\"a\", \"b\"] %}\n"
      "- {{ ns }}-{{ loop.index }}/{{ loop.length }}{% if loop.last %} (last){% endif +%}\n"
      "{% endfor %}\n";
  EXPECT_EQ(render(t), "- a-1/2\n- b-2/2 (last)\n");
}

TEST(RenderTemplate, ForLoopVariableInConcatenationAndNestedLoops) {
  const std::string t =
      "{% for a in ['x', 'y'] %}\n"
      "{% for b in [1, 2] %}\n"
      "{{ a ~ '-' ~ b }}\n"
      "{% endfor %}\n"
      "{% endfor %}\n";
  EXPECT_EQ(render(t), "x-1\nx-2\ny-1\ny-2\n");
}

TEST(RenderTemplate, ForElseAndEmptyList) {
  EXPECT_EQ(render("{% for x in [] %}{{ x }}{% else %}none{% endfor %}"), "none");
}

TEST(RenderTemplate, ForOverSplitEnvironmentVariable) {
  std::map<std::string, std::string> env = {{"NS", "a,b"}};
  EXPECT_EQ(render("{% for n in ENV.NS | split(',') %}[{{ n }}]{% endfor %}", env), "[a][b]");
}

TEST(RenderTemplate, LoopVariableIsScopedToTheLoop) {
  auto msg = error_of("{% for x in ['a'] %}{% endfor %}\n{{ x }}");
  EXPECT_THAT(msg, HasSubstr(kSource + ":2: variable 'x' is undefined"));
}

// ---- if

TEST(RenderTemplate, IfElifElse) {
  const std::string t =
      "{% if ENV.MODE == \"a\" %}A{% elif ENV.MODE == 'b' %}B{% elif ENV.MODE %}other{% else %}none{% endif %}";
  EXPECT_EQ(render(t, {{"MODE", "a"}}), "A");
  EXPECT_EQ(render(t, {{"MODE", "b"}}), "B");
  EXPECT_EQ(render(t, {{"MODE", "c"}}), "other");
  EXPECT_EQ(render(t, {{"MODE", ""}}), "none");
  EXPECT_EQ(render(t), "none");  // unset is falsy, never an error in a condition
}

TEST(RenderTemplate, IsDefinedNotAndOrNotEqual) {
  std::map<std::string, std::string> env = {{"A", "1"}, {"B", "x"}};
  EXPECT_EQ(render("{% if ENV.A is defined %}y{% endif %}", env), "y");
  EXPECT_EQ(render("{% if ENV.Z is defined %}y{% else %}n{% endif %}", env), "n");
  EXPECT_EQ(render("{% if ENV.Z is not defined %}y{% endif %}", env), "y");
  EXPECT_EQ(render("{% if ENV.Z is undefined %}y{% endif %}", env), "y");
  EXPECT_EQ(render("{% if not ENV.Z %}y{% endif %}", env), "y");
  EXPECT_EQ(render("{% if ENV.A and ENV.B != 'y' %}y{% endif %}", env), "y");
  EXPECT_EQ(render("{% if ENV.Z or ENV.B == 'x' %}y{% endif %}", env), "y");
  EXPECT_EQ(render("{% if not ENV.A == '1' %}y{% else %}n{% endif %}", env), "n");
  EXPECT_EQ(render("{% if ENV.Z and ENV.Z.X %}y{% else %}n{% endif %}", env), "n");
  EXPECT_EQ(render("{{ ENV.Z or 'fallback' }}", env), "fallback");
}

// ---- comments and whitespace

TEST(RenderTemplate, CommentsProduceNothing) {
  EXPECT_EQ(render("a{# one #}b\n{# multi\nline {{ ENV.X }} #}\nc"), "ab\nc");
}

TEST(RenderTemplate, TrimBlocksRemovesTheNewlineAfterABlockTag) {
  EXPECT_EQ(render("{% if true %}\nx\n{% endif %}\ny\n"), "x\ny\n");
}

TEST(RenderTemplate, LstripBlocksRemovesIndentBeforeABlockTag) {
  EXPECT_EQ(render("a:\n    {% if true %}\n  b: 1\n    {% endif %}\n"), "a:\n  b: 1\n");
  // Not when other text precedes the tag on its line; trim_blocks still eats the newline after
  // a block tag at the end of a line (Jinja semantics), `+%}` keeps it.
  EXPECT_EQ(render("a: {% if true %}1{% endif %}\nb"), "a: 1b");
  EXPECT_EQ(render("a: {% if true %}1{% endif +%}\nb"), "a: 1\nb");
  // Expressions are never stripped.
  EXPECT_EQ(render("  {{ 'x' }}\n"), "  x\n");
}

TEST(RenderTemplate, MinusStripsAllWhitespace) {
  EXPECT_EQ(render("a  \n\n  {%- if true -%}  \n\n  b  {{- ' c ' -}}  \n d{% endif %}"), "ab c d");
  EXPECT_EQ(render("x\n  {#- comment -#}\n  y"), "xy");
}

TEST(RenderTemplate, PlusKeepsWhitespace) {
  EXPECT_EQ(render("  {%+ if true +%}\nx{% endif %}"), "  \nx");
}

TEST(RenderTemplate, RawBlocksAreNotInterpreted) {
  // As in Jinja, the newline after `{% raw %}` is kept and the one after `{% endraw %}` trimmed.
  EXPECT_EQ(render("{% raw %}\n{{ .Values.x }} {% if %}\n{% endraw %}\nz"), "\n{{ .Values.x }} {% if %}\nz");
  EXPECT_EQ(render("  {%- raw -%}\n {{ x }} \n  {%- endraw %}"), "{{ x }}");
}

TEST(RenderTemplate, KeepsTheTrailingNewline) {
  EXPECT_EQ(render("a\n"), "a\n");
  EXPECT_EQ(render("a"), "a");
}

TEST(RenderTemplate, RendersTheBootstrapResourcesFixture) {
  const std::string dir = std::string(FLUXBOOT_TEST_DATA_DIR) + "/gitops/";
  const std::map<std::string, std::string> env = {
      {"OP_CONNECT_TOKEN", "op-token"},
      {"SOPS_AGE_KEY", "# created: 2024-01-01\n# public key: age1xyz\nAGE-SECRET-KEY-1ABC\n"},
      {"DEPLOY_KEY", "key"},
      {"CLUSTER_DOMAIN", " example.com\n"},
      {"ENVIRONMENT", "staging"}};
  EXPECT_EQ(render(fluxboot::testing::read_file(dir + "resources.yaml.j2"), env),
            fluxboot::testing::read_file(dir + "resources.expected.yaml"));
}

// ---- errors

TEST(RenderTemplate, UnsetVariableNamesTheVariableAndLine) {
  auto msg = error_of("a: 1\nb: {{ ENV.SECRET_DOMAIN }}\n");
  EXPECT_EQ(msg, kSource + ":2: variable ENV.SECRET_DOMAIN is not set (export it or use | default(...))");
  EXPECT_THAT(error_of("\n\n{{ ENV['X'] | b64encode }}"), HasSubstr(kSource + ":3: variable ENV.X is not set"));
  EXPECT_THAT(error_of("{{ 'a' ~ ENV.X }}"), HasSubstr("variable ENV.X is not set"));
  EXPECT_THAT(error_of("{% for x in ENV.LIST %}{% endfor %}"), HasSubstr("variable ENV.LIST is not set"));
  EXPECT_THAT(error_of("{{ ENV.X.Y }}"), HasSubstr("variable ENV.X is not set"));
  EXPECT_THAT(error_of("{{ foo }}"), HasSubstr(":1: variable 'foo' is undefined"));
}

TEST(RenderTemplate, ErrorInsideAMultiLineTagNamesTheRightLine) {
  EXPECT_THAT(error_of("{{\n  ENV.A\n}}"), HasSubstr(kSource + ":2: variable ENV.A is not set"));
}

TEST(RenderTemplate, SyntaxErrorsNameTheLine) {
  EXPECT_THAT(error_of("ok\n{{ ENV.X "), HasSubstr(kSource + ":2: unclosed '{{': missing '}}'"));
  EXPECT_THAT(error_of("\n{% if ENV.X %}\nx\n"),
              HasSubstr(kSource + ":2: {% if %} is never closed (missing {% endif %})"));
  EXPECT_THAT(error_of("{% for x in ['a'] %}\n{% endif %}"),
              HasSubstr(kSource + ":2: unexpected {% endif %} inside {% for %} from line 1"));
  EXPECT_THAT(error_of("\n\n{% endfor %}"), HasSubstr(kSource + ":3: unexpected {% endfor %}"));
  EXPECT_THAT(error_of("{% set x = 1 %}"), HasSubstr(":1: unknown tag 'set' (supported: for, if, raw)"));
  EXPECT_THAT(error_of("{{ 'a' | bogus }}"), HasSubstr(":1: unknown filter 'bogus'"));
  EXPECT_THAT(error_of("{{ 'a' | idnent(2) }}"), HasSubstr("did you mean 'indent'?"));
  EXPECT_THAT(error_of("{{ ENV.X is frozen }}"), HasSubstr("unknown test 'frozen'"));
  EXPECT_THAT(error_of("{{ 'unterminated }}"), HasSubstr(":1: unterminated string literal"));
  EXPECT_THAT(error_of("{{ 1 + 2 }}"), HasSubstr(":1: unexpected character '+'"));
  EXPECT_THAT(error_of("{{ }}"), HasSubstr("empty expression"));
  EXPECT_THAT(error_of("{{ 'a' 'b' }}"), HasSubstr("unexpected 'b' at the end of the tag"));
  EXPECT_THAT(error_of("{% for in [1] %}{% endfor %}"), HasSubstr("expected a loop variable name"));
  EXPECT_THAT(error_of("{# open"), HasSubstr(":1: unclosed comment"));
  EXPECT_THAT(error_of("{% raw %}x"), HasSubstr("{% raw %} is never closed"));
  EXPECT_THAT(error_of("{% for x in 'abc' %}{% endfor %}"), HasSubstr("cannot loop over a string"));
  EXPECT_THAT(error_of("{{ 'a' | indent(2, sideways=true) }}"), HasSubstr("filter 'indent' has no argument 'sideways'"));
  EXPECT_THAT(error_of("{{ '%%' | b64decode }}"), HasSubstr("not valid base64"));
}

TEST(RenderTemplate, DeepNestingIsAnErrorNotACrash) {
  std::string deep_blocks;
  for (int i = 0; i < 200; ++i) deep_blocks += "{% if true %}";
  EXPECT_THAT(error_of(deep_blocks), HasSubstr("nested too deeply"));
  EXPECT_THAT(error_of("{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}"),
              HasSubstr("nested too deeply"));
  std::string chain = "{{ 'a'";
  for (int i = 0; i < 5000; ++i) chain += " ~ 'a'";
  EXPECT_THAT(error_of(chain + " }}"), HasSubstr("nested too deeply"));
  std::string nots = "{% if ";
  for (int i = 0; i < 5000; ++i) nots += "not ";
  EXPECT_THAT(error_of(nots + "true %}{% endif %}"), HasSubstr("nested too deeply"));
}

TEST(RenderTemplate, RunawayLoopsAreBounded) {
  std::string t;
  const std::string list = "[0,1,2,3,4,5,6,7,8,9]";
  for (int i = 0; i < 9; ++i) t += "{% for v" + std::to_string(i) + " in " + list + " %}";
  t += "xxxxxxxx";
  for (int i = 0; i < 9; ++i) t += "{% endfor %}";
  EXPECT_THAT(error_of(t), ::testing::AnyOf(HasSubstr("too expensive"), HasSubstr("larger than 64 MiB")));
}

TEST(RenderTemplate, ArbitraryBytesOnlyEverThrowInputError) {
  // A cheap deterministic fuzz: prefixes of a template full of constructs, and byte mutations.
  const std::string seed =
      "{% for a in ['x', \"y\"] %}{{ a ~ ENV.X | default('d') | indent(2, first=true) }}"
      "{% if a is defined and not (a == 'x') or ENV['Y'] != none %}{# c #}{%- raw -%}{{{% endraw %}"
      "{% elif loop.first %}{{ [1, 2][0] }}{% else %}{{ 'q' | b64encode | trim }}{% endif %}{% endfor %}";
  std::map<std::string, std::string> env = {{"X", "v"}};
  unsigned state = 12345;
  for (size_t n = 0; n <= seed.size(); ++n) {
    for (int round = 0; round < 4; ++round) {
      std::string t = seed.substr(0, n);
      if (round > 0 && !t.empty()) {
        state = state * 1103515245u + 12345u;
        t[state % t.size()] = static_cast<char>((state >> 8) & 0x7f);
      }
      try {
        (void)render_template(t, env, "fuzz");
      } catch (const InputError&) {
      } catch (const std::exception& e) {
        ADD_FAILURE() << "non-InputError for template: " << t << ": " << e.what();
      }
    }
  }
}

}  // namespace
}  // namespace fluxboot::gitops
