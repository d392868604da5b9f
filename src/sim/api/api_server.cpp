#include "sim/api/api_server.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>
#include <httplib.h>
#include <openssl/ssl.h>

#include "sim/api/controllers.hpp"
#include "sim/api/handlers.hpp"
#include "sim/api/patch.hpp"
#include "sim/api/status.hpp"
#include "sim/api/store.hpp"
#include "sim/api/util.hpp"

namespace fluxboot::sim {

namespace {

using Clock = std::chrono::steady_clock;

struct Fault {
  int remaining = 0;
  int status = 500;
  std::string prefix;
  int retry_after_s = 0;
};

struct ControlRoute {
  std::string method;
  std::string prefix;
  std::function<ControlResponse(const ControlRequest&)> fn;
};

bool is_kubernetes_path(const std::string& path) { return path.rfind("/_sim", 0) != 0; }

int socket_port(const sockaddr_storage& addr) {
  if (addr.ss_family == AF_INET) {
    sockaddr_in in{};
    std::memcpy(&in, &addr, sizeof(in));
    return ntohs(in.sin_port);
  }
  if (addr.ss_family == AF_INET6) {
    sockaddr_in6 in6{};
    std::memcpy(&in6, &addr, sizeof(in6));
    return ntohs(in6.sin6_port);
  }
  return -1;
}

// Calls fn(fd, local_port, peer_port) for every connected TCP socket of this process.
template <typename Fn>
void for_each_connected_socket(Fn fn) {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return;
  while (dirent* entry = readdir(dir)) {
    char* end = nullptr;
    long fd = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0' || fd == dirfd(dir)) continue;
    sockaddr_storage local{};
    sockaddr_storage peer{};
    socklen_t len = sizeof(local);
    if (getsockname(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&local), &len) != 0) continue;
    len = sizeof(peer);
    if (getpeername(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&peer), &len) != 0) continue;
    fn(static_cast<int>(fd), socket_port(local), socket_port(peer));
  }
  closedir(dir);
}

