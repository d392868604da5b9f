#include "sim/api/handlers.hpp"

#include <charconv>
#include <vector>

#include <fmt/format.h>

#include "sim/api/discovery.hpp"
#include "sim/api/patch.hpp"
#include "sim/api/protobuf.hpp"
#include "sim/api/resource_types.hpp"
#include "sim/api/status.hpp"
#include "sim/api/table.hpp"
#include "sim/api/util.hpp"

namespace fluxboot::sim::api {

using json = nlohmann::json;

namespace {

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < path.size()) {
    std::size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    if (j > i) out.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

HttpResponse json_response(int status, const json& body,
                           const std::string& content_type = "application/json") {
  HttpResponse r;
  r.status = status;
  r.body = body.dump();
  r.content_type = content_type;
  return r;
}

HttpResponse error_response(const ApiError& e) { return json_response(e.code(), e.status()); }

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

// The media type without parameters, lower-cased.
std::string media_type(const std::string& content_type) {
  std::string mt = content_type.substr(0, content_type.find(';'));
  while (!mt.empty() && mt.back() == ' ') mt.pop_back();
  return to_lower(mt);
}

json parse_json_body(const std::string& body) {
  try {
    return json::parse(body);
  } catch (const json::parse_error& e) {
    throw bad_request(std::string("the request body is not valid JSON: ") + e.what());
  }
}

// POST/PUT bodies: JSON, or protobuf from typed clients.
json decode_body(const HttpRequest& req) {
  std::string mt = media_type(req.content_type);
  if (mt == kProtobufContentType || has_protobuf_envelope(req.body)) {
    try {
      return decode_protobuf(req.body);
    } catch (const ProtobufError&) {
      throw unsupported_media_type();
    }
  }
  auto first = req.body.find_first_not_of(" \t\r\n");
  bool looks_like_json = first != std::string::npos && req.body[first] == '{';
  if (mt.empty() || mt == "application/json" || looks_like_json) return parse_json_body(req.body);
  throw unsupported_media_type();
}

std::string default_manager(const HttpRequest& req) {
  std::string fm = req.param("fieldManager");
  if (!fm.empty()) return fm;
  std::string ua = req.user_agent.substr(0, req.user_agent.find('/'));
  return ua.empty() ? "unknown" : ua;
}

bool dry_run(const HttpRequest& req) { return req.param("dryRun") == "All"; }

// apiVersion/kind/namespace/name in a body must agree with the URL.
void check_body(const json& body, const ResourceType& t, const std::string& ns,
                const std::string& name) {
  if (!body.is_object()) throw bad_request("the request body must be a JSON object");
  std::string api_version = body.value("apiVersion", "");
  if (!api_version.empty()) {
    auto [g, v] = split_api_version(api_version);
    if (g != t.group) {
      throw bad_request(fmt::format(
          "the API version in the data ({}) does not match the expected API version ({})",
          api_version, t.api_version()));
    }
  }
  std::string kind = body.value("kind", "");
  if (!kind.empty() && kind != t.kind) {
    throw bad_request(fmt::format("the kind in the data ({}) does not match the expected kind ({})",
                                  kind, t.kind));
  }
  std::string body_ns = string_at(body, {"metadata", "namespace"});
  if (t.namespaced && !body_ns.empty() && body_ns != ns) {
    throw bad_request(
        "the namespace of the provided object does not match the namespace sent on the request");
  }
  std::string body_name = string_at(body, {"metadata", "name"});
  if (!name.empty() && !body_name.empty() && body_name != name) {
    throw bad_request(fmt::format("the name of the object ({}) does not match the name on the URL ({})",
                                  body_name, name));
  }
}

json list_body(const ResourceType& t, std::vector<json> items, std::uint64_t rv) {
  return {{"kind", t.kind + "List"},
          {"apiVersion", t.api_version()},
          {"metadata", {{"resourceVersion", std::to_string(rv)}}},
          {"items", std::move(items)}};
}

const json& deref_labels(const json& obj) {
  static const json kNone;
  const json* labels = find_path(obj, {"metadata", "labels"});
  return labels != nullptr ? *labels : kNone;
}

bool wants_table(const HttpRequest& req) {
  return req.accept.find("as=Table") != std::string::npos;
}

bool has_sub(const ResourceType& t, const std::string& sub) {
  return std::find(t.subresources.begin(), t.subresources.end(), sub) != t.subresources.end();
}

std::uint64_t parse_rv(const std::string& s) {
  std::uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) {
    throw bad_request(fmt::format("invalid resourceVersion \"{}\"", s));
  }
  return v;
}

}  // namespace

