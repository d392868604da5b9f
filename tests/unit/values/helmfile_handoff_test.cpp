// derive_helmfile on its own: the derived state, the generated values files, and their cleanup.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <regex>

#include "fluxboot/values.hpp"
#include "support/test_support.hpp"
#include "unit/values/repo_builder.hpp"

namespace fluxboot::values {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

class Handoffs : public ::testing::Test {
 protected:
  void SetUp() override {
    fluxboot::testing::copy_tree(FLUXBOOT_EXAMPLE_DIR, tmp.path());
    config.root = tmp.path();
  }
  fs::path helmfile_dir() const { return tmp.path() / "bootstrap/helmfile.d"; }
  json read(const fs::path& p) const {
    return parse_yaml(fluxboot::testing::read_file(p), Dialect::GoYamlV3, p.string());
  }
  std::vector<std::string> generated_files() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(helmfile_dir()))
      if (e.path().filename().string().find(".fluxboot-") != std::string::npos)
        out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }
  fluxboot::testing::TempDir tmp;
  Config config;
};

json release_named(const json& state, const std::string& name) {
  for (const auto& r : state["releases"])
    if (r["name"] == name) return r;
  return nullptr;
}

// A broken state is refused before any stage runs, every problem at once, and nothing is written.
TEST_F(Handoffs, MalformedStatesAreRefusedWithTheirLines) {
  auto refused = [&](const std::string& text) {
    fluxboot::testing::write_file(helmfile_dir() / "01-apps.yaml", text);
    try {
      (void)derive_helmfile(config, "bootstrap/helmfile.d/01-apps.yaml", Options{});
    } catch (const InputError& e) {
      EXPECT_TRUE(generated_files().empty());
      return std::string(e.what());
    }
    return std::string("(accepted)");
  };
  EXPECT_NE(refused("").find("no releases and no 'releases:' key"), std::string::npos);
  EXPECT_NE(refused("releases: []\n").find("01-apps.yaml: no releases"), std::string::npos);
  EXPECT_NE(refused("releases: {}\n").find("'releases' must be a list of releases, not a mapping"), std::string::npos);
  EXPECT_NE(refused("---\nhelmDefaults: {wait: true}\n---\nreleases:\n  - name: a\n    name: b\n")
                .find("01-apps.yaml:6:5: mapping key \"name\" already defined"),
            std::string::npos);
  const std::string both = refused("releases:\n  - {name: a, namespace: x, chart: c}\n  - {name: a, namespace: x, chart: c}\n  - chart: c\n");
  EXPECT_NE(both.find("release x/a is listed twice"), std::string::npos) << both;
  EXPECT_NE(both.find("releases[2] has no name"), std::string::npos) << both;
  EXPECT_EQ(refused("helmfiles:\n  - path: other.yaml\n").find("no releases"), std::string::npos)
      << "releases from sub-helmfiles are not this file's to list";
}

TEST_F(Handoffs, ReplacesTheGotmplLookupWithGeneratedValuesFiles) {
  auto h = derive_helmfile(config, "bootstrap/helmfile.d/01-apps.yaml", Options{});
  ASSERT_TRUE(h->derived());
  const std::string pid = std::to_string(::getpid());
  EXPECT_EQ(h->state_file(), helmfile_dir() / ("01-apps.fluxboot-derived-" + pid + ".yaml"));
  EXPECT_EQ(h->releases().size(), 6u);
  json derived = read(h->state_file());
  json original = read(helmfile_dir() / "01-apps.yaml");
  Reader reader(config, Options{});
  for (const auto& r : original["releases"]) {
    const std::string name = r["name"], ns = r["namespace"];
    json d = release_named(derived, name);
    const std::string file = "01-apps.fluxboot-values-" + pid + "-" + ns + "." + name + ".yaml";
    EXPECT_EQ(d["values"], (json{"./" + file})) << name;
    // The file is exactly the reader's output (after its two comment lines).
    std::string content = fluxboot::testing::read_file(helmfile_dir() / file);
    content = content.substr(content.find('\n', content.find('\n') + 1) + 1);
    EXPECT_EQ(content, reader.compute({ns, name}).yaml) << name;
    // Everything else is unchanged.
    json rest = d, orig = r;
    rest.erase("values");
    orig.erase("values");
    EXPECT_EQ(rest, orig) << name;
  }
  json rest = derived, orig = original;
  rest.erase("releases");
  orig.erase("releases");
  EXPECT_EQ(rest, orig);
  EXPECT_TRUE(h->warnings().empty()) << h->warnings().front();
}

