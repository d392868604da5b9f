#include <fmt/format.h>

#include <algorithm>

#include "kube/internal.hpp"

namespace fluxboot::kube {

namespace {

using std::chrono::milliseconds;

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const auto& i : items) {
    if (!out.empty()) out += sep;
    out += i;
  }
  return out;
}

// Calls `progress` only when the message changes.
class Reporter {
 public:
  explicit Reporter(const Progress& p) : progress_(p) {}
  void operator()(const std::string& message) {
    if (!progress_ || message == last_) return;
    last_ = message;
    progress_(message);
  }

 private:
  const Progress& progress_;
  std::string last_;
};

// The message of a transport error without the leading "<server>: ".
std::string without_server(const std::string& message, const std::string& server) {
  if (message.rfind(server + ": ", 0) == 0) return message.substr(server.size() + 2);
  return message;
}

std::string reason_and_message(const Readiness& r) {
  if (r.reason.empty()) return r.message.empty() ? "not ready" : r.message;
  if (r.message.empty()) return r.reason;
  return r.reason + ": " + r.message;
}

bool node_matches(const json& node, const std::string& wanted) {
  const json& md = node.contains("metadata") ? node["metadata"] : json::object();
  if (md.value("name", "") == wanted) return true;
  if (!node.contains("status") || !node["status"].is_object()) return false;
  const json& st = node["status"];
  if (!st.contains("addresses") || !st["addresses"].is_array()) return false;
  for (const auto& a : st["addresses"])
    if (a.is_object() && a.value("address", "") == wanted) return true;
  return false;
}

}  // namespace

void wait_api_ready(Client& client, Deadline deadline, const Progress& progress) {
  const auto started = Clock::now();
  Reporter report(progress);
  std::string last;
  milliseconds delay{250};
  for (;;) {
    try {
      const Response r = client.request("GET", "/readyz", {}, {}, deadline, /*retry=*/false);
      if (r.status == 200) return;
      if (r.status == 401) throw make_api_error(client.access(), "GET", "/readyz", r);
      last = "/readyz: " + http_status_text(r.status);
      if (auto [message, reason] = status_details(r.body); !message.empty()) last += ": " + message;
    } catch (const TransportError& e) {
      if (!e.transient()) throw;
      last = without_server(e.what(), client.server());
    } catch (const DeadlineError&) {
      break;
    }
    report(fmt::format("API server {} not ready: {}", client.server(), last));
    if (!sleep_until(Clock::now() + delay, deadline)) break;
    delay = std::min<milliseconds>(milliseconds(delay.count() * 3 / 2), milliseconds(2000));
  }
  throw DeadlineError(
      fmt::format("timed out after {} waiting for the API server {} to be ready; "
                  "last: {}",
                  waited_for(started), client.server(), last.empty() ? "no answer" : last));
}

std::vector<std::string> wait_nodes_registered(Client& client,
                                               const std::vector<std::string>& expected,
                                               Deadline deadline, const Progress& progress) {
  const auto started = Clock::now();
  Reporter report(progress);
  std::vector<std::string> names;
  std::string summary = "no answer from the API server yet";
  const auto check = [&](const std::vector<ObjectMap>& maps) {
    const ObjectMap& nodes = maps.front();
    names.clear();
    if (expected.empty()) {
      for (const auto& [key, node] : nodes) names.push_back(key);
      summary = nodes.empty() ? "no node registered yet"
                              : fmt::format("{} node(s) registered", nodes.size());
      report(summary);
      return !nodes.empty();
    }
    std::vector<std::string> missing;
    for (const auto& wanted : expected) {
      auto it = std::find_if(nodes.begin(), nodes.end(),
                             [&](const auto& kv) { return node_matches(kv.second, wanted); });
      if (it == nodes.end())
        missing.push_back(wanted);
      else
        names.push_back(it->first);
    }
    summary =
        fmt::format("{}/{} nodes registered", expected.size() - missing.size(), expected.size());
    if (!missing.empty()) summary += "; missing: " + join(missing, ", ");
    report(summary);
    return missing.empty();
  };
  if (observe(client, {Query{"/api/v1/nodes", {}}}, check, deadline)) return names;
  throw DeadlineError(fmt::format("timed out after {} waiting for nodes to register: {}",
                                  waited_for(started), summary));
}

