// The value reader on small repositories: locating the HelmRelease, valuesFrom, substitution and
// chart sources, each rule on its own.
#include <gtest/gtest.h>

#include "fluxboot/values.hpp"
#include "unit/values/repo_builder.hpp"

namespace fluxboot::values {
namespace {

using nlohmann::json;
using testing::hr;
using testing::Repo;

ComputedValues values_of(const Repo& repo, const std::string& release, Options options = {}) {
  return compute(repo.config(), ReleaseRef::parse(release), options);
}

std::string error_of(const Repo& repo, const std::string& release, Options options = {}) {
  try {
    values_of(repo, release, options);
  } catch (const InputError& e) {
    EXPECT_EQ(e.code(), ExitCode::InvalidInput);
    return e.what();
  }
  ADD_FAILURE() << "no InputError for " << release;
  return {};
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

bool any_contains(const std::vector<std::string>& list, const std::string& needle) {
  for (const auto& s : list)
    if (contains(s, needle)) return true;
  return false;
}

// ---- locating the release ---------------------------------------------------------------------

TEST(ReaderLocate, ReadsSpecValuesOfTheNamedHelmRelease) {
  Repo repo;
  repo.helmrelease("ns", "app", hr("app", "  values:\n    replicas: 2\n"));
  EXPECT_EQ(values_of(repo, "ns/app").values, (json{{"replicas", 2}}));
}

TEST(ReaderLocate, FindsTheHelmReleaseInAMultiDocumentFile) {
  Repo repo;
  repo.helmrelease("ns", "app",
                   "# yaml-language-server: $schema=x\n---\napiVersion: "
                   "source.toolkit.fluxcd.io/v1\nkind: OCIRepository\n"
                   "metadata:\n  name: app\nspec:\n  url: oci://r/app\n  ref:\n    tag: 1.0.0\n" +
                       hr("other", "  values:\n    which: other\n") +
                       hr("app", "  values:\n    which: app\n"));
  EXPECT_EQ(values_of(repo, "ns/app").values, (json{{"which", "app"}}));
}

TEST(ReaderLocate, AbsentSpecValuesIsAnEmptyMap) {
  Repo repo;
  repo.helmrelease("ns", "app", hr("app", ""));
  auto v = values_of(repo, "ns/app");
  EXPECT_EQ(v.values, json::object());
  EXPECT_EQ(v.yaml, "{}\n");
}

TEST(ReaderLocate, MissingFileIsAnInputErrorNamingTheFile) {
  Repo repo;
  std::string e = error_of(repo, "ns/nothing");
  EXPECT_TRUE(contains(e, "kubernetes/apps/ns/nothing/app/helmrelease.yaml")) << e;
  EXPECT_TRUE(contains(e, "not found")) << e;
}

TEST(ReaderLocate, MissingDocumentListsTheHelmReleasesFound) {
  Repo repo;
  repo.helmrelease("ns", "app", hr("renamed", ""));
  std::string e = error_of(repo, "ns/app");
  EXPECT_TRUE(contains(e, "no HelmRelease named app")) << e;
  EXPECT_TRUE(contains(e, "renamed")) << e;
}

TEST(ReaderLocate, MalformedYamlNamesFileAndLine) {
  Repo repo;
  repo.helmrelease("ns", "app", "apiVersion: v2\nkind: HelmRelease\nspec:\n  values: [1, 2\n");
  std::string e = error_of(repo, "ns/app");
  EXPECT_TRUE(contains(e, "kubernetes/apps/ns/app/app/helmrelease.yaml:")) << e;
}

TEST(ReaderLocate, HelmReleasePathPatternIsConfigurable) {
  Repo repo;
  repo.mutable_config().paths.helmrelease = "clusters/{namespace}/{name}.yaml";
  repo.file("clusters/ns/app.yaml", hr("app", "  values:\n    from: pattern\n"));
  EXPECT_EQ(values_of(repo, "ns/app").values, (json{{"from", "pattern"}}));
}

TEST(ReaderLocate, ReleaseRefParsing) {
  EXPECT_EQ(ReleaseRef::parse("kube-system/cilium"), (ReleaseRef{"kube-system", "cilium"}));
  EXPECT_THROW(ReleaseRef::parse("cilium"), InputError);
  EXPECT_THROW(ReleaseRef::parse("a/b/c"), InputError);
  EXPECT_THROW(ReleaseRef::parse("/b"), InputError);
}

TEST(ReaderLocate, AnchorsAndMergeKeysInSpecValues) {
  Repo repo;
  repo.helmrelease(
      "ns", "app",
      hr("app",
         "  values:\n    res: &r\n      cpu: 1\n      mem: 2\n    other:\n      <<: *r\n"
         "      mem: 3\n    copy: *r\n"));
  EXPECT_EQ(values_of(repo, "ns/app").values, (json{{"res", {{"cpu", 1}, {"mem", 2}}},
                                                    {"other", {{"cpu", 1}, {"mem", 3}}},
                                                    {"copy", {{"cpu", 1}, {"mem", 2}}}}));
}

// ---- valuesFrom
// -----------------------------------------------------------------------------------

TEST(ReaderValuesFrom, ConfigMapGeneratorFile) {
  Repo repo;
  repo.helmrelease("ns", "app",
                   hr("app", "  valuesFrom:\n    - kind: ConfigMap\n      name: app-values\n"));
  repo.file(
      "kubernetes/apps/ns/app/app/kustomization.yaml",
      "resources: [./helmrelease.yaml]\nconfigMapGenerator:\n  - name: app-values\n    files:\n"
      "      - values.yaml=./helm/values.yaml\n");
  repo.file("kubernetes/apps/ns/app/app/helm/values.yaml",
            "image:\n  tag: \"1.10\"\nreplicas: 3\n");
  EXPECT_EQ(values_of(repo, "ns/app").values,
            (json{{"image", {{"tag", "1.10"}}}, {"replicas", 3}}));
}

// Flux's kustomize build reads only inside the repository: so does the reader, whether the file is
// named by `../`, an absolute path or a symlink that points out (issue 12, item 14).
TEST(ReaderValuesFrom, GeneratorFilesOutsideTheRepositoryAreRefused) {
  fluxboot::testing::TempDir outside;
  fluxboot::testing::write_file(outside / "secret.yaml", "stolen: true\n");
  auto refused = [&](const std::string& files, const std::string& expect) {
    Repo repo;
    repo.helmrelease("ns", "app", hr("app", "  valuesFrom:\n    - kind: ConfigMap\n      name: v\n"));
    repo.file("kubernetes/apps/ns/app/app/kustomization.yaml", "configMapGenerator:\n  - name: v\n    " + files + "\n");
    std::filesystem::create_symlink(outside / "secret.yaml", repo.root() / "kubernetes/apps/ns/app/app/link.yaml");
    try {
      (void)values_of(repo, "ns/app");
      ADD_FAILURE() << files << " was read";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(expect), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).find("stolen"), std::string::npos) << e.what();
    }
  };
  refused("files: [values.yaml=" + (outside / "secret.yaml").string() + "]", "is an absolute path");
  refused("files: [values.yaml=../../../../../../../../../../../../" + (outside / "secret.yaml").relative_path().string() + "]",
          "outside the repository");
  refused("files: [values.yaml=./link.yaml]", "outside the repository");
  refused("envs: [./link.yaml]", "env file ./link.yaml resolves to");
}

TEST(ReaderValuesFrom, GeneratorFileKeyDefaultsToTheFileName) {
  Repo repo;
  repo.helmrelease(
      "ns", "app",
      hr("app",
         "  valuesFrom:\n    - kind: ConfigMap\n      name: v\n      valuesKey: extra.yaml\n"));
  repo.file("kubernetes/apps/ns/app/app/kustomization.yaml",
            "configMapGenerator:\n  - name: v\n    files: [./extra.yaml]\n");
  repo.file("kubernetes/apps/ns/app/app/extra.yaml", "a: 1\n");
  EXPECT_EQ(values_of(repo, "ns/app").values, (json{{"a", 1}}));
}

TEST(ReaderValuesFrom, GeneratorLiteralsAndEnvFilesWithTargetPath) {
  Repo repo;
  repo.helmrelease(
      "ns", "app",
      hr("app",
         "  valuesFrom:\n    - kind: ConfigMap\n      name: s\n      valuesKey: gates\n"
         "      targetPath: featureGates\n    - kind: ConfigMap\n      name: s\n"
         "      valuesKey: PORT\n      targetPath: service.port\n    - kind: ConfigMap\n"
         "      name: e\n      valuesKey: HOST\n      targetPath: ingress.hosts[0].host\n"));
  repo.file("kubernetes/apps/ns/app/app/kustomization.yaml",
            "configMapGenerator:\n  - name: s\n    literals:\n      - gates=ServerSideApply=true\n "
            "     - PORT=\"8080\"\n"
            "  - name: e\n    envs: [./app.env]\n");
  repo.file("kubernetes/apps/ns/app/app/app.env", "# comment\nHOST=app.example.com\n\n");
  EXPECT_EQ(values_of(repo, "ns/app").values,
            (json{{"featureGates", "ServerSideApply=true"},
                  {"service", {{"port", 8080}}},
                  {"ingress", {{"hosts", {{{"host", "app.example.com"}}}}}}}));
}

TEST(ReaderValuesFrom, TargetPathValuesAreTypedLikeHelmSet) {
  Repo repo;
  std::string refs;
  for (const char* key : {"int", "quoted", "zero", "bool", "null", "float", "list"})
    refs += std::string("    - kind: ConfigMap\n      name: c\n      valuesKey: \"") + key +
            "\"\n      targetPath: out." + key + "\n";
  repo.helmrelease("ns", "app", hr("app", "  valuesFrom:\n" + refs));
  repo.file("kubernetes/apps/ns/app/app/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  int: \"8080\"\n  "
            "quoted: \"'8080'\"\n"
            "  zero: \"0755\"\n  bool: \"true\"\n  null: \"null\"\n  float: \"1.5\"\n  list: "
            "\"{a,b}\"\n");
  json out = values_of(repo, "ns/app").values["out"];
  EXPECT_EQ(out["int"], 8080);
  EXPECT_EQ(out["quoted"], "8080");
  EXPECT_EQ(out["zero"], "0755");
  EXPECT_EQ(out["bool"], true);
  EXPECT_TRUE(out["null"].is_null());
  EXPECT_EQ(out["float"], "1.5");
  EXPECT_EQ(out["list"], (json{"a", "b"}));
}

// Suspected by fuzz_values running out of memory: nested list indexes multiply
// ("a[65536][65536]…").
TEST(ReaderValuesFrom, TargetPathListsAreBounded) {
  Repo repo;
  repo.helmrelease("ns", "app",
                   hr("app",
                      "  valuesFrom:\n    - kind: ConfigMap\n      name: c\n      valuesKey: k\n"
                      "      targetPath: "
                      "a[65536][65536][65536][65536][65536][65536][65536][65536][65536][65536]["
                      "65536][65536][65536][65536][65536][65536][65536]\n"));
  repo.file("kubernetes/apps/ns/app/app/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  k: v\n");
  EXPECT_TRUE(contains(error_of(repo, "ns/app"), "million"));
}

TEST(ReaderValuesFrom, ConfigMapAndSecretManifestsInTheAppDirectory) {
  Repo repo;
  repo.helmrelease("ns", "app",
                   hr("app",
                      "  valuesFrom:\n    - kind: ConfigMap\n      name: cm\n    - kind: Secret\n  "
                      "    name: sec\n"
                      "      valuesKey: secret.yaml\n    - kind: Secret\n      name: sec\n      "
                      "valuesKey: plain\n"
                      "      targetPath: auth.password\n"));
  repo.file("kubernetes/apps/ns/app/app/configmap.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  values.yaml: |\n    "
            "a: 1\n    b: 2\n");
  // data is base64 ("token: s3cr3t-token\n"); stringData is plain
  repo.file("kubernetes/apps/ns/app/app/secret.yaml",
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: sec\ndata:\n  secret.yaml: "
            "dG9rZW46IHMzY3IzdC10b2tlbgo=\n"
            "stringData:\n  plain: hunter2hunter2\n");
  auto v = values_of(repo, "ns/app");
  EXPECT_EQ(v.values, (json{{"a", 1},
                            {"b", 2},
                            {"token", "s3cr3t-token"},
                            {"auth", {{"password", "hunter2hunter2"}}}}));
  EXPECT_TRUE(any_contains(v.secrets, "s3cr3t-token"));
  EXPECT_TRUE(any_contains(v.secrets, "hunter2hunter2"));
}

TEST(ReaderValuesFrom, SopsEncryptedSecretsAreDecryptedOnce) {
  Repo repo;
  repo.helmrelease(
      "ns", "app",
      hr("app",
         "  valuesFrom:\n    - kind: Secret\n      name: enc\n    - kind: Secret\n      name: enc\n"
         "      valuesKey: key\n      targetPath: k\n"));
  repo.file(
      "kubernetes/apps/ns/app/app/secret.sops.yaml",
      "apiVersion: v1\nkind: Secret\nmetadata:\n  name: enc\nstringData:\n  values.yaml: "
      "ENC[AES256_GCM,data:xx]\n"
      "  key: ENC[AES256_GCM,data:yy]\nsops:\n  mac: ENC[AES256_GCM,data:zz]\n  version: 3.9.0\n");
  int calls = 0;
  Options o;
  o.decrypt = [&](const std::filesystem::path& p) {
    ++calls;
    EXPECT_EQ(p.filename(), "secret.sops.yaml");
    return std::string(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: enc\nstringData:\n  values.yaml: |\n"
        "    password: decrypted-pw\n  key: v4lue\n");
  };
  auto v = values_of(repo, "ns/app", o);
  EXPECT_EQ(v.values, (json{{"password", "decrypted-pw"}, {"k", "v4lue"}}));
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(any_contains(v.secrets, "decrypted-pw"));
}

TEST(ReaderValuesFrom, SopsWithoutDecryptionIsAnInputError) {
  Repo repo;
  repo.helmrelease("ns", "app", hr("app", "  valuesFrom:\n    - kind: Secret\n      name: enc\n"));
  repo.file("kubernetes/apps/ns/app/app/secret.sops.yaml",
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: enc\nstringData:\n  values.yaml: "
            "ENC[AES256_GCM,x]\n"
            "sops:\n  version: 3.9.0\n");
  EXPECT_TRUE(contains(error_of(repo, "ns/app"), "secret.sops.yaml"));
}

TEST(ReaderValuesFrom, OptionalSourcesMayBeAbsent) {
  Repo repo;
  repo.helmrelease(
      "ns", "app",
      hr("app",
         "  valuesFrom:\n    - kind: Secret\n      name: missing\n      optional: true\n"
         "    - kind: ConfigMap\n      name: cm\n      valuesKey: nokey\n      optional: true\n"
         "  values:\n    a: 1\n"));
  repo.file("kubernetes/apps/ns/app/app/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata: {}\n");
  auto v = values_of(repo, "ns/app");
  EXPECT_EQ(v.values, (json{{"a", 1}}));
  EXPECT_TRUE(v.warnings.empty());
}

TEST(ReaderValuesFrom, MissingSourceOrKeyIsAnError) {
  Repo repo;
  repo.helmrelease("ns", "app",
                   hr("app", "  valuesFrom:\n    - kind: ConfigMap\n      name: nowhere\n"));
  EXPECT_TRUE(contains(error_of(repo, "ns/app"), "ConfigMap/nowhere not found"));
  repo.helmrelease("ns", "app",
                   hr("app", "  valuesFrom:\n    - kind: ConfigMap\n      name: cm\n"));
  repo.file("kubernetes/apps/ns/app/app/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  x: y\n");
  EXPECT_TRUE(contains(error_of(repo, "ns/app"), "has no key values.yaml"));
}

TEST(ReaderValuesFrom, MergesInOrderThenSpecValuesOnTopListsReplaced) {
  Repo repo;
  repo.helmrelease("ns", "app",
                   hr("app",
                      "  valuesFrom:\n    - kind: ConfigMap\n      name: one\n    - kind: "
                      "ConfigMap\n      name: two\n"
                      "  values:\n    deep:\n      c: values\n    list: [v]\n"));
  repo.file("kubernetes/apps/ns/app/app/cms.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: one\ndata:\n  values.yaml: |\n"
            "    deep: {a: one, b: one, c: one}\n    list: [1, 2, 3]\n    only: one\n---\n"
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: two\ndata:\n  values.yaml: |\n"
            "    deep: {b: two}\n    list: [4]\n");
  EXPECT_EQ(values_of(repo, "ns/app").values,
            (json{{"deep", {{"a", "one"}, {"b", "two"}, {"c", "values"}}},
                  {"list", {"v"}},
                  {"only", "one"}}));
}

TEST(ReaderValuesFrom, ValuesDataIsReadAsYaml11ButSpecValuesIsNot) {
  Repo repo;
  repo.helmrelease(
      "ns", "app",
      hr("app",
         "  valuesFrom:\n    - kind: ConfigMap\n      name: cm\n  values:\n    fromSpec: yes\n"));
  repo.file("kubernetes/apps/ns/app/app/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  values.yaml: "
            "\"fromData: yes\"\n");
  EXPECT_EQ(values_of(repo, "ns/app").values, (json{{"fromData", true}, {"fromSpec", "yes"}}));
}

// ---- substitution
// ---------------------------------------------------------------------------------

class Substitution : public ::testing::Test {
 protected:
  void SetUp() override {
    repo.file(
        "kubernetes/components/common/cluster-settings.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cluster-settings\n  namespace: "
        "flux-system\n"
        "data:\n  CLUSTER_NAME: home\n  PORT: \"8080\"\n  FLAG: \"yes\"\n  QUOTED: '\"8080\"'\n"
        "  DOMAIN: example.com\n");
    repo.file("kubernetes/components/common/cluster-secrets.yaml",
              "apiVersion: v1\nkind: Secret\nmetadata:\n  name: cluster-secrets\n  namespace: "
              "flux-system\n"
              "stringData:\n  TOKEN: sup3r-s3cret\n");
    repo.file(
        "kubernetes/flux/cluster/ks.yaml",
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: "
        "cluster-apps\n"
        "  namespace: flux-system\nspec:\n  path: ./kubernetes/apps\n  postBuild:\n    "
        "substitute:\n"
        "      PARENT_ONLY: from-parent\n  patches:\n    - patch: |-\n        apiVersion: "
        "kustomize.toolkit.fluxcd.io/v1\n"
        "        kind: Kustomization\n        metadata:\n          name: _\n        spec:\n        "
        "  postBuild:\n"
        "            substituteFrom:\n              - kind: ConfigMap\n                name: "
        "cluster-settings\n"
        "              - kind: Secret\n                name: cluster-secrets\n                "
        "optional: true\n"
        "      target:\n        group: kustomize.toolkit.fluxcd.io\n        kind: Kustomization\n"
        "        labelSelector: substitution.flux.home.arpa/disabled notin (true)\n");
  }
  Repo repo;
};

TEST_F(Substitution, VariablesFromTheClusterPatchAndInlineSubstitute) {
  repo.ks("ns", "app", "  postBuild:\n    substitute:\n      APP: myapp\n      PORT: \"9090\"\n");
  repo.helmrelease(
      "ns", "app",
      hr("app",
         "  values:\n    name: ${APP}-${CLUSTER_NAME}\n    port: ${PORT}\n    host: app.${DOMAIN}\n"
         "    token: ${TOKEN}\n"));
  auto v = values_of(repo, "ns/app");
  // inline substitute overrides substituteFrom (PORT), and the substituted port is a number
  EXPECT_EQ(v.values, (json{{"name", "myapp-home"},
                            {"port", 9090},
                            {"host", "app.example.com"},
                            {"token", "sup3r-s3cret"}}));
  EXPECT_TRUE(any_contains(v.secrets, "sup3r-s3cret"));
  EXPECT_TRUE(v.warnings.empty()) << v.warnings.front();
}

TEST_F(Substitution, DefaultsAndEscapes) {
  repo.ks("ns", "app");
  repo.helmrelease(
      "ns", "app",
      hr("app",
         "  values:\n    a: ${UNSET:=fallback}\n    b: ${UNSET:-other}\n    c: ${CLUSTER_NAME:=x}\n"
         "    script: echo $${HOME} and $$PATH\n    port: ${UNSET_PORT:=8443}\n"));
  EXPECT_EQ(values_of(repo, "ns/app").values, (json{{"a", "fallback"},
                                                    {"b", "other"},
                                                    {"c", "home"},
                                                    {"script", "echo ${HOME} and $PATH"},
                                                    {"port", 8443}}));
}

TEST_F(Substitution, UndefinedVariableIsEmptyWithAWarningAndAnErrorWhenStrict) {
  repo.ks("ns", "app");
  repo.helmrelease("ns", "app", hr("app", "  values:\n    a: x${NOPE}y\n"));
  auto v = values_of(repo, "ns/app");
  EXPECT_EQ(v.values, (json{{"a", "xy"}}));
  EXPECT_TRUE(any_contains(v.warnings, "${NOPE}"))
      << (v.warnings.empty() ? "" : v.warnings.front());
  Options strict;
  strict.strict = true;
  std::string e = error_of(repo, "ns/app", strict);
  EXPECT_TRUE(contains(e, "NOPE")) << e;
  EXPECT_TRUE(contains(e, "helmrelease.yaml")) << e;
}

TEST_F(Substitution, QuotingAPlaceholderDoesNotKeepItAStringAsInFlux) {
  repo.ks("ns", "app");
  repo.helmrelease(
      "ns", "app",
      hr("app",
         "  values:\n    a: \"${PORT}\"\n    b: ${FLAG}\n    c: ${QUOTED}\n    d: port-${PORT}\n"));
  EXPECT_EQ(values_of(repo, "ns/app").values,
            (json{{"a", 8080}, {"b", true}, {"c", "8080"}, {"d", "port-8080"}}));
}

TEST_F(Substitution, ValuesThatAreNotPlaceholdersKeepTheirTypes) {
  repo.ks("ns", "app");
  repo.helmrelease(
      "ns", "app",
      hr("app",
         "  values:\n    v: \"1.10\"\n    t: \"true\"\n    o: \"0755\"\n    e: \"\"\n    n: ~\n"
         "    y: yes\n    block: |\n      line one\n      ${CLUSTER_NAME}\n"));
  EXPECT_EQ(values_of(repo, "ns/app").values, (json{{"v", "1.10"},
                                                    {"t", "true"},
                                                    {"o", "0755"},
                                                    {"e", ""},
                                                    {"n", nullptr},
                                                    {"y", "yes"},
                                                    {"block", "line one\nhome\n"}}));
}

TEST_F(Substitution, ParentVariablesApplyToTheChildKustomization) {
  repo.ks("ns", "app", "  postBuild:\n    substitute:\n      FROM_PARENT: ${PARENT_ONLY}\n");
  repo.helmrelease("ns", "app", hr("app", "  values:\n    p: ${FROM_PARENT}\n"));
  EXPECT_EQ(values_of(repo, "ns/app").values, (json{{"p", "from-parent"}}));
}

TEST_F(Substitution, ClusterPatchSkipsChildrenExcludedByLabel) {
  repo.ks("ns", "app", "  postBuild:\n    substitute:\n      OWN: mine\n",
          "  labels:\n    substitution.flux.home.arpa/disabled: \"true\"\n");
  repo.helmrelease("ns", "app",
                   hr("app", "  values:\n    own: ${OWN}\n    cluster: ${CLUSTER_NAME}\n"));
  // Flux substitutes the empty string into the text: `cluster: ` then reads as null.
  auto v = values_of(repo, "ns/app");
  EXPECT_EQ(v.values, (json{{"own", "mine"}, {"cluster", nullptr}}));
}

TEST_F(Substitution, DisabledAnnotationSkipsTheHelmRelease) {
  repo.ks("ns", "app");
  repo.helmrelease("ns", "app",
                   "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: "
                   "app\n  annotations:\n"
                   "    kustomize.toolkit.fluxcd.io/substitute: disabled\nspec:\n  values:\n    a: "
                   "${CLUSTER_NAME}\n");
  EXPECT_EQ(values_of(repo, "ns/app").values, (json{{"a", "${CLUSTER_NAME}"}}));
}

TEST_F(Substitution, GeneratedValuesInTheSameKustomizationAreSubstitutedToo) {
  repo.ks("ns", "app");
  repo.helmrelease("ns", "app", hr("app", "  valuesFrom:\n    - kind: ConfigMap\n      name: v\n"));
  repo.file("kubernetes/apps/ns/app/app/kustomization.yaml",
            "configMapGenerator:\n  - name: v\n    files: [values.yaml=./v.yaml]\n");
  repo.file("kubernetes/apps/ns/app/app/v.yaml", "cluster: ${CLUSTER_NAME}\nport: ${PORT}\n");
  EXPECT_EQ(values_of(repo, "ns/app").values, (json{{"cluster", "home"}, {"port", 8080}}));
}

TEST_F(Substitution, OptionalSourceMayBeAbsentAndMissingRequiredSourceWarns) {
  repo.ks("ns", "app",
          "  postBuild:\n    substituteFrom:\n      - kind: Secret\n        name: nowhere\n        "
          "optional: true\n"
          "      - kind: ConfigMap\n        name: also-nowhere\n");
  repo.helmrelease("ns", "app", hr("app", "  values:\n    a: ${CLUSTER_NAME:=none}\n"));
  auto v = values_of(repo, "ns/app");
  EXPECT_EQ(v.values, (json{{"a", "home"}}));  // the cluster patch replaces the child's list
  repo.ks(
      "ns", "app",
      "  postBuild:\n    substituteFrom:\n      - kind: ConfigMap\n        name: also-nowhere\n",
      "  labels:\n    substitution.flux.home.arpa/disabled: \"true\"\n");
  auto w = values_of(repo, "ns/app");
  EXPECT_TRUE(any_contains(w.warnings, "ConfigMap/also-nowhere"))
      << (w.warnings.empty() ? "" : w.warnings.front());
}

TEST_F(Substitution, KustomizationPatchesApplyToTheHelmRelease) {
  // The parent substitutes the child's text first: $${X} survives it as ${X} for the child's own
  // pass.
  repo.ks(
      "ns", "app",
      "  patches:\n    - patch: |\n        - op: add\n          path: /spec/values/patched\n       "
      "   value: $${CLUSTER_NAME}\n"
      "        - op: add\n          path: /spec/values/eaten\n          value: x${CLUSTER_NAME}\n"
      "      target:\n        kind: HelmRelease\n        name: app\n");
  repo.helmrelease("ns", "app", hr("app", "  values:\n    a: 1\n"));
  auto v = values_of(repo, "ns/app");
  EXPECT_EQ(v.values, (json{{"a", 1}, {"patched", "home"}, {"eaten", "x"}}));
  EXPECT_TRUE(any_contains(v.warnings, "ks.yaml: variable ${CLUSTER_NAME} is not defined"))
      << (v.warnings.empty() ? "" : v.warnings.front());
}

TEST(ReaderSubstitution, NoKustomizationLeavesPlaceholdersWithAWarning) {
  Repo repo;
  repo.helmrelease("ns", "app", hr("app", "  values:\n    a: ${X}\n"));
  auto v = values_of(repo, "ns/app");
  EXPECT_EQ(v.values, (json{{"a", "${X}"}}));
  EXPECT_TRUE(any_contains(v.warnings, "no Flux Kustomization"));
}

// ---- chart
// ----------------------------------------------------------------------------------------

TEST(ReaderChart, FromTheAppsOCIRepository) {
  Repo repo;
  repo.helmrelease("ns", "app", hr("app", ""));
  repo.file("kubernetes/apps/ns/app/app/ocirepository.yaml",
            "apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata:\n  name: "
            "app\nspec:\n"
            "  url: oci://ghcr.io/x/app\n  ref:\n    tag: 1.2.3\n");
  auto c = chart_for(repo.config(), {"ns", "app"});
  ASSERT_TRUE(c);
  EXPECT_EQ(c->url, "oci://ghcr.io/x/app");
  EXPECT_EQ(c->version, "1.2.3");
  EXPECT_TRUE(c->is_oci());
  EXPECT_TRUE(contains(c->source, "kubernetes/apps/ns/app/app/ocirepository.yaml")) << c->source;
}

TEST(ReaderChart, FromAnOCIRepositoryInTheSameFileWithSemverOrDigest) {
  Repo repo;
  repo.helmrelease(
      "ns", "app",
      "apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata:\n  name: "
      "app\nspec:\n"
      "  url: oci://r/app\n  ref:\n    semver: \">=1.0.0\"\n    digest: sha256:abc\n---\n" +
          hr("app", ""));
  auto c = chart_for(repo.config(), {"ns", "app"});
  ASSERT_TRUE(c);
  EXPECT_EQ(c->version, ">=1.0.0");
  EXPECT_EQ(c->digest, "sha256:abc");
}

TEST(ReaderChart, FromAHelmRepository) {
  Repo repo;
  repo.helmrelease("ns", "app",
                   "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: "
                   "app\nspec:\n  chart:\n"
                   "    spec:\n      chart: app-chart\n      version: 2.0.0\n      sourceRef:\n    "
                   "    kind: HelmRepository\n"
                   "        name: repo\n        namespace: flux-system\n");
  repo.file(
      "kubernetes/flux/repositories/repo.yaml",
      "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: repo\n"
      "  namespace: flux-system\nspec:\n  url: https://charts.example.com/\n");
  auto c = chart_for(repo.config(), {"ns", "app"});
  ASSERT_TRUE(c);
  EXPECT_EQ(c->url, "https://charts.example.com");
  EXPECT_EQ(c->name, "app-chart");
  EXPECT_EQ(c->version, "2.0.0");
  EXPECT_FALSE(c->is_oci());
}

TEST(ReaderChart, MissingOCIRepositoryIsAnErrorAndNoChartIsNullopt) {
  Repo repo;
  repo.helmrelease("ns", "app", hr("app", ""));
  EXPECT_THROW(chart_for(repo.config(), {"ns", "app"}), InputError);
  repo.helmrelease(
      "ns", "app",
      "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: app\n");
  EXPECT_FALSE(chart_for(repo.config(), {"ns", "app"}));
}

// ---- the example repository
// ------------------------------------------------------------------------

TEST(ReaderExample, ComputesEveryReleaseAsFluxWould) {
  Config config;
  config.root = FLUXBOOT_EXAMPLE_DIR;
  Reader reader(config, Options{});
  auto cilium = reader.compute({"kube-system", "cilium"});
  EXPECT_EQ(cilium.values["cluster"]["name"], "home");
  EXPECT_EQ(cilium.values["ipv4NativeRoutingCIDR"], "10.42.0.0/16");
  EXPECT_EQ(cilium.values["k8sServicePort"], 7445);
  EXPECT_TRUE(cilium.warnings.empty());
  auto coredns = reader.compute({"kube-system", "coredns"});
  EXPECT_EQ(coredns.values["tolerations"][1],
            (json{{"key", "node-role.kubernetes.io/control-plane"},
                  {"operator", "Exists"},
                  {"effect", "NoSchedule"}}));
  EXPECT_EQ(coredns.values["service"]["clusterIP"], "10.43.0.10");
  EXPECT_EQ(coredns.values["servers"][0]["plugins"][6]["parameters"], "@kubernetes");
  auto spegel = reader.compute({"kube-system", "spegel"});
  EXPECT_EQ(spegel.values["service"]["registry"]["hostPort"], 29999);
  auto cm = reader.compute({"cert-manager", "cert-manager"});
  EXPECT_EQ(cm.values["crds"]["enabled"], true);
  EXPECT_EQ(cm.values["featureGates"], "ServerSideApply=true");
  auto instance = reader.compute({"flux-system", "flux-instance"});
  EXPECT_EQ(instance.values["instance"]["sync"],
            (json{{"kind", "GitRepository"},
                  {"url", "https://github.com/fluxboot/flux-talos-demo"},
                  {"ref", "refs/heads/main"},
                  {"path", "kubernetes/flux/cluster"},
                  {"interval", "1h"}}));
  EXPECT_TRUE(std::filesystem::is_directory(config.root / "kubernetes/flux/cluster"));
  EXPECT_NO_THROW(reader.compute({"flux-system", "flux-operator"}));
  for (const auto& [ns, name, version] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"kube-system", "cilium", "1.17.2"},
           {"kube-system", "spegel", "0.1.1"},
           {"cert-manager", "cert-manager", "v1.17.1"},
           {"flux-system", "flux-instance", "0.32.0"}}) {
    auto c = reader.chart({ns, name});
    ASSERT_TRUE(c) << name;
    EXPECT_EQ(c->version, version) << name;
  }
}

}  // namespace
}  // namespace fluxboot::values
