#include <cstdint>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "sim/api/protobuf.hpp"

namespace fluxboot::sim::api {
namespace {

using json = nlohmann::json;

// A minimal protobuf writer, enough to build what typed clients send.
std::string varint(std::uint64_t v) {
  std::string out;
  do {
    auto b = static_cast<char>(v & 0x7f);
    v >>= 7;
    if (v != 0) b = static_cast<char>(b | 0x80);
    out.push_back(b);
  } while (v != 0);
  return out;
}
std::string bytes_field(int n, const std::string& payload) {
  return varint(static_cast<std::uint64_t>(n) << 3 | 2) + varint(payload.size()) + payload;
}
std::string varint_field(int n, std::uint64_t v) { return varint(static_cast<std::uint64_t>(n) << 3) + varint(v); }
std::string entry(int n, const std::string& k, const std::string& v) {
  return bytes_field(n, bytes_field(1, k) + bytes_field(2, v));
}
std::string envelope(const std::string& api_version, const std::string& kind, const std::string& raw) {
  std::string type_meta = bytes_field(1, api_version) + bytes_field(2, kind);
  return std::string("k8s\0", 4) + bytes_field(1, type_meta) + bytes_field(2, raw) +
         bytes_field(3, "") + bytes_field(4, "");
}

TEST(Protobuf, DecodesAHelmReleaseSecret) {
  std::string meta = bytes_field(1, "sh.helm.release.v1.demo.v1") + bytes_field(2, "") +
                     bytes_field(3, "apps") + varint_field(7, 0) +
                     bytes_field(8, varint_field(1, 1700000000)) + entry(11, "owner", "helm") +
                     entry(11, "status", "pending-install") + entry(12, "note", "x") +
                     bytes_field(13, bytes_field(1, "Deployment") + bytes_field(3, "d") +
                                         bytes_field(4, "uid-1") + bytes_field(5, "apps/v1") +
                                         varint_field(6, 1)) +
                     bytes_field(14, "example.com/finalizer");
  std::string raw = bytes_field(1, meta) + entry(2, "release", std::string("\x1f\x8b\x00", 3)) +
                    bytes_field(3, "helm.sh/release.v1") + entry(4, "plain", "text") + varint_field(5, 1);
  json obj = decode_protobuf(envelope("v1", "Secret", raw));
  EXPECT_EQ(obj["apiVersion"], "v1");
  EXPECT_EQ(obj["kind"], "Secret");
  EXPECT_EQ(obj["metadata"]["name"], "sh.helm.release.v1.demo.v1");
  EXPECT_FALSE(obj["metadata"].contains("generateName"));  // empty proto2 strings are dropped
  EXPECT_EQ(obj["metadata"]["namespace"], "apps");
  EXPECT_EQ(obj["metadata"]["creationTimestamp"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(obj["metadata"]["labels"], json({{"owner", "helm"}, {"status", "pending-install"}}));
  EXPECT_EQ(obj["metadata"]["annotations"]["note"], "x");
  EXPECT_EQ(obj["metadata"]["ownerReferences"][0]["uid"], "uid-1");
  EXPECT_EQ(obj["metadata"]["ownerReferences"][0]["controller"], true);
  EXPECT_EQ(obj["metadata"]["finalizers"][0], "example.com/finalizer");
  EXPECT_EQ(obj["data"]["release"], "H4sA");  // bytes become base64
  EXPECT_EQ(obj["stringData"]["plain"], "text");
  EXPECT_EQ(obj["type"], "helm.sh/release.v1");
  EXPECT_EQ(obj["immutable"], true);
}

TEST(Protobuf, DecodesConfigMapNamespaceServiceAccountAndDeleteOptions) {
  json cm = decode_protobuf(envelope("v1", "ConfigMap",
                                     bytes_field(1, bytes_field(1, "cfg")) + entry(2, "k", "v") +
                                         entry(3, "bin", "\x01\x02")));
  EXPECT_EQ(cm["data"]["k"], "v");
  EXPECT_EQ(cm["binaryData"]["bin"], "AQI=");
  json ns = decode_protobuf(envelope("v1", "Namespace",
                                     bytes_field(1, bytes_field(1, "apps")) +
                                         bytes_field(2, bytes_field(1, "kubernetes"))));
  EXPECT_EQ(ns["metadata"]["name"], "apps");
  EXPECT_EQ(ns["spec"]["finalizers"][0], "kubernetes");
  json sa = decode_protobuf(envelope("v1", "ServiceAccount",
                                     bytes_field(1, bytes_field(1, "bot")) +
                                         bytes_field(3, bytes_field(1, "pull")) + varint_field(4, 0)));
  EXPECT_EQ(sa["imagePullSecrets"][0]["name"], "pull");
  EXPECT_EQ(sa["automountServiceAccountToken"], false);
  json del = decode_protobuf(envelope("v1", "DeleteOptions", bytes_field(4, "Background")));
  EXPECT_EQ(del["propagationPolicy"], "Background");
}

TEST(Protobuf, RejectsOtherKindsAndGarbage) {
  EXPECT_FALSE(has_protobuf_envelope("{}"));
  EXPECT_THROW(decode_protobuf("{}"), ProtobufError);
  EXPECT_THROW(decode_protobuf(envelope("apps/v1", "Deployment", "")), ProtobufError);
  EXPECT_THROW(decode_protobuf(std::string("k8s\0", 4) + "\x0a\xff"), ProtobufError);
}

}  // namespace
}  // namespace fluxboot::sim::api
