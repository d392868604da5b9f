#include "stages/readiness.hpp"

#include <fmt/format.h>

namespace fluxboot::stages {

namespace {

const nlohmann::json* find_condition(const nlohmann::json& obj, const std::string& type) {
  auto it = obj.find("status");
  if (it == obj.end() || !it->is_object()) return nullptr;
  auto conds = it->find("conditions");
  if (conds == it->end() || !conds->is_array()) return nullptr;
  for (const auto& c : *conds)
    if (c.is_object() && c.value("type", "") == type) return &c;
  return nullptr;
}

std::string describe(const nlohmann::json& c) {
  std::string reason = c.value("reason", "");
  std::string message = c.value("message", "");
  if (reason.empty()) return message;
  return message.empty() ? reason : reason + ": " + message;
}

}  // namespace

Readiness pod_readiness(const nlohmann::json& pod) {
  Readiness r;
  if (const auto* c = find_condition(pod, "Ready")) {
    r.ready = c->value("status", "") == "True";
    r.message = describe(*c);
  }
  if (r.message.empty()) {
    std::string phase = pod.value("/status/phase"_json_pointer, std::string("Pending"));
    r.message = "phase " + phase;
  }
  // A container that cannot start will not start by waiting longer.
  auto statuses = pod.value("/status/containerStatuses"_json_pointer, nlohmann::json::array());
  for (const auto& cs : statuses) {
    std::string reason = cs.value("/state/waiting/reason"_json_pointer, std::string());
    if (reason == "ErrImagePull" || reason == "ImagePullBackOff" || reason == "CrashLoopBackOff" ||
        reason == "InvalidImageName" || reason == "CreateContainerConfigError") {
      r.message = fmt::format("container {}: {}", cs.value("name", "?"), reason);
    }
  }
  return r;
}

Readiness kstatus_readiness(const nlohmann::json& obj) {
  Readiness r;
  const auto* ready = find_condition(obj, "Ready");
  const auto* stalled = find_condition(obj, "Stalled");
  if (stalled != nullptr && stalled->value("status", "") == "True") {
    r.terminal = true;
    r.message = "Stalled: " + describe(*stalled);
    return r;
  }
  if (ready == nullptr) {
    r.message = "no Ready condition yet";
    return r;
  }
  r.message = describe(*ready);
  std::string status = ready->value("status", "");
  long long gen = obj.value("/metadata/generation"_json_pointer, 0LL);
  long long observed = obj.value("/status/observedGeneration"_json_pointer, gen);
  if (status == "True") {
    r.ready = observed >= gen;
    if (!r.ready) r.message = "Ready is from an older generation; waiting for reconciliation";
    return r;
  }
  // kstatus: reasons the controller will not retry on its own.
  std::string reason = ready->value("reason", "");
  if (status == "False" &&
      (reason == "Stalled" || reason == "InvalidSpec" || reason == "ValidationFailed")) {
    r.terminal = true;
  }
  return r;
}

}  // namespace fluxboot::stages
