#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <mutex>

#include "fluxboot/duration.hpp"
#include "kube/internal.hpp"

namespace fluxboot::kube {

namespace {

using std::chrono::milliseconds;

constexpr std::size_t kPoolSize = 8;

void curl_global() { (void)curl(); }  // loads libcurl (curl_api.cpp) and initialises it once

bool iequals_prefix(std::string_view line, std::string_view prefix) {
  if (line.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(line[i])) !=
        std::tolower(static_cast<unsigned char>(prefix[i])))
      return false;
  return true;
}

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

extern "C" size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  try {
    t->body.append(data, size * count);
  } catch (...) {
    return 0;  // aborts the transfer with CURLE_WRITE_ERROR
  }
  return size * count;
}

extern "C" size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::string_view line(data, size * count);
  try {
    if (line.rfind("HTTP/", 0) == 0) {
      // A new response (after a proxy CONNECT or a 100 Continue): forget the previous one.
      t->content_type.clear();
      t->retry_after_s = -1;
      const auto sp = line.find(' ');
      if (sp != std::string_view::npos) t->status = std::strtol(line.data() + sp + 1, nullptr, 10);
    } else if (iequals_prefix(line, "content-type:")) {
      t->content_type = trim(line.substr(13));
    } else if (iequals_prefix(line, "retry-after:")) {
      // Only the delay-seconds form; an HTTP date falls back to the computed backoff.
      const std::string v = trim(line.substr(12));
      if (!v.empty() &&
          std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; }))
        t->retry_after_s = std::strtol(v.c_str(), nullptr, 10);
    }
  } catch (...) {
    return 0;
  }
  return size * count;
}

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// helpers shared by the module

std::string http_status_text(long status) {
  switch (status) {
    case 200:
      return "200 OK";
    case 201:
      return "201 Created";
    case 400:
      return "400 Bad Request";
    case 401:
      return "401 Unauthorized";
    case 403:
      return "403 Forbidden";
    case 404:
      return "404 Not Found";
    case 405:
      return "405 Method Not Allowed";
    case 409:
      return "409 Conflict";
    case 410:
      return "410 Gone";
    case 415:
      return "415 Unsupported Media Type";
    case 422:
      return "422 Unprocessable Entity";
    case 429:
      return "429 Too Many Requests";
    case 500:
      return "500 Internal Server Error";
    case 502:
      return "502 Bad Gateway";
    case 503:
      return "503 Service Unavailable";
    case 504:
      return "504 Gateway Timeout";
    default:
      return std::to_string(status);
  }
}

std::pair<std::string, std::string> status_details(const std::string& body) {
  try {
    json j = json::parse(body);
    if (j.is_object() && j.value("kind", "") == "Status")
      return {j.value("message", ""), j.value("reason", "")};
  } catch (const json::exception&) {
  }
  std::string first = body.substr(0, body.find('\n'));
  if (first.size() > 200) first = first.substr(0, 200) + "...";
  return {trim(first), ""};
}

bool sleep_until(Clock::time_point until, Deadline deadline) {
  const bool capped = deadline < until;
  const auto target = capped ? deadline : until;
  for (;;) {
    const auto now = Clock::now();
    if (now >= target) break;
    if (!process::interruptible_sleep(std::chrono::ceil<milliseconds>(target - now)))
      throw InterruptedError(process::pending_signal());
  }
  if (process::interrupted()) throw InterruptedError(process::pending_signal());
  return !capped;
}

std::string waited_for(Clock::time_point started) {
  return format_duration(std::chrono::duration_cast<milliseconds>(Clock::now() - started));
}

std::string url_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