ObjectRef ObjectRef::pods(std::string ns, std::string label_selector) {
  ObjectRef r;
  r.kind = "pod";
  r.path = resource_path("v1", "pods", ns);
  r.ns = std::move(ns);
  r.label_selector = std::move(label_selector);
  return r;
}

ObjectRef ObjectRef::named(std::string kind, std::string_view api_version, std::string_view plural,
                           std::string ns, std::string name) {
  ObjectRef r;
  r.kind = std::move(kind);
  r.path = resource_path(api_version, plural, ns);
  r.ns = std::move(ns);
  r.name = std::move(name);
  return r;
}

std::string ObjectRef::display() const {
  if (!name.empty()) return ns.empty() ? kind + " " + name : kind + " " + ns + "/" + name;
  std::string out = kind + "s";
  if (!label_selector.empty()) out += " -l " + label_selector;
  if (!ns.empty()) out += " in " + ns;
  return out;
}

void wait_ready(Client& client, const std::vector<ObjectRef>& refs, Deadline deadline,
                const Progress& progress, const std::vector<std::string>& terminal_reasons) {
  const auto started = Clock::now();
  Reporter report(progress);
  std::vector<Query> queries;
  for (const auto& ref : refs)
    queries.push_back(Query{
        ref.path,
        ListOptions{ref.label_selector, ref.name.empty() ? "" : "metadata.name=" + ref.name}});

  std::vector<std::string> not_ready;  // one line per object (or empty selector) not Ready
  const auto check = [&](const std::vector<ObjectMap>& maps) {
    not_ready.clear();
    std::vector<std::string> waiting;  // short form, for progress
    for (std::size_t i = 0; i < refs.size(); ++i) {
      const ObjectRef& ref = refs[i];
      std::size_t total = 0;
      std::size_t ready = 0;
      std::string first_reason;
      for (const auto& [key, object] : maps[i]) {
        if (!ref.name.empty() && object["metadata"].value("name", "") != ref.name) continue;
        ++total;
        const Readiness r = readiness(object, ref.condition, terminal_reasons);
        if (r.state == Readiness::State::Failed)
          throw StageError(fmt::format("{}: {}", describe(object), reason_and_message(r)));
        if (r.ready()) {
          ++ready;
          continue;
        }
        if (first_reason.empty()) first_reason = r.reason.empty() ? "not ready" : r.reason;
        not_ready.push_back(fmt::format("{}: {}", describe(object), reason_and_message(r)));
      }
      if (total == 0) {
        not_ready.push_back(ref.display() + (ref.name.empty() ? ": none found" : ": not found"));
        waiting.push_back(ref.display() + (ref.name.empty() ? " (none yet)" : " (not found)"));
      } else if (ready < total) {
        waiting.push_back(ref.name.empty()
                              ? fmt::format("{} ({}/{} ready)", ref.display(), ready, total)
                              : fmt::format("{} ({})", ref.display(), first_reason));
      }
    }
    if (!waiting.empty()) report("waiting for " + join(waiting, ", "));
    return not_ready.empty();
  };
  if (observe(client, queries, check, deadline)) return;
  if (not_ready.empty()) not_ready.push_back("no answer from the API server");
  throw DeadlineError(fmt::format(
      "timed out after {} waiting for {} to become Ready:\n  {}", waited_for(started),
      not_ready.size() == 1 ? std::string("1 object") : fmt::format("{} objects", not_ready.size()),
      join(not_ready, "\n  ")));
}

}  // namespace fluxboot::kube
