// The simulated API server against the REAL kubectl 1.32 and helm 3.17 (from .tools/bin), over
// HTTPS with client certificates, each test on a fresh server with its own caches.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "sim/api/api_server.hpp"
#include "support/test_support.hpp"

namespace fluxboot::sim {
namespace {

namespace fs = std::filesystem;
using fluxboot::testing::read_file;
using fluxboot::testing::RunResult;
using fluxboot::testing::TempDir;
using fluxboot::testing::write_file;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

const std::string kKubectl = std::string(FLUXBOOT_TOOLS_BIN_DIR) + "/kubectl";
const std::string kHelm = std::string(FLUXBOOT_TOOLS_BIN_DIR) + "/helm";

std::string b64(const std::string& in) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned v = (static_cast<unsigned char>(in[i]) << 16) |
                 (static_cast<unsigned char>(in[i + 1]) << 8) | static_cast<unsigned char>(in[i + 2]);
    for (int s : {18, 12, 6, 0}) out += t[(v >> s) & 63];
  }
  if (i < in.size()) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    out += t[(v >> 18) & 63];
    out += t[(v >> 12) & 63];
    out += i + 1 < in.size() ? t[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// A CA, a server certificate for 127.0.0.1 and an admin client certificate, made once per test
// binary with the openssl command (argv only).
struct Pki {
  TempDir dir;
  fs::path ca, server_crt, server_key;
  std::string ca_pem, client_pem, client_key_pem;
};

void openssl(const std::vector<std::string>& args, const fs::path& cwd) {
  std::vector<std::string> argv = {"/usr/bin/openssl"};
  argv.insert(argv.end(), args.begin(), args.end());
  RunResult r = fluxboot::testing::run(argv, {}, cwd, "", 30);
  if (r.exit_code != 0) throw std::runtime_error("openssl failed: " + r.err);
}

std::unique_ptr<Pki> make_pki() {
  auto k = std::make_unique<Pki>();
  const fs::path& d = k->dir.path();
  const std::vector<std::string> ec = {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                                       "-nodes"};
  auto with = [](std::vector<std::string> a, const std::vector<std::string>& more) {
    a.insert(a.end(), more.begin(), more.end());
    return a;
  };
  openssl(with({"req", "-x509"}, with(ec, {"-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
                                            "-subj", "/CN=sim-ca", "-addext",
                                            "basicConstraints=critical,CA:TRUE", "-addext",
                                            "keyUsage=critical,keyCertSign,cRLSign"})),
          d);
  write_file(d / "server.ext",
             "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
  write_file(d / "client.ext", "extendedKeyUsage=clientAuth\n");
  for (const std::string name : {"server", "client"}) {
    std::string subj = name == "server" ? "/CN=127.0.0.1" : "/O=system:masters/CN=admin";
    openssl(with({"req"}, with(ec, {"-keyout", name + ".key", "-out", name + ".csr", "-subj", subj})), d);
    openssl({"x509", "-req", "-in", name + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", name + ".crt", "-days", "2", "-extfile", name + ".ext"},
            d);
  }
  k->ca = d / "ca.crt";
  k->server_crt = d / "server.crt";
  k->server_key = d / "server.key";
  k->ca_pem = read_file(d / "ca.crt");
  k->client_pem = read_file(d / "client.crt");
  k->client_key_pem = read_file(d / "client.key");
  return k;
}

const char* kBootstrapObjects = R"({"apiVersion":"v1","kind":"List","items":[
{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"flux-system"}},
{"apiVersion":"v1","kind":"Secret","metadata":{"name":"sops-age","namespace":"flux-system"},
 "stringData":{"age.agekey":"AGE-SECRET-KEY-1"}},
{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cluster-settings","namespace":"flux-system",
 "labels":{"app":"settings"}},"data":{"CLUSTER_NAME":"sim"}},
{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition",
 "metadata":{"name":"fluxinstances.fluxcd.controlplane.io"},
 "spec":{"group":"fluxcd.controlplane.io","scope":"Namespaced",
  "names":{"kind":"FluxInstance","plural":"fluxinstances","singular":"fluxinstance","shortNames":["fi"]},
  "versions":[{"name":"v1","served":true,"storage":true,"subresources":{"status":{}},
   "additionalPrinterColumns":[{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}],
   "schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}]}}
]})";

const char* kFluxInstance = R"(apiVersion: fluxcd.controlplane.io/v1
kind: FluxInstance
metadata:
  name: flux
  namespace: flux-system
spec:
  distribution:
    version: "2.x"
    registry: ghcr.io/fluxcd
)";

class KubectlTest : public ::testing::Test {
 protected:
  // openssl takes a while; one PKI serves every test of the suite.
  static void SetUpTestSuite() { pki_ = make_pki(); }
  static void TearDownTestSuite() { pki_.reset(); }
  static const Pki& pki() { return *pki_; }

  void SetUp() override {
    if (!fs::exists(kKubectl) || !fs::exists(kHelm)) GTEST_SKIP() << "no kubectl/helm in .tools/bin";
    ServerOptions o;
    o.cert_file = pki().server_crt.string();
    o.key_file = pki().server_key.string();
    o.client_ca_file = pki().ca.string();
    o.request_log = tmp_ / "requests.log";
    server_ = std::make_unique<ApiServer>(o);
    int port = server_->start();
    kubeconfig_ = tmp_ / "kubeconfig";
    write_file(kubeconfig_,
               "apiVersion: v1\nkind: Config\nclusters:\n- name: sim\n  cluster:\n"
               "    server: https://127.0.0.1:" + std::to_string(port) +
                   "\n    certificate-authority-data: " + b64(pki().ca_pem) +
                   "\nusers:\n- name: admin\n  user:\n    client-certificate-data: " +
                   b64(pki().client_pem) + "\n    client-key-data: " + b64(pki().client_key_pem) +
                   "\ncontexts:\n- name: sim\n  context:\n    cluster: sim\n    user: admin\n"
                   "current-context: sim\n",
               0600);
    env_ = {{"KUBECACHEDIR", (tmp_ / "cache").string()},
            {"HOME", tmp_.path().string()},
            {"KUBECONFIG", kubeconfig_.string()},
            {"HELM_CACHE_HOME", (tmp_ / "helm/cache").string()},
            {"HELM_CONFIG_HOME", (tmp_ / "helm/config").string()},
            {"HELM_DATA_HOME", (tmp_ / "helm/data").string()}};
  }

  void TearDown() override {
    if (server_) server_->stop();
  }

  RunResult kubectl(const std::vector<std::string>& args, const std::string& input = "") {
    std::vector<std::string> argv = {kKubectl, "--kubeconfig", kubeconfig_.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return fluxboot::testing::run(argv, env_, tmp_.path(), input, 60);
  }

  RunResult helm(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {kHelm, "--kubeconfig", kubeconfig_.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return fluxboot::testing::run(argv, env_, tmp_.path(), "", 60);
  }

  std::string request_log() const { return read_file(tmp_ / "requests.log"); }

  void put_node(const std::string& name, const std::string& ready) {
    server_->put({{"apiVersion", "v1"},
                  {"kind", "Node"},
                  {"metadata", {{"name", name}, {"labels", {{"kubernetes.io/hostname", name}}}}},
                  {"status",
                   {{"conditions", json::array({{{"type", "Ready"}, {"status", ready}}})},
                    {"nodeInfo", {{"kubeletVersion", "v1.32.3"}}}}}});
  }

  static inline std::unique_ptr<Pki> pki_;
  TempDir tmp_;
  std::unique_ptr<ApiServer> server_;
  fs::path kubeconfig_;
  std::map<std::string, std::string> env_;
};

#define EXPECT_OK(r) EXPECT_EQ((r).exit_code, 0) << "stdout: " << (r).out << "\nstderr: " << (r).err

TEST_F(KubectlTest, ServerSideAppliesBootstrapObjectsThenACustomResourceInASecondProcess) {
  RunResult r = kubectl({"apply", "--server-side", "--field-manager", "fluxboot", "--force-conflicts",
                         "-f", "-"},
                        kBootstrapObjects);
  EXPECT_OK(r);
  EXPECT_NE(r.out.find("namespace/flux-system serverside-applied"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("customresourcedefinition.apiextensions.k8s.io/fluxinstances.fluxcd.controlplane.io serverside-applied"),
            std::string::npos)
      << r.out;

  auto secret = server_->get("v1", "Secret", "flux-system", "sops-age");
  ASSERT_TRUE(secret);
  EXPECT_EQ((*secret)["data"]["age.agekey"], b64("AGE-SECRET-KEY-1"));
  EXPECT_FALSE(secret->contains("stringData"));
  auto ns = server_->get("v1", "Namespace", "", "flux-system");
  ASSERT_TRUE(ns);
  EXPECT_EQ((*ns)["status"]["phase"], "Active");
  EXPECT_EQ((*ns)["metadata"]["managedFields"][0]["manager"], "fluxboot");

  RunResult cr = kubectl({"apply", "--server-side", "--field-manager", "fluxboot", "-f", "-"}, kFluxInstance);
  EXPECT_OK(cr);
  EXPECT_NE(cr.out.find("fluxinstance.fluxcd.controlplane.io/flux serverside-applied"), std::string::npos);
  auto fi = server_->get("fluxcd.controlplane.io/v1", "FluxInstance", "flux-system", "flux");
  ASSERT_TRUE(fi);
  EXPECT_EQ((*fi)["spec"]["distribution"]["version"], "2.x");

  std::string log = request_log();
  EXPECT_NE(log.find("PATCH /api/v1/namespaces/flux-system "), std::string::npos) << log;
  EXPECT_NE(log.find("fieldManager=fluxboot&fieldValidation=Strict&force=true"), std::string::npos) << log;
  EXPECT_NE(log.find("application/apply-patch+yaml 201"), std::string::npos) << log;

  // The CR prints with the CRD's printer columns; a status flip shows up.
  server_->set_condition("fluxcd.controlplane.io/v1", "FluxInstance", "flux-system", "flux", "Ready", "True");
  RunResult get = kubectl({"get", "fluxinstances", "-n", "flux-system"});
  EXPECT_OK(get);
  EXPECT_NE(get.out.find("READY"), std::string::npos) << get.out;
  EXPECT_NE(get.out.find("True"), std::string::npos) << get.out;
}

TEST_F(KubectlTest, ReappliesWithoutChangesKeepTheResourceVersion) {
  ASSERT_EQ(kubectl({"apply", "--server-side", "-f", "-"}, kBootstrapObjects).exit_code, 0);
  auto before = server_->resource_version();
  RunResult again = kubectl({"apply", "--server-side", "-f", "-"}, kBootstrapObjects);
  EXPECT_OK(again);
  EXPECT_EQ(server_->resource_version(), before);
}

TEST_F(KubectlTest, GetsNamespacesAndNodesAsTablesAndJson) {
  put_node("cp-1", "True");
  put_node("worker-1", "False");
  RunResult ns = kubectl({"get", "ns"});
  EXPECT_OK(ns);
  EXPECT_NE(ns.out.find("kube-system"), std::string::npos) << ns.out;
  EXPECT_NE(ns.out.find("Active"), std::string::npos) << ns.out;
  RunResult nodes = kubectl({"get", "nodes", "-o", "json"});
  EXPECT_OK(nodes);
  json doc = json::parse(nodes.out);
  ASSERT_EQ(doc["items"].size(), 2u);
  EXPECT_EQ(doc["items"][0]["metadata"]["name"], "cp-1");
  RunResult table = kubectl({"get", "nodes"});
  EXPECT_NE(table.out.find("NotReady"), std::string::npos) << table.out;
}

TEST_F(KubectlTest, WaitsForNodesThatTurnReadyLater) {
  put_node("cp-1", "False");
  put_node("cp-2", "False");
  std::thread flipper([this] {
    std::this_thread::sleep_for(std::chrono::milliseconds(600));
    server_->set_condition("v1", "Node", "", "cp-1", "Ready", "True", "KubeletReady");
    server_->patch_status("v1", "Node", "", "cp-2",
                          {{"conditions", json::array({{{"type", "Ready"}, {"status", "True"}}})}});
  });
  auto start = Clock::now();
  RunResult r = kubectl({"wait", "--for=condition=Ready", "nodes", "--all", "--timeout=20s"});
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
  flipper.join();
  EXPECT_OK(r);
  EXPECT_NE(r.out.find("node/cp-1 condition met"), std::string::npos) << r.out;
  EXPECT_LT(ms, 8000);
  EXPECT_NE(request_log().find("watch=true"), std::string::npos);
}

TEST_F(KubectlTest, WaitsForACustomResourceThatASimulatedControllerMarksReady) {
  // The pattern a simulated controller uses: react in on_change, write later from another thread.
  std::vector<std::thread> workers;
  std::mutex mu;
  server_->on_change([&](const std::string& type, const json& obj) {
    if (type != "ADDED" || obj.value("kind", "") != "FluxInstance") return;
    std::lock_guard lock(mu);
    workers.emplace_back([this] {
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      server_->set_condition("fluxcd.controlplane.io/v1", "FluxInstance", "flux-system", "flux",
                             "Ready", "True", "ReconciliationSucceeded");
    });
  });
  ASSERT_EQ(kubectl({"apply", "--server-side", "-f", "-"}, kBootstrapObjects).exit_code, 0);
  ASSERT_EQ(kubectl({"apply", "--server-side", "-f", "-"}, kFluxInstance).exit_code, 0);
  RunResult ready = kubectl({"wait", "--for=condition=Ready", "fluxinstance/flux", "-n", "flux-system",
                             "--timeout=10s"});
  EXPECT_OK(ready);
  RunResult jsonpath = kubectl({"wait", "--for=jsonpath={.status.conditions[0].reason}=ReconciliationSucceeded",
                                "fluxinstance/flux", "-n", "flux-system", "--timeout=5s"});
  EXPECT_OK(jsonpath);
  std::thread deleter([this] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    server_->remove("fluxcd.controlplane.io/v1", "FluxInstance", "flux-system", "flux");
  });
  RunResult gone = kubectl({"wait", "--for=delete", "fluxinstance/flux", "-n", "flux-system", "--timeout=10s"});
  deleter.join();
  EXPECT_OK(gone);
  std::lock_guard lock(mu);
  for (auto& w : workers) w.join();
}

TEST_F(KubectlTest, WaitTimesOutOnANodeThatStaysNotReady) {
  put_node("cp-1", "False");
  RunResult r = kubectl({"wait", "--for=condition=Ready", "node/cp-1", "--timeout=1s"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("timed out waiting for the condition on nodes/cp-1"), std::string::npos) << r.err;
}

TEST_F(KubectlTest, WaitsForCrdEstablishedAndDeploymentPodsReady) {
  ASSERT_EQ(kubectl({"apply", "--server-side", "-f", "-"}, kBootstrapObjects).exit_code, 0);
  RunResult crd = kubectl({"wait", "--for=condition=established", "--timeout=5s",
                           "crd/fluxinstances.fluxcd.controlplane.io"});
  EXPECT_OK(crd);
  const char* deployment = R"({"apiVersion":"apps/v1","kind":"Deployment",
    "metadata":{"name":"flux-operator","namespace":"flux-system"},
    "spec":{"selector":{"matchLabels":{"app":"flux-operator"}},
      "template":{"metadata":{"labels":{"app":"flux-operator"}},
        "spec":{"containers":[{"name":"manager","image":"ghcr.io/controlplaneio-fluxcd/flux-operator:v0.1",
          "ports":[{"containerPort":8080,"name":"http"}]}]}}}})";
  EXPECT_OK(kubectl({"apply", "--server-side", "-f", "-"}, deployment));
  RunResult pods = kubectl({"wait", "pod", "-l", "app=flux-operator", "-n", "flux-system",
                            "--for=condition=ready", "--timeout=5s"});
  EXPECT_OK(pods);
  RunResult rollout = kubectl({"rollout", "status", "deployment/flux-operator", "-n", "flux-system",
                               "--timeout=5s"});
  EXPECT_OK(rollout);
  EXPECT_NE(rollout.out.find("successfully rolled out"), std::string::npos) << rollout.out;
}

TEST_F(KubectlTest, DiffServerSideReportsChangesWithoutPersistingThem) {
  const char* cm = R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"settings","namespace":"default"},"data":{"a":"1"}})";
  const char* changed = R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"settings","namespace":"default"},"data":{"a":"2"}})";
  ASSERT_EQ(kubectl({"apply", "--server-side", "-f", "-"}, cm).exit_code, 0);
  write_file(tmp_ / "same.json", cm);
  write_file(tmp_ / "changed.json", changed);
  RunResult same = kubectl({"diff", "--server-side", "-f", (tmp_ / "same.json").string()});
  EXPECT_EQ(same.exit_code, 0) << same.out << same.err;
  RunResult diff = kubectl({"diff", "--server-side", "-f", (tmp_ / "changed.json").string()});
  EXPECT_EQ(diff.exit_code, 1) << diff.out << diff.err;
  EXPECT_NE(diff.out.find("+  a: \"2\""), std::string::npos) << diff.out;
  EXPECT_EQ((*server_->get("v1", "ConfigMap", "default", "settings"))["data"]["a"], "1");
  EXPECT_NE(request_log().find("dryRun=All"), std::string::npos);
}

