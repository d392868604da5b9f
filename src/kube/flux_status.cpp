// collect_status and its renderers (declared in fluxboot/status.hpp): kept in the kube module so
// they can be tested against the simulated API server without linking the core.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "fluxboot/status.hpp"

namespace fluxboot::ops {

namespace {

using kube::json;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string str_at(const json& j, std::initializer_list<const char*> path) {
  const json* cur = &j;
  for (const char* key : path) {
    if (!cur->is_object()) return {};
    auto it = cur->find(key);
    if (it == cur->end()) return {};
    cur = &*it;
  }
  return cur->is_string() ? cur->get<std::string>() : std::string();
}

std::string revision_of(const json& o) {
  const std::string kind = o.value("kind", "");
  if (kind == "GitRepository" || kind == "OCIRepository")
    return str_at(o, {"status", "artifact", "revision"});
  if (kind == "HelmRelease") {
    if (o.contains("status") && o["status"].contains("history") &&
        o["status"]["history"].is_array() && !o["status"]["history"].empty()) {
      const json& h = o["status"]["history"][0];
      if (std::string v = str_at(h, {"chartVersion"}); !v.empty()) return v;
    }
    if (std::string v = str_at(o, {"status", "lastAppliedRevision"}); !v.empty()) return v;
    return str_at(o, {"status", "lastAttemptedRevision"});
  }
  return str_at(o, {"status", "lastAppliedRevision"});
}

StatusItem item_of(const json& o) {
  StatusItem it;
  it.kind = o.value("kind", "");
  it.ns = str_at(o, {"metadata", "namespace"});
  it.name = str_at(o, {"metadata", "name"});
  it.revision = revision_of(o);
  const bool suspended =
      o.contains("spec") && o["spec"].is_object() && o["spec"].value("suspend", false);
  const kube::Readiness r = kube::readiness(o);
  const json* cond = kube::find_condition(o, "Ready");
  it.ready = cond ? cond->value("status", "Unknown") : "-";
  it.reason = r.reason;
  it.message = r.message;
  it.ok = r.ready();
  if (suspended) {
    it.ready = "Suspended";
    it.ok = true;
  } else if (r.state == kube::Readiness::State::NotReady && r.reason == "Stale") {
    it.ready = "Stale";
  }
  return it;
}

struct Source {
  std::string id, title, kind, api_version, plural;
  std::string ns;  // empty: all namespaces
  std::string label_selector;
};

// LIST, or nullopt when the API is not served (CRD not installed).
std::optional<json> list_or_missing(kube::Client& client, const std::string& path,
                                    const kube::ListOptions& opts, kube::Deadline deadline) {
  try {
    return client.list(path, opts, deadline);
  } catch (const kube::ApiError& e) {
    if (e.status() == 404) return std::nullopt;
    throw;
  }
}

std::string query_text(const std::string& plural, const std::string& ns,
                       const std::string& selector) {
  std::string q = plural + (ns.empty() ? " -A" : " -n " + ns);
  if (!selector.empty()) q += " -l " + selector;
  return q;
}

StatusSection read_section(kube::Client& client, const Source& src, kube::Deadline deadline,
                           bool required_nonempty, bool api_required) {
  StatusSection s;
  s.id = src.id;
  s.title = src.title;
  s.query = query_text(src.plural, src.ns, src.label_selector);
  const std::string path = kube::resource_path(src.api_version, src.plural, src.ns);
  auto list = list_or_missing(client, path, {src.label_selector, {}}, deadline);
  if (!list) {
    const std::string what = fmt::format("{} API ({}) not installed", src.kind, src.api_version);
    if (api_required)
      s.problem = what;
    else
      s.note = what;
    return s;
  }
  for (const auto& o : (*list)["items"]) s.items.push_back(item_of(o));
  if (s.items.empty()) {
    if (required_nonempty)
      s.problem = "none found";
    else
      s.note = "none";
  }
  return s;
}

std::string shorten_revision(const std::string& rev) {
  // "main@sha1:0123456789abcdef..." → "main@sha1:0123456789ab"; the JSON keeps the full value.
  for (const char* algo : {"sha1:", "sha256:"}) {
    const auto pos = rev.find(algo);
    if (pos == std::string::npos) continue;
    const std::size_t start = pos + std::char_traits<char>::length(algo);
    if (rev.size() > start + 12) return rev.substr(0, start + 12);
  }
  return rev;
}

std::string one_line(std::string s) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  std::replace(s.begin(), s.end(), '\r', ' ');
  return s;
}

std::string item_message(const StatusItem& it) {
  if (it.ok) return it.message.empty() ? "-" : one_line(it.message);
  if (it.reason.empty()) return it.message.empty() ? "-" : one_line(it.message);
  if (it.message.empty()) return it.reason;
  return it.reason + ": " + one_line(it.message);
}

}  // namespace

bool StatusSection::ok() const {
  return problem.empty() &&
         std::all_of(items.begin(), items.end(), [](const StatusItem& i) { return i.ok; });
}

bool StatusReport::ok() const {
  return std::all_of(sections.begin(), sections.end(),
                     [](const StatusSection& s) { return s.ok(); });
}

std::vector<std::string> StatusReport::problems() const {
  std::vector<std::string> out;
  for (const auto& s : sections) {
    if (!s.problem.empty()) out.push_back(fmt::format("{}: {}", s.title, s.problem));
    for (const auto& i : s.items) {
      if (i.ok) continue;
      std::string who = lower(i.kind) + " " + (i.ns.empty() ? i.name : i.ns + "/" + i.name);
      out.push_back(fmt::format("{}: Ready={}: {}", who, i.ready, item_message(i)));
    }
  }
  return out;
}