ResourceApi::ResourceApi(Store& store) : store_(store) {}

void ResourceApi::inject_apply_conflicts(int count, const std::string& manager) {
  std::lock_guard lock(conflict_mu_);
  pending_conflicts_ += count;
  conflict_manager_ = manager;
}

HttpResponse ResourceApi::handle(const HttpRequest& req) {
  try {
    return route(req);
  } catch (const ApiError& e) {
    return error_response(e);
  } catch (const SelectorError& e) {
    return error_response(bad_request(e.what()));
  } catch (const PatchError& e) {
    return error_response(ApiError(422, "Invalid", e.what()));
  } catch (const std::exception& e) {
    return error_response(ApiError(500, "InternalError", std::string("internal error: ") + e.what()));
  }
}

std::optional<HttpResponse> ResourceApi::discovery(const HttpRequest& req) {
  const std::string& p = req.path;
  if (p == "/version" || p == "/version/") return json_response(200, version_info());
  if (p == "/healthz" || p == "/livez" || p == "/readyz") {
    HttpResponse r;
    r.body = "ok";
    r.content_type = "text/plain; charset=utf-8";
    return r;
  }
  auto types = store_.types();
  if (p == "/api" || p == "/apis" || p == "/api/" || p == "/apis/") {
    bool core = starts_with(p, "/api") && !starts_with(p, "/apis");
    // Aggregated discovery is recognised by the client only through this exact content type.
    if (req.accept.find("v=v2;as=APIGroupDiscoveryList") != std::string::npos) {
      return json_response(200, aggregated_discovery(types, core, "v2"), kAggregatedV2);
    }
    if (req.accept.find("v=v2beta1;as=APIGroupDiscoveryList") != std::string::npos) {
      return json_response(200, aggregated_discovery(types, core, "v2beta1"), kAggregatedV2Beta1);
    }
    return json_response(200, core ? legacy_api_versions(req.server_address) : legacy_group_list(types));
  }
  if (p == "/openapi/v3" || p == "/openapi/v3/") return json_response(200, openapi_v3_root(types));
  if (starts_with(p, "/openapi/v3/")) {
    auto doc = openapi_v3_document(types, p.substr(std::string("/openapi/v3/").size()));
    if (!doc) throw path_not_found();
    return json_response(200, *doc);
  }
  if (p == "/openapi/v2") {
    // kubectl needs v2 only where v3 can't answer, e.g. validating a `kind: List`: its
    // query-parameter check then falls back to v2 and fails on a 404. An empty document (only
    // `swagger: "2.0"`, field 1) knows no types, so kubectl skips client-side schema checks.
    HttpResponse r;
    if (req.accept.find("protobuf") != std::string::npos) {
      r.body = std::string("\x0a\x03" "2.0");
      r.content_type = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";  // "@" does not parse
    } else {
      r.body = R"({"swagger":"2.0","info":{"title":"Kubernetes","version":"v1.32.3"},"paths":{},"definitions":{}})";
    }
    return r;
  }
  if (starts_with(p, "/openapi/")) throw path_not_found();
  auto segs = split_path(p);
  if (segs.size() == 2 && segs[0] == "api") {
    auto doc = legacy_resource_list(types, "", segs[1]);
    if (!doc) throw path_not_found();
    return json_response(200, *doc);
  }
  if (segs.size() == 2 && segs[0] == "apis") {
    auto doc = legacy_group(types, segs[1]);
    if (!doc) throw path_not_found();
    return json_response(200, *doc);
  }
  if (segs.size() == 3 && segs[0] == "apis") {
    auto doc = legacy_resource_list(types, segs[1], segs[2]);
    if (!doc) throw path_not_found();
    return json_response(200, *doc);
  }
  return std::nullopt;
}

