// The API server's Go-facing behaviour, in process: the object store and its controllers through
// the C++ interface, and the HTTP surface through a plain-HTTP client.
#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "sim/api/api_server.hpp"
#include "support/test_support.hpp"

namespace fluxboot::sim {
namespace {

using json = nlohmann::json;
using fluxboot::testing::read_file;
using fluxboot::testing::TempDir;
using Clock = std::chrono::steady_clock;

json deployment(const std::string& name, int replicas, const std::string& image) {
  return json{{"apiVersion", "apps/v1"},
              {"kind", "Deployment"},
              {"metadata", {{"name", name}, {"namespace", "default"}}},
              {"spec",
               {{"replicas", replicas},
                {"selector", {{"matchLabels", {{"app", name}}}}},
                {"template",
                 {{"metadata", {{"labels", {{"app", name}}}}},
                  {"spec", {{"containers", json::array({{{"name", "app"}, {"image", image}}})}}}}}}}};
}

json crd() {
  return json::parse(R"({"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition",
    "metadata":{"name":"widgets.demo.example.com"},
    "spec":{"group":"demo.example.com","scope":"Namespaced",
      "names":{"kind":"Widget","plural":"widgets"},
      "versions":[{"name":"v1","served":true,"storage":true,"subresources":{"status":{}}}]}})");
}

template <typename Pred>
bool eventually(Pred pred, int ms = 3000) {
  auto until = Clock::now() + std::chrono::milliseconds(ms);
  while (Clock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

TEST(ApiStore, PutFillsMetadataAndBumpsGenerationOnlyWhenTheSpecChanges) {
  ApiServer server(ServerOptions{});
  json cm = server.put({{"apiVersion", "v1"}, {"kind", "ConfigMap"},
                        {"metadata", {{"name", "c"}, {"namespace", "default"}}}, {"data", {{"k", "1"}}}});
  EXPECT_FALSE(cm["metadata"]["uid"].get<std::string>().empty());
  EXPECT_FALSE(cm["metadata"]["creationTimestamp"].get<std::string>().empty());
  EXPECT_EQ(cm["metadata"]["generation"], 1);
  auto rv = server.resource_version();
  EXPECT_EQ(cm["metadata"]["resourceVersion"], std::to_string(rv));
  cm["metadata"]["labels"] = {{"x", "y"}};
  json relabelled = server.put(cm);
  EXPECT_EQ(relabelled["metadata"]["generation"], 1);
  EXPECT_EQ(relabelled["metadata"]["uid"], cm["metadata"]["uid"]);
  cm["data"]["k"] = "2";
  EXPECT_EQ(server.put(cm)["metadata"]["generation"], 2);
  auto before = server.resource_version();
  server.put(cm);  // identical: no new version
  EXPECT_EQ(server.resource_version(), before);
  EXPECT_THROW(server.put({{"apiVersion", "v9"}, {"kind", "Nope"}, {"metadata", {{"name", "x"}}}}),
               std::invalid_argument);
}

TEST(ApiStore, StatusSurvivesReplacementsAndMergesOnPatch) {
  ApiServer server(ServerOptions{});
  server.put({{"apiVersion", "v1"}, {"kind", "Node"}, {"metadata", {{"name", "n1"}}},
              {"status", {{"conditions", json::array({{{"type", "Ready"}, {"status", "False"}}})}}}});
  server.put({{"apiVersion", "v1"}, {"kind", "Node"},
              {"metadata", {{"name", "n1"}, {"labels", {{"role", "cp"}}}}}});
  auto node = server.get("v1", "Node", "", "n1");
  ASSERT_TRUE(node);
  EXPECT_EQ((*node)["status"]["conditions"][0]["status"], "False");
  server.patch_status("v1", "Node", "", "n1", {{"nodeInfo", {{"kubeletVersion", "v1.32.3"}}}});
  server.set_condition("v1", "Node", "", "n1", "Ready", "True", "KubeletReady");
  node = server.get("v1", "Node", "", "n1");
  EXPECT_EQ((*node)["status"]["nodeInfo"]["kubeletVersion"], "v1.32.3");
  EXPECT_EQ((*node)["status"]["conditions"][0]["status"], "True");
  EXPECT_EQ((*node)["status"]["conditions"][0]["reason"], "KubeletReady");
  EXPECT_THROW(server.patch_status("v1", "Node", "", "missing", json::object()), std::out_of_range);
  EXPECT_TRUE(server.remove("v1", "Node", "", "n1"));
  EXPECT_FALSE(server.remove("v1", "Node", "", "n1"));
}

TEST(ApiStore, SeedsSystemNamespacesWithDefaultServiceAccounts) {
  ApiServer server(ServerOptions{});
  for (const char* ns : {"default", "kube-system", "kube-public", "kube-node-lease"}) {
    auto n = server.get("v1", "Namespace", "", ns);
    ASSERT_TRUE(n) << ns;
    EXPECT_EQ((*n)["status"]["phase"], "Active");
    EXPECT_EQ((*n)["metadata"]["labels"]["kubernetes.io/metadata.name"], ns);
    EXPECT_TRUE(server.get("v1", "ServiceAccount", ns, "default")) << ns;
  }
  EXPECT_EQ((*server.get("v1", "Service", "default", "kubernetes"))["spec"]["clusterIP"], "10.96.0.1");
}

TEST(ApiControllers, DeploymentGetsOneReplicaSetPerTemplateAndReadyPods) {
  ApiServer server(ServerOptions{});
  std::vector<std::string> events;
  std::mutex mu;
  server.on_change([&](const std::string& type, const json& obj) {
    std::lock_guard lock(mu);
    events.push_back(type + " " + obj.value("kind", ""));
  });
  server.put(deployment("web", 2, "nginx:1"));
  auto d = server.get("apps/v1", "Deployment", "default", "web");
  ASSERT_TRUE(d);
  EXPECT_EQ((*d)["spec"]["strategy"]["rollingUpdate"]["maxSurge"], "25%");
  EXPECT_EQ((*d)["status"]["readyReplicas"], 2);
  EXPECT_EQ((*d)["status"]["observedGeneration"], (*d)["metadata"]["generation"]);
  auto rss = server.list("apps/v1", "ReplicaSet", "default");
  ASSERT_EQ(rss.size(), 1u);
  EXPECT_EQ(rss[0]["metadata"]["ownerReferences"][0]["uid"], (*d)["metadata"]["uid"]);
  EXPECT_EQ(rss[0]["status"]["readyReplicas"], 2);
  std::string hash = rss[0]["metadata"]["labels"]["pod-template-hash"];
  auto pods = server.list("v1", "Pod", "default");
  ASSERT_EQ(pods.size(), 2u);
  EXPECT_EQ(pods[0]["metadata"]["labels"]["app"], "web");
  EXPECT_EQ(pods[0]["metadata"]["labels"]["pod-template-hash"], hash);
  {
    std::lock_guard lock(mu);
    ASSERT_GE(events.size(), 4u);
    EXPECT_EQ(events[0], "ADDED Deployment");  // the write first, then what controllers did
    EXPECT_EQ(events[1], "ADDED ReplicaSet");
  }

  // Replicas only: same ReplicaSet, scaled.
  server.put(deployment("web", 3, "nginx:1"));
  EXPECT_EQ(server.list("apps/v1", "ReplicaSet", "default").size(), 1u);
  EXPECT_EQ(server.list("v1", "Pod", "default").size(), 3u);
  // New template: a second ReplicaSet, the old one scaled to zero and its pods gone.
  server.put(deployment("web", 3, "nginx:2"));
  rss = server.list("apps/v1", "ReplicaSet", "default");
  ASSERT_EQ(rss.size(), 2u);
  int zero = 0;
  for (const auto& rs : rss) zero += rs["spec"]["replicas"] == 0 ? 1 : 0;
  EXPECT_EQ(zero, 1);
  pods = server.list("v1", "Pod", "default");
  ASSERT_EQ(pods.size(), 3u);
  EXPECT_EQ(pods[0]["spec"]["containers"][0]["image"], "nginx:2");
  // Deleting the Deployment collects its ReplicaSets and pods.
  EXPECT_TRUE(server.remove("apps/v1", "Deployment", "default", "web"));
  EXPECT_TRUE(server.list("apps/v1", "ReplicaSet", "default").empty());
  EXPECT_TRUE(server.list("v1", "Pod", "default").empty());
}

TEST(ApiControllers, PodsCanStartNotReadyUntilATestFlipsThem) {
  ServerOptions o;
  o.deployment_pods_ready = false;
  ApiServer server(o);
  server.put(deployment("op", 1, "op:1"));
  auto d = server.get("apps/v1", "Deployment", "default", "op");
  EXPECT_EQ((*d)["status"]["readyReplicas"], 0);
  EXPECT_EQ((*d)["status"]["conditions"][0]["status"], "False");
  auto pods = server.list("v1", "Pod", "default");
  ASSERT_EQ(pods.size(), 1u);
  server.set_condition("v1", "Pod", "default", pods[0]["metadata"]["name"], "Ready", "True");
  d = server.get("apps/v1", "Deployment", "default", "op");
  EXPECT_EQ((*d)["status"]["readyReplicas"], 1);
  EXPECT_EQ((*d)["status"]["conditions"][0]["status"], "True");
}

TEST(ApiControllers, CrdServesItsResourcesUntilDeleted) {
  ApiServer server(ServerOptions{});
  json stored = server.put(crd());
  EXPECT_EQ(stored["status"]["acceptedNames"]["kind"], "Widget");
  EXPECT_EQ(stored["status"]["conditions"][1]["type"], "Established");
  EXPECT_EQ(stored["status"]["conditions"][1]["status"], "True");
  server.put({{"apiVersion", "demo.example.com/v1"}, {"kind", "Widget"},
              {"metadata", {{"name", "w"}, {"namespace", "default"}}}});
  EXPECT_TRUE(server.get("demo.example.com/v1", "Widget", "default", "w"));
  EXPECT_TRUE(server.remove("apiextensions.k8s.io/v1", "CustomResourceDefinition", "",
                            "widgets.demo.example.com"));
  EXPECT_FALSE(server.get("demo.example.com/v1", "Widget", "default", "w"));
  EXPECT_THROW(server.put({{"apiVersion", "demo.example.com/v1"}, {"kind", "Widget"},
                           {"metadata", {{"name", "w"}, {"namespace", "default"}}}}),
               std::invalid_argument);
}

TEST(ApiControllers, ServicesGetClusterIpsAndSecretsFoldStringData) {
  ApiServer server(ServerOptions{});
  json svc = server.put({{"apiVersion", "v1"}, {"kind", "Service"},
                         {"metadata", {{"name", "s"}, {"namespace", "default"}}},
                         {"spec", {{"ports", json::array({{{"port", 80}}})}}}});
  EXPECT_EQ(svc["spec"]["type"], "ClusterIP");
  EXPECT_FALSE(svc["spec"]["clusterIP"].get<std::string>().empty());
  EXPECT_EQ(svc["spec"]["ports"][0]["targetPort"], 80);
  json secret = server.put({{"apiVersion", "v1"}, {"kind", "Secret"},
                            {"metadata", {{"name", "x"}, {"namespace", "default"}}},
                            {"data", {{"a", "YQ=="}}}, {"stringData", {{"b", "bb"}}}});
  EXPECT_EQ(secret["data"], json({{"a", "YQ=="}, {"b", "YmI="}}));
  EXPECT_EQ(secret["type"], "Opaque");
}

TEST(ApiControllers, BarePodsRunAndClaimsBindAtOnce) {
  ApiServer server(ServerOptions{});
  server.put({{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", {{"name", "p"}, {"namespace", "default"}}},
              {"spec", {{"containers", json::array({{{"name", "c"}, {"image", "busybox"}}})}}}});
  auto pod = server.get("v1", "Pod", "default", "p");
  EXPECT_EQ((*pod)["status"]["phase"], "Running");
  EXPECT_EQ((*pod)["status"]["containerStatuses"][0]["ready"], true);
  json pvc = server.put({{"apiVersion", "v1"}, {"kind", "PersistentVolumeClaim"},
                         {"metadata", {{"name", "data"}, {"namespace", "default"}}},
                         {"spec", {{"resources", {{"requests", {{"storage", "1Gi"}}}}}}}});
  EXPECT_EQ(pvc["status"]["phase"], "Bound");
  EXPECT_EQ(pvc["status"]["capacity"]["storage"], "1Gi");
  json job = server.put({{"apiVersion", "batch/v1"}, {"kind", "Job"},
                         {"metadata", {{"name", "j"}, {"namespace", "default"}}}, {"spec", json::object()}});
  EXPECT_EQ((*server.get("batch/v1", "Job", "default", "j"))["status"]["succeeded"], 1);
}

class ApiHttp : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions o;
    o.request_log = tmp_ / "requests.log";
    server_ = std::make_unique<ApiServer>(o);
    port_ = server_->start();
  }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(10);
    return c;
  }
  static json body(const httplib::Result& r) { return json::parse(r->body); }

  TempDir tmp_;
  std::unique_ptr<ApiServer> server_;
  int port_ = 0;
};

TEST_F(ApiHttp, ServesAggregatedDiscoveryWithItsExactContentTypeAndLegacyOtherwise) {
  auto c = client();
  auto agg = c.Get("/apis", {{"Accept", "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"}});
  ASSERT_TRUE(agg);
  EXPECT_EQ(agg->get_header_value("Content-Type"),
            "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList");
  EXPECT_EQ(body(agg)["kind"], "APIGroupDiscoveryList");
  auto legacy = c.Get("/api");
  EXPECT_EQ(body(legacy)["kind"], "APIVersions");
  auto rl = c.Get("/apis/apps/v1");
  EXPECT_EQ(body(rl)["resources"][0]["name"], "deployments");
  auto version = c.Get("/version");
  EXPECT_EQ(body(version)["minor"], "32");
  auto root = c.Get("/openapi/v3");
  std::string url = body(root)["paths"]["api/v1"]["serverRelativeURL"];
  auto doc = c.Get(url);
  ASSERT_TRUE(doc);
  json patch = body(doc)["paths"]["/api/v1/namespaces/{name}"]["patch"];
  EXPECT_EQ(patch["x-kubernetes-group-version-kind"]["kind"], "Namespace");
  EXPECT_EQ(body(c.Get("/openapi/v2"))["swagger"], "2.0");
}

TEST_F(ApiHttp, AnswersStatusErrorsLikeARealServer) {
  auto c = client();
  auto missing = c.Get("/apis/apps/v1/namespaces/default/deployments/nope");
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(body(missing), json::parse(R"({"kind":"Status","apiVersion":"v1","metadata":{},
    "status":"Failure","message":"deployments.apps \"nope\" not found","reason":"NotFound",
    "details":{"name":"nope","group":"apps","kind":"deployments"},"code":404})"));
  std::string cm = R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"}})";
  auto no_ns = c.Post("/api/v1/namespaces/ghost/configmaps", cm, "application/json");
  EXPECT_EQ(no_ns->status, 404);
  EXPECT_EQ(body(no_ns)["message"], "namespaces \"ghost\" not found");
  // The same keep-alive connection still works after an early error (the body was drained).
  EXPECT_EQ(c.Post("/api/v1/namespaces/default/configmaps", cm, "application/json")->status, 201);
  auto dup = c.Post("/api/v1/namespaces/default/configmaps", cm, "application/json");
  EXPECT_EQ(dup->status, 409);
  EXPECT_EQ(body(dup)["reason"], "AlreadyExists");
  auto stale = c.Put("/api/v1/namespaces/default/configmaps/c",
                     R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","resourceVersion":"1"}})",
                     "application/json");
  EXPECT_EQ(stale->status, 409);
  EXPECT_EQ(body(stale)["reason"], "Conflict");
  auto bad_name = c.Post("/api/v1/namespaces/default/configmaps",
                         R"({"metadata":{"name":"Not_Valid"}})", "application/json");
  EXPECT_EQ(bad_name->status, 422);
  EXPECT_EQ(body(bad_name)["reason"], "Invalid");
  auto no_manager = c.Patch("/api/v1/namespaces/default/configmaps/c", cm, "application/apply-patch+yaml");
  EXPECT_EQ(no_manager->status, 422);
  auto unknown = c.Patch("/api/v1/namespaces/default/configmaps/c", cm, "text/plain");
  EXPECT_EQ(unknown->status, 415);
  EXPECT_EQ(body(unknown)["reason"], "UnsupportedMediaType");
  server_->put(crd());
  server_->put({{"apiVersion", "demo.example.com/v1"}, {"kind", "Widget"},
                {"metadata", {{"name", "w"}, {"namespace", "default"}}}});
  EXPECT_EQ(c.Patch("/apis/demo.example.com/v1/namespaces/default/widgets/w", "{}",
                    "application/strategic-merge-patch+json")->status, 415);
  EXPECT_EQ(c.Patch("/apis/demo.example.com/v1/namespaces/default/widgets/w",
                    R"({"spec":{"a":1}})", "application/merge-patch+json")->status, 200);
}

TEST_F(ApiHttp, ServerSideApplyCreatesThenMergesAndDryRunPersistsNothing) {
  auto c = client();
  std::string path = "/api/v1/namespaces/default/configmaps/app?fieldManager=fluxboot&force=true";
  std::string v1 = R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"app"},"data":{"a":"1"}})";
  std::string v2 = R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"app"},"data":{"b":"2"}})";
  EXPECT_EQ(c.Patch(path + "&dryRun=All", v1, "application/apply-patch+yaml")->status, 201);
  EXPECT_FALSE(server_->get("v1", "ConfigMap", "default", "app"));
  EXPECT_EQ(c.Patch(path, v1, "application/apply-patch+yaml")->status, 201);
  auto merged = c.Patch(path, v2, "application/apply-patch+yaml");
  EXPECT_EQ(merged->status, 200);
  EXPECT_EQ(body(merged)["data"], json({{"a", "1"}, {"b", "2"}}));
  EXPECT_EQ(body(merged)["metadata"]["managedFields"][0]["operation"], "Apply");
  // /status writes only touch .status; main-resource writes keep it.
  server_->put(deployment("web", 1, "nginx:1"));
  auto st = c.Patch("/apis/apps/v1/namespaces/default/deployments/web/status",
                    R"({"status":{"observedGeneration":99},"spec":{"replicas":5}})",
                    "application/merge-patch+json");
  EXPECT_EQ(st->status, 200);
  EXPECT_EQ(body(st)["spec"]["replicas"], 1);
  EXPECT_EQ(body(st)["status"]["observedGeneration"], 99);
}

