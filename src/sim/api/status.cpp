#include "sim/api/status.hpp"

#include <fmt/format.h>

namespace fluxboot::sim::api {

using json = nlohmann::json;

ApiError::ApiError(int code, std::string reason, const std::string& message, json details)
    : std::runtime_error(message), code_(code), reason_(std::move(reason)),
      details_(std::move(details)) {}

json ApiError::status() const { return status_body(code_, reason_, what(), details_); }

std::string reason_for_code(int code) {
  switch (code) {
    case 400: return "BadRequest";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "NotFound";
    case 405: return "MethodNotAllowed";
    case 406: return "NotAcceptable";
    case 409: return "Conflict";
    case 410: return "Expired";
    case 415: return "UnsupportedMediaType";
    case 422: return "Invalid";
    case 429: return "TooManyRequests";
    case 500: return "InternalError";
    case 503: return "ServiceUnavailable";
    case 504: return "Timeout";
    default: return code >= 500 ? "InternalError" : "BadRequest";
  }
}

json status_body(int code, const std::string& reason, const std::string& message,
                 const json& details) {
  json body = {{"kind", "Status"},       {"apiVersion", "v1"}, {"metadata", json::object()},
               {"status", "Failure"},    {"message", message}, {"reason", reason},
               {"code", code}};
  if (!details.empty()) body["details"] = details;
  return body;
}

std::string qualified_resource(const ResourceType& t) {
  return t.group.empty() ? t.plural : t.plural + "." + t.group;
}

namespace {
json resource_details(const ResourceType& t, const std::string& name, const std::string& kind) {
  json d = {{"name", name}, {"kind", kind}};
  if (!t.group.empty()) d["group"] = t.group;
  return d;
}
}  // namespace

ApiError not_found(const ResourceType& t, const std::string& name) {
  return {404, "NotFound", fmt::format("{} \"{}\" not found", qualified_resource(t), name),
          resource_details(t, name, t.plural)};
}

ApiError namespace_not_found(const std::string& ns) {
  return {404, "NotFound", fmt::format("namespaces \"{}\" not found", ns),
          json{{"name", ns}, {"kind", "namespaces"}}};
}

ApiError already_exists(const ResourceType& t, const std::string& name) {
  return {409, "AlreadyExists", fmt::format("{} \"{}\" already exists", qualified_resource(t), name),
          resource_details(t, name, t.plural)};
}

ApiError conflict_modified(const ResourceType& t, const std::string& name) {
  return {409, "Conflict",
          fmt::format("Operation cannot be fulfilled on {} \"{}\": the object has been modified; "
                      "please apply your changes to the latest version and try again",
                      qualified_resource(t), name),
          resource_details(t, name, t.plural)};
}

ApiError invalid(const ResourceType& t, const std::string& name, const std::string& field,
                 const std::string& message, const std::string& cause_reason) {
  json details = resource_details(t, name, t.kind);
  details["causes"] = json::array({{{"reason", cause_reason}, {"message", message}, {"field", field}}});
  std::string kind = t.group.empty() ? t.kind : t.kind + "." + t.group;
  return {422, "Invalid", fmt::format("{} \"{}\" is invalid: {}: {}", kind, name, field, message),
          details};
}

ApiError bad_request(const std::string& message) { return {400, "BadRequest", message}; }

ApiError unsupported_media_type() {
  // Worded as a real server does (helm prints it verbatim).
  return {415, "UnsupportedMediaType",
          "the body of the request was in an unknown format - accepted media types include: "
          "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"};
}

ApiError path_not_found() {
  return {404, "NotFound", "the server could not find the requested resource", json::object()};
}

ApiError method_not_allowed(const std::string& method) {
  return {405, "MethodNotAllowed",
          fmt::format("the server does not allow this method on the requested resource ({})",
                      method)};
}

}  // namespace fluxboot::sim::api