ResourceApi::Target ResourceApi::resolve(const std::string& path) const {
  auto segs = split_path(path);
  std::string group;
  std::string version;
  std::size_t rest = 0;
  if (segs.size() >= 3 && segs[0] == "api") {
    version = segs[1];
    rest = 2;
  } else if (segs.size() >= 4 && segs[0] == "apis") {
    group = segs[1];
    version = segs[2];
    rest = 3;
  } else {
    throw path_not_found();
  }
  std::vector<std::string> r(segs.begin() + static_cast<std::ptrdiff_t>(rest), segs.end());
  Target target;
  if (!r.empty() && r[0] == "watch") {
    target.watch_prefix = true;
    r.erase(r.begin());
  }
  std::string plural;
  bool core = group.empty();
  // /api/v1/namespaces/{name}[/status|/finalize] is the Namespace itself.
  if (!r.empty() && r[0] == "namespaces" &&
      (r.size() == 1 || r.size() == 2 || (core && r.size() == 3 && (r[2] == "status" || r[2] == "finalize")))) {
    if (!core) throw path_not_found();
    plural = "namespaces";
    if (r.size() >= 2) target.name = r[1];
    if (r.size() == 3) target.sub = r[2];
  } else if (!r.empty() && r[0] == "namespaces") {
    target.ns = r[1];
    plural = r[2];
    if (r.size() >= 4) target.name = r[3];
    if (r.size() >= 5) target.sub = r[4];
    if (r.size() > 5) throw path_not_found();
  } else if (!r.empty()) {
    plural = r[0];
    if (r.size() >= 2) target.name = r[1];
    if (r.size() >= 3) target.sub = r[2];
    if (r.size() > 3) throw path_not_found();
  } else {
    throw path_not_found();
  }
  auto t = store_.type_for_resource(group, version, plural);
  if (!t) throw path_not_found();
  if (!t->namespaced && !target.ns.empty()) throw path_not_found();
  if (!target.sub.empty() && !has_sub(*t, target.sub)) throw path_not_found();
  target.type = *t;
  return target;
}

HttpResponse ResourceApi::route(const HttpRequest& req) {
  if (req.method == "GET" || req.method == "HEAD") {
    if (auto r = discovery(req)) return *r;
  }
  Target t = resolve(req.path);
  if (t.type.namespaced && t.ns.empty() && !t.name.empty()) throw path_not_found();
  if (t.sub == "scale") return scale(req, t);
  const std::string& m = req.method;
  if (t.name.empty()) {
    if (m == "GET" || m == "HEAD") return list(req, t);
    if (m == "POST") {
      if (t.type.namespaced && t.ns.empty()) throw method_not_allowed(m);
      return create(req, t);
    }
    if (m == "DELETE") return remove_collection(req, t);
    throw method_not_allowed(m);
  }
  if (m == "GET" || m == "HEAD") {
    if (t.watch_prefix || req.param("watch") == "true" || req.param("watch") == "1") {
      return list(req, t);  // a single-object watch is a list watch on metadata.name
    }
    return get(req, t);
  }
  if (m == "PUT") return update(req, t);
  if (m == "PATCH") return patch(req, t);
  if (m == "DELETE") return remove(req, t);
  throw method_not_allowed(m);
}

