#include "stages/readiness.hpp"

#include <gtest/gtest.h>

#include "stages/node_match.hpp"
#include "stages/talos_errors.hpp"

using namespace fluxboot::stages;
using nlohmann::json;

TEST(Readiness, FluxInstanceReadyTrueAtCurrentGenerationIsReady) {
  auto obj = json::parse(R"({"metadata":{"generation":2},"status":{"observedGeneration":2,
    "conditions":[{"type":"Ready","status":"True","reason":"ReconciliationSucceeded","message":"ok"}]}})");
  EXPECT_TRUE(kstatus_readiness(obj).ready);
}

TEST(Readiness, ReadyFromAnOlderGenerationIsNotReady) {
  auto obj = json::parse(R"({"metadata":{"generation":3},"status":{"observedGeneration":2,
    "conditions":[{"type":"Ready","status":"True"}]}})");
  EXPECT_FALSE(kstatus_readiness(obj).ready);
}

TEST(Readiness, StalledIsTerminalWithItsMessage) {
  auto obj = json::parse(R"({"status":{"conditions":[{"type":"Ready","status":"False","reason":"BuildFailed"},
    {"type":"Stalled","status":"True","reason":"BuildFailed","message":"path not found"}]}})");
  auto r = kstatus_readiness(obj);
  EXPECT_FALSE(r.ready);
  EXPECT_TRUE(r.terminal);
  EXPECT_NE(r.message.find("path not found"), std::string::npos);
}

TEST(Readiness, ReconcilingIsNotTerminal) {
  auto obj = json::parse(R"({"status":{"conditions":[{"type":"Ready","status":"Unknown","reason":"Progressing","message":"installing"}]}})");
  auto r = kstatus_readiness(obj);
  EXPECT_FALSE(r.ready);
  EXPECT_FALSE(r.terminal);
  EXPECT_EQ(r.message, "Progressing: installing");
}

TEST(Readiness, PodReadyCondition) {
  EXPECT_TRUE(pod_readiness(json::parse(R"({"status":{"conditions":[{"type":"Ready","status":"True"}]}})")).ready);
  auto r = pod_readiness(json::parse(R"({"status":{"phase":"Pending","containerStatuses":[{"name":"manager","state":{"waiting":{"reason":"ImagePullBackOff"}}}]}})"));
  EXPECT_FALSE(r.ready);
  EXPECT_NE(r.message.find("ImagePullBackOff"), std::string::npos);
}

TEST(TalosErrors, CertificateRequiredIsFinalNotTransient) {
  std::string text = "rpc error: code = Unavailable desc = connection error: desc = \"transport: authentication handshake failed: remote error: tls: certificate required\"";
  EXPECT_TRUE(is_certificate_required(text));
  EXPECT_FALSE(is_transient_talos_error(text));
}

TEST(TalosErrors, ClassifiesBootstrapReplies) {
  EXPECT_TRUE(is_already_exists("rpc error: code = AlreadyExists desc = etcd data directory is not empty"));
  EXPECT_TRUE(is_transient_talos_error("dial tcp 10.0.0.1:50000: connect: connection refused"));
  EXPECT_TRUE(is_transient_talos_error("rpc error: code = DeadlineExceeded desc = context deadline exceeded"));
  EXPECT_FALSE(is_transient_talos_error("rpc error: code = PermissionDenied desc = not allowed"));
}

TEST(NodeMatch, MatchesByNameOrInternalAddress) {
  fluxboot::NodeSpec cp{"k8s-cp-1", "127.0.0.11", true, {}, {}};
  fluxboot::NodeSpec w{"", "127.0.0.12", false, {}, {}};
  auto items = json::parse(R"([{"metadata":{"name":"k8s-cp-1"}},
    {"metadata":{"name":"other"},"status":{"addresses":[{"type":"InternalIP","address":"127.0.0.12"}]}}])");
  EXPECT_TRUE(unregistered_nodes({cp, w}, items).empty());
  fluxboot::NodeSpec missing{"k8s-w-9", "127.0.0.19", false, {}, {}};
  EXPECT_EQ(unregistered_nodes({cp, missing}, items), std::vector<std::string>{"k8s-w-9"});
}
