#pragma once
// Decoding of the protobuf request bodies that typed clients (helm's release storage, `kubectl
// create secret|configmap|namespace`) send: the `k8s\0` envelope around runtime.Unknown{typeMeta,
// raw}, then Secret, ConfigMap, Namespace, ServiceAccount or DeleteOptions. ObjectMeta fields 1, 2,
// 3, 5, 6, 7, 8, 11, 12, 13 and 14 are decoded; empty proto2 strings are dropped. Answers stay JSON
// (typed clients accept it as a fallback).
#include <stdexcept>
#include <string_view>

#include <nlohmann/json.hpp>

namespace fluxboot::sim::api {

class ProtobufError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

inline constexpr std::string_view kProtobufContentType = "application/vnd.kubernetes.protobuf";

bool has_protobuf_envelope(std::string_view body);
// The object as JSON (with apiVersion and kind). Throws ProtobufError for other kinds or malformed
// input.
nlohmann::json decode_protobuf(std::string_view body);

}  // namespace fluxboot::sim::api
