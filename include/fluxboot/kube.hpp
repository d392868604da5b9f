#pragma once
// The Kubernetes API client: kubeconfig loading, a small libcurl-based HTTP client (GET, LIST,
// WATCH, server-side apply), a list+watch object cache, and the event-driven waits the stages use.
// libcurl and yaml-cpp stay inside src/kube; nothing here exposes them.
//
// Errors (error.hpp): a broken kubeconfig is an InputError naming the file; connection, TLS and
// authentication failures and unexpected API answers are StageErrors naming the server and the
// cause; a missed deadline is a DeadlineError saying what was awaited and the last reason; a
// SIGINT/SIGTERM is an InterruptedError. Token and key material is held in memory only and never
// appears in a message or a log line.
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fluxboot/error.hpp"
#include "fluxboot/process.hpp"

namespace fluxboot::kube {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;
inline constexpr Deadline kNoDeadline = Deadline::max();
// Receives a one-line description of what a wait is still waiting for, each time it changes.
using Progress = std::function<void(const std::string&)>;

// ---------------------------------------------------------------------------------------------
// kubeconfig

struct KubeconfigSelection {
  // Files in KUBECONFIG order (or the single --kubeconfig file). With several files, missing ones
  // are skipped as kubectl does; a single file must exist.
  std::vector<std::filesystem::path> files;
  std::string context;  // empty: current-context
};

// kubectl's precedence: `explicit_file` when non-empty (a single file); else `kubeconfig_env`
// split on ':' (empty entries dropped); else `home`/.kube/config.
KubeconfigSelection select_kubeconfig(const std::filesystem::path& explicit_file,
                                      std::string_view kubeconfig_env,
                                      const std::filesystem::path& home, std::string context = {});

// Everything needed to reach and authenticate to one cluster. Key material is in memory only.
struct ClusterAccess {
  std::string server;            // "https://10.0.0.10:6443" (no trailing '/'; may carry a path)
  std::string context;           // context name used
  std::string cluster;           // cluster name in the kubeconfig
  std::string user;              // user name in the kubeconfig
  std::filesystem::path source;  // file that defined the context
  std::string ca_pem;            // empty: the system trust store
  std::string client_cert_pem;   // client certificate (PEM), with client_key_pem
  std::string client_key_pem;
  std::string token;            // bearer token (token, tokenFile or exec plugin)
  std::string tls_server_name;  // verify the server certificate against this name (and SNI)
  bool insecure_skip_tls_verify = false;
  std::string proxy_url;  // http(s):// or socks5:// proxy; empty: libcurl's env defaults
  // How the client authenticates, for messages: "client certificate", "bearer token",
  // "token file /x/y", "exec plugin <command>", or "no credentials".
  std::string auth;

  // The secret values (token, client key) for Redactor::add.
  std::vector<std::string> secrets() const;
};

// Reads and merges the selected files like kubectl (for clusters, users and contexts the first
// file defining a name wins; current-context comes from the first file that sets one), picks the
// context, resolves relative paths against the file that named them, reads referenced files, and
// runs an exec credential plugin (client.authentication.k8s.io/v1 or v1beta1) through
// `exec_runner` (argv + env, never a shell; read-only, so dry-run runs it too).
// Throws InputError naming the file for unreadable/malformed files, unknown contexts, clusters or
// users, and missing fields; StageError when an exec plugin fails or prints no credential;
// ToolMissingError (with the plugin's installHint) when its command is not found.
ClusterAccess load_kubeconfig(const KubeconfigSelection& selection, process::Runner* exec_runner);

// ---------------------------------------------------------------------------------------------
// HTTP client

struct ClientOptions {
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds request_timeout{30000};  // per attempt of a non-watch request
  // Retries on connection errors, 429 and 5xx: exponential backoff from backoff_initial doubling
  // up to backoff_max, with jitter (each wait is uniformly drawn from [d/2, d]); Retry-After is
  // honoured (capped at max_retry_after). Never past the request's deadline.
  int max_attempts = 6;
  std::chrono::milliseconds backoff_initial{200};
  std::chrono::milliseconds backoff_max{5000};
  std::chrono::milliseconds max_retry_after{30000};
  std::string user_agent = "fluxboot";
  // Debug lines (method, path, status, duration, retries); never headers, bodies or credentials.
  std::function<void(const std::string&)> debug;
  // For reports after Ctrl-C (what state an interrupted step left): requests of this client
  // are aborted only by a signal that arrives after it was created, as the process runner
  // treats commands started after the first signal. Keep such requests short (a deadline).
  bool after_interrupt = false;
};

struct ListOptions {
  std::string label_selector;  // "app=flux-operator", "app in (a,b)", "!x"
  std::string field_selector;  // "metadata.name=flux"
};

// A collection to observe (see observe()).
struct Query {
  std::string path;  // collection path
  ListOptions options;
};
// The objects of one query as last seen, keyed "namespace/name" ("name" when cluster-scoped).
using ObjectMap = std::map<std::string, json>;

struct Response {
  long status = 0;
  std::string body;
  std::string content_type;
  std::optional<std::chrono::seconds> retry_after;
  int attempts = 1;  // how many tries it took (retries on 429/5xx/connection errors)
};

// A non-2xx answer from the API server. status() is the HTTP status, reason() the Status reason
// ("NotFound", "Conflict", "Forbidden"...; empty when the body is not a Status).
class ApiError : public StageError {
 public:
  ApiError(const std::string& message, long status, std::string reason)
      : StageError(message), status_(status), reason_(std::move(reason)) {}
  long status() const noexcept { return status_; }
  const std::string& reason() const noexcept { return reason_; }