// A watch client never sends anything, so a readable socket means it closed (EOF, TLS
// close_notify) or reset the connection.
bool client_gone(int fd) {
  if (fd < 0) return false;
  pollfd p{fd, static_cast<short>(POLLIN | POLLRDHUP), 0};
  int n = ::poll(&p, 1, 0);
  return n > 0 && (p.revents & (POLLIN | POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0;
}

std::string first_header(const httplib::Request& req, const char* key) {
  return req.has_header(key) ? req.get_header_value(key) : "";
}

}  // namespace

struct ApiServer::Impl {
  explicit Impl(ServerOptions opts)
      : options(std::move(opts)), controllers(store, options.deployment_pods_ready),
        resources(store) {}

  ServerOptions options;
  api::Store store;
  api::Controllers controllers;
  api::ResourceApi resources;

  std::unique_ptr<httplib::Server> server;
  std::thread listener;
  std::atomic<int> port{0};
  std::atomic<bool> stopping{false};
  bool tls = false;

  std::atomic<bool> available{true};
  std::atomic<long long> latency_ms{0};
  std::mutex fault_mu;
  std::deque<Fault> faults;
  std::atomic<std::uint64_t> watch_epoch{0};
  std::atomic<std::uint64_t> requests{0};

  std::mutex routes_mu;
  std::vector<ControlRoute> routes;

  std::mutex callbacks_mu;
  std::vector<std::function<void(const std::string&, const json&)>> callbacks;

  std::mutex log_mu;
  std::ofstream log;

  void on_commit(const std::string& type, const json& object) {
    std::vector<std::function<void(const std::string&, const json&)>> fns;
    {
      std::lock_guard lock(callbacks_mu);
      fns = callbacks;
    }
    for (auto& fn : fns) {
      try {
        fn(type, object);
      } catch (const std::exception&) {
        // a failing observer must not fail the write that triggered it
      }
    }
    controllers.react(type, object);
  }

  void seed() {
    for (const char* ns : {"default", "kube-system", "kube-public", "kube-node-lease"}) {
      put_object({{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns}}}});
    }
    put_object({{"apiVersion", "v1"},
                {"kind", "Service"},
                {"metadata",
                 {{"name", "kubernetes"},
                  {"namespace", "default"},
                  {"labels", {{"component", "apiserver"}, {"provider", "kubernetes"}}}}},
                {"spec",
                 {{"clusterIP", "10.96.0.1"},
                  {"ports", json::array({{{"name", "https"}, {"port", 443}, {"targetPort", 6443}}})}}}});
  }

  json put_object(json object) {
    if (!object.is_object()) throw std::invalid_argument("put: the object must be a JSON object");
    std::string api_version = object.value("apiVersion", "");
    std::string kind = object.value("kind", "");
    auto t = store.type_for(api_version, kind);
    if (!t) throw std::invalid_argument(fmt::format("put: unknown kind {} {}", api_version, kind));
    std::string name = api::string_at(object, {"metadata", "name"});
    std::string ns = api::string_at(object, {"metadata", "namespace"});
    if (t->namespaced && ns.empty()) ns = "default";
    api::CommitOptions opts;
    opts.keep_status_if_absent = true;
    try {
      return store.commit(*t, ns, name, [&](const json*) { return object; }, opts).object;
    } catch (const api::ApiError& e) {
      throw std::invalid_argument(std::string("put: ") + e.what());
    }
  }

  ResourceType require_type(const std::string& api_version, const std::string& kind) const {
    auto t = store.type_for(api_version, kind);
    if (!t) throw std::out_of_range(fmt::format("unknown kind {} {}", api_version, kind));
    return *t;
  }

  void commit_status(const std::string& api_version, const std::string& kind, const std::string& ns,
                     const std::string& name, const std::function<void(json& status)>& edit) {
    ResourceType t = require_type(api_version, kind);
    api::CommitOptions opts;
    opts.existence = api::CommitOptions::Existence::MustExist;
    opts.status_only = true;
    try {
      store.commit(t, ns.empty() && t.namespaced ? "default" : ns, name, [&](const json* cur) {
        json next = *cur;
        json status = next.contains("status") && next["status"].is_object() ? next["status"]
                                                                             : json::object();
        edit(status);
        next["status"] = status;
        return next;
      }, opts);
    } catch (const api::ApiError& e) {
      throw std::out_of_range(e.what());
    }
  }

  // ---- HTTP ----

  void write_log(const httplib::Request& req, int status, Clock::time_point start) {
    if (options.request_log.empty()) return;
    auto ms = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count();
    std::string query;
    if (auto q = req.target.find('?'); q != std::string::npos) query = req.target.substr(q + 1);
    std::string ct = first_header(req, "Content-Type");
    ct.erase(std::remove(ct.begin(), ct.end(), ' '), ct.end());
    std::string line = fmt::format("{} {} {} {} {} {:.1f}\n", req.method, req.path,
                                   query.empty() ? "-" : query, ct.empty() ? "-" : ct, status,
                                   static_cast<double>(ms) / 1000.0);
    std::lock_guard lock(log_mu);
    if (!log.is_open()) log.open(options.request_log, std::ios::app);
    log << line;
    log.flush();
  }

  static void set_status(httplib::Response& res, const json& status_body, int code) {
    res.status = code;
    res.set_content(status_body.dump(), "application/json");
  }

  bool control_route(const httplib::Request& req, httplib::Response& res) {
    const ControlRoute* best = nullptr;
    std::lock_guard lock(routes_mu);
    for (const auto& r : routes) {
      if ((r.method == "*" || r.method == req.method) && req.path.rfind(r.prefix, 0) == 0 &&
          (best == nullptr || r.prefix.size() > best->prefix.size())) {
        best = &r;
      }
    }
    if (best == nullptr) return false;
    ControlRequest creq;
    creq.method = req.method;
    creq.path = req.path;
    for (const auto& [k, v] : req.params) creq.query.emplace(k, v);
    creq.body = req.body;
    ControlResponse cres;
    try {
      cres = best->fn(creq);
    } catch (const std::exception& e) {
      cres.status = 500;
      cres.body = json{{"error", e.what()}}.dump();
    }
    res.status = cres.status;
    res.set_content(cres.body, cres.content_type);
    return true;
  }

  // Applies availability, latency and injected failures; true when the request was answered.
  bool apply_faults(const httplib::Request& req, httplib::Response& res) {
    if (auto ms = latency_ms.load(); ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    if (!available.load()) {
      set_status(res, api::status_body(503, "ServiceUnavailable",
                                       "the server is currently unable to handle the request"),
                 503);
      return true;
    }
    Fault hit;
    {
      std::lock_guard lock(fault_mu);
      for (auto it = faults.begin(); it != faults.end(); ++it) {
        if (req.path.rfind(it->prefix, 0) != 0) continue;
        hit = *it;
        if (--it->remaining <= 0) faults.erase(it);
        hit.remaining = 1;
        break;
      }
    }
    if (hit.remaining == 0) return false;
    std::string reason = api::reason_for_code(hit.status);
    std::string message = hit.status == 429 ? "Too many requests, please try again later."
                          : hit.status == 409 ? "Operation cannot be fulfilled: the object has been modified; please apply your changes to the latest version and try again"
                          : hit.status == 503 ? "the server is currently unable to handle the request"
                                              : "an error on the server (\"injected fault\") has prevented the request from succeeding";
    json details = json::object();
    if (hit.retry_after_s > 0) {
      res.set_header("Retry-After", std::to_string(hit.retry_after_s));
      details["retryAfterSeconds"] = hit.retry_after_s;
    }
    set_status(res, api::status_body(hit.status, reason, message, details), hit.status);
    return true;
  }

  void serve(const httplib::Request& req, httplib::Response& res) {
    auto start = Clock::now();
    ++requests;
    if (control_route(req, res)) {
      write_log(req, res.status, start);
      return;
    }
    if (is_kubernetes_path(req.path) && apply_faults(req, res)) {
      write_log(req, res.status, start);
      return;
    }
    api::HttpRequest hreq;
    hreq.method = req.method;
    hreq.path = req.path;
    for (const auto& [k, v] : req.params) hreq.params.emplace(k, v);
    hreq.content_type = first_header(req, "Content-Type");
    hreq.accept = first_header(req, "Accept");
    hreq.user_agent = first_header(req, "User-Agent");
    hreq.body = req.body;
    hreq.server_address = fmt::format("{}:{}", options.bind, port.load());
    api::HttpResponse hres = resources.handle(hreq);
    if (hres.watch) {
      start_watch(req, res, std::move(*hres.watch));
    } else {
      res.status = hres.status;
      res.set_content(hres.body, hres.content_type);
    }
    write_log(req, res.status, start);
  }

  struct WatchState {
    api::WatchRequest w;
    std::string key;
    std::uint64_t since = 0;
    std::deque<std::string> pending;
    Clock::time_point deadline = Clock::time_point::max();
    std::uint64_t epoch = 0;
    int fd = -1;
  };

  static std::string event_line(const std::string& type, json object) {
    json ev = {{"type", type}, {"object", std::move(object)}};
    return ev.dump() + "\n";
  }

  void start_watch(const httplib::Request& req, httplib::Response& res, api::WatchRequest w) {
    auto state = std::make_shared<WatchState>();
    state->key = api::store_key(w.type);
    state->epoch = watch_epoch.load();
    if (w.timeout_seconds > 0) state->deadline = Clock::now() + std::chrono::seconds(w.timeout_seconds);
    if (req.ssl != nullptr) {
      state->fd = SSL_get_fd(req.ssl);
    } else {
      for_each_connected_socket([&](int fd, int local, int peer) {
        if (local == req.local_port && peer == req.remote_port) state->fd = fd;
      });
    }
    if (w.initial_events) {
      std::uint64_t rv = 0;
      for (auto& o : store.list(w.type, w.ns, &rv)) {
        const json* labels = api::find_path(o, {"metadata", "labels"});
        if (w.labels.matches(labels != nullptr ? *labels : json()) && w.fields.matches(o)) {
          state->pending.push_back(event_line("ADDED", std::move(o)));
        }
      }
      state->since = rv;
      if (w.initial_events_end_bookmark) {
        json bookmark = {{"kind", w.type.kind},
                         {"apiVersion", w.type.api_version()},
                         {"metadata",
                          {{"resourceVersion", std::to_string(rv)},
                           {"annotations", {{"k8s.io/initial-events-end", "true"}}}}}};
        state->pending.push_back(event_line("BOOKMARK", bookmark));
      }
    } else {
      state->since = w.since;
    }
    state->w = std::move(w);
    res.status = 200;
    // Not plain "application/json": httplib would gzip the stream and hold events in zlib's buffer.
    res.set_chunked_content_provider(
        "application/json;stream=watch",
        [this, state](std::size_t, httplib::DataSink& sink) { return pump_watch(*state, sink); });
  }

  bool pump_watch(WatchState& st, httplib::DataSink& sink) {
    while (!st.pending.empty()) {
      const std::string& line = st.pending.front();
      if (!sink.write(line.data(), line.size())) return false;
      st.pending.pop_front();
    }
    auto cancelled = [&] { return stopping.load() || watch_epoch.load() != st.epoch; };
    if (cancelled() || Clock::now() >= st.deadline) {
      sink.done();
      return true;
    }
    if (client_gone(st.fd)) return false;
    std::uint64_t scanned = st.since;
    bool expired = false;
    auto wait = std::chrono::milliseconds(250);
    if (st.deadline != Clock::time_point::max()) {
      wait = std::min(wait, std::chrono::duration_cast<std::chrono::milliseconds>(
                                st.deadline - Clock::now()) + std::chrono::milliseconds(1));
    }
    auto events = store.events_after(st.since, st.key, st.w.ns, wait, scanned, expired, cancelled);
    if (expired) {
      std::string line = event_line(
          "ERROR", api::status_body(410, "Expired",
                                    fmt::format("too old resource version: {} ({})", st.since, scanned)));
      sink.write(line.data(), line.size());
      sink.done();
      return true;
    }
    for (const auto& ev : events) {
      json obj = *ev.object;
      obj["apiVersion"] = st.w.type.api_version();
      const json* labels = api::find_path(obj, {"metadata", "labels"});
      if (!st.w.labels.matches(labels != nullptr ? *labels : json()) || !st.w.fields.matches(obj)) {
        continue;
      }
      std::string line = event_line(ev.type, std::move(obj));
      if (!sink.write(line.data(), line.size())) return false;
    }
    st.since = scanned;
    return true;
  }

  void shutdown_connections() {
    int p = port.load();
    for_each_connected_socket([&](int fd, int local, int) {
      if (local == p) ::shutdown(fd, SHUT_RDWR);
    });
  }
};