std::string resource_path(std::string_view api_version, std::string_view plural,
                          std::string_view ns, std::string_view name) {
  std::string out = api_version.find('/') == std::string_view::npos
                        ? fmt::format("/api/{}", api_version)
                        : fmt::format("/apis/{}", api_version);
  if (!ns.empty()) out += fmt::format("/namespaces/{}", ns);
  out += '/';
  out += plural;
  if (!name.empty()) {
    out += '/';
    out += name;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Transfer and Impl

Transfer::~Transfer() { impl.finish(*this); }

Client::Impl::Impl(ClusterAccess a, ClientOptions o)
    : access(std::move(a)), options(std::move(o)), rng(std::random_device{}()) {
  signals_at_start = process::signal_count();
  curl_global();
  if (access.server.empty()) throw InputError("kubeconfig: the cluster has no server");
  multi = curl().multi_init();
  if (!multi) throw StageError("libcurl: cannot create a connection pool");
  base_url = access.server;
  if (!access.tls_server_name.empty()) {
    // libcurl has no SNI override: address the server by tls-server-name (so SNI and certificate
    // verification use it) and map that name to the real host with CONNECT_TO.
    CURLU* u = curl().url();
    char* host = nullptr;
    char* port = nullptr;
    char* url = nullptr;
    const bool ok =
        curl().url_set(u, CURLUPART_URL, access.server.c_str(), 0) == CURLUE_OK &&
        curl().url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        curl().url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK &&
        curl().url_set(u, CURLUPART_HOST, access.tls_server_name.c_str(), 0) == CURLUE_OK &&
        curl().url_get(u, CURLUPART_URL, &url, 0) == CURLUE_OK;
    if (ok) {
      connect_to = fmt::format("{}:{}:{}:{}", access.tls_server_name, port, host, port);
      base_url = url;
      while (!base_url.empty() && base_url.back() == '/') base_url.pop_back();
    }
    curl().free(host);
    curl().free(port);
    curl().free(url);
    curl().url_cleanup(u);
    if (!ok)
      throw InputError(
          fmt::format("kubeconfig {}: server \"{}\" or tls-server-name \"{}\" is not "
                      "valid",
                      access.source.string(), access.server, access.tls_server_name));
  }
}

Client::Impl::~Impl() {
  for (CURL* e : pool) curl().easy_cleanup(e);
  if (connect_to_list) curl().slist_free_all(connect_to_list);
  if (multi) curl().multi_cleanup(multi);
}

void Client::Impl::start(Transfer& t, milliseconds timeout, bool stream, bool tls12_probe) {
  CURL* e = nullptr;
  if (!pool.empty()) {
    e = pool.back();
    pool.pop_back();
    curl().easy_reset(e);  // keeps the connection cache and TLS sessions
  } else {
    e = curl().easy_init();
    if (!e) throw StageError("libcurl: cannot create a transfer");
  }
  t.easy = e;
  t.done = false;
  t.result = CURLE_OK;
  t.status = 0;
  t.body.clear();
  t.content_type.clear();
  t.retry_after_s = -1;
  t.errbuf[0] = '\0';

  const std::string url = base_url + t.path;
  curl().easy_setopt(e, CURLOPT_URL, url.c_str());
  curl().easy_setopt(e, CURLOPT_PRIVATE, static_cast<void*>(&t));
  curl().easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl().easy_setopt(e, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
  curl().easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(options.connect_timeout.count()));
  if (!stream && timeout.count() > 0)
    curl().easy_setopt(e, CURLOPT_TIMEOUT_MS,
                     static_cast<long>(std::max<long long>(1, timeout.count())));
  curl().easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  curl().easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 30L);
  curl().easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 10L);
  curl().easy_setopt(e, CURLOPT_ERRORBUFFER, t.errbuf);
  curl().easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl().easy_setopt(e, CURLOPT_WRITEDATA, static_cast<void*>(&t));
  curl().easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl().easy_setopt(e, CURLOPT_HEADERDATA, static_cast<void*>(&t));
  curl().easy_setopt(e, CURLOPT_USERAGENT, options.user_agent.c_str());
  if (!stream) curl().easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");

  if (t.headers) {
    curl().slist_free_all(t.headers);
    t.headers = nullptr;
  }
  t.headers = curl().slist_append(t.headers, "Accept: application/json");
  t.headers = curl().slist_append(t.headers, "Expect:");  // no 100-continue round trip
  if (!access.token.empty())
    t.headers = curl().slist_append(t.headers, ("Authorization: Bearer " + access.token).c_str());
  if (!t.request_type.empty())
    t.headers = curl().slist_append(t.headers, ("Content-Type: " + t.request_type).c_str());
  curl().easy_setopt(e, CURLOPT_HTTPHEADER, t.headers);

  if (t.method == "GET") {
    curl().easy_setopt(e, CURLOPT_HTTPGET, 1L);
  } else {
    curl().easy_setopt(e, CURLOPT_CUSTOMREQUEST, t.method.c_str());
    if (!t.request_body.empty() || t.method != "DELETE") {
      curl().easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(t.request_body.size()));
      curl().easy_setopt(e, CURLOPT_POSTFIELDS, t.request_body.c_str());
    }
  }

  if (!access.ca_pem.empty()) {
    curl_blob blob{const_cast<char*>(access.ca_pem.data()), access.ca_pem.size(), CURL_BLOB_COPY};
    curl().easy_setopt(e, CURLOPT_CAINFO_BLOB, &blob);
    // Only the kubeconfig's CA, like kubectl: not the system store as well.
    curl().easy_setopt(e, CURLOPT_CAINFO, static_cast<char*>(nullptr));
    curl().easy_setopt(e, CURLOPT_CAPATH, static_cast<char*>(nullptr));
  }
  if (!access.client_cert_pem.empty()) {
    curl_blob cert{const_cast<char*>(access.client_cert_pem.data()), access.client_cert_pem.size(),
                   CURL_BLOB_COPY};
    curl_blob key{const_cast<char*>(access.client_key_pem.data()), access.client_key_pem.size(),
                  CURL_BLOB_COPY};
    curl().easy_setopt(e, CURLOPT_SSLCERT_BLOB, &cert);
    curl().easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
    curl().easy_setopt(e, CURLOPT_SSLKEY_BLOB, &key);
    curl().easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
  }
  if (access.insecure_skip_tls_verify) {
    curl().easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
    curl().easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (!connect_to.empty()) {
    if (!connect_to_list) connect_to_list = curl().slist_append(nullptr, connect_to.c_str());
    curl().easy_setopt(e, CURLOPT_CONNECT_TO, connect_to_list);
  }
  if (!access.proxy_url.empty()) curl().easy_setopt(e, CURLOPT_PROXY, access.proxy_url.c_str());
  if (tls12_probe) {
    curl().easy_setopt(e, CURLOPT_SSLVERSION,
                     static_cast<long>(CURL_SSLVERSION_TLSv1_2) |
                         static_cast<long>(CURL_SSLVERSION_MAX_TLSv1_2));
    curl().easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
    curl().easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
  }

  if (curl().multi_add_handle(multi, e) != CURLM_OK) {
    pool.push_back(e);
    t.easy = nullptr;
    throw StageError("libcurl: cannot start a transfer");
  }
  t.running = true;
}

