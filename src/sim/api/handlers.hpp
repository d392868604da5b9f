#pragma once
// The Kubernetes REST surface on top of the Store, independent of the HTTP library: discovery,
// OpenAPI, /version, and CRUD/patch/list/watch-setup for every registered resource type.
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "sim/api/api_server.hpp"
#include "sim/api/selectors.hpp"
#include "sim/api/store.hpp"

namespace fluxboot::sim::api {

struct HttpRequest {
  std::string method;
  std::string path;
  std::multimap<std::string, std::string> params;  // decoded query parameters
  std::string content_type;
  std::string accept;
  std::string user_agent;
  std::string body;
  std::string server_address;  // "127.0.0.1:PORT", for the APIVersions document

  std::string param(const std::string& key) const {
    auto it = params.find(key);
    return it == params.end() ? "" : it->second;
  }
};

// A watch the HTTP layer streams (handlers only validate and describe it).
struct WatchRequest {
  ResourceType type;
  std::string ns;  // "" = all
  LabelSelector labels;
  FieldSelector fields;
  std::uint64_t since = 0;     // send events with a newer resourceVersion
  bool initial_events = false;  // synthetic ADDED for what exists now (resourceVersion "" or "0")
  bool initial_events_end_bookmark = false;  // sendInitialEvents=true (WatchList)
  bool bookmarks = false;
  int timeout_seconds = 0;  // 0 = until the client or the server goes away
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::optional<WatchRequest> watch;
};

class ResourceApi {
 public:
  explicit ResourceApi(Store& store);
  // Never throws: failures become Status bodies.
  HttpResponse handle(const HttpRequest& req);
  // The next `count` server-side applies without force=true answer a 409 field-manager conflict
  // with `manager`.
  void inject_apply_conflicts(int count, const std::string& manager);

 private:
  struct Target {
    ResourceType type;
    std::string ns;
    std::string name;
    std::string sub;
    bool watch_prefix = false;
  };

  HttpResponse route(const HttpRequest& req);
  std::optional<HttpResponse> discovery(const HttpRequest& req);
  Target resolve(const std::string& path) const;
  HttpResponse list(const HttpRequest& req, const Target& t);
  HttpResponse get(const HttpRequest& req, const Target& t);
  HttpResponse create(const HttpRequest& req, const Target& t);
  HttpResponse update(const HttpRequest& req, const Target& t);
  HttpResponse patch(const HttpRequest& req, const Target& t);
  HttpResponse remove(const HttpRequest& req, const Target& t);
  HttpResponse remove_collection(const HttpRequest& req, const Target& t);
  HttpResponse scale(const HttpRequest& req, const Target& t);
  bool is_custom_resource(const ResourceType& t) const;
  nlohmann::json crd_for(const ResourceType& t) const;

  Store& store_;
  std::mutex conflict_mu_;
  int pending_conflicts_ = 0;
  std::string conflict_manager_;
};

}  // namespace fluxboot::sim::api
