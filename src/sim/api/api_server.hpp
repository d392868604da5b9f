#pragma once
// An in-memory Kubernetes API server for tests and the simulated cluster. The real kubectl 1.32 and
// helm 3.17 talk to it over HTTPS with client-certificate auth (see
// shared/reference/kube-api-for-fakes.md for the protocol surface it covers). Not a conformant API
// server: server-side apply merges like a JSON merge patch, no schemas, no real field ownership.
//
// Starts with the namespaces default, kube-system, kube-public and kube-node-lease (each with a
// "default" ServiceAccount) and the default/kubernetes Service; no nodes.
//
// Built-in "controllers" run synchronously inside every write (put(), patch_status(), remove() or
// the HTTP API), before the HTTP answer goes out:
//   - CustomResourceDefinition: its served versions join discovery and OpenAPI at once; status gets
//     acceptedNames, NamesAccepted=True, Established=True and storedVersions. Deleting it deletes
//     its custom resources.
//   - Namespace: status.phase=Active, label kubernetes.io/metadata.name, a "default"
//     ServiceAccount. Deleting it deletes everything in it at once (no Terminating phase).
//   - Secret: stringData is folded into base64 data; type defaults to Opaque.
//   - Service: spec.type=ClusterIP and a clusterIP from 10.96.0.0/16 (kept across updates; none for
//     ExternalName, "None" stays headless); port protocol/targetPort defaults.
//   - Deployment: spec defaults (replicas 1, RollingUpdate 25%/25%, revisionHistoryLimit 10,
//     progressDeadlineSeconds 600); one ReplicaSet per distinct pod template (controller-owned,
//     template labels plus pod-template-hash); the current one scaled to spec.replicas, older ones
//     to 0 with their pods deleted; one Pod per replica (template labels, on the first Node if any,
//     Ready=True) so `kubectl wait pod -l app=x --for=condition=ready` works; ReplicaSet and
//     Deployment status follow the pods' Ready condition (Available, observedGeneration ==
//     generation). With ServerOptions::deployment_pods_ready = false pods start Ready=False and the
//     Deployment unavailable until a test flips a pod with set_condition(..."Ready", "True").
//   - StatefulSet: status all replicas ready, currentRevision == updateRevision. DaemonSet: status
//     ready on every Node (0 desired without nodes). Job: Complete=True at once. No pods for these.
//   - Deleting an object deletes what it owns (ownerReferences), like the garbage collector.
//
// HTTP: discovery (aggregated v2/v2beta1 and legacy), a minimal OpenAPI v3 document (PATCH operations with
// x-kubernetes-group-version-kind and fieldValidation, no schemas), an empty /openapi/v2, /version
// (v1.32.3), /healthz /livez /readyz, CRUD with server-side apply, strategic-merge, merge and json
// patches, /status and /scale subresources, label and field selectors, watch (newline-delimited
// JSON events, chunked; from resourceVersion N only newer events, from "" or "0" synthetic ADDED
// first; the event log keeps the last 4096 events and an older N gets an ERROR event with a 410
// Expired Status; timeoutSeconds honoured; a client that hangs up is noticed within 250 ms),
// Table output, protobuf request bodies for Secret/ConfigMap/Namespace/
// ServiceAccount/DeleteOptions, Status errors as a real server words them.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace fluxboot::sim {

using json = nlohmann::json;

struct ServerOptions {
  std::string bind = "127.0.0.1";
  int port = 0;  // 0: pick a free port
  // TLS. Empty cert_file: plain HTTP (tests only). With client_ca_file every client must present a
  // certificate signed by it (mTLS); the handshake fails otherwise.
  std::string cert_file, key_file, client_ca_file;
  // Appended, one line per request and flushed each time (query raw as sent, still
  // percent-encoded; content type without spaces; a watch is logged when it starts):
  //   <method> <path> <query|-> <content-type|-> <status> <duration_ms>
  std::filesystem::path request_log;
  // Pods created for Deployments start Ready=True. False: Ready=False until patch_status().
  bool deployment_pods_ready = true;
  // Connections served at once; every open watch and every idle keep-alive connection (for up to
  // 5 s) holds one, and further connections queue until one frees up.
  int worker_threads = 64;
};

// A request to a control route (see ApiServer::add_control_route). The body is drained already.
struct ControlRequest {
  std::string method, path;
  std::map<std::string, std::string> query;
  std::string body;
};

struct ControlResponse {
  int status = 200;
  std::string body = "{}";
  std::string content_type = "application/json";
};

// One API resource type as served in discovery and under /api or /apis.
struct ResourceType {
  std::string group;     // "" = core
  std::string version;   // "v1"
  std::string kind;      // "Deployment"
  std::string plural;    // "deployments"
  std::string singular;  // "deployment"
  bool namespaced = true;
  std::vector<std::string> short_names;
  std::vector<std::string> subresources;  // "status", "scale"
  std::string api_version() const { return group.empty() ? version : group + "/" + version; }
};