TEST_F(KubectlTest, DeletesAndReportsNotFoundLikeARealServer) {
  ASSERT_EQ(kubectl({"apply", "--server-side", "-f", "-"}, kBootstrapObjects).exit_code, 0);
  RunResult del = kubectl({"delete", "configmap", "cluster-settings", "-n", "flux-system"});
  EXPECT_OK(del);
  EXPECT_NE(del.out.find("configmap \"cluster-settings\" deleted"), std::string::npos) << del.out;
  EXPECT_FALSE(server_->get("v1", "ConfigMap", "flux-system", "cluster-settings"));
  RunResult missing = kubectl({"get", "configmap", "cluster-settings", "-n", "flux-system"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("Error from server (NotFound): configmaps \"cluster-settings\" not found"),
            std::string::npos)
      << missing.err;
  RunResult no_ns = kubectl({"get", "secret", "x", "-n", "nonexist"});
  EXPECT_NE(no_ns.err.find("namespaces \"nonexist\" not found"), std::string::npos) << no_ns.err;
  EXPECT_OK(kubectl({"delete", "configmap", "cluster-settings", "-n", "flux-system", "--ignore-not-found"}));
  // Deleting the namespace takes what's in it.
  EXPECT_OK(kubectl({"delete", "namespace", "flux-system"}));
  EXPECT_FALSE(server_->get("v1", "Secret", "flux-system", "sops-age"));
}

TEST_F(KubectlTest, SelectsByLabel) {
  for (const auto& [name, app] : std::vector<std::pair<std::string, std::string>>{
           {"a1", "a"}, {"a2", "a"}, {"b1", "b"}}) {
    server_->put({{"apiVersion", "v1"},
                  {"kind", "ConfigMap"},
                  {"metadata", {{"name", name}, {"namespace", "default"}, {"labels", {{"app", app}}}}}});
  }
  RunResult r = kubectl({"get", "cm", "-l", "app=a", "-o", "name"});
  EXPECT_OK(r);
  EXPECT_EQ(r.out, "configmap/a1\nconfigmap/a2\n");
  RunResult notin = kubectl({"get", "cm", "-l", "app notin (a)", "-o", "name"});
  EXPECT_EQ(notin.out, "configmap/b1\n");
  RunResult all = kubectl({"get", "cm", "-A", "-l", "app", "-o", "name"});
  EXPECT_EQ(all.out, "configmap/a1\nconfigmap/a2\nconfigmap/b1\n");
}

TEST_F(KubectlTest, TypedClientCreatesSendProtobufAndWork) {
  EXPECT_OK(kubectl({"create", "namespace", "apps"}));
  EXPECT_OK(kubectl({"create", "secret", "generic", "creds", "-n", "apps", "--from-literal=token=s3cret"}));
  EXPECT_OK(kubectl({"create", "configmap", "cfg", "-n", "apps", "--from-literal=k=v"}));
  auto secret = server_->get("v1", "Secret", "apps", "creds");
  ASSERT_TRUE(secret);
  EXPECT_EQ((*secret)["data"]["token"], b64("s3cret"));
  EXPECT_EQ((*server_->get("v1", "ConfigMap", "apps", "cfg"))["data"]["k"], "v");
  EXPECT_NE(request_log().find("application/vnd.kubernetes.protobuf 201"), std::string::npos);
  RunResult again = kubectl({"create", "namespace", "apps"});
  EXPECT_NE(again.err.find("AlreadyExists"), std::string::npos) << again.err;
}

TEST_F(KubectlTest, ClientSideApplyAndPatchesWork) {
  const char* deployment = R"({"apiVersion":"apps/v1","kind":"Deployment",
    "metadata":{"name":"web","namespace":"default"},
    "spec":{"replicas":1,"selector":{"matchLabels":{"app":"web"}},
      "template":{"metadata":{"labels":{"app":"web"}},
        "spec":{"containers":[{"name":"web","image":"nginx:1","ports":[{"containerPort":80}]}]}}}})";
  EXPECT_OK(kubectl({"apply", "-f", "-"}, deployment));
  std::string v2 = deployment;
  v2.replace(v2.find("nginx:1"), 7, "nginx:2");
  EXPECT_OK(kubectl({"apply", "-f", "-"}, v2));
  auto d = server_->get("apps/v1", "Deployment", "default", "web");
  ASSERT_TRUE(d);
  EXPECT_EQ((*d)["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:2");
  EXPECT_EQ((*d)["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"], 80);
  EXPECT_EQ((*d)["metadata"]["generation"], 2);
  EXPECT_EQ(server_->list("apps/v1", "ReplicaSet", "default").size(), 2u);
  EXPECT_OK(kubectl({"label", "deployment", "web", "tier=frontend"}));
  EXPECT_OK(kubectl({"patch", "deployment", "web", "--type=json", "-p",
                     R"([{"op":"replace","path":"/spec/replicas","value":3}])"}));
  EXPECT_OK(kubectl({"scale", "deployment", "web", "--replicas=2"}));
  d = server_->get("apps/v1", "Deployment", "default", "web");
  EXPECT_EQ((*d)["metadata"]["labels"]["tier"], "frontend");
  EXPECT_EQ((*d)["spec"]["replicas"], 2);
  EXPECT_EQ((*d)["status"]["readyReplicas"], 2);
  EXPECT_EQ(server_->list("v1", "Pod", "default").size(), 2u);
}