json ResourceApi::crd_for(const ResourceType& t) const {
  if (t.group.empty()) return nullptr;
  auto crd_t = store_.type_for("apiextensions.k8s.io/v1", "CustomResourceDefinition");
  if (!crd_t) return nullptr;
  auto crd = store_.get(*crd_t, "", t.plural + "." + t.group);
  return crd ? *crd : json();
}

bool ResourceApi::is_custom_resource(const ResourceType& t) const { return !crd_for(t).is_null(); }

HttpResponse ResourceApi::list(const HttpRequest& req, const Target& t) {
  LabelSelector labels = LabelSelector::parse(req.param("labelSelector"));
  std::string field_text = req.param("fieldSelector");
  if (!t.name.empty()) {
    field_text = "metadata.name=" + t.name + (field_text.empty() ? "" : "," + field_text);
  }
  FieldSelector fields = FieldSelector::parse(field_text);
  if (t.watch_prefix || req.param("watch") == "true" || req.param("watch") == "1") {
    WatchRequest w;
    w.type = t.type;
    w.ns = t.ns;
    w.labels = labels;
    w.fields = fields;
    std::string rv = req.param("resourceVersion");
    w.initial_events = rv.empty() || rv == "0" || req.param("sendInitialEvents") == "true";
    w.initial_events_end_bookmark = req.param("sendInitialEvents") == "true";
    w.since = w.initial_events ? 0 : parse_rv(rv);
    w.bookmarks = req.param("allowWatchBookmarks") == "true";
    std::string timeout = req.param("timeoutSeconds");
    if (!timeout.empty()) w.timeout_seconds = std::atoi(timeout.c_str());
    HttpResponse r;
    r.watch = std::move(w);
    return r;
  }
  std::uint64_t rv = 0;
  std::vector<json> items;
  for (auto& o : store_.list(t.type, t.ns, &rv)) {
    if (labels.matches(deref_labels(o)) && fields.matches(o)) items.push_back(std::move(o));
  }
  if (wants_table(req)) {
    return json_response(200, to_table(t.type, items, rv, crd_for(t.type)), kTableContentType);
  }
  return json_response(200, list_body(t.type, std::move(items), rv));
}

HttpResponse ResourceApi::get(const HttpRequest& req, const Target& t) {
  auto obj = store_.get(t.type, t.ns, t.name);
  if (!obj) throw not_found(t.type, t.name);
  if (wants_table(req)) {
    return json_response(200, to_table(t.type, {*obj}, store_.resource_version(), crd_for(t.type)),
                         kTableContentType);
  }
  return json_response(200, *obj);
}

HttpResponse ResourceApi::create(const HttpRequest& req, const Target& t) {
  json body = decode_body(req);
  check_body(body, t.type, t.ns, "");
  std::string name = string_at(body, {"metadata", "name"});
  std::string generate = string_at(body, {"metadata", "generateName"});
  if (name.empty() && !generate.empty()) name = generate + random_suffix(5);
  if (name.empty()) {
    throw invalid(t.type, "", "metadata.name", "Required value: name or generateName is required",
                  "FieldValueRequired");
  }
  CommitOptions opts;
  opts.existence = CommitOptions::Existence::MustNotExist;
  opts.manager = default_manager(req);
  opts.require_namespace = true;
  opts.dry_run = dry_run(req);
  auto result = store_.commit(t.type, t.ns, name, [&](const json*) { return body; }, opts);
  return json_response(201, result.object);
}

HttpResponse ResourceApi::update(const HttpRequest& req, const Target& t) {
  json body = decode_body(req);
  check_body(body, t.type, t.ns, t.name);
  if (t.sub == "finalize") {
    auto obj = store_.get(t.type, t.ns, t.name);
    if (!obj) throw not_found(t.type, t.name);
    return json_response(200, *obj);
  }
  CommitOptions opts;
  opts.existence = CommitOptions::Existence::MustExist;
  opts.manager = default_manager(req);
  opts.dry_run = dry_run(req);
  opts.expect_resource_version = string_at(body, {"metadata", "resourceVersion"});
  opts.status_only = t.sub == "status";
  opts.preserve_status = t.sub.empty() && has_sub(t.type, "status");
  auto result = store_.commit(t.type, t.ns, t.name, [&](const json*) { return body; }, opts);
  return json_response(200, result.object);
}