class ApiServer {
 public:
  explicit ApiServer(ServerOptions options);
  ~ApiServer();  // stops
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Binds (port 0 = a free port), serves on background threads and returns the port. Throws
  // std::runtime_error when the certificates can't be loaded or the port can't be bound.
  int start();
  // Closes open watches and the listener, joins the threads. Idempotent.
  void stop();
  int port() const;
  // "https://127.0.0.1:PORT" (or http:// without TLS); valid after start().
  std::string url() const;

  // ---- Object store, thread-safe. Objects are full JSON (apiVersion, kind, metadata...). ----
  // api_version is "v1", "apps/v1", ... Unknown kinds are resolved through the registered types
  // (built-in and CRD-defined); put() of an unknown kind throws std::invalid_argument.
  std::optional<json> get(const std::string& api_version, const std::string& kind,
                          const std::string& ns, const std::string& name) const;
  // ns "" = all namespaces (or a cluster-scoped kind). Sorted by namespace, then name.
  std::vector<json> list(const std::string& api_version, const std::string& kind,
                         const std::string& ns) const;
  // Create or replace (no namespace-existence check, no resourceVersion check; a namespaced object
  // without metadata.namespace goes to "default"). Fills uid, creationTimestamp, resourceVersion
  // and generation (bumped when anything but metadata/status changes); a replace keeps the stored
  // .status when the new object has none; an identical replace changes nothing. Emits ADDED or
  // MODIFIED, runs the built-in controllers, returns the stored object. Throws
  // std::invalid_argument for an unknown kind or an invalid name.
  json put(json object);
  // Merges status_merge into .status (RFC 7386; lists replace), emits MODIFIED. Throws
  // std::out_of_range when the object doesn't exist.
  void patch_status(const std::string& api_version, const std::string& kind, const std::string& ns,
                    const std::string& name, const json& status_merge);
  // Replaces .status.conditions[type] (adding it when absent) with {type, status, reason, message,
  // lastTransitionTime}; convenience for nodes, pods and CRs. Throws like patch_status().
  void set_condition(const std::string& api_version, const std::string& kind, const std::string& ns,
                     const std::string& name, const std::string& type, const std::string& status,
                     const std::string& reason = "", const std::string& message = "");
  // Deletes the object (and what it owns). False when it didn't exist. Emits DELETED.
  bool remove(const std::string& api_version, const std::string& kind, const std::string& ns,
              const std::string& name);

  // Called after every successful write through the HTTP API or put()/patch_status()/remove(),
  // including the controllers' own writes, outside store locks, on the writing thread, so simulated
  // controllers can react (e.g. flip a FluxInstance Ready shortly after it's applied). The callback
  // may call back into the store (put() etc. from inside a callback is fine), but must not block on
  // HTTP requests to this server: hand slow work to another thread. Exceptions are swallowed.
  // event_type is ADDED, MODIFIED or DELETED.
  void on_change(std::function<void(const std::string& event_type, const json& object)> fn);

  // Extra routes for the simulator's control plane, matched by method ("GET", "POST"...; "*" = any)
  // and path prefix (e.g. "/_sim/talos/"). Checked before the Kubernetes routes, never subject to
  // the faults below, logged like every request. Longest matching prefix wins.
  void add_control_route(const std::string& method, const std::string& path_prefix,
                         std::function<ControlResponse(const ControlRequest&)> fn);

  // Registers an extra built-in resource type (CRDs register themselves).
  void register_type(const ResourceType& type);
  std::vector<ResourceType> types() const;

  // ---- Faults (never applied to control routes) ----
  // false: every Kubernetes path answers 503 Status (ServiceUnavailable), /readyz and /livez too.
  void set_available(bool up);
  bool available() const;
  // Added to every Kubernetes request before it is handled.
  void set_latency(std::chrono::milliseconds extra);
  // The next `count` requests whose path starts with path_prefix ("" = any Kubernetes path) get
  // http_status (429, 500, 503, 409...) with a matching Status body, plus a Retry-After header when
  // retry_after_s > 0. Calls accumulate in FIFO order.
  void fail_next(int count, int http_status, const std::string& path_prefix = "",
                 int retry_after_s = 0);
  // The next `count` server-side applies (PATCH application/apply-patch+yaml) of an existing object
  // without force=true answer 409 Conflict with a FieldManagerConflict cause naming `manager`, as
  // a real server does when another manager owns the fields; --force-conflicts gets through.
  void inject_apply_conflict(int count, const std::string& manager = "other-manager");
  // Closes every open watch stream now (clients re-watch from their last resourceVersion).
  void drop_watches();
  std::uint64_t resource_version() const;

  // Number of requests served so far (all paths); handy for asserting "nothing reached the API".
  std::uint64_t request_count() const;

  struct Impl;  // defined in the .cpp files of this folder

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace fluxboot::sim
