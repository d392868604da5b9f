#include <fmt/format.h>

#include "kube/internal.hpp"

namespace fluxboot::kube {

namespace {

using std::chrono::milliseconds;

// A watch that ends cleanly this soon after it was opened, without a byte, counts as a failure
// (backoff) so that a server closing every stream at once cannot make us spin.
constexpr milliseconds kShortLived{1000};
// Server-side watch timeout; the stream is resumed when it ends, so this only bounds how long a
// silently dead connection can go unnoticed besides TCP keepalive.
constexpr long kWatchTimeoutSeconds = 300;

std::string key_of(const json& object) {
  const json& md = object.contains("metadata") ? object["metadata"] : json::object();
  const std::string ns = md.value("namespace", "");
  const std::string name = md.value("name", "");
  return ns.empty() ? name : ns + "/" + name;
}

std::string rv_of(const json& object) {
  if (!object.is_object() || !object.contains("metadata") || !object["metadata"].is_object())
    return {};
  return object["metadata"].value("resourceVersion", "");
}

}  // namespace

WatchStream::WatchStream(Client::Impl& impl, std::string path, ListOptions options, std::string rv)
    : impl_(impl),
      path_(std::move(path)),
      options_(std::move(options)),
      rv_(std::move(rv)),
      transfer_(impl) {}

void WatchStream::open(Deadline deadline) {
  impl_.finish(transfer_);
  long timeout_s = kWatchTimeoutSeconds;
  if (deadline != kNoDeadline) {
    const auto left = std::chrono::ceil<std::chrono::seconds>(deadline - Clock::now()).count() + 1;
    timeout_s = std::max<long>(1, std::min<long>(timeout_s, static_cast<long>(left)));
  }
  std::string q = "watch=1&allowWatchBookmarks=true";
  if (!rv_.empty()) q += "&resourceVersion=" + url_encode(rv_);
  if (!options_.label_selector.empty())
    q += "&labelSelector=" + url_encode(options_.label_selector);
  if (!options_.field_selector.empty())
    q += "&fieldSelector=" + url_encode(options_.field_selector);
  q += fmt::format("&timeoutSeconds={}", timeout_s);
  transfer_.method = "GET";
  transfer_.path = path_ + (path_.find('?') == std::string::npos ? "?" : "&") + q;
  transfer_.request_body.clear();
  transfer_.request_type.clear();
  consumed_ = 0;
  gone_ = false;
  error_event_ = false;
  error_message_.clear();
  got_bytes_ = false;
  opened_ = Clock::now();
  impl_.start(transfer_, milliseconds(0), true);
}

bool WatchStream::take_events(const std::function<bool(WatchEvent&&)>& on_event) {
  if (transfer_.status != 200 || gone_ || error_event_) return true;
  std::string& buf = transfer_.body;
  if (!buf.empty()) got_bytes_ = true;
  bool keep_going = true;
  while (keep_going) {
    const std::size_t nl = buf.find('\n', consumed_);
    if (nl == std::string::npos) break;
    const std::string_view line(buf.data() + consumed_, nl - consumed_);
    consumed_ = nl + 1;
    if (line.find_first_not_of(" \r\t") == std::string_view::npos) continue;
    json ev;
    try {
      ev = json::parse(line);
    } catch (const json::exception& e) {
      throw StageError(
          fmt::format("{}: watch {}: malformed event ({})", impl_.access.server, path_, e.what()));
    }
    const std::string type = ev.value("type", "");
    json object = ev.contains("object") ? std::move(ev["object"]) : json::object();
    if (type == "ERROR") {
      // A Status: 410 Expired/Gone means our resourceVersion is too old.
      const long code = object.value("code", 0L);
      if (code == 410) {
        gone_ = true;
      } else {
        error_event_ = true;
        error_message_ = object.value("message", std::string("ERROR event"));
      }
      break;
    }
    if (std::string rv = rv_of(object); !rv.empty()) rv_ = std::move(rv);
    if (type == "BOOKMARK") continue;
    if (type != "ADDED" && type != "MODIFIED" && type != "DELETED") continue;
    keep_going = on_event(WatchEvent{type, std::move(object)});
  }
  if (consumed_ > 64 * 1024 || consumed_ == buf.size()) {
    buf.erase(0, consumed_);
    consumed_ = 0;
  }
  return keep_going;
}

WatchStream::Next WatchStream::ended() {
  const bool done = transfer_.done;
  const CURLcode result = transfer_.result;
  const long status = transfer_.status;
  impl_.finish(transfer_);
  const auto now = Clock::now();

  auto later = [&](const std::string& why) {
    ++failures_;
    impl_.debug(fmt::format("watch {}: {} (failure {})", path_, why, failures_));
    if (failures_ >= impl_.options.max_attempts)
      throw StageError(fmt::format("{}: watch {} failed {} times in a row: {}", impl_.access.server,
                                   path_, failures_, why));
    restart_at_ = now + impl_.backoff(failures_);
    return Next::Later;
  };

  if (gone_) {
    impl_.debug(fmt::format("watch {}: resourceVersion {} expired, relisting", path_, rv_));
    failures_ = 0;
    return Next::Relist;
  }
  if (error_event_) return later("ERROR event: " + error_message_);
  if (!done) return Next::Resume;
  if (result != CURLE_OK) {
    if (!got_bytes_ && transfer_.body.empty()) {
      TransportError e = impl_.transport_error(transfer_);
      if (!e.transient()) throw e;
      return later(e.what());
    }
    // The stream was cut after it delivered events (the server went away or dropped us).
    TransportError e = impl_.transport_error(transfer_);
    if (!e.transient()) throw e;
    failures_ = 0;
    restart_at_ = now;
    impl_.debug(fmt::format("watch {}: dropped ({}), resuming from {}", path_, e.what(), rv_));
    return Next::Resume;
  }
  if (status == 200) {
    if (!got_bytes_ && transfer_.body.empty() && now - opened_ < kShortLived)
      return later("the server closed the watch at once");
    failures_ = 0;
    restart_at_ = now;
    impl_.debug(fmt::format("watch {}: ended, resuming from {}", path_, rv_));
    return Next::Resume;
  }
  if (status == 410) return (failures_ = 0, Next::Relist);
  Response r;
  r.status = status;
  r.body = transfer_.body;
  if (transfer_.retry_after_s >= 0) r.retry_after = std::chrono::seconds(transfer_.retry_after_s);
  if (status == 429 || status >= 500) {
    const std::string why = http_status_text(status);
    Next n = later(why);
    if (r.retry_after)
      restart_at_ = now + std::min<milliseconds>(*r.retry_after, impl_.options.max_retry_after);
    return n;
  }
  throw impl_.api_error("GET", transfer_.path, r);
}

// ---------------------------------------------------------------------------------------------

bool Client::watch(const std::string& path, const std::string& resource_version,
                   const WatchHandler& handler, Deadline deadline, const ListOptions& options) {
  Impl& I = *impl_;
  WatchStream stream(I, path, options, resource_version);
  stream.open(deadline);
  for (;;) {
    bool stopped = false;
    const auto on_event = [&](WatchEvent&& ev) {
      if (!handler(ev)) stopped = true;
      return !stopped;
    };
    const bool in_time = I.drive(deadline, [&] {
      if (!stream.take_events(on_event)) return true;
      return stream.finished();
    });
    if (stopped) return true;
    if (!in_time) return false;
    stream.take_events(on_event);  // whatever arrived with the end of the stream
    if (stopped) return true;
    switch (stream.ended()) {
      case WatchStream::Next::Resume:
        break;
      case WatchStream::Next::Relist: {
        Response r;
        r.status = 410;
        r.body = R"({"kind":"Status","reason":"Expired","message":"resourceVersion )" +
                 stream.resource_version() + R"( is too old; relist and watch again"})";
        throw I.api_error("GET", path, r);
      }
      case WatchStream::Next::Later:
        if (!sleep_until(stream.restart_at(), deadline)) return false;
        break;
    }
    stream.open(deadline);
  }
}

