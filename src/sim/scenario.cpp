#include "sim/scenario.hpp"

#include <set>

#include <fmt/format.h>

#include "fluxboot/duration.hpp"
#include "fluxboot/error.hpp"
#include "sim/yaml_json.hpp"

namespace fluxboot::sim {

namespace {

using json = nlohmann::json;

class Reader {
 public:
  explicit Reader(Problems& p) : problems_(p) {}

  void check_keys(const json& obj, const std::string& where, std::set<std::string> allowed) {
    if (!obj.is_object()) {
      problems_.add(fmt::format("{}: expected a mapping", where));
      return;
    }
    for (auto it = obj.begin(); it != obj.end(); ++it)
      if (!allowed.count(it.key()))
        problems_.add(fmt::format("{}.{}: unknown key (allowed: {})", where, it.key(),
                                  fmt::join(allowed, ", ")));
  }

  Millis duration(const json& v, const std::string& where) {
    try {
      if (v.is_number_integer()) return std::chrono::seconds(v.get<long long>());
      if (v.is_string()) return parse_duration(v.get<std::string>(), where);
    } catch (const Error& e) {
      problems_.add(e.what());
      return Millis(0);
    }
    problems_.add(fmt::format("{}: expected a duration such as 2s or 500ms", where));
    return Millis(0);
  }

  int integer(const json& v, const std::string& where, int min = 0) {
    if (v.is_number_integer() && v.get<long long>() >= min && v.get<long long>() < 1000000)
      return v.get<int>();
    problems_.add(fmt::format("{}: expected an integer >= {}", where, min));
    return min;
  }

  bool boolean(const json& v, const std::string& where) {
    if (v.is_boolean()) return v.get<bool>();
    problems_.add(fmt::format("{}: expected true or false", where));
    return false;
  }

  std::string string(const json& v, const std::string& where) {
    if (v.is_string()) return v.get<std::string>();
    if (v.is_number()) return v.dump();
    problems_.add(fmt::format("{}: expected a string", where));
    return {};
  }

  std::vector<std::string> strings(const json& v, const std::string& where) {
    std::vector<std::string> out;
    if (!v.is_array()) {
      problems_.add(fmt::format("{}: expected a list", where));
      return out;
    }
    for (size_t i = 0; i < v.size(); ++i) out.push_back(string(v[i], fmt::format("{}[{}]", where, i)));
    return out;
  }

  DownWindow window(const json& v, const std::string& where) {
    DownWindow w;
    check_keys(v, where, {"after", "for"});
    if (!v.is_object()) return w;
    if (v.contains("after")) w.after = duration(v["after"], where + ".after");
    if (v.contains("for")) w.duration = duration(v["for"], where + ".for");
    else problems_.add(fmt::format("{}.for: required (how long the API stays down)", where));
    return w;
  }

