// The client against the in-process simulated API server over TLS with client certificates.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <mutex>

#include "unit/kube/kube_fixture.hpp"

namespace fluxboot::kube {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using fluxboot::testing::TempDir;
using fluxboot::testing::write_file;
using test::Pki;
using test::Sim;
using ::testing::HasSubstr;
using ::testing::Not;

std::string b64file(const fs::path& p) { return base64_encode(test::slurp(p)); }

std::string kubeconfig_yaml(const std::string& server, const std::string& cluster_extra,
                            const std::string& user) {
  return "apiVersion: v1\nkind: Config\ncurrent-context: sim\n"
         "clusters:\n- name: sim\n  cluster:\n    server: " +
         server + "\n" + cluster_extra +
         "contexts:\n- name: sim\n  context:\n    cluster: sim\n    user: admin\n"
         "users:\n- name: admin\n  user:\n" +
         user;
}

ClientOptions fast_retries() {
  ClientOptions o;
  o.backoff_initial = 20ms;
  o.backoff_max = 100ms;
  return o;
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

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

std::vector<std::string> log_lines(const fs::path& log) {
  std::vector<std::string> out;
  std::istringstream in(fluxboot::testing::read_file(log));
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// ---- kubeconfig forms, end to end ----

TEST(ClientTls, CertificateDataFormReachesTheSimOverMutualTls) {
  Sim sim;
  TempDir dir;
  const Pki& pki = Pki::get();
  write_file(
      dir / "kc",
      kubeconfig_yaml(sim.url(), "    certificate-authority-data: " + b64file(pki.ca_crt) + "\n",
                      "    client-certificate-data: " + b64file(pki.client_crt) +
                          "\n"
                          "    client-key-data: " +
                          b64file(pki.client_key) + "\n"));
  Client client(load_kubeconfig({{dir / "kc"}, ""}, nullptr));
  json ns = client.list("/api/v1/namespaces");
  EXPECT_GE(ns["items"].size(), 1u);
  EXPECT_EQ(ns["items"][0]["kind"], "Namespace");
}

TEST(ClientTls, CertificateFileFormReachesTheSimOverMutualTls) {
  Sim sim;
  TempDir dir;
  const Pki& pki = Pki::get();
  write_file(dir / "kc",
             kubeconfig_yaml(sim.url(), "    certificate-authority: " + pki.ca_crt.string() + "\n",
                             "    client-certificate: " + pki.client_crt.string() +
                                 "\n"
                                 "    client-key: " +
                                 pki.client_key.string() + "\n"));
  Client client(load_kubeconfig({{dir / "kc"}, ""}, nullptr));
  EXPECT_EQ(client.get("/api/v1/namespaces/default")["metadata"]["name"], "default");
}

TEST(ClientTls, ExecPluginClientCertificateReachesTheSim) {
  Sim sim;
  TempDir dir;
  const Pki& pki = Pki::get();
  json cred = {{"apiVersion", "client.authentication.k8s.io/v1"},
               {"kind", "ExecCredential"},
               {"status",
                {{"clientCertificateData", test::slurp(pki.client_crt)},
                 {"clientKeyData", test::slurp(pki.client_key)}}}};
  write_file(dir / "cred.json", cred.dump());
  write_file(dir / "plugin.sh", "#!/bin/sh\nexec cat \"$(dirname \"$0\")/cred.json\"\n", 0755);
  write_file(
      dir / "kc",
      kubeconfig_yaml(sim.url(), "    certificate-authority-data: " + b64file(pki.ca_crt) + "\n",
                      "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n"
                      "      command: ./plugin.sh\n"));
  auto runner = process::make_real_runner();
  Client client(load_kubeconfig({{dir / "kc"}, ""}, runner.get()));
  EXPECT_NO_THROW(client.list("/api/v1/nodes"));
}

TEST(ClientTls, MergedKubeconfigAndContextFlagPickTheRightCluster) {
  Sim sim;
  TempDir dir;
  const Pki& pki = Pki::get();
  // First file: current-context points at a dead server; the second defines the sim context.
  write_file(dir / "one",
             "current-context: dead\n"
             "clusters:\n- name: dead\n  cluster:\n    server: https://127.0.0.1:" +
                 std::to_string(free_port()) +
                 "\n"
                 "contexts:\n- name: dead\n  context: {cluster: dead, user: admin}\n");
  write_file(dir / "two", "clusters:\n- name: sim\n  cluster:\n    server: " + sim.url() +
                              "\n    certificate-authority-data: " + b64file(pki.ca_crt) +
                              "\n"
                              "contexts:\n- name: sim\n  context: {cluster: sim, user: admin}\n"
                              "users:\n- name: admin\n  user:\n"
                              "    client-certificate-data: " +
                              b64file(pki.client_crt) +
                              "\n"
                              "    client-key-data: " +
                              b64file(pki.client_key) + "\n");
  auto sel =
      select_kubeconfig({}, (dir / "one").string() + ":" + (dir / "two").string(), "/nonexistent");
  EXPECT_EQ(load_kubeconfig(sel, nullptr).context, "dead");
  sel.context = "sim";
  Client client(load_kubeconfig(sel, nullptr));
  EXPECT_EQ(client.access().source, dir / "two");
  EXPECT_NO_THROW(client.list("/api/v1/nodes"));
}

// A TLS server that records the Authorization header (the sim does not look at tokens).
class HeaderRecorder {
 public:
  HeaderRecorder() : server_(Pki::get().server_crt.c_str(), Pki::get().server_key.c_str()) {
    server_.Get("/api/v1/nodes", [this](const httplib::Request& req, httplib::Response& res) {
      {
        std::lock_guard lock(mu_);
        auth_ = req.get_header_value("Authorization");
      }
      res.set_content(
          R"({"kind":"NodeList","apiVersion":"v1","metadata":{"resourceVersion":"1"},"items":[]})",
          "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~HeaderRecorder() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_); }
  std::string auth() {
    std::lock_guard lock(mu_);
    return auth_;
  }

 private:
  httplib::SSLServer server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::string auth_;
};

TEST(ClientTls, TokenTokenFileAndExecTokenAreSentAsBearer) {
  HeaderRecorder rec;
  TempDir dir;
  const Pki& pki = Pki::get();
  const std::string ca = "    certificate-authority-data: " + b64file(pki.ca_crt) + "\n";
  write_file(dir / "token", "file-token-456\n");
  write_file(dir / "plugin.sh",
             "#!/bin/sh\necho '{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\","
             "\"kind\":\"ExecCredential\",\"status\":{\"token\":\"exec-token-789\"}}'\n",
             0755);
  auto runner = process::make_real_runner();
  const std::vector<std::pair<std::string, std::string>> forms = {
      {"    token: inline-token-123\n", "Bearer inline-token-123"},
      {"    tokenFile: token\n", "Bearer file-token-456"},
      {"    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: "
       "./plugin.sh\n",
       "Bearer exec-token-789"},
  };
  for (const auto& [user, expected] : forms) {
    write_file(dir / "kc", kubeconfig_yaml(rec.url(), ca, user));
    Client client(load_kubeconfig({{dir / "kc"}, ""}, runner.get()));
    client.list("/api/v1/nodes");
    EXPECT_EQ(rec.auth(), expected) << user;
  }
}

TEST(ClientTls, InsecureSkipTlsVerifyWithTokenReachesTheSim) {
  Sim sim(/*mtls=*/false);
  TempDir dir;
  write_file(dir / "kc", kubeconfig_yaml(sim.url(), "    insecure-skip-tls-verify: true\n",
                                         "    token: some-token\n"));
  Client client(load_kubeconfig({{dir / "kc"}, ""}, nullptr));
  EXPECT_NO_THROW(client.list("/api/v1/nodes"));
}

TEST(ClientTls, TlsServerNameIsUsedToVerifyTheServer) {
  Sim sim;
  ClusterAccess a = sim.access();
  a.tls_server_name = "kubernetes";  // in the server certificate's SANs, unlike nothing else
  Client good(a);
  EXPECT_NO_THROW(good.list("/api/v1/nodes"));
  a.tls_server_name = "not-in-the-cert.example";
  Client bad(a, fast_retries());
  EXPECT_THAT(error_of([&] { bad.list("/api/v1/nodes"); }),
              HasSubstr("the server certificate is not valid for \"not-in-the-cert.example\""));
}

// ---- TLS and auth failures: clear, fast, naming the server ----

TEST(ClientTls, WrongCaIsAClearErrorAndNotRetried) {
  Sim sim;
  ClusterAccess a = sim.access();
  a.ca_pem = test::slurp(Pki::get().other_ca_crt);
  Client client(a);
  const auto started = Clock::now();
  try {
    client.list("/api/v1/nodes");
    FAIL() << "no error";
  } catch (const StageError& e) {
    EXPECT_THAT(e.what(), HasSubstr(sim.url() +
                                    ": TLS: certificate verify failed (wrong CA in kubeconfig?)"));
  }
  EXPECT_LT(Clock::now() - started, 2s);
}

TEST(ClientTls, WrongClientCertificateIsAClearError) {
  Sim sim;
  ClusterAccess a = sim.access();
  a.client_cert_pem = test::slurp(Pki::get().other_client_crt);
  a.client_key_pem = test::slurp(Pki::get().other_client_key);
  Client client(a);
  const auto started = Clock::now();
  EXPECT_THAT(error_of([&] { client.list("/api/v1/nodes"); }),
              HasSubstr(sim.url() + ": TLS: client certificate rejected by the server"));
  EXPECT_LT(Clock::now() - started, 2s);
}

TEST(ClientTls, MissingClientCertificateIsAClearError) {
  Sim sim;
  ClusterAccess a = sim.access();
  a.client_cert_pem.clear();
  a.client_key_pem.clear();
  a.token = "t0ken";
  a.auth = "bearer token";
  Client client(a);
  EXPECT_THAT(
      error_of([&] { client.list("/api/v1/nodes"); }),
      HasSubstr("TLS: the server requires a client certificate and user \"admin\" has none"));
}

TEST(ClientTls, ConnectionRefusedIsRetriedThenReported) {
  ClusterAccess a = test::access_for("https://127.0.0.1:" + std::to_string(free_port()));
  ClientOptions o = fast_retries();
  o.max_attempts = 3;
  Client client(a, o);
  EXPECT_THAT(
      error_of([&] { client.list("/api/v1/nodes"); }),
      ::testing::AllOf(HasSubstr(a.server + ": cannot connect"), HasSubstr("after 3 attempts")));
}

// ---- retries ----

TEST(ClientRetry, TooManyRequestsIsRetriedAfterRetryAfter) {
  Sim sim;
  sim->fail_next(1, 429, "/api/v1/nodes", 1);
  Client client(sim.access(), fast_retries());
  const auto started = Clock::now();
  Response r = client.request("GET", "/api/v1/nodes");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.attempts, 2);
  EXPECT_GE(Clock::now() - started, 900ms);  // honoured Retry-After: 1 rather than 20 ms backoff
}

TEST(ClientRetry, ServerErrorsAreRetriedWithBackoff) {
  Sim sim;
  sim->fail_next(2, 503, "/api/v1/nodes");
  sim->fail_next(1, 500, "/api/v1/nodes");
  Client client(sim.access(), fast_retries());
  json nodes = client.list("/api/v1/nodes");
  EXPECT_TRUE(nodes["items"].is_array());
}

TEST(ClientRetry, GivesUpAfterMaxAttemptsWithTheLastAnswer) {
  Sim sim;
  sim->fail_next(10, 500, "/api/v1/nodes");
  ClientOptions o = fast_retries();
  o.max_attempts = 3;
  Client client(sim.access(), o);
  try {
    client.list("/api/v1/nodes");
    FAIL() << "no error";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 500);
    EXPECT_THAT(e.what(), HasSubstr("500 Internal Server Error"));
    EXPECT_THAT(e.what(), HasSubstr("(after 3 attempts)"));
  }
}

TEST(ClientRetry, DeadlineAbortsASlowRequest) {
  Sim sim;
  sim->set_latency(1500ms);
  Client client(sim.access());
  const auto started = Clock::now();
  try {
    client.list("/api/v1/nodes", {}, test::in(300ms));
    FAIL() << "no error";
  } catch (const DeadlineError& e) {
    EXPECT_THAT(e.what(), HasSubstr("deadline exceeded"));
    EXPECT_EQ(e.code(), ExitCode::DeadlineExceeded);
  }
  EXPECT_LT(Clock::now() - started, 1200ms);
  sim->set_latency(0ms);
}

// ---- verbs ----

TEST(ClientVerbs, GetOptionalListSelectorsApplyAndRemove) {
  TempDir dir;
  const Pki& pki = Pki::get();
  sim::ServerOptions o;
  o.cert_file = pki.server_crt.string();
  o.key_file = pki.server_key.string();
  o.client_ca_file = pki.ca_crt.string();
  o.request_log = dir / "requests.log";
  sim::ApiServer server(o);
  server.start();
  ClusterAccess a = test::access_for(server.url());
  Client client(a);

  EXPECT_FALSE(client.get_optional("/api/v1/namespaces/default/configmaps/absent").has_value());
  try {
    client.get("/api/v1/namespaces/default/configmaps/absent");
    FAIL() << "no error";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 404);
    EXPECT_EQ(e.reason(), "NotFound");
    EXPECT_THAT(e.what(),
                HasSubstr("GET /api/v1/namespaces/default/configmaps/absent: 404 Not Found"));
  }

  json cm = {
      {"apiVersion", "v1"},
      {"kind", "ConfigMap"},
      {"metadata", {{"name", "settings"}, {"namespace", "default"}, {"labels", {{"app", "x"}}}}},
      {"data", {{"k", "v"}}}};
  json stored =
      client.apply(resource_path("v1", "configmaps", "default", "settings"), cm, "fluxboot", true);
  EXPECT_EQ(stored["data"]["k"], "v");
  server.put(
      {{"apiVersion", "v1"},
       {"kind", "ConfigMap"},
       {"metadata", {{"name", "other"}, {"namespace", "default"}, {"labels", {{"app", "y"}}}}}});

  auto names = [](const json& list) {
    std::vector<std::string> out;
    for (const auto& i : list["items"]) out.push_back(i["metadata"]["name"]);
    return out;
  };
  EXPECT_EQ(names(client.list("/api/v1/namespaces/default/configmaps", {"app=x", ""})),
            std::vector<std::string>{"settings"});
  EXPECT_EQ(names(client.list("/api/v1/configmaps", {"", "metadata.name=other"})),
            std::vector<std::string>{"other"});
  EXPECT_EQ(names(client.list("/api/v1/namespaces/default/configmaps", {"app in (x,y)", ""})),
            (std::vector<std::string>{"other", "settings"}));

  EXPECT_TRUE(client.remove("/api/v1/namespaces/default/configmaps/settings"));
  EXPECT_FALSE(client.remove("/api/v1/namespaces/default/configmaps/settings"));

  bool saw_apply = false;
  for (const auto& line : log_lines(o.request_log))
    if (line.rfind("PATCH /api/v1/namespaces/default/configmaps/settings ", 0) == 0) {
      saw_apply = true;
      EXPECT_THAT(line, HasSubstr("fieldManager=fluxboot&force=true"));
      EXPECT_THAT(line, HasSubstr("application/apply-patch+yaml"));
    }
  EXPECT_TRUE(saw_apply);
}

TEST(ClientVerbs, ManyRequestsReuseOneConnection) {
  Sim sim;
  Client client(sim.access());
  const auto started = Clock::now();
  for (int i = 0; i < 100; ++i) client.get("/api/v1/namespaces/default");
  // A fresh TLS handshake per request would still pass this; it documents the order of magnitude
  // (the benchmark measures it). Keep-alive: ~0.3 ms per GET on this machine.
  EXPECT_LT(Clock::now() - started, 5s);
}

TEST(ClientVerbs, NeverPutsTheTokenInErrorsOrDebugLines) {
  Sim sim;
  ClusterAccess a = sim.access();
  a.token = "super-secret-token-value";
  std::vector<std::string> debug;
  ClientOptions o = fast_retries();
  o.debug = [&](const std::string& line) { debug.push_back(line); };
  sim->fail_next(1, 401, "/api/v1/nodes");
  Client client(a, o);
  std::string err = error_of([&] { client.list("/api/v1/nodes"); });
  EXPECT_THAT(err, HasSubstr("401 Unauthorized: client certificate rejected"));
  EXPECT_THAT(err, Not(HasSubstr("super-secret")));
  for (const auto& line : debug) EXPECT_THAT(line, Not(HasSubstr("super-secret")));
  EXPECT_FALSE(debug.empty());
}

}  // namespace
}  // namespace fluxboot::kube