 private:
  long status_;
  std::string reason_;
};

struct WatchEvent {
  std::string type;  // ADDED, MODIFIED or DELETED (bookmarks only advance the resourceVersion)
  json object;
};
// Returns false to stop the watch.
using WatchHandler = std::function<bool(const WatchEvent&)>;

// One connection pool (libcurl multi handle) per Client: requests reuse kept-alive connections,
// and several watches can run side by side (observe()). Not thread-safe: one Client per thread.
// Every call takes a deadline; a transfer in flight is aborted at the deadline or on a signal.
class Client {
 public:
  explicit Client(ClusterAccess access, ClientOptions options = {});
  ~Client();
  Client(Client&&) noexcept;
  Client& operator=(Client&&) noexcept;
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  const ClusterAccess& access() const;
  const std::string& server() const;

  // One request (path may carry a query string), retried per ClientOptions when `retry`.
  // Returns any HTTP answer (including 4xx/5xx once retries are exhausted). Throws StageError for
  // connection/TLS failures (after retries for transient ones; TLS, certificate and URL problems
  // are never retried), DeadlineError when `deadline` passes, InterruptedError on a signal.
  Response request(const std::string& method, const std::string& path, const std::string& body = {},
                   const std::string& content_type = {}, Deadline deadline = kNoDeadline,
                   bool retry = true);

  // GET an object; ApiError on any non-2xx answer (404 included).
  json get(const std::string& path, Deadline deadline = kNoDeadline);
  // GET; nullopt on 404.
  std::optional<json> get_optional(const std::string& path, Deadline deadline = kNoDeadline);
  // LIST a collection (pages through `continue` tokens); the result is the List object with every
  // item and the list's metadata.resourceVersion.
  json list(const std::string& path, const ListOptions& options = {},
            Deadline deadline = kNoDeadline);
  // WATCH a collection from `resource_version` (empty: from now, after the server's initial
  // ADDED events). A dropped stream is resumed from the last resourceVersion seen (bookmarks
  // included) with backoff. Returns true when `handler` returned false, false when the deadline
  // passed. Throws ApiError with status 410 when the resourceVersion is too old (relist, then
  // watch again; observe() does this for you).
  bool watch(const std::string& path, const std::string& resource_version,
             const WatchHandler& handler, Deadline deadline, const ListOptions& options = {});
  // Server-side apply: PATCH `path` (the object's own path) with application/apply-patch+yaml,
  // ?fieldManager=...&force=... Returns the stored object.
  json apply(const std::string& path, const json& object, const std::string& field_manager,
             bool force, Deadline deadline = kNoDeadline);
  // DELETE; false when the object did not exist.
  bool remove(const std::string& path, Deadline deadline = kNoDeadline);

  struct Impl;  // defined in src/kube