TEST_F(Handoffs, GeneratedFilesArePrivateAndMatchTheGitignorePatterns) {
  auto h = derive_helmfile(config, "bootstrap/helmfile.d/00-crds.yaml", Options{});
  ASSERT_EQ(h->files().size(), 3u);
  const std::regex values_pattern(R"(.*\.fluxboot-values-.*\.yaml)");
  const std::regex derived_pattern(R"(.*\.fluxboot-derived-[0-9]+\.yaml)");
  EXPECT_TRUE(std::regex_match(h->files()[0].filename().string(), derived_pattern));
  for (std::size_t i = 0; i < h->files().size(); ++i) {
    struct stat st {};
    ASSERT_EQ(::stat(h->files()[i].c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u) << h->files()[i];
    if (i > 0) {
      EXPECT_TRUE(std::regex_match(h->files()[i].filename().string(), values_pattern))
          << h->files()[i];
    }
  }
}

TEST_F(Handoffs, FilesAreRemovedByRemoveAndByTheDestructor) {
  {
    auto h = derive_helmfile(config, "bootstrap/helmfile.d/01-apps.yaml", Options{});
    EXPECT_EQ(generated_files().size(), 7u);
    h->remove();
    EXPECT_TRUE(generated_files().empty());
    h->remove();  // idempotent
  }
  { auto h = derive_helmfile(config, "bootstrap/helmfile.d/01-apps.yaml", Options{}); }
  EXPECT_TRUE(generated_files().empty());
}

TEST_F(Handoffs, NothingIsLeftBehindWhenAReleaseFails) {
  fluxboot::testing::write_file(
      tmp / "kubernetes/apps/flux-system/flux-instance/app/helmrelease.yaml", "spec: [broken\n");
  EXPECT_THROW(derive_helmfile(config, "bootstrap/helmfile.d/01-apps.yaml", Options{}), InputError);
  EXPECT_TRUE(generated_files().empty());
}

TEST_F(Handoffs, KeepsOtherValuesEntriesAndFillsMissingChartAndVersion) {
  fluxboot::testing::write_file(
      helmfile_dir() / "02-more.yaml",
      "releases:\n  - name: cilium\n    namespace: kube-system\n    values:\n      - "
      "./templates/values.yaml.gotmpl\n"
      "      - ./extra.yaml\n      - inline: {a: \"1.10\"}\n  - name: coredns\n    namespace: "
      "kube-system\n"
      "  - name: not-flux\n    namespace: other\n    chart: oci://x/y\n    version: 1.0.0\n");
  auto h = derive_helmfile(config, "bootstrap/helmfile.d/02-more.yaml", Options{});
  json d = read(h->state_file());
  json cilium = release_named(d, "cilium");
  const std::string pid = std::to_string(::getpid());
  EXPECT_EQ(cilium["values"], (json{"./02-more.fluxboot-values-" + pid + "-kube-system.cilium.yaml",
                                    "./extra.yaml",
                                    {{"inline", {{"a", "1.10"}}}}}));
  EXPECT_EQ(cilium["chart"], "oci://ghcr.io/home-operations/charts-mirror/cilium");
  EXPECT_EQ(cilium["version"], "1.17.2");
  json coredns = release_named(d, "coredns");  // no values at all, but a HelmRelease exists
  EXPECT_EQ(coredns["values"], (json{"./02-more.fluxboot-values-" + pid + "-kube-system.coredns.yaml"}));
  EXPECT_EQ(coredns["version"], "1.39.1");
  json other = release_named(d, "not-flux");
  EXPECT_FALSE(other.contains("values"));
  EXPECT_EQ(other["version"], "1.0.0");
}

// What a SIGKILLed run left (its pid gone) is swept by the next derive; what a live process wrote
// (a concurrent run, a dry run: here pid 1) is never touched, and our own new files stay.
TEST_F(Handoffs, StaleHandoffsOfDeadProcessesAreSweptAndLiveOnesKept) {
  const pid_t dead = ::fork();
  if (dead == 0) _exit(0);
  ASSERT_GT(dead, 0);
  ::waitpid(dead, nullptr, 0);
  const std::string d = std::to_string(dead);
  const std::vector<std::string> stale = {"01-apps.fluxboot-derived-" + d + ".yaml",
                                          "01-apps.fluxboot-values-" + d + "-kube-system.cilium.yaml"};
  const std::vector<std::string> kept = {"01-apps.fluxboot-derived-1.yaml",
                                         "01-apps.fluxboot-values-1-kube-system.cilium.yaml",
                                         "00-crds.fluxboot-derived-" + d + ".yaml",  // another state's
                                         "01-apps.fluxboot-derived-" + d + "x.yaml"};  // not ours
  for (const auto& f : stale) fluxboot::testing::write_file(helmfile_dir() / f, "secret: x\n");
  for (const auto& f : kept) fluxboot::testing::write_file(helmfile_dir() / f, "x: 1\n");
  auto h = derive_helmfile(config, "bootstrap/helmfile.d/01-apps.yaml", Options{});
  for (const auto& f : stale) EXPECT_FALSE(fs::exists(helmfile_dir() / f)) << f;
  for (const auto& f : kept) EXPECT_TRUE(fs::exists(helmfile_dir() / f)) << f;
  ASSERT_EQ(h->warnings().size(), 1u);
  EXPECT_NE(h->warnings()[0].find("removed 2 files"), std::string::npos) << h->warnings()[0];
  EXPECT_NE(h->warnings()[0].find("pid " + d), std::string::npos) << h->warnings()[0];
  EXPECT_TRUE(fs::exists(h->state_file()));
  h.reset();
  for (const auto& f : kept) EXPECT_TRUE(fs::exists(helmfile_dir() / f)) << f;
}

TEST_F(Handoffs, VersionDriftIsAWarningNamingBoth) {
  std::string apps = fluxboot::testing::read_file(helmfile_dir() / "01-apps.yaml");
  apps.replace(apps.find("version: 1.17.2"), 15, "version: 1.16.0");
  fluxboot::testing::write_file(helmfile_dir() / "01-apps.yaml", apps);
  std::vector<std::string> seen;
  Options o;
  o.warn = [&](const std::string& m) { seen.push_back(m); };
  auto h = derive_helmfile(config, "bootstrap/helmfile.d/01-apps.yaml", o);
  ASSERT_EQ(h->warnings().size(), 1u);
  EXPECT_TRUE(seen.empty());  // only through Handoff::warnings()
  const std::string& w = h->warnings().front();
  EXPECT_NE(w.find("1.16.0"), std::string::npos) << w;
  EXPECT_NE(w.find("1.17.2"), std::string::npos) << w;
  EXPECT_NE(w.find("kube-system/cilium"), std::string::npos) << w;
  EXPECT_NE(w.find("ocirepository.yaml"), std::string::npos) << w;
  EXPECT_EQ(release_named(read(h->state_file()), "cilium")["version"],
            "1.16.0");  // the helmfile's pin is kept
}

TEST_F(Handoffs, GoTemplateStateGoesToHelmfileUnchangedWithAWarning) {
  fluxboot::testing::write_file(
      helmfile_dir() / "03-tpl.yaml",
      "releases:\n{{ range list \"a\" \"b\" }}\n  - name: {{ . }}\n    namespace: x\n{{ end }}\n");
  auto h = derive_helmfile(config, "bootstrap/helmfile.d/03-tpl.yaml", Options{});
  EXPECT_FALSE(h->derived());
  EXPECT_EQ(h->state_file(), helmfile_dir() / "03-tpl.yaml");
  EXPECT_TRUE(h->files().empty());
  ASSERT_EQ(h->warnings().size(), 1u);
  EXPECT_NE(h->warnings().front().find("Go template"), std::string::npos);
}

TEST_F(Handoffs, ScalarStylesAndHooksSurviveTheRewrite) {
  fluxboot::testing::write_file(helmfile_dir() / "04-styles.yaml",
                                "helmDefaults:\n  args: ['--include-crds', \"--no-hooks\"]\n  "
                                "timeout: 600\nenvironments:\n  default:\n"
                                "    values:\n      - version: \"1.10\"\n        octal: '0755'\n   "
                                "     plain: 0755\n        yes: yes\n"
                                "        multi: |\n          line one\n          line two\n"
                                "releases:\n  - name: spegel\n    namespace: kube-system\n    "
                                "values: [./templates/values.yaml.gotmpl]\n"
                                "    hooks:\n      - events: ['postsync']\n        command: "
                                "kubectl\n        args: [apply, -f, ../x.yaml]\n");
  auto h = derive_helmfile(config, "bootstrap/helmfile.d/04-styles.yaml", Options{});
  for (Dialect d : {Dialect::GoYamlV2, Dialect::GoYamlV3}) {
    json derived = parse_yaml(fluxboot::testing::read_file(h->state_file()), d, "derived");
    json original =
        parse_yaml(fluxboot::testing::read_file(helmfile_dir() / "04-styles.yaml"), d, "original");
    derived["releases"][0].erase("values");
    derived["releases"][0].erase("chart");
    derived["releases"][0].erase("version");
    original["releases"][0].erase("values");
    EXPECT_EQ(derived, original);
  }
}

TEST_F(Handoffs, MalformedStateIsAnInputErrorNotAHang) {
  fluxboot::testing::write_file(helmfile_dir() / "05-bad.yaml", "releases:\n  - name: a\n,\n");
  EXPECT_THROW(derive_helmfile(config, "bootstrap/helmfile.d/05-bad.yaml", Options{}), InputError);
  fluxboot::testing::write_file(helmfile_dir() / "06-bad.yaml", ",\n");
  EXPECT_THROW(releases_in(helmfile_dir() / "06-bad.yaml"), InputError);
}

TEST(ReleasesIn, ListsReleasesOfPlainAndTemplatedStates) {
  auto refs = releases_in(std::filesystem::path(FLUXBOOT_EXAMPLE_DIR) /
                          "bootstrap/helmfile.d/01-apps.yaml");
  ASSERT_EQ(refs.size(), 6u);
  EXPECT_EQ(refs.front(), (ReleaseRef{"kube-system", "cilium"}));
  EXPECT_EQ(refs.back(), (ReleaseRef{"flux-system", "flux-instance"}));
  fluxboot::testing::TempDir dir;
  fluxboot::testing::write_file(
      dir / "s.yaml",
      "releases:\n  - name: a\n    namespace: x\n    version: {{ .Values.v }}\n  - name: b\n");
  auto t = releases_in(dir / "s.yaml");
  EXPECT_EQ(t, (std::vector<ReleaseRef>{{"x", "a"}, {"", "b"}}));
}

}  // namespace
}  // namespace fluxboot::values
