#pragma once
// Failures answered as metav1.Status objects, with the messages a real API server uses (kubectl
// prints them verbatim: `Error from server (NotFound): secrets "x" not found`).
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "sim/api/api_server.hpp"

namespace fluxboot::sim::api {

class ApiError : public std::runtime_error {
 public:
  ApiError(int code, std::string reason, const std::string& message,
           nlohmann::json details = nlohmann::json::object());
  int code() const { return code_; }
  const std::string& reason() const { return reason_; }
  nlohmann::json status() const;  // the Status body

 private:
  int code_;
  std::string reason_;
  nlohmann::json details_;
};

// The Status reason of an HTTP status code (404 NotFound, 409 Conflict, 503 ServiceUnavailable...).
std::string reason_for_code(int code);
nlohmann::json status_body(int code, const std::string& reason, const std::string& message,
                           const nlohmann::json& details = nlohmann::json::object());

// "deployments.apps", "secrets"
std::string qualified_resource(const ResourceType& t);

ApiError not_found(const ResourceType& t, const std::string& name);
ApiError namespace_not_found(const std::string& ns);
ApiError already_exists(const ResourceType& t, const std::string& name);
ApiError conflict_modified(const ResourceType& t, const std::string& name);
// 422 Invalid with one cause: `<Kind> "<name>" is invalid: <field>: <message>`.
ApiError invalid(const ResourceType& t, const std::string& name, const std::string& field,
                 const std::string& message, const std::string& cause_reason = "FieldValueInvalid");
ApiError bad_request(const std::string& message);
ApiError unsupported_media_type();
ApiError path_not_found();
ApiError method_not_allowed(const std::string& method);

}  // namespace fluxboot::sim::api
