#include <sys/stat.h>

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "sim/kubeconfig_file.hpp"
#include "sim/pki.hpp"
#include "sim/yaml_json.hpp"
#include "support/test_support.hpp"

namespace fluxboot::sim {
namespace {

using fluxboot::testing::TempDir;

X509* load_cert(const std::filesystem::path& p) {
  FILE* f = std::fopen(p.c_str(), "r");
  if (f == nullptr) return nullptr;
  X509* c = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  return c;
}

TEST(SimPki, WritesACaSignedServerAndClientCertificateWithPrivateKeys0600) {
  TempDir dir;
  generate_pki(dir / "pki");
  PkiPaths p(dir / "pki");
  for (const auto& key : {p.ca_key, p.server_key, p.client_key}) {
    struct stat st {};
    ASSERT_EQ(::stat(key.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u) << key;
  }
  X509* ca = load_cert(p.ca_crt);
  X509* server = load_cert(p.server_crt);
  X509* client = load_cert(p.client_crt);
  ASSERT_TRUE(ca && server && client);
  EVP_PKEY* ca_pub = X509_get0_pubkey(ca);
  EXPECT_EQ(X509_verify(server, ca_pub), 1);
  EXPECT_EQ(X509_verify(client, ca_pub), 1);
  EXPECT_EQ(X509_check_ip_asc(server, "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_host(server, "localhost", 0, 0, nullptr), 1);
  char cn[64] = {0}, o[64] = {0};
  X509_NAME_get_text_by_NID(X509_get_subject_name(client), NID_commonName, cn, sizeof cn);
  X509_NAME_get_text_by_NID(X509_get_subject_name(client), NID_organizationName, o, sizeof o);
  EXPECT_STREQ(cn, "admin");
  EXPECT_STREQ(o, "system:masters");
  X509_free(ca);
  X509_free(server);
  X509_free(client);
}

TEST(SimPki, Base64AndSha256) {
  EXPECT_EQ(base64_encode("hello"), "aGVsbG8=");
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

KubeconfigParts parts(const std::string& context) {
  KubeconfigParts p;
  p.server = "https://127.0.0.1:1234";
  p.ca_pem = "CA";
  p.client_crt_pem = "CRT";
  p.client_key_pem = "KEY";
  p.cluster = "home";
  p.user = "admin@home";
  p.context = context;
  return p;
}

TEST(SimKubeconfig, EmbedsCertificatesAndSetsTheContext) {
  auto kc = make_kubeconfig(parts("main"));
  EXPECT_EQ(kc["current-context"], "main");
  EXPECT_EQ(kc["clusters"][0]["cluster"]["server"], "https://127.0.0.1:1234");
  EXPECT_EQ(kc["clusters"][0]["cluster"]["certificate-authority-data"], base64_encode("CA"));
  EXPECT_EQ(kc["users"][0]["user"]["client-key-data"], base64_encode("KEY"));
  auto yaml = json_to_yaml(kc);
  EXPECT_EQ(parse_yaml(yaml), kc) << yaml;
}

TEST(SimKubeconfig, MergeReplacesWithForceAndRenamesWithout) {
  nlohmann::json existing = make_kubeconfig(parts("other"));
  EXPECT_EQ(merge_kubeconfig(existing, make_kubeconfig(parts("main")), false), "main");
  EXPECT_EQ(existing["contexts"].size(), 2u);
  EXPECT_EQ(existing["current-context"], "main");
  EXPECT_EQ(merge_kubeconfig(existing, make_kubeconfig(parts("main")), true), "main");
  EXPECT_EQ(existing["contexts"].size(), 2u);
  EXPECT_EQ(merge_kubeconfig(existing, make_kubeconfig(parts("main")), false), "main-1");
  EXPECT_EQ(existing["contexts"].size(), 3u);
}

TEST(SimYaml, KeepsQuotedScalarsAsStringsAndTypesPlainOnes) {
  auto j = parse_yaml("a: 1\nb: '1'\nc: true\nd: ~\ne: 1.5\nf: v1.2\ng: 'true'\n");
  EXPECT_EQ(j["a"], 1);
  EXPECT_EQ(j["b"], "1");
  EXPECT_EQ(j["c"], true);
  EXPECT_TRUE(j["d"].is_null());
  EXPECT_EQ(j["e"], 1.5);
  EXPECT_EQ(j["f"], "v1.2");
  EXPECT_EQ(j["g"], "true");
  EXPECT_EQ(parse_yaml(json_to_yaml(j)), j);
}

}  // namespace
}  // namespace fluxboot::sim