ApiServer::ApiServer(ServerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {
  impl_->store.set_hook([impl = impl_.get()](const std::string& type, const json& object) {
    impl->on_commit(type, object);
  });
  impl_->seed();
}

ApiServer::~ApiServer() { stop(); }

int ApiServer::start() {
  Impl& s = *impl_;
  if (s.server) return s.port.load();
  if (!s.options.cert_file.empty()) {
    const char* ca = s.options.client_ca_file.empty() ? nullptr : s.options.client_ca_file.c_str();
    auto ssl = std::make_unique<httplib::SSLServer>(s.options.cert_file.c_str(),
                                                    s.options.key_file.c_str(), ca);
    if (!ssl->is_valid()) {
      throw std::runtime_error("api server: can't load TLS certificate " + s.options.cert_file +
                               " / key " + s.options.key_file +
                               (ca != nullptr ? " / client CA " + s.options.client_ca_file : ""));
    }
    s.server = std::move(ssl);
    s.tls = true;
  } else {
    s.server = std::make_unique<httplib::Server>();
  }
  httplib::Server& svr = *s.server;
  // Go clients stall ~40 ms per response on Nagle + delayed ACK when headers and body go out in
  // separate writes, as httplib does.
  svr.set_tcp_nodelay(true);
  svr.set_keep_alive_max_count(100000);
  svr.set_keep_alive_timeout(5);
  svr.set_read_timeout(30);
  svr.set_write_timeout(30);
  std::size_t threads = static_cast<std::size_t>(std::max(4, s.options.worker_threads));
  svr.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  auto handler = [impl = impl_.get()](const httplib::Request& req, httplib::Response& res) {
    impl->serve(req, res);
  };
  svr.Get(".*", handler);
  svr.Post(".*", handler);
  svr.Put(".*", handler);
  svr.Patch(".*", handler);
  svr.Delete(".*", handler);
  svr.Options(".*", handler);

  int bound = s.options.port == 0 ? svr.bind_to_any_port(s.options.bind)
                                  : (svr.bind_to_port(s.options.bind, s.options.port) ? s.options.port : -1);
  if (bound <= 0) {
    s.server.reset();
    throw std::runtime_error(fmt::format("api server: can't bind {}:{}", s.options.bind, s.options.port));
  }
  s.port = bound;
  s.stopping = false;
  s.listener = std::thread([&svr] {
    // Writes to a vanished client must fail with EPIPE, not kill the process; the worker threads
    // created by listen_after_bind() inherit this mask.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    svr.listen_after_bind();
  });
  for (int i = 0; i < 5000 && !svr.is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return bound;
}

void ApiServer::stop() {
  Impl& s = *impl_;
  if (!s.server) return;
  s.stopping = true;
  s.store.wake_watchers();
  s.server->stop();
  // Idle keep-alive connections would hold the worker threads (and this join) for seconds.
  s.shutdown_connections();
  if (s.listener.joinable()) s.listener.join();
  s.server.reset();
}

int ApiServer::port() const { return impl_->port.load(); }

std::string ApiServer::url() const {
  return fmt::format("{}://{}:{}", impl_->options.cert_file.empty() ? "http" : "https",
                     impl_->options.bind, impl_->port.load());
}

std::optional<json> ApiServer::get(const std::string& api_version, const std::string& kind,
                                   const std::string& ns, const std::string& name) const {
  auto t = impl_->store.type_for(api_version, kind);
  if (!t) return std::nullopt;
  return impl_->store.get(*t, ns, name);
}

std::vector<json> ApiServer::list(const std::string& api_version, const std::string& kind,
                                  const std::string& ns) const {
  auto t = impl_->store.type_for(api_version, kind);
  if (!t) return {};
  return impl_->store.list(*t, ns);
}

json ApiServer::put(json object) { return impl_->put_object(std::move(object)); }

void ApiServer::patch_status(const std::string& api_version, const std::string& kind,
                             const std::string& ns, const std::string& name,
                             const json& status_merge) {
  impl_->commit_status(api_version, kind, ns, name,
                       [&](json& status) { status = api::merge_patch(status, status_merge); });
}

void ApiServer::set_condition(const std::string& api_version, const std::string& kind,
                              const std::string& ns, const std::string& name,
                              const std::string& type, const std::string& status,
                              const std::string& reason, const std::string& message) {
  impl_->commit_status(api_version, kind, ns, name, [&](json& st) {
    json conditions = st.contains("conditions") ? st["conditions"] : json::array();
    api::upsert_condition(conditions, type, status, reason, message);
    st["conditions"] = conditions;
  });
}

bool ApiServer::remove(const std::string& api_version, const std::string& kind,
                       const std::string& ns, const std::string& name) {
  auto t = impl_->store.type_for(api_version, kind);
  if (!t) return false;
  return impl_->store.remove(*t, ns, name).has_value();
}

void ApiServer::on_change(std::function<void(const std::string&, const json&)> fn) {
  std::lock_guard lock(impl_->callbacks_mu);
  impl_->callbacks.push_back(std::move(fn));
}

void ApiServer::add_control_route(const std::string& method, const std::string& path_prefix,
                                  std::function<ControlResponse(const ControlRequest&)> fn) {
  std::lock_guard lock(impl_->routes_mu);
  impl_->routes.push_back({method, path_prefix, std::move(fn)});
}

void ApiServer::register_type(const ResourceType& type) { impl_->store.register_type(type); }

std::vector<ResourceType> ApiServer::types() const { return impl_->store.types(); }

void ApiServer::set_available(bool up) { impl_->available = up; }

bool ApiServer::available() const { return impl_->available.load(); }

void ApiServer::set_latency(std::chrono::milliseconds extra) { impl_->latency_ms = extra.count(); }

void ApiServer::fail_next(int count, int http_status, const std::string& path_prefix,
                          int retry_after_s) {
  if (count <= 0) return;
  std::lock_guard lock(impl_->fault_mu);
  impl_->faults.push_back({count, http_status, path_prefix, retry_after_s});
}

void ApiServer::inject_apply_conflict(int count, const std::string& manager) {
  impl_->resources.inject_apply_conflicts(count, manager);
}

void ApiServer::drop_watches() {
  ++impl_->watch_epoch;
  impl_->store.wake_watchers();
}

std::uint64_t ApiServer::resource_version() const { return impl_->store.resource_version(); }

std::uint64_t ApiServer::request_count() const { return impl_->requests.load(); }

}  // namespace fluxboot::sim
