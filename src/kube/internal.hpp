#pragma once
// Shared inside src/kube only: the libcurl transfer machinery behind Client, observe() and the
// waits. Nothing here leaves the module.
#include "kube/curl_api.hpp"

#include <exception>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "fluxboot/kube.hpp"

namespace fluxboot::kube {

// A connection, TLS or protocol failure (no usable HTTP answer). `transient` failures (refused,
// reset, timed out, empty reply) may succeed on retry; the others (certificate verification,
// rejected client certificate, unusable key, bad URL) never will.
class TransportError : public StageError {
 public:
  TransportError(const std::string& message, bool transient)
      : StageError(message), transient_(transient) {}
  bool transient() const noexcept { return transient_; }

 private:
  bool transient_;
};

// One HTTP exchange on an easy handle borrowed from the client's pool. Streaming transfers
// (watches) accumulate their body in `body` as it arrives; the owner consumes complete lines.
// Destroying a transfer that is still running aborts it (its connection is closed).
struct Transfer {
  explicit Transfer(Client::Impl& owner) : impl(owner) {}
  ~Transfer();
  Transfer(const Transfer&) = delete;
  Transfer& operator=(const Transfer&) = delete;

  Client::Impl& impl;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  std::string method, path, request_body, request_type;
  bool running = false;
  bool done = false;
  CURLcode result = CURLE_OK;
  long status = 0;
  std::string body;
  std::string content_type;
  long retry_after_s = -1;
  char errbuf[CURL_ERROR_SIZE] = {};
};

struct Client::Impl {
  Impl(ClusterAccess a, ClientOptions o);
  ~Impl();

  ClusterAccess access;
  ClientOptions options;
  CURLM* multi = nullptr;
  std::vector<CURL*> pool;
  std::string base_url;    // server, with the host replaced by tls-server-name when set
  std::string connect_to;  // "tls-server-name:port:host:port" when set
  curl_slist* connect_to_list = nullptr;
  std::mt19937_64 rng;

  // Configures `t` (method, path, body) on a pooled handle and adds it to the multi handle.
  // stream: no overall timeout (the deadline and signals still abort it).
  // tls12_probe: a fresh, unshared connection limited to TLS 1.2 (see transport_error()).
  void start(Transfer& t, std::chrono::milliseconds timeout, bool stream, bool tls12_probe = false);
  // Removes `t` from the multi handle and returns its handle to the pool.
  void finish(Transfer& t) noexcept;
  // Runs the transfers until `until()` is true (returns true) or `deadline` passes (false).
  // `until` runs outside libcurl callbacks, after every batch of socket activity and at least
  // every 100 ms. Throws InterruptedError when a signal arrives.
  bool drive(Deadline deadline, const std::function<bool()>& until);
  // A signal ends this client's work: any pending one, or with options.after_interrupt only one
  // received after the client was created.
  bool cancelled() const noexcept;
  int signals_at_start = 0;

  // Message for a failed transfer, naming the server and the cause; classified transient or not.
  // With TLS 1.3 the server checks the client certificate after the client considers the
  // handshake done, and often just closes the connection: the client sees "broken pipe" or
  // "connection reset" and could not tell a rejected certificate from a restarting server. So
  // when such an error happens while a client certificate is configured, one TLS 1.2 handshake
  // (where the verdict is part of the handshake) tells them apart; once it succeeded it is not
  // repeated for this client.
  TransportError transport_error(const Transfer& t);
  TransportError classify(const Transfer& t) const;
  bool client_cert_verified = false;
  ApiError api_error(const std::string& method, const std::string& path, const Response& r) const;
  // Backoff before attempt `attempt` (1-based count of failures so far), with jitter.
  std::chrono::milliseconds backoff(int attempt);
  void debug(const std::string& line) const {
    if (options.debug) options.debug(line);
  }
  [[noreturn]] void throw_interrupted() const;
};

// One WATCH of a collection that survives dropped connections: the owner opens it, feeds it
// complete lines through take_events() while it runs, and asks ended() what to do once the
// transfer finished (or take_events() flagged a 410).
class WatchStream {
 public:
  WatchStream(Client::Impl& impl, std::string path, ListOptions options, std::string rv);

  enum class Next { Resume, Relist, Later };

  void open(Deadline deadline);
  bool running() const { return transfer_.running; }
  // True when the stream has something for ended(): the transfer finished, or it reported
  // 410 Gone / an ERROR event.
  bool finished() const { return transfer_.done || gone_ || error_event_; }
  // Parses the complete lines received so far (only from a 200 answer), advances the
  // resourceVersion (bookmarks included) and calls `on_event` for ADDED/MODIFIED/DELETED.
  // Stops early, returning false, when on_event returns false.
  bool take_events(const std::function<bool(WatchEvent&&)>& on_event);
  // Closes the transfer and decides: Resume (at once, from the last resourceVersion), Relist
  // (410 Gone), or Later (after backoff; restart_at()). Throws for non-retryable failures and
  // after max_attempts consecutive failures.
  Next ended();
  Clock::time_point restart_at() const { return restart_at_; }
  const std::string& resource_version() const { return rv_; }
  void set_resource_version(std::string rv) { rv_ = std::move(rv); }
  void close() { impl_.finish(transfer_); }

 private:
  Client::Impl& impl_;
  std::string path_;
  ListOptions options_;
  std::string rv_;
  Transfer transfer_;
  std::size_t consumed_ = 0;
  bool gone_ = false;
  bool error_event_ = false;
  std::string error_message_;
  bool got_bytes_ = false;
  int failures_ = 0;
  Clock::time_point opened_{};
  Clock::time_point restart_at_{};
};

// "https://...: GET /x: 404 Not Found: <Status message>"; 401 names the credential rejected.
ApiError make_api_error(const ClusterAccess& access, const std::string& method,
                        const std::string& path, const Response& r);
std::string http_status_text(long status);
// Status.message (or the first line of a non-Status body), Status.reason.
std::pair<std::string, std::string> status_details(const std::string& body);
// Sleeps until `until`, capped at `deadline`; false when the deadline came first. Throws
// InterruptedError on a signal.
bool sleep_until(Clock::time_point until, Deadline deadline);
// "30s", "5m00s": how long a wait lasted, for DeadlineError messages.
std::string waited_for(Clock::time_point started);

}  // namespace fluxboot::kube
