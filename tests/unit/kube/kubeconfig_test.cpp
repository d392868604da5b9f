#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fluxboot/kube.hpp"
#include "fluxboot/redact.hpp"
#include "support/test_support.hpp"

namespace fluxboot::kube {
namespace {

namespace fs = std::filesystem;
using fluxboot::testing::TempDir;
using fluxboot::testing::write_file;
using ::testing::HasSubstr;

const std::string kCa = "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n";
const std::string kCert = "-----BEGIN CERTIFICATE-----\nCERT\n-----END CERTIFICATE-----\n";
const std::string kKey = "-----BEGIN PRIVATE KEY-----\nKEY\n-----END PRIVATE KEY-----\n";

// A kubeconfig with one context "ctx" → cluster "c" / user "u"; `cluster` and `user` are the
// YAML bodies (indented by the caller to 4 spaces).
std::string kubeconfig(const std::string& cluster, const std::string& user,
                       const std::string& current = "ctx") {
  return "apiVersion: v1\nkind: Config\n"
         "current-context: " +
         current +
         "\n"
         "clusters:\n- name: c\n  cluster:\n" +
         cluster +
         "contexts:\n- name: ctx\n  context:\n    cluster: c\n    user: u\n"
         "users:\n- name: u\n  user:\n" +
         user;
}

template <typename F>
std::string error_of(F fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Kubeconfig, ExplicitFileWinsOverKubeconfigEnv) {
  auto sel = select_kubeconfig("/x/kubeconfig", "/a:/b", "/home/u", "admin");
  EXPECT_EQ(sel.files, std::vector<fs::path>{"/x/kubeconfig"});
  EXPECT_EQ(sel.context, "admin");
}

TEST(Kubeconfig, KubeconfigEnvIsSplitOnColonsDroppingEmptyEntries) {
  auto sel = select_kubeconfig({}, "/a::/b:", "/home/u");
  EXPECT_EQ(sel.files, (std::vector<fs::path>{"/a", "/b"}));
}

TEST(Kubeconfig, FallsBackToHomeKubeConfig) {
  auto sel = select_kubeconfig({}, "", "/home/u");
  EXPECT_EQ(sel.files, std::vector<fs::path>{"/home/u/.kube/config"});
}

TEST(Kubeconfig, ReadsDataFormsOfCaCertificateAndKey) {
  TempDir dir;
  write_file(dir / "kc", kubeconfig("    server: https://10.0.0.10:6443/\n"
                                    "    certificate-authority-data: " +
                                        base64_encode(kCa) + "\n",
                                    "    client-certificate-data: " + base64_encode(kCert) +
                                        "\n"
                                        "    client-key-data: " +
                                        base64_encode(kKey) + "\n"));
  ClusterAccess a = load_kubeconfig({{dir / "kc"}, ""}, nullptr);
  EXPECT_EQ(a.server, "https://10.0.0.10:6443");
  EXPECT_EQ(a.context, "ctx");
  EXPECT_EQ(a.cluster, "c");
  EXPECT_EQ(a.user, "u");
  EXPECT_EQ(a.ca_pem, kCa);
  EXPECT_EQ(a.client_cert_pem, kCert);
  EXPECT_EQ(a.client_key_pem, kKey);
  EXPECT_EQ(a.auth, "client certificate");
  EXPECT_EQ(a.source, dir / "kc");
  EXPECT_EQ(a.secrets(), std::vector<std::string>{kKey});
}

TEST(Kubeconfig, ReadsFileFormsRelativeToTheKubeconfigThatNamesThem) {
  TempDir dir;
  write_file(dir / "conf/pki/ca.crt", kCa);
  write_file(dir / "conf/pki/admin.crt", kCert);
  write_file(dir / "abs.key", kKey);
  write_file(dir / "conf/kc", kubeconfig("    server: https://10.0.0.10:6443\n"
                                         "    certificate-authority: pki/ca.crt\n",
                                         "    client-certificate: pki/admin.crt\n"
                                         "    client-key: " +
                                             (dir / "abs.key").string() + "\n"));
  ClusterAccess a = load_kubeconfig({{dir / "conf/kc"}, ""}, nullptr);
  EXPECT_EQ(a.ca_pem, kCa);
  EXPECT_EQ(a.client_cert_pem, kCert);
  EXPECT_EQ(a.client_key_pem, kKey);
}

TEST(Kubeconfig, MissingReferencedFileNamesKubeconfigAndFile) {
  TempDir dir;
  write_file(dir / "kc",
             kubeconfig("    server: https://h:6443\n    certificate-authority: nope.crt\n",
                        "    token: abcd\n"));
  EXPECT_THAT(error_of([&] {
                load_kubeconfig({{dir / "kc"}, ""}, nullptr);
              }),
              HasSubstr("kubeconfig " + (dir / "kc").string() +
                        ": cannot read certificate-authority " + (dir / "nope.crt").string()));
}

TEST(Kubeconfig, TokenWinsOverTokenFile) {
  TempDir dir;
  write_file(dir / "tok", "from-file\n");
  write_file(dir / "kc", kubeconfig("    server: https://h:6443\n",
                                    "    token: inline-token\n    tokenFile: tok\n"));
  ClusterAccess a = load_kubeconfig({{dir / "kc"}, ""}, nullptr);
  EXPECT_EQ(a.token, "inline-token");
  EXPECT_EQ(a.auth, "bearer token");
}

TEST(Kubeconfig, ReadsTokenFileWithoutTrailingNewline) {
  TempDir dir;
  write_file(dir / "tok", "file-token-123\n");
  write_file(dir / "kc", kubeconfig("    server: https://h:6443\n", "    tokenFile: tok\n"));
  ClusterAccess a = load_kubeconfig({{dir / "kc"}, ""}, nullptr);
  EXPECT_EQ(a.token, "file-token-123");
  EXPECT_EQ(a.auth, "token file " + (dir / "tok").string());
  EXPECT_EQ(a.secrets(), std::vector<std::string>{"file-token-123"});
}

TEST(Kubeconfig, ReadsInsecureTlsServerNameAndProxy) {
  TempDir dir;
  write_file(dir / "kc", kubeconfig("    server: h.example:6443\n"
                                    "    insecure-skip-tls-verify: true\n"
                                    "    tls-server-name: kubernetes\n"
                                    "    proxy-url: socks5://127.0.0.1:1080\n",
                                    "    token: abcd\n"));
  ClusterAccess a = load_kubeconfig({{dir / "kc"}, ""}, nullptr);
  EXPECT_EQ(a.server, "https://h.example:6443");  // kubectl's default scheme
  EXPECT_TRUE(a.insecure_skip_tls_verify);
  EXPECT_EQ(a.tls_server_name, "kubernetes");
  EXPECT_EQ(a.proxy_url, "socks5://127.0.0.1:1080");
}

TEST(Kubeconfig, RejectsContradictionsKubectlRejects) {
  TempDir dir;
  write_file(dir / "a", kubeconfig("    server: https://h\n    insecure-skip-tls-verify: true\n"
                                   "    certificate-authority-data: " +
                                       base64_encode(kCa) + "\n",
                                   "    token: abcd\n"));
  EXPECT_THAT(
      error_of([&] {
        load_kubeconfig({{dir / "a"}, ""}, nullptr);
      }),
      HasSubstr("insecure-skip-tls-verify cannot be combined with a certificate authority"));
  write_file(dir / "b", kubeconfig("    server: https://h\n",
                                   "    client-certificate-data: " + base64_encode(kCert) +
                                       "\n"
                                       "    client-certificate: x.crt\n    client-key-data: " +
                                       base64_encode(kKey) + "\n"));
  EXPECT_THAT(error_of([&] {
                load_kubeconfig({{dir / "b"}, ""}, nullptr);
              }),
              HasSubstr("client-certificate-data and client-certificate are both set"));
  write_file(dir / "c", kubeconfig("    server: https://h\n",
                                   "    client-certificate-data: " + base64_encode(kCert) + "\n"));
  EXPECT_THAT(error_of([&] {
                load_kubeconfig({{dir / "c"}, ""}, nullptr);
              }),
              HasSubstr("client-certificate is set but client-key is missing"));
  write_file(dir / "d", kubeconfig("    insecure-skip-tls-verify: true\n", "    token: abcd\n"));
  EXPECT_THAT(error_of([&] {
                load_kubeconfig({{dir / "d"}, ""}, nullptr);
              }),
              HasSubstr("cluster \"c\" has no server"));
  write_file(dir / "e", kubeconfig("    server: https://h\n", "    client-key-data: '%%%'\n"));
  EXPECT_THAT(error_of([&] {
                load_kubeconfig({{dir / "e"}, ""}, nullptr);
              }),
              HasSubstr("client-key-data is not valid base64"));
}

TEST(Kubeconfig, ErrorsAreInputErrorsNamingTheFile) {
  TempDir dir;
  write_file(dir / "bad", "clusters: [\n  - name: x\n   bad indent: {\n");
  try {
    load_kubeconfig({{dir / "bad"}, ""}, nullptr);
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("kubeconfig " + (dir / "bad").string() + ": line "));
    EXPECT_EQ(e.code(), ExitCode::InvalidInput);
  }
  EXPECT_THAT(error_of([&] {
                load_kubeconfig({{dir / "missing"}, ""}, nullptr);
              }),
              HasSubstr("kubeconfig " + (dir / "missing").string() + ": file does not exist"));
}

TEST(Kubeconfig, UnknownContextListsTheAvailableOnes) {
  TempDir dir;
  write_file(dir / "kc", kubeconfig("    server: https://h\n", "    token: abcd\n"));
  EXPECT_THAT(error_of([&] {
                load_kubeconfig({{dir / "kc"}, "prod"}, nullptr);
              }),
              HasSubstr("context \"prod\" not found (contexts: ctx)"));
}

TEST(Kubeconfig, NoCurrentContextAsksForContextFlag) {
  TempDir dir;
  write_file(dir / "kc", kubeconfig("    server: https://h\n", "    token: abcd\n", "\"\""));
  EXPECT_THAT(error_of([&] {
                load_kubeconfig({{dir / "kc"}, ""}, nullptr);
              }),
              HasSubstr("no current-context is set; pass --context (contexts: ctx)"));
  EXPECT_NO_THROW(load_kubeconfig({{dir / "kc"}, "ctx"}, nullptr));
}

TEST(Kubeconfig, MergesLikeKubectlFirstFileWinsPerName) {
  TempDir dir;
  // First file: current-context b-ctx (defined only in the second file), cluster "shared".
  write_file(dir / "one",
             "current-context: b-ctx\n"
             "clusters:\n- name: shared\n  cluster:\n    server: https://first:6443\n"
             "users:\n- name: shared-user\n  user:\n    token: first-token\n");
  write_file(dir / "two",
             "current-context: ignored\n"
             "clusters:\n- name: shared\n  cluster:\n    server: https://second:6443\n"
             "- name: own\n  cluster:\n    server: https://own:6443\n"
             "contexts:\n- name: b-ctx\n  context: {cluster: shared, user: shared-user}\n"
             "- name: own-ctx\n  context: {cluster: own, user: shared-user}\n"
             "users:\n- name: shared-user\n  user:\n    token: second-token\n");
  KubeconfigSelection sel{{dir / "one", dir / "absent", dir / "two"}, ""};
  ClusterAccess a = load_kubeconfig(sel, nullptr);
  EXPECT_EQ(a.context, "b-ctx");
  EXPECT_EQ(a.server, "https://first:6443");
  EXPECT_EQ(a.token, "first-token");
  EXPECT_EQ(a.source, dir / "two");
  sel.context = "own-ctx";
  a = load_kubeconfig(sel, nullptr);
  EXPECT_EQ(a.server, "https://own:6443");
  EXPECT_EQ(a.token, "first-token");
}

TEST(Kubeconfig, EmptyFileInAListIsAnEmptyConfig) {
  TempDir dir;
  write_file(dir / "empty", "");
  write_file(dir / "kc", kubeconfig("    server: https://h\n", "    token: abcd\n"));
  EXPECT_EQ(load_kubeconfig({{dir / "empty", dir / "kc"}, ""}, nullptr).server, "https://h");
  EXPECT_THAT(error_of([&] {
                load_kubeconfig({{dir / "x", dir / "y"}, ""}, nullptr);
              }),
              HasSubstr("none of"));
}

// ---- exec credential plugins, run through the real process runner ----

class ExecPlugin : public ::testing::Test {
 protected:
  void SetUp() override { runner_ = process::make_real_runner(); }
  std::string exec_user(const std::string& command, const std::string& extra = "") {
    return "    exec:\n"
           "      apiVersion: client.authentication.k8s.io/v1\n"
           "      command: " +
           command +
           "\n"
           "      args: [--cluster, main]\n"
           "      env:\n      - name: PLUGIN_VAR\n        value: from-env\n"
           "      provideClusterInfo: true\n"
           "      installHint: install it with 'apt install the-plugin'\n" +
           extra;
  }
  TempDir dir_;
  std::unique_ptr<process::Runner> runner_;
};

TEST_F(ExecPlugin, TokenFromExecCredentialWithArgsEnvAndClusterInfo) {
  write_file(
      dir_ / "plugin.sh",
      "#!/bin/sh\n"
      "printf '%s' \"$KUBERNETES_EXEC_INFO\" > \"$(dirname \"$0\")/info.json\"\n"
      "printf '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
      "\"status\":{\"token\":\"tok-%s-%s-%s\"}}' \"$1\" \"$2\" \"$PLUGIN_VAR\"\n",
      0755);
  write_file(dir_ / "kc", kubeconfig("    server: https://h:6443\n", exec_user("./plugin.sh")));
  ClusterAccess a = load_kubeconfig({{dir_ / "kc"}, ""}, runner_.get());
  EXPECT_EQ(a.token, "tok---cluster-main-from-env");
  EXPECT_EQ(a.auth, "exec plugin plugin.sh");
  json info = json::parse(fluxboot::testing::read_file(dir_ / "info.json"));
  EXPECT_EQ(info["kind"], "ExecCredential");
  EXPECT_EQ(info["spec"]["interactive"], false);
  EXPECT_EQ(info["spec"]["cluster"]["server"], "https://h:6443");
}

TEST_F(ExecPlugin, ClientCertificateFromExecCredential) {
  json cred = {{"apiVersion", "client.authentication.k8s.io/v1"},
               {"kind", "ExecCredential"},
               {"status", {{"clientCertificateData", kCert}, {"clientKeyData", kKey}}}};
  write_file(dir_ / "cred.json", cred.dump());
  write_file(dir_ / "plugin.sh", "#!/bin/sh\ncat \"$(dirname \"$0\")/cred.json\"\n", 0755);
  write_file(dir_ / "kc", kubeconfig("    server: https://h:6443\n", exec_user("./plugin.sh")));
  ClusterAccess a = load_kubeconfig({{dir_ / "kc"}, ""}, runner_.get());
  EXPECT_EQ(a.client_cert_pem, kCert);
  EXPECT_EQ(a.client_key_pem, kKey);
  EXPECT_TRUE(a.token.empty());
}

TEST_F(ExecPlugin, FailureNamesThePluginAndItsStderr) {
  write_file(dir_ / "plugin.sh", "#!/bin/sh\necho 'sso session expired' >&2\nexit 3\n", 0755);
  write_file(dir_ / "kc", kubeconfig("    server: https://h:6443\n", exec_user("./plugin.sh")));
  try {
    load_kubeconfig({{dir_ / "kc"}, ""}, runner_.get());
    FAIL() << "no error";
  } catch (const StageError& e) {
    EXPECT_THAT(e.what(), HasSubstr("user \"u\": exec plugin " + (dir_ / "plugin.sh").string() +
                                    " exited 3: sso session expired"));
  }
}

TEST_F(ExecPlugin, WrongOutputIsAClearError) {
  write_file(dir_ / "plugin.sh",
             "#!/bin/sh\necho "
             "'{\"kind\":\"ExecCredential\",\"apiVersion\":\"client.authentication.k8s.io/"
             "v1\",\"status\":{}}'\n",
             0755);
  write_file(dir_ / "kc", kubeconfig("    server: https://h:6443\n", exec_user("./plugin.sh")));
  EXPECT_THAT(error_of([&] {
                load_kubeconfig({{dir_ / "kc"}, ""}, runner_.get());
              }),
              HasSubstr("returned neither a token nor a client certificate"));
  write_file(dir_ / "plugin.sh", "#!/bin/sh\necho hello\n", 0755);
  EXPECT_THAT(error_of([&] {
                load_kubeconfig({{dir_ / "kc"}, ""}, runner_.get());
              }),
              HasSubstr("did not print an ExecCredential"));
}

TEST_F(ExecPlugin, MissingCommandShowsTheInstallHint) {
  write_file(dir_ / "kc", kubeconfig("    server: https://h:6443\n",
                                     exec_user("fluxboot-no-such-credential-plugin")));
  try {
    load_kubeconfig({{dir_ / "kc"}, ""}, runner_.get());
    FAIL() << "no error";
  } catch (const ToolMissingError& e) {
    EXPECT_THAT(e.what(), HasSubstr("install it with 'apt install the-plugin'"));
  }
}

TEST_F(ExecPlugin, NeedsARunner) {
  write_file(dir_ / "kc", kubeconfig("    server: https://h:6443\n", exec_user("./plugin.sh")));
  EXPECT_THAT(error_of([&] {
                load_kubeconfig({{dir_ / "kc"}, ""}, nullptr);
              }),
              HasSubstr("exec credential plugins need a process runner"));
}

}  // namespace
}  // namespace fluxboot::kube