void Client::Impl::finish(Transfer& t) noexcept {
  if (t.easy) {
    if (t.running) curl().multi_remove_handle(multi, t.easy);
    if (pool.size() < kPoolSize) {
      pool.push_back(t.easy);
    } else {
      curl().easy_cleanup(t.easy);
    }
    t.easy = nullptr;
  }
  t.running = false;
  if (t.headers) {
    curl().slist_free_all(t.headers);
    t.headers = nullptr;
  }
}

void Client::Impl::throw_interrupted() const { throw InterruptedError(process::pending_signal()); }

bool Client::Impl::cancelled() const noexcept {
  return options.after_interrupt ? process::signal_count() > signals_at_start : process::interrupted();
}

bool Client::Impl::drive(Deadline deadline, const std::function<bool()>& until) {
  for (;;) {
    if (cancelled()) throw_interrupted();
    int running = 0;
    const CURLMcode mc = curl().multi_perform(multi, &running);
    if (mc != CURLM_OK) throw StageError(fmt::format("libcurl: {}", curl().multi_strerror(mc)));
    int left = 0;
    while (CURLMsg* m = curl().multi_info_read(multi, &left)) {
      if (m->msg != CURLMSG_DONE) continue;
      char* priv = nullptr;
      curl().easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
      auto* t = static_cast<Transfer*>(static_cast<void*>(priv));
      if (!t) continue;
      t->done = true;
      t->result = m->data.result;
      long code = 0;
      curl().easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &code);
      if (code != 0) t->status = code;
    }
    if (until()) return true;
    const auto now = Clock::now();
    if (now >= deadline) return false;
    // Short polls so that a signal (or the deadline) is noticed within 100 ms even when the
    // sockets are silent; socket activity wakes us at once.
    const auto wait =
        std::min<milliseconds>(milliseconds(100), std::chrono::ceil<milliseconds>(deadline - now));
    curl().multi_poll(multi, nullptr, 0, static_cast<int>(std::max<long long>(1, wait.count())),
                    nullptr);
  }
}