TEST_F(ApiHttp, WatchStreamsNewerEventsUntilDropped) {
  auto c = client();
  auto list = c.Get("/api/v1/namespaces/default/configmaps");
  std::string rv = body(list)["metadata"]["resourceVersion"];
  server_->put({{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", "before"}, {"namespace", "default"}}}});
  std::string received;
  std::mutex mu;
  std::atomic<bool> ended{false};
  std::thread watcher([&] {
    auto wc = client();
    wc.Get("/api/v1/namespaces/default/configmaps?watch=true&labelSelector=app%3Dx&resourceVersion=" + rv,
           [&](const char* data, size_t n) {
             std::lock_guard lock(mu);
             received.append(data, n);
             return true;
           });
    ended = true;
  });
  server_->put({{"apiVersion", "v1"}, {"kind", "ConfigMap"},
                {"metadata", {{"name", "match"}, {"namespace", "default"}, {"labels", {{"app", "x"}}}}}});
  server_->put({{"apiVersion", "v1"}, {"kind", "ConfigMap"},
                {"metadata", {{"name", "other"}, {"namespace", "default"}, {"labels", {{"app", "y"}}}}}});
  EXPECT_TRUE(eventually([&] {
    std::lock_guard lock(mu);
    return received.find("\"match\"") != std::string::npos;
  }));
  server_->remove("v1", "ConfigMap", "default", "match");
  EXPECT_TRUE(eventually([&] {
    std::lock_guard lock(mu);
    return received.find("DELETED") != std::string::npos;
  }));
  server_->drop_watches();
  EXPECT_TRUE(eventually([&] { return ended.load(); }));
  watcher.join();
  std::lock_guard lock(mu);
  EXPECT_EQ(received.find("\"before\""), std::string::npos);
  EXPECT_EQ(received.find("\"other\""), std::string::npos);
  auto first = json::parse(received.substr(0, received.find('\n')));
  EXPECT_EQ(first["type"], "ADDED");
  EXPECT_EQ(first["object"]["kind"], "ConfigMap");
}

TEST_F(ApiHttp, WatchEndsAfterTimeoutSecondsAndSendsInitialEventsForResourceVersionZero) {
  auto c = client();
  auto start = Clock::now();
  auto r = c.Get("/api/v1/namespaces?watch=true&resourceVersion=0&timeoutSeconds=1");
  ASSERT_TRUE(r);
  EXPECT_GE(Clock::now() - start, std::chrono::milliseconds(900));
  EXPECT_NE(r->body.find("\"kube-system\""), std::string::npos);
  auto wl = c.Get("/api/v1/namespaces?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=1");
  EXPECT_NE(wl->body.find("k8s.io/initial-events-end"), std::string::npos);
}

TEST_F(ApiHttp, LogsEveryRequestAndServesControlRoutesDuringOutages) {
  server_->add_control_route("POST", "/_sim/talos/", [](const ControlRequest& req) {
    ControlResponse r;
    r.body = json{{"path", req.path}, {"body", req.body}, {"q", req.query.count("x") ? req.query.at("x") : ""}}.dump();
    return r;
  });
  server_->set_available(false);
  auto c = client();
  auto ctl = c.Post("/_sim/talos/bootstrap?x=1", "hello", "text/plain");
  ASSERT_TRUE(ctl);
  EXPECT_EQ(body(ctl), json({{"path", "/_sim/talos/bootstrap"}, {"body", "hello"}, {"q", "1"}}));
  auto down = c.Get("/readyz");
  EXPECT_EQ(down->status, 503);
  EXPECT_EQ(body(down)["reason"], "ServiceUnavailable");
  server_->set_available(true);
  EXPECT_EQ(c.Get("/readyz")->status, 200);
  server_->fail_next(2, 500, "/api/v1/nodes", 3);
  auto f1 = c.Get("/api/v1/nodes");
  EXPECT_EQ(f1->status, 500);
  EXPECT_EQ(f1->get_header_value("Retry-After"), "3");
  EXPECT_EQ(c.Get("/api/v1/namespaces")->status, 200);  // other paths unaffected
  EXPECT_EQ(c.Get("/api/v1/nodes")->status, 500);
  EXPECT_EQ(c.Get("/api/v1/nodes")->status, 200);
  server_->set_latency(std::chrono::milliseconds(150));
  auto start = Clock::now();
  c.Get("/version");
  EXPECT_GE(Clock::now() - start, std::chrono::milliseconds(140));
  server_->set_latency(std::chrono::milliseconds(0));
  c.Patch("/api/v1/namespaces/default/configmaps/x?fieldManager=fluxboot&force=true",
          R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"}})",
          "application/apply-patch+yaml");
  std::string log = read_file(tmp_ / "requests.log");
  EXPECT_NE(log.find("POST /_sim/talos/bootstrap x=1 text/plain 200 "), std::string::npos) << log;
  EXPECT_NE(log.find("GET /readyz - - 503 "), std::string::npos) << log;
  EXPECT_NE(log.find("PATCH /api/v1/namespaces/default/configmaps/x fieldManager=fluxboot&force=true "
                     "application/apply-patch+yaml 201 "),
            std::string::npos)
      << log;
  EXPECT_GE(server_->request_count(), 9u);
}

TEST_F(ApiHttp, StopsPromptlyWithAnIdleKeepAliveConnectionAndAnOpenWatch) {
  auto c = client();
  c.set_keep_alive(true);
  ASSERT_EQ(c.Get("/version")->status, 200);
  std::thread watcher([this] {
    auto wc = client();
    wc.Get("/api/v1/nodes?watch=true&resourceVersion=1", [](const char*, size_t) { return true; });
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto start = Clock::now();
  server_->stop();
  EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(1500));
  watcher.join();
}

}  // namespace
}  // namespace fluxboot::sim