HttpResponse ResourceApi::patch(const HttpRequest& req, const Target& t) {
  const std::string mt = media_type(req.content_type);
  CommitOptions opts;
  opts.manager = default_manager(req);
  opts.dry_run = dry_run(req);
  opts.status_only = t.sub == "status";
  opts.preserve_status = t.sub.empty() && has_sub(t.type, "status");
  if (opts.status_only) opts.existence = CommitOptions::Existence::MustExist;

  if (mt == "application/apply-patch+yaml" || mt == "application/apply-patch+json") {
    // kubectl sends JSON here despite the content type; JSON is YAML.
    json body = parse_json_body(req.body);
    check_body(body, t.type, t.ns, t.name);
    if (req.param("fieldManager").empty()) {
      throw ApiError(422, "Invalid",
                     "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is "
                     "required for apply patch");
    }
    if (req.param("force") != "true") {
      std::lock_guard lock(conflict_mu_);
      if (pending_conflicts_ > 0 && store_.get(t.type, t.ns, t.name)) {
        --pending_conflicts_;
        std::string message = fmt::format("Apply failed with 1 conflict: conflict with \"{}\": .spec",
                                          conflict_manager_);
        json details = {{"name", t.name},
                        {"kind", t.type.plural},
                        {"causes", json::array({{{"reason", "FieldManagerConflict"},
                                                 {"message", fmt::format("conflict with \"{}\"",
                                                                         conflict_manager_)},
                                                 {"field", ".spec"}}})}};
        if (!t.type.group.empty()) details["group"] = t.type.group;
        throw ApiError(409, "Conflict", message, details);
      }
    }
    opts.operation = "Apply";
    opts.require_namespace = true;
    // A simplification of server-side apply: the applied configuration is merged like a JSON
    // merge patch (maps merge, lists replace); fields a manager stops applying are not removed.
    auto result = store_.commit(t.type, t.ns, t.name, [&](const json* cur) {
      if (cur == nullptr) return body;
      json applied = body;
      if (applied.contains("metadata")) applied["metadata"].erase("managedFields");
      return merge_patch(*cur, applied);
    }, opts);
    return json_response(result.created ? 201 : 200, result.object);
  }

  json patch_doc = parse_json_body(req.body);
  std::function<json(const json&)> apply_patch;
  if (mt == "application/strategic-merge-patch+json") {
    if (is_custom_resource(t.type)) {
      throw ApiError(415, "UnsupportedMediaType",
                     "strategic merge patch is not supported for custom resources; use "
                     "application/merge-patch+json");
    }
    apply_patch = [&](const json& cur) { return strategic_merge_patch(cur, patch_doc); };
  } else if (mt == "application/merge-patch+json") {
    apply_patch = [&](const json& cur) { return merge_patch(cur, patch_doc); };
  } else if (mt == "application/json-patch+json") {
    apply_patch = [&](const json& cur) { return json_patch(cur, patch_doc); };
  } else {
    throw unsupported_media_type();
  }
  opts.existence = CommitOptions::Existence::MustExist;
  auto result = store_.commit(t.type, t.ns, t.name, [&](const json* cur) {
    json next = apply_patch(*cur);
    check_body(next, t.type, t.ns, t.name);
    return next;
  }, opts);
  return json_response(200, result.object);
}