TransportError Client::Impl::transport_error(const Transfer& t) {
  TransportError e = classify(t);
  const bool suspicious = t.result == CURLE_SEND_ERROR || t.result == CURLE_RECV_ERROR ||
                          t.result == CURLE_GOT_NOTHING || t.result == CURLE_SSL_CONNECT_ERROR;
  if (!e.transient() || !suspicious || client_cert_verified || !access.server.starts_with("https"))
    return e;
  Transfer probe(*this);
  probe.method = "GET";
  probe.path = "/version";
  start(probe, milliseconds(5000), false, /*tls12_probe=*/true);
  drive(Clock::now() + milliseconds(5000), [&] { return probe.done; });
  finish(probe);
  if (!probe.done) return e;
  if (probe.result == CURLE_OK) {
    client_cert_verified = true;
    return e;
  }
  TransportError verdict = classify(probe);
  const std::string_view what = verdict.what();
  if (!verdict.transient() && what.find("client certificate") != std::string_view::npos)
    return verdict;
  // Without a certificate, TLS 1.2 servers that demand one answer "handshake failure".
  if (access.client_cert_pem.empty() &&
      what.find("alert handshake failure") != std::string_view::npos)
    return TransportError(fmt::format("{}: TLS: the server requires a client certificate and user "
                                      "\"{}\" has none ({})",
                                      access.server, access.user, probe.errbuf),
                          false);
  return e;
}

TransportError Client::Impl::classify(const Transfer& t) const {
  const std::string detail = t.errbuf[0] ? std::string(t.errbuf) : curl().easy_strerror(t.result);
  const std::string& s = access.server;
  auto fatal = [&](const std::string& what) { return TransportError(s + ": " + what, false); };
  auto transient = [&](const std::string& what) { return TransportError(s + ": " + what, true); };
  const bool alert = contains(detail, "alert");
  switch (t.result) {
    case CURLE_PEER_FAILED_VERIFICATION:
      if (contains(detail, "subject name") || contains(detail, "does not match") ||
          contains(detail, "hostname"))
        return fatal(
            fmt::format("TLS: the server certificate is not valid for \"{}\" ({}; set "
                        "tls-server-name in the kubeconfig?)",
                        access.tls_server_name.empty() ? s : access.tls_server_name, detail));
      return fatal("TLS: certificate verify failed (wrong CA in kubeconfig?): " + detail);
    case CURLE_SSL_CACERT_BADFILE:
      return fatal("TLS: the kubeconfig's certificate-authority could not be loaded: " + detail);
    case CURLE_SSL_CERTPROBLEM:
      return fatal("TLS: the kubeconfig's client certificate or key could not be used: " + detail);
    case CURLE_SSL_CIPHER:
      return fatal("TLS: no common cipher: " + detail);
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
      if (alert &&
          (contains(detail, "certificate required") || contains(detail, "unknown ca") ||
           contains(detail, "bad certificate") || contains(detail, "certificate unknown") ||
           contains(detail, "unsupported certificate") || contains(detail, "certificate expired") ||
           contains(detail, "certificate revoked") || contains(detail, "access denied"))) {
        if (access.client_cert_pem.empty())
          return fatal(
              fmt::format("TLS: the server requires a client certificate and user \"{}\" "
                          "has none ({})",
                          access.user, detail));
        return fatal(
            fmt::format("TLS: client certificate rejected by the server (not signed by "
                        "the cluster CA?): {}",
                        detail));
      }
      if (contains(detail, "wrong version number") || contains(detail, "packet length too long"))
        return fatal("TLS handshake failed: the server does not speak TLS (an http:// server?): " +
                     detail);
      if (alert && (contains(detail, "protocol version") || contains(detail, "handshake failure")))
        return fatal("TLS handshake failed: " + detail);
      if (t.result == CURLE_SSL_CONNECT_ERROR) return transient("TLS handshake failed: " + detail);
      return transient("connection lost: " + detail);
    case CURLE_COULDNT_CONNECT:
      return transient("cannot connect: " + detail);
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return transient("cannot resolve: " + detail);
    case CURLE_OPERATION_TIMEDOUT:
      return transient("timed out: " + detail);
    case CURLE_GOT_NOTHING:
      return transient("the server closed the connection without answering");
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return transient("connection lost: " + detail);
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return fatal("invalid server URL: " + detail);
    default:
      return fatal(detail);
  }
}

