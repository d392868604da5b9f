#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "fluxboot/kube.hpp"

namespace fluxboot::kube {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string str(const json& j, const char* key) {
  if (!j.is_object()) return {};
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

long long num(const json& j, const char* key, long long fallback) {
  if (!j.is_object()) return fallback;
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer()) return fallback;
  return it->get<long long>();
}

// "manager: CrashLoopBackOff: back-off 5m0s restarting failed container" for each container that
// is not ready, joined with "; ".
std::string container_problems(const json& pod) {
  std::string out;
  const json& status = pod.contains("status") ? pod["status"] : json::object();
  for (const char* list : {"initContainerStatuses", "containerStatuses"}) {
    if (!status.is_object() || !status.contains(list) || !status[list].is_array()) continue;
    for (const auto& cs : status[list]) {
      if (cs.value("ready", false)) continue;
      const json& state = cs.contains("state") ? cs["state"] : json::object();
      std::string what;
      if (state.contains("waiting")) {
        what = str(state["waiting"], "reason");
        if (std::string m = str(state["waiting"], "message"); !m.empty()) what += ": " + m;
      } else if (state.contains("terminated")) {
        const json& t = state["terminated"];
        what = fmt::format("{} (exit {})", str(t, "reason"), num(t, "exitCode", 0));
      } else if (state.contains("running")) {
        if (std::string(list) == "initContainerStatuses") continue;
        what = "running, not ready";
      }
      if (what.empty()) continue;
      if (!out.empty()) out += "; ";
      out += str(cs, "name") + ": " + what;
    }
  }
  return out;
}

}  // namespace

const json* find_condition(const json& object, std::string_view type) {
  if (!object.is_object()) return nullptr;
  auto st = object.find("status");
  if (st == object.end() || !st->is_object()) return nullptr;
  auto conds = st->find("conditions");
  if (conds == st->end() || !conds->is_array()) return nullptr;
  for (const auto& c : *conds)
    if (c.is_object() && c.value("type", "") == type) return &c;
  return nullptr;
}

const std::vector<std::string>& default_terminal_reasons() {
  // Flux (fluxcd/pkg meta, flux-operator): a build or validation failure needs a change to the
  // spec or the source; retrying does not help. Transient reasons (Progressing,
  // ReconciliationFailed, HealthCheckFailed, ArtifactFailed, DependencyNotReady) keep waiting.
  static const std::vector<std::string> reasons = {"BuildFailed", "ValidationFailed", "InvalidURL",
                                                   "InvalidSpec"};
  return reasons;
}

Readiness readiness(const json& object, std::string_view condition_type,
                    const std::vector<std::string>& terminal_reasons) {
  Readiness r;
  const bool is_pod = object.is_object() && object.value("kind", "") == "Pod";
  // kstatus: a condition observed for an older generation says nothing about the current spec —
  // neither Ready nor Stalled nor a terminal failure. Such an object is still reconciling.
  const long long generation =
      object.contains("metadata") ? num(object["metadata"], "generation", -1) : -1;
  const long long status_observed =
      object.contains("status") ? num(object["status"], "observedGeneration", -1) : -1;
  auto stale = [&](const json& cond, Readiness& out) {
    long long observed = num(cond, "observedGeneration", -1);
    if (observed < 0) observed = status_observed;
    if (generation < 0 || observed < 0 || observed >= generation) return false;
    out.state = Readiness::State::NotReady;
    out.reason = "Stale";
    out.message = fmt::format("{} condition is for generation {}, the object is at {}",
                              str(cond, "type"), observed, generation);
    return true;
  };
  if (const json* stalled = find_condition(object, "Stalled");
      stalled && stalled->value("status", "") == "True" && !stale(*stalled, r)) {
    r.state = Readiness::State::Failed;
    r.reason = str(*stalled, "reason").empty() ? "Stalled" : "Stalled: " + str(*stalled, "reason");
    r.message = str(*stalled, "message");
    return r;
  }
  const json* cond = find_condition(object, condition_type);
  if (!cond) {
    r.reason = "";
    r.message = object.contains("status") ? fmt::format("no {} condition yet", condition_type)
                                          : std::string("no status yet");
    if (is_pod) {
      const std::string phase = object.contains("status") ? str(object["status"], "phase") : "";
      if (!phase.empty()) r.message = "phase " + phase + ", " + r.message;
    }
    return r;
  }
  const std::string status = str(*cond, "status");
  r.reason = str(*cond, "reason");
  r.message = str(*cond, "message");
  if (is_pod) {
    if (std::string problems = container_problems(object); !problems.empty())
      r.message = r.message.empty() ? problems : r.message + " (" + problems + ")";
  }
  if (status == "True") {
    if (stale(*cond, r)) return r;
    r.state = Readiness::State::Ready;
    return r;
  }
  if (status == "False" && !stale(*cond, r) && std::find(terminal_reasons.begin(), terminal_reasons.end(), r.reason) !=
                               terminal_reasons.end()) {
    r.state = Readiness::State::Failed;
    return r;
  }
  r.state = Readiness::State::NotReady;
  return r;
}

std::string describe(const json& object) {
  const std::string kind = lower(object.value("kind", "object"));
  const json& md = object.contains("metadata") ? object["metadata"] : json::object();
  const std::string ns = str(md, "namespace");
  const std::string name = str(md, "name");
  return ns.empty() ? fmt::format("{} {}", kind, name) : fmt::format("{} {}/{}", kind, ns, name);
}

}  // namespace fluxboot::kube