TEST_F(KubectlTest, ApplyOfFiftyObjectsHasNoNagleStall) {
  std::string items;
  for (int i = 0; i < 50; ++i) {
    items += std::string(i == 0 ? "" : ",") +
             R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm-)" + std::to_string(i) +
             R"(","namespace":"default"},"data":{"k":"v"}})";
  }
  std::string list = R"({"apiVersion":"v1","kind":"List","items":[)" + items + "]}";
  ASSERT_EQ(kubectl({"get", "ns"}).exit_code, 0);  // warm the discovery cache
  auto start = Clock::now();
  RunResult r = kubectl({"apply", "--server-side", "-f", "-"}, list);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
  EXPECT_OK(r);
  EXPECT_EQ(server_->list("v1", "ConfigMap", "default").size(), 50u);
  std::cout << "[ timing   ] 50-object server-side apply: " << ms << " ms\n";
  EXPECT_LT(ms, 1500) << "a ~40 ms stall per request (Nagle) would make this ~2 s";
}

TEST_F(KubectlTest, UnavailableServerAndInjectedFailures) {
  server_->set_available(false);
  RunResult down = kubectl({"get", "ns"});
  EXPECT_NE(down.exit_code, 0);
  EXPECT_NE(down.err.find("ServiceUnavailable"), std::string::npos) << down.err;
  server_->set_available(true);

  // A 429 with Retry-After is retried by client-go; without it the command fails once.
  server_->fail_next(1, 429, "/api/v1/namespaces", 1);
  auto start = Clock::now();
  RunResult retried = kubectl({"get", "ns", "default", "-o", "name"});
  EXPECT_OK(retried);
  EXPECT_GE(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count(), 900);
  server_->fail_next(1, 429, "/api/v1/namespaces");
  RunResult failed = kubectl({"get", "ns", "default", "-o", "name"});
  EXPECT_NE(failed.exit_code, 0);
  EXPECT_NE(failed.err.find("TooManyRequests"), std::string::npos) << failed.err;
  EXPECT_OK(kubectl({"get", "ns", "default", "-o", "name"}));
  EXPECT_NE(request_log().find("GET /api/v1/namespaces/default - - 429"), std::string::npos)
      << request_log();
}