ApiError Client::Impl::api_error(const std::string& method, const std::string& path,
                                 const Response& r) const {
  return make_api_error(access, method, path, r);
}

ApiError make_api_error(const ClusterAccess& access, const std::string& method,
                        const std::string& path, const Response& r) {
  auto [message, reason] = status_details(r.body);
  std::string text;
  if (r.status == 401) {
    std::string who;
    if (access.auth == "client certificate")
      who = "client certificate rejected";
    else if (access.auth == "no credentials")
      who = fmt::format("user \"{}\" has no credentials in the kubeconfig", access.user);
    else
      who = access.auth + " rejected";
    text = fmt::format("{}: 401 Unauthorized: {}", access.server, who);
  } else {
    text = fmt::format("{}: {} {}: {}", access.server, method, path, http_status_text(r.status));
    if (!message.empty()) text += ": " + message;
  }
  if (r.attempts > 1) text += fmt::format(" (after {} attempts)", r.attempts);
  return ApiError(text, r.status, reason);
}

milliseconds Client::Impl::backoff(int attempt) {
  double d = static_cast<double>(options.backoff_initial.count());
  for (int i = 1; i < attempt && d < static_cast<double>(options.backoff_max.count()); ++i) d *= 2;
  d = std::min(d, static_cast<double>(options.backoff_max.count()));
  std::uniform_real_distribution<double> jitter(d / 2, d);
  return milliseconds(static_cast<long long>(jitter(rng)));
}

// ---------------------------------------------------------------------------------------------
// Client

Client::Client(ClusterAccess access, ClientOptions options)
    : impl_(std::make_unique<Impl>(std::move(access), std::move(options))) {}
Client::~Client() = default;
Client::Client(Client&&) noexcept = default;
Client& Client::operator=(Client&&) noexcept = default;

const ClusterAccess& Client::access() const { return impl_->access; }
const std::string& Client::server() const { return impl_->access.server; }

Response Client::request(const std::string& method, const std::string& path,
                         const std::string& body, const std::string& content_type,
                         Deadline deadline, bool retry) {
  Impl& I = *impl_;
  std::string last;
  auto deadline_error = [&] {
    return DeadlineError(fmt::format("{}: {} {}: deadline exceeded{}", I.access.server, method,
                                     path, last.empty() ? "" : " (last: " + last + ")"));
  };
  for (int attempt = 1;; ++attempt) {
    if (I.cancelled()) I.throw_interrupted();
    const auto started = Clock::now();
    if (started >= deadline) throw deadline_error();
    milliseconds timeout = I.options.request_timeout;
    if (deadline != kNoDeadline)
      timeout = std::min(timeout, std::chrono::ceil<milliseconds>(deadline - started));

    Transfer t(I);
    t.method = method;
    t.path = path;
    t.request_body = body;
    t.request_type = content_type;
    I.start(t, timeout, false);
    if (!I.drive(deadline, [&] { return t.done; })) throw deadline_error();
    I.finish(t);
    const auto ms = std::chrono::duration_cast<milliseconds>(Clock::now() - started).count();

    milliseconds wait{0};
    if (t.result != CURLE_OK) {
      if (t.result == CURLE_OPERATION_TIMEDOUT && Clock::now() >= deadline) throw deadline_error();
      TransportError e = I.transport_error(t);
      I.debug(fmt::format("{} {} failed after {} ms (attempt {}): {}", method, path, ms, attempt,
                          e.what()));
      if (!e.transient() || !retry || attempt >= I.options.max_attempts) {
        if (attempt > 1)
          throw TransportError(fmt::format("{} (after {} attempts)", e.what(), attempt), false);
        throw e;
      }
      last = e.what();
      wait = I.backoff(attempt);
    } else {
      I.debug(
          fmt::format("{} {} -> {} in {} ms (attempt {})", method, path, t.status, ms, attempt));
      // The server accepted our TLS session: later connection errors are not a rejected client
      // certificate (see transport_error()).
      if (t.status != 401) I.client_cert_verified = true;
      Response r;
      r.status = t.status;
      r.body = std::move(t.body);
      r.content_type = std::move(t.content_type);
      if (t.retry_after_s >= 0) r.retry_after = std::chrono::seconds(t.retry_after_s);
      r.attempts = attempt;
      const bool retryable = r.status == 429 || r.status == 500 || r.status == 502 ||
                             r.status == 503 || r.status == 504;
      if (!retryable || !retry || attempt >= I.options.max_attempts) return r;
      last = http_status_text(r.status);
      if (auto [m, reason] = status_details(r.body); !m.empty()) last += ": " + m;
      wait = r.retry_after ? std::min<milliseconds>(*r.retry_after, I.options.max_retry_after)
                           : I.backoff(attempt);
    }
    if (!sleep_until(Clock::now() + wait, deadline)) throw deadline_error();
  }
}