StatusReport collect_status(kube::Client& client, const StatusTarget& target,
                            kube::Deadline deadline) {
  StatusReport report;
  report.server = client.server();
  report.context = client.access().context;
  const std::string& ns = target.flux_namespace;

  // Flux Operator pods: the design document's selector, then the chart's recommended label.
  {
    Source src{"operator", "Flux Operator pods", "Pod", "v1", "pods", ns, "app=flux-operator"};
    StatusSection s = read_section(client, src, deadline, true, true);
    if (s.items.empty()) {
      src.label_selector = "app.kubernetes.io/name=flux-operator";
      StatusSection alt = read_section(client, src, deadline, true, true);
      if (!alt.items.empty()) s = std::move(alt);
    }
    report.sections.push_back(std::move(s));
  }
  {
    Source src{"instance",
               "FluxInstance",
               "FluxInstance",
               "fluxcd.controlplane.io/v1",
               "fluxinstances",
               ns,
               ""};
    StatusSection s = read_section(client, src, deadline, false, true);
    if (s.problem.empty()) {
      const bool found = std::any_of(s.items.begin(), s.items.end(), [&](const StatusItem& i) {
        return i.name == target.flux_instance;
      });
      if (!found) {
        s.problem = fmt::format("fluxinstance {}/{} not found", ns, target.flux_instance);
        s.note.clear();
      }
    }
    report.sections.push_back(std::move(s));
  }
  report.sections.push_back(read_section(client,
                                         {"controllers", "Flux controllers", "Pod", "v1", "pods",
                                          ns, "app.kubernetes.io/part-of=flux"},
                                         deadline, true, true));
  report.sections.push_back(read_section(client,
                                         {"gitrepositories", "GitRepositories", "GitRepository",
                                          "source.toolkit.fluxcd.io/v1", "gitrepositories", "", ""},
                                         deadline, false, false));
  report.sections.push_back(
      read_section(client,
                   {"kustomizations", "Kustomizations", "Kustomization",
                    "kustomize.toolkit.fluxcd.io/v1", "kustomizations", "", ""},
                   deadline, false, false));
  report.sections.push_back(read_section(client,
                                         {"helmreleases", "HelmReleases", "HelmRelease",
                                          "helm.toolkit.fluxcd.io/v2", "helmreleases", "", ""},
                                         deadline, false, false));
  return report;
}

std::string render_status_table(const StatusReport& report) {
  std::size_t w_ns = 9, w_name = 4, w_ready = 5, w_rev = 8;
  for (const auto& s : report.sections)
    for (const auto& i : s.items) {
      w_ns = std::max(w_ns, i.ns.size());
      w_name = std::max(w_name, i.name.size());
      w_ready = std::max(w_ready, i.ready.size());
      w_rev = std::max(w_rev, std::max<std::size_t>(1, shorten_revision(i.revision).size()));
    }
  std::string out = fmt::format("Cluster {}{}\n", report.server,
                                report.context.empty() ? "" : " (context " + report.context + ")");
  std::size_t total = 0;
  for (const auto& s : report.sections) {
    std::size_t ok = 0;
    for (const auto& i : s.items) ok += i.ok ? 1 : 0;
    total += s.items.size();
    std::string state;
    if (!s.problem.empty())
      state = s.problem;
    else if (s.items.empty())
      state = s.note.empty() ? "none" : s.note;
    else
      state = fmt::format("{}/{} Ready", ok, s.items.size());
    out += fmt::format("\n{} ({}): {}\n", s.title, s.query, state);
    if (s.items.empty()) continue;
    out += fmt::format("  {:<{}}  {:<{}}  {:<{}}  {:<{}}  {}\n", "NAMESPACE", w_ns, "NAME", w_name,
                       "READY", w_ready, "REVISION", w_rev, "MESSAGE");
    for (const auto& i : s.items) {
      const std::string rev = i.revision.empty() ? "-" : shorten_revision(i.revision);
      out += fmt::format("  {:<{}}  {:<{}}  {:<{}}  {:<{}}  {}\n", i.ns.empty() ? "-" : i.ns, w_ns,
                         i.name, w_name, i.ready, w_ready, rev, w_rev, item_message(i));
    }
  }
  const auto problems = report.problems();
  if (problems.empty()) {
    out += fmt::format("\nAll {} objects Ready.\n", total);
  } else {
    out += fmt::format("\n{} problem{}:\n", problems.size(), problems.size() == 1 ? "" : "s");
    for (const auto& p : problems) out += "  " + p + "\n";
  }
  return out;
}

json status_json(const StatusReport& report) {
  json sections = json::array();
  for (const auto& s : report.sections) {
    json items = json::array();
    for (const auto& i : s.items)
      items.push_back({{"kind", i.kind},
                       {"namespace", i.ns},
                       {"name", i.name},
                       {"ready", i.ready},
                       {"ok", i.ok},
                       {"reason", i.reason},
                       {"message", i.message},
                       {"revision", i.revision}});
    sections.push_back({{"id", s.id},
                        {"title", s.title},
                        {"query", s.query},
                        {"ready", s.ok()},
                        {"problem", s.problem},
                        {"note", s.note},
                        {"items", std::move(items)}});
  }
  return {{"server", report.server},
          {"context", report.context},
          {"ready", report.ok()},
          {"problems", report.problems()},
          {"sections", std::move(sections)}};
}

}  // namespace fluxboot::ops