// ---------------------------------------------------------------------------------------------

bool observe(Client& client, const std::vector<Query>& queries,
             const std::function<bool(const std::vector<ObjectMap>&)>& done, Deadline deadline) {
  Client::Impl& I = *client.impl_;
  std::vector<ObjectMap> maps(queries.size());
  std::vector<std::unique_ptr<WatchStream>> streams;
  std::vector<bool> need_list(queries.size(), true);
  std::vector<Clock::time_point> list_at(queries.size(), Clock::time_point{});
  std::vector<int> list_failures(queries.size(), 0);
  for (const auto& q : queries)
    streams.push_back(std::make_unique<WatchStream>(I, q.path, q.options, std::string()));

  // LIST query i into maps[i]. A 404 (the resource type is not served yet, e.g. a CRD still
  // being established) leaves the map empty and retries later.
  auto relist = [&](std::size_t i) {
    try {
      json l = client.list(queries[i].path, queries[i].options, deadline);
      ObjectMap fresh;
      for (auto& item : l["items"]) fresh.emplace(key_of(item), std::move(item));
      maps[i] = std::move(fresh);
      streams[i]->set_resource_version(l.contains("metadata") && l["metadata"].is_object()
                                           ? l["metadata"].value("resourceVersion", "")
                                           : "");
      need_list[i] = false;
      list_failures[i] = 0;
    } catch (const ApiError& e) {
      if (e.status() != 404) throw;
      maps[i].clear();
      ++list_failures[i];
      list_at[i] =
          Clock::now() + std::min<milliseconds>(I.backoff(list_failures[i]), milliseconds(2000));
    }
  };

  try {
    for (std::size_t i = 0; i < queries.size(); ++i) relist(i);
    if (done(maps)) return true;

    for (;;) {
      const auto now = Clock::now();
      // (Re)start whatever is due.
      bool relisted = false;
      for (std::size_t i = 0; i < queries.size(); ++i) {
        WatchStream& s = *streams[i];
        if (s.running()) continue;
        if (need_list[i]) {
          if (list_at[i] > now) continue;
          relist(i);
          relisted = true;
          if (need_list[i]) continue;
        } else if (s.restart_at() > now) {
          continue;
        }
        s.open(deadline);
      }
      if (relisted && done(maps)) return true;

      Deadline wake = deadline;
      for (std::size_t i = 0; i < queries.size(); ++i) {
        if (streams[i]->running()) continue;
        wake = std::min(wake, need_list[i] ? list_at[i] : streams[i]->restart_at());
      }

      bool changed = false;
      bool any_finished = false;
      auto apply_to = [&](std::size_t i) {
        return [&, i](WatchEvent&& ev) {
          const std::string key = key_of(ev.object);
          if (ev.type == "DELETED")
            maps[i].erase(key);
          else
            maps[i][key] = std::move(ev.object);
          changed = true;
          return true;
        };
      };
      I.drive(wake, [&] {
        for (std::size_t i = 0; i < queries.size(); ++i) {
          if (!streams[i]->running()) continue;
          streams[i]->take_events(apply_to(i));
          if (streams[i]->finished()) any_finished = true;
        }
        return changed || any_finished;
      });
      if (changed && done(maps)) return true;
      if (Clock::now() >= deadline) return false;

      for (std::size_t i = 0; i < queries.size(); ++i) {
        WatchStream& s = *streams[i];
        if (!s.running() || !s.finished()) continue;
        s.take_events(apply_to(i));
        switch (s.ended()) {
          case WatchStream::Next::Resume:
            break;  // reopened at the top of the loop
          case WatchStream::Next::Relist:
            need_list[i] = true;
            list_at[i] = Clock::now();
            break;
          case WatchStream::Next::Later:
            break;
        }
      }
      if (changed && done(maps)) return true;
    }
  } catch (const DeadlineError&) {
    if (Clock::now() >= deadline) return false;
    throw;
  }
}

}  // namespace fluxboot::kube