TEST_F(KubectlTest, ApplyConflictNeedsForceConflicts) {
  ASSERT_EQ(kubectl({"apply", "--server-side", "--field-manager", "fluxboot", "-f", "-"}, kBootstrapObjects).exit_code, 0);
  server_->inject_apply_conflict(1, "helm");
  RunResult conflict = kubectl({"apply", "--server-side", "--field-manager", "fluxboot", "-f", "-"},
                               kBootstrapObjects);
  EXPECT_NE(conflict.exit_code, 0);
  EXPECT_NE(conflict.err.find("conflict with \"helm\""), std::string::npos) << conflict.err;
  server_->inject_apply_conflict(1, "helm");
  EXPECT_OK(kubectl({"apply", "--server-side", "--field-manager", "fluxboot", "--force-conflicts",
                     "-f", "-"},
                    kBootstrapObjects));
}

void write_chart(const fs::path& dir, int replicas) {
  write_file(dir / "Chart.yaml", "apiVersion: v2\nname: demo\nversion: 0.1.0\n");
  write_file(dir / "crds/widgets.yaml", R"(apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.demo.example.com
spec:
  group: demo.example.com
  scope: Namespaced
  names: {kind: Widget, plural: widgets, singular: widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
)");
  write_file(dir / "values.yaml", "replicas: " + std::to_string(replicas) + "\n");
  write_file(dir / "templates/all.yaml", R"(apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ .Release.Name }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}
spec:
  selector: {app: {{ .Release.Name }}}
  ports:
  - port: 80
    targetPort: http
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
spec:
  replicas: {{ .Values.replicas }}
  selector:
    matchLabels: {app: {{ .Release.Name }}}
  template:
    metadata:
      labels: {app: {{ .Release.Name }}}
    spec:
      serviceAccountName: {{ .Release.Name }}
      containers:
      - name: app
        image: nginx:1
        ports:
        - {name: http, containerPort: 8080}
---
apiVersion: demo.example.com/v1
kind: Widget
metadata:
  name: {{ .Release.Name }}
spec: {size: 3}
)");
}

TEST_F(KubectlTest, HelmInstallsUpgradesListsAndUninstallsAChart) {
  write_chart(tmp_ / "chart", 1);
  RunResult install = helm({"upgrade", "--install", "demo", (tmp_ / "chart").string(), "-n", "apps",
                            "--create-namespace", "--wait", "--timeout", "30s"});
  EXPECT_OK(install);
  EXPECT_TRUE(server_->get("apiextensions.k8s.io/v1", "CustomResourceDefinition", "",
                           "widgets.demo.example.com"));
  EXPECT_TRUE(server_->get("demo.example.com/v1", "Widget", "apps", "demo"));
  auto svc = server_->get("v1", "Service", "apps", "demo");
  ASSERT_TRUE(svc);
  EXPECT_FALSE((*svc)["spec"]["clusterIP"].get<std::string>().empty());
  auto release = server_->get("v1", "Secret", "apps", "sh.helm.release.v1.demo.v1");
  ASSERT_TRUE(release);
  EXPECT_EQ((*release)["type"], "helm.sh/release.v1");
  EXPECT_EQ((*release)["metadata"]["labels"]["status"], "deployed");

  RunResult list = helm({"list", "-n", "apps"});
  EXPECT_OK(list);
  EXPECT_NE(list.out.find("deployed"), std::string::npos) << list.out;

  write_chart(tmp_ / "chart", 2);
  RunResult upgrade = helm({"upgrade", "--install", "demo", (tmp_ / "chart").string(), "-n", "apps",
                            "--wait", "--timeout", "30s"});
  EXPECT_OK(upgrade);
  auto d = server_->get("apps/v1", "Deployment", "default", "demo");
  d = server_->get("apps/v1", "Deployment", "apps", "demo");
  ASSERT_TRUE(d);
  EXPECT_EQ((*d)["spec"]["replicas"], 2);
  EXPECT_EQ((*d)["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"], 8080);
  EXPECT_EQ(server_->list("apps/v1", "ReplicaSet", "apps").size(), 1u);
  EXPECT_NE(request_log().find("application/strategic-merge-patch+json 200"), std::string::npos);

  RunResult uninstall = helm({"uninstall", "demo", "-n", "apps", "--wait"});
  EXPECT_OK(uninstall);
  EXPECT_FALSE(server_->get("apps/v1", "Deployment", "apps", "demo"));
  EXPECT_TRUE(server_->list("v1", "Pod", "apps").empty());
  EXPECT_TRUE(server_->list("v1", "Secret", "apps").empty());
}

}  // namespace
}  // namespace fluxboot::sim