 private:
  Problems& problems_;
};

}  // namespace

Scenario parse_scenario(const std::string& yaml_text) {
  Scenario s;
  Problems problems;
  json doc;
  try {
    doc = parse_yaml(yaml_text);
  } catch (const std::exception& e) {
    throw InputError(fmt::format("scenario: invalid YAML: {}", e.what()));
  }
  if (doc.is_null()) return s;
  Reader r(problems);
  r.check_keys(doc, "scenario", {"apiDown", "api", "nodes", "talos", "releases", "fluxInstance"});
  if (!doc.is_object()) problems.throw_if_any("invalid scenario");

  if (doc.contains("apiDown")) {
    const auto& v = doc["apiDown"];
    if (v.is_array())
      for (size_t i = 0; i < v.size(); ++i)
        s.api_down.push_back(r.window(v[i], fmt::format("apiDown[{}]", i)));
    else
      s.api_down.push_back(r.window(v, "apiDown"));
  }
  if (doc.contains("api")) {
    const auto& api = doc["api"];
    r.check_keys(api, "api", {"latency", "fail"});
    if (api.is_object() && api.contains("latency")) s.api_latency = r.duration(api["latency"], "api.latency");
    if (api.is_object() && api.contains("fail")) {
      const auto& list = api["fail"];
      if (!list.is_array()) problems.add("api.fail: expected a list");
      for (size_t i = 0; list.is_array() && i < list.size(); ++i) {
        auto where = fmt::format("api.fail[{}]", i);
        const auto& f = list[i];
        r.check_keys(f, where, {"count", "status", "path", "retryAfter"});
        if (!f.is_object()) continue;
        FailRule rule;
        if (f.contains("count")) rule.count = r.integer(f["count"], where + ".count", 1);
        if (f.contains("status")) rule.status = r.integer(f["status"], where + ".status", 100);
        if (f.contains("path")) rule.path = r.string(f["path"], where + ".path");
        if (f.contains("retryAfter"))
          rule.retry_after_s = static_cast<int>(
              std::chrono::duration_cast<std::chrono::seconds>(r.duration(f["retryAfter"], where + ".retryAfter")).count());
        s.api_fail.push_back(rule);
      }
    }
  }
  if (doc.contains("nodes")) {
    const auto& n = doc["nodes"];
    r.check_keys(n, "nodes", {"registerDelay", "readyDelay", "never", "neverReady"});
    if (n.is_object()) {
      if (n.contains("registerDelay")) s.node_register_delay = r.duration(n["registerDelay"], "nodes.registerDelay");
      if (n.contains("readyDelay")) s.node_ready_delay = r.duration(n["readyDelay"], "nodes.readyDelay");
      if (n.contains("never")) s.nodes_never = r.strings(n["never"], "nodes.never");
      if (n.contains("neverReady")) s.nodes_never_ready = r.strings(n["neverReady"], "nodes.neverReady");
    }
  }
  if (doc.contains("talos")) {
    const auto& t = doc["talos"];
    r.check_keys(t, "talos", {"applyTransientFailures", "bootstrapTransientFailures"});
    if (t.is_object()) {
      if (t.contains("applyTransientFailures"))
        s.talos_apply_transient = r.integer(t["applyTransientFailures"], "talos.applyTransientFailures");
      if (t.contains("bootstrapTransientFailures"))
        s.talos_bootstrap_transient =
            r.integer(t["bootstrapTransientFailures"], "talos.bootstrapTransientFailures");
    }
  }
  if (doc.contains("releases")) {
    const auto& rel = doc["releases"];
    r.check_keys(rel, "releases", {"fail"});
    if (rel.is_object() && rel.contains("fail")) {
      const auto& list = rel["fail"];
      if (!list.is_array()) problems.add("releases.fail: expected a list");
      for (size_t i = 0; list.is_array() && i < list.size(); ++i) {
        auto where = fmt::format("releases.fail[{}]", i);
        ReleaseFault f;
        if (list[i].is_string()) {
          f.name = list[i].get<std::string>();
        } else {
          r.check_keys(list[i], where, {"name", "times", "message"});
          if (!list[i].is_object()) continue;
          if (list[i].contains("name")) f.name = r.string(list[i]["name"], where + ".name");
          else problems.add(where + ".name: required");
          if (list[i].contains("times")) f.times = r.integer(list[i]["times"], where + ".times", 1);
          if (list[i].contains("message")) f.message = r.string(list[i]["message"], where + ".message");
        }
        s.release_failures.push_back(f);
      }
    }
  }
  if (doc.contains("fluxInstance")) {
    const auto& f = doc["fluxInstance"];
    r.check_keys(f, "fluxInstance", {"readyDelay", "stalled", "reason", "message"});
    if (f.is_object()) {
      if (f.contains("readyDelay")) s.flux_ready_delay = r.duration(f["readyDelay"], "fluxInstance.readyDelay");
      if (f.contains("stalled")) s.flux_stalled = r.boolean(f["stalled"], "fluxInstance.stalled");
      if (f.contains("reason")) s.flux_stalled_reason = r.string(f["reason"], "fluxInstance.reason");
      if (f.contains("message")) s.flux_stalled_message = r.string(f["message"], "fluxInstance.message");
    }
  }
  if (s.flux_stalled && s.flux_stalled_message.empty())
    s.flux_stalled_message =
        "GitRepository/flux-system/flux-system: failed to checkout and determine revision: "
        "unable to clone: authentication required";
  problems.throw_if_any("invalid scenario");
  return s;
}

nlohmann::json scenario_to_json(const Scenario& s) {
  auto ms = [](Millis d) { return d.count(); };
  json j;
  j["apiDown"] = json::array();
  for (const auto& w : s.api_down) j["apiDown"].push_back({{"afterMs", ms(w.after)}, {"forMs", ms(w.duration)}});
  j["api"] = {{"latencyMs", ms(s.api_latency)}, {"fail", json::array()}};
  for (const auto& f : s.api_fail)
    j["api"]["fail"].push_back({{"count", f.count}, {"status", f.status}, {"path", f.path}, {"retryAfter", f.retry_after_s}});
  j["nodes"] = {{"registerDelayMs", ms(s.node_register_delay)},
                {"readyDelayMs", ms(s.node_ready_delay)},
                {"never", s.nodes_never},
                {"neverReady", s.nodes_never_ready}};
  j["talos"] = {{"applyTransientFailures", s.talos_apply_transient},
                {"bootstrapTransientFailures", s.talos_bootstrap_transient}};
  j["releases"] = {{"fail", json::array()}};
  for (const auto& f : s.release_failures)
    j["releases"]["fail"].push_back({{"name", f.name}, {"times", f.times}, {"message", f.message}});
  j["fluxInstance"] = {{"readyDelayMs", ms(s.flux_ready_delay)},
                       {"stalled", s.flux_stalled},
                       {"reason", s.flux_stalled_reason},
                       {"message", s.flux_stalled_message}};
  return j;
}

}  // namespace fluxboot::sim