 private:
  friend bool observe(Client&, const std::vector<Query>&,
                      const std::function<bool(const std::vector<ObjectMap>&)>&, Deadline);
  std::unique_ptr<Impl> impl_;
};

// "/api/v1/namespaces/flux-system/pods" or "/apis/fluxcd.controlplane.io/v1/namespaces/
// flux-system/fluxinstances/flux": ns empty = cluster scope (or all namespaces for a
// collection), name empty = the collection.
std::string resource_path(std::string_view api_version, std::string_view plural,
                          std::string_view ns = {}, std::string_view name = {});
// Percent-encodes a query parameter value.
std::string url_encode(std::string_view text);

// ---------------------------------------------------------------------------------------------
// list + watch

// Keeps each query's ObjectMap current (LIST, then one WATCH per query from the list's
// resourceVersion, all multiplexed on the client's connections; a dropped watch resumes from the
// last resourceVersion; 410 Gone relists) and calls `done` after the initial lists and after
// each batch of changes. Returns true once `done` returns true, false when the deadline passes
// (a wait then builds its own DeadlineError). `done` may throw to fail fast.
bool observe(Client& client, const std::vector<Query>& queries,
             const std::function<bool(const std::vector<ObjectMap>&)>& done, Deadline deadline);

// ---------------------------------------------------------------------------------------------
// readiness

// The condition `type` from status.conditions, or nullptr.
const json* find_condition(const json& object, std::string_view type);

struct Readiness {
  enum class State { Ready, NotReady, Failed };
  State state = State::NotReady;
  std::string reason;   // condition reason, or a short fluxboot reason ("NotFound", "Stale")
  std::string message;  // condition message (pods: plus the waiting/terminated containers)
  bool ready() const { return state == State::Ready; }
};

// Ready=False reasons that will not resolve without a change by the user.
const std::vector<std::string>& default_terminal_reasons();

// Readiness of one object by its `condition_type` condition (kstatus-style):
//   Ready: the condition is True and status.observedGeneration (when present) is current;
//   Failed: Stalled=True, or the condition is False with a reason in `terminal_reasons`;
//   NotReady: anything else (no status yet, Unknown, False with a transient reason, stale).
Readiness readiness(const json& object, std::string_view condition_type = "Ready",
                    const std::vector<std::string>& terminal_reasons = default_terminal_reasons());

// "pod flux-system/flux-operator-abc" / "node k8s-0" (kind lower-cased).
std::string describe(const json& object);

// ---------------------------------------------------------------------------------------------
// waits

// Polls GET /readyz (a watch is not possible) with backoff until it answers 200. Returns at once
// when it already does. Fails fast with StageError on TLS/certificate problems and on 401; other
// failures (connection refused, 5xx, 403) count as "not ready yet". DeadlineError:
// "timed out after 30s waiting for the API server https://...: /readyz: 503 ..."
void wait_api_ready(Client& client, Deadline deadline, const Progress& progress = {});

// Waits until every expected node has registered (exists, Ready True or False). A node counts
// for an expected entry when its metadata.name equals it or one of its status.addresses[].address
// does (InternalIP, Hostname...). An empty `expected` waits for at least one node. Progress:
// "2/3 nodes registered; missing: k8s-2". Returns the node names, in `expected` order (all nodes
// for an empty `expected`). DeadlineError lists the missing entries.
std::vector<std::string> wait_nodes_registered(Client& client,
                                               const std::vector<std::string>& expected,
                                               Deadline deadline, const Progress& progress = {});

// What wait_ready waits for: one named object, or every object matching a label selector (at
// least one must exist).
struct ObjectRef {
  std::string kind;  // lower-case, for messages: "pod", "fluxinstance"
  std::string path;  // collection path (resource_path(api_version, plural, ns))
  std::string ns;    // for messages
  std::string name;  // one object; empty: every object matching label_selector
  std::string label_selector;
  std::string condition = "Ready";

  static ObjectRef pods(std::string ns, std::string label_selector);
  static ObjectRef named(std::string kind, std::string_view api_version, std::string_view plural,
                         std::string ns, std::string name);
  // "pods -l app=flux-operator in flux-system" / "fluxinstance flux-system/flux".
  std::string display() const;
};

// Waits, on watches, until every ref is Ready. Fails fast with StageError when an object is
// Failed (see readiness()): "fluxinstance flux-system/flux: Stalled: <message>". At the deadline
// throws DeadlineError listing every object still not ready with its latest condition, e.g.
//   timed out after 5m waiting for 2 objects to become Ready:
//     fluxinstance flux-system/flux: Reconciling: ...
//     pods -l app=flux-operator in flux-system: none found
void wait_ready(Client& client, const std::vector<ObjectRef>& refs, Deadline deadline,
                const Progress& progress = {},
                const std::vector<std::string>& terminal_reasons = default_terminal_reasons());

}  // namespace fluxboot::kube
