#pragma once
// `fluxboot status`: the design document's Verification checks as one command, read through the
// Kubernetes API client (no kubectl): Flux Operator pods, the FluxInstance (Ready, message, last
// applied revision), the Flux controllers, and GitRepositories, Kustomizations and HelmReleases in
// all namespaces, each with Ready and its message.
//
// collect_status/render_status_table/status_json live in the kube module (src/kube/
// flux_status.cpp) so they test against the simulated API server without the core; run_status
// (src/ops/status.cpp) is the Session glue the CLI calls.
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "fluxboot/kube.hpp"

namespace fluxboot {
class Session;
}

namespace fluxboot::ops {

struct StatusTarget {
  std::string flux_namespace = "flux-system";
  std::string flux_instance = "flux";  // the FluxInstance that must exist and be Ready
};

struct StatusItem {
  std::string kind;  // "Pod", "FluxInstance", "GitRepository"...
  std::string ns, name;
  std::string ready;  // the Ready condition's status: "True", "False", "Unknown", or
                      // "Suspended" (spec.suspend) / "-" (no condition yet)
  bool ok = false;    // counts as healthy (Ready=True and current, or suspended)
  std::string reason, message;
  std::string revision;  // last applied/attempted revision, artifact revision, chart version
};

struct StatusSection {
  std::string id;     // "operator", "instance", "controllers", "gitrepositories", ...
  std::string title;  // "Flux Operator pods"
  std::string query;  // what was asked, kubectl-style: "pods -n flux-system -l app=..."
  std::vector<StatusItem> items;
  std::string problem;  // makes the section unhealthy: "none found", "flux not found", ...
  std::string note;     // informational: "none", "API not installed"
  bool ok() const;      // no problem and every item ok
};

struct StatusReport {
  std::string server, context;
  std::vector<StatusSection> sections;
  bool ok() const;
  // "kustomization flux-system/cluster-apps: False: kustomize build failed: ..." per problem.
  std::vector<std::string> problems() const;
};

// Reads everything (a handful of LISTs). Pods are found with -l app=flux-operator, falling back to
// app.kubernetes.io/name=flux-operator (newer charts). A missing Flux API (CRD not installed) is a
// problem for FluxInstance and a note for the others. Throws like kube::Client (connection, TLS,
// auth, deadline).
StatusReport collect_status(kube::Client& client, const StatusTarget& target,
                            kube::Deadline deadline = kube::kNoDeadline);

// Human table: one block per section with NAMESPACE NAME READY REVISION MESSAGE columns aligned
// across sections, then a summary line ("All 12 objects Ready." / "2 problems: ...").
std::string render_status_table(const StatusReport& report);
// {"server","context","ready":bool,"problems":[...],"sections":[{"id","title","query","ready",
//  "problem","note","items":[{"kind","namespace","name","ready","ok","reason","message",
//  "revision"}]}]}
nlohmann::json status_json(const StatusReport& report);

struct StatusOptions {
  std::string output = "table";  // table | json
  std::string context;           // kube context; empty: --context global flag, else current
  std::chrono::milliseconds timeout{30000};  // overridden by --timeout
};

// Loads the session's kubeconfig (KUBECONFIG lists merged), collects and prints the report to
// `out`. Returns 0 when everything is Ready, 1 otherwise. Throws fluxboot::Error for kubeconfig,
// connection and deadline problems (run_guarded maps them to exit codes).
int run_status(Session& session, const StatusOptions& options, std::FILE* out);

}  // namespace fluxboot::ops