HttpResponse ResourceApi::remove(const HttpRequest& req, const Target& t) {
  bool dry = dry_run(req);
  std::string expect_uid;
  if (!req.body.empty()) {
    // DeleteOptions (JSON or protobuf); only dryRun and preconditions matter here.
    try {
      json opts = has_protobuf_envelope(req.body) ? decode_protobuf(req.body) : json::parse(req.body);
      if (opts.contains("dryRun") && opts["dryRun"].is_array() && !opts["dryRun"].empty()) dry = true;
      expect_uid = string_at(opts, {"preconditions", "uid"});
    } catch (const std::exception&) {
      // an unreadable DeleteOptions body is ignored, like most of its fields
    }
  }
  auto removed = store_.remove(t.type, t.ns, t.name, dry, expect_uid);
  if (!removed) throw not_found(t.type, t.name);
  return json_response(200, *removed);
}

HttpResponse ResourceApi::remove_collection(const HttpRequest& req, const Target& t) {
  LabelSelector labels = LabelSelector::parse(req.param("labelSelector"));
  FieldSelector fields = FieldSelector::parse(req.param("fieldSelector"));
  std::vector<json> removed;
  std::uint64_t rv = 0;
  for (const auto& o : store_.list(t.type, t.ns, &rv)) {
    if (!labels.matches(deref_labels(o)) || !fields.matches(o)) continue;
    auto r = store_.remove(t.type, string_at(o, {"metadata", "namespace"}),
                           string_at(o, {"metadata", "name"}), dry_run(req));
    if (r) removed.push_back(*r);
  }
  return json_response(200, list_body(t.type, std::move(removed), store_.resource_version()));
}

HttpResponse ResourceApi::scale(const HttpRequest& req, const Target& t) {
  auto to_scale = [&](const json& obj) {
    std::string selector;
    if (const json* ml = find_path(obj, {"spec", "selector", "matchLabels"}); ml != nullptr && ml->is_object()) {
      for (auto it = ml->begin(); it != ml->end(); ++it) {
        selector += (selector.empty() ? "" : ",") + it.key() + "=" +
                    (it.value().is_string() ? it.value().get<std::string>() : it.value().dump());
      }
    }
    json meta = obj["metadata"];
    meta.erase("managedFields");
    meta.erase("labels");
    meta.erase("annotations");
    meta.erase("ownerReferences");
    const json* replicas = find_path(obj, {"spec", "replicas"});
    const json* status_replicas = find_path(obj, {"status", "replicas"});
    return json{{"kind", "Scale"},
                {"apiVersion", "autoscaling/v1"},
                {"metadata", meta},
                {"spec", {{"replicas", replicas != nullptr ? *replicas : json(1)}}},
                {"status",
                 {{"replicas", status_replicas != nullptr ? *status_replicas : json(0)},
                  {"selector", selector}}}};
  };
  auto obj = store_.get(t.type, t.ns, t.name);
  if (!obj) throw not_found(t.type, t.name);
  if (req.method == "GET") return json_response(200, to_scale(*obj));
  json scale_obj;
  if (req.method == "PUT") {
    scale_obj = decode_body(req);
  } else if (req.method == "PATCH") {
    json doc = parse_json_body(req.body);
    std::string mt = media_type(req.content_type);
    json base = to_scale(*obj);
    scale_obj = mt == "application/json-patch+json" ? json_patch(base, doc)
                : mt == "application/strategic-merge-patch+json" ? strategic_merge_patch(base, doc)
                                                                 : merge_patch(base, doc);
  } else {
    throw method_not_allowed(req.method);
  }
  const json* replicas = find_path(scale_obj, {"spec", "replicas"});
  if (replicas == nullptr || !replicas->is_number_integer()) {
    throw invalid(t.type, t.name, "spec.replicas", "Required value");
  }
  CommitOptions opts;
  opts.existence = CommitOptions::Existence::MustExist;
  opts.manager = default_manager(req);
  opts.dry_run = dry_run(req);
  auto result = store_.commit(t.type, t.ns, t.name, [&](const json* cur) {
    json next = *cur;
    next["spec"]["replicas"] = *replicas;
    return next;
  }, opts);
  return json_response(200, to_scale(result.object));
}

}  // namespace fluxboot::sim::api