namespace {

json parse_body(const std::string& server, const std::string& method, const std::string& path,
                const Response& r) {
  try {
    return json::parse(r.body);
  } catch (const json::exception& e) {
    throw StageError(
        fmt::format("{}: {} {}: the answer is not JSON ({})", server, method, path, e.what()));
  }
}

bool ok_status(long s) { return s >= 200 && s < 300; }

std::string with_query(std::string path,
                       const std::vector<std::pair<std::string, std::string>>& q) {
  char sep = path.find('?') == std::string::npos ? '?' : '&';
  for (const auto& [k, v] : q) {
    if (v.empty()) continue;
    path += sep;
    path += k;
    path += '=';
    path += url_encode(v);
    sep = '&';
  }
  return path;
}

}  // namespace

json Client::get(const std::string& path, Deadline deadline) {
  Response r = request("GET", path, {}, {}, deadline);
  if (!ok_status(r.status)) throw impl_->api_error("GET", path, r);
  return parse_body(server(), "GET", path, r);
}

std::optional<json> Client::get_optional(const std::string& path, Deadline deadline) {
  Response r = request("GET", path, {}, {}, deadline);
  if (r.status == 404) return std::nullopt;
  if (!ok_status(r.status)) throw impl_->api_error("GET", path, r);
  return parse_body(server(), "GET", path, r);
}

json Client::list(const std::string& path, const ListOptions& options, Deadline deadline) {
  json result;
  std::string cont;
  do {
    const std::string full = with_query(path, {{"labelSelector", options.label_selector},
                                               {"fieldSelector", options.field_selector},
                                               {"limit", "500"},
                                               {"continue", cont}});
    json page = get(full, deadline);
    if (!page.is_object() || !page.contains("items") ||
        !(page["items"].is_array() || page["items"].is_null()))
      throw StageError(fmt::format("{}: GET {}: the answer is not a list", server(), full));
    if (page["items"].is_null()) page["items"] = json::array();
    cont = page.contains("metadata") ? page["metadata"].value("continue", "") : "";
    if (result.is_null()) {
      result = std::move(page);
    } else {
      for (auto& item : page["items"]) result["items"].push_back(std::move(item));
      result["metadata"]["resourceVersion"] = page["metadata"].value("resourceVersion", "");
    }
  } while (!cont.empty());
  if (result.contains("metadata") && result["metadata"].is_object())
    result["metadata"].erase("continue");
  // A real API server leaves kind/apiVersion out of list items; fill them in from the list so
  // that every object describes itself (readiness(), describe()).
  std::string kind = result.value("kind", "");
  if (kind.size() > 4 && kind.compare(kind.size() - 4, 4, "List") == 0) {
    kind.resize(kind.size() - 4);
    const std::string api_version = result.value("apiVersion", "");
    for (auto& item : result["items"]) {
      if (!item.is_object()) continue;
      if (!item.contains("kind")) item["kind"] = kind;
      if (!item.contains("apiVersion") && !api_version.empty()) item["apiVersion"] = api_version;
    }
  }
  return result;
}

json Client::apply(const std::string& path, const json& object, const std::string& field_manager,
                   bool force, Deadline deadline) {
  const std::string full =
      with_query(path, {{"fieldManager", field_manager}, {"force", force ? "true" : "false"}});
  Response r = request("PATCH", full, object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), "application/apply-patch+yaml", deadline);
  if (!ok_status(r.status)) throw impl_->api_error("PATCH", full, r);
  return parse_body(server(), "PATCH", full, r);
}

bool Client::remove(const std::string& path, Deadline deadline) {
  Response r = request("DELETE", path, {}, {}, deadline);
  if (r.status == 404) return false;
  if (!ok_status(r.status)) throw impl_->api_error("DELETE", path, r);
  return true;
}

}  // namespace fluxboot::kube
