#pragma once
// The personalities' side of the control routes: HTTPS to the running simulation with the
// client certificate from DIR/pki.
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "sim/sim_paths.hpp"

namespace fluxboot::sim {

class ControlClient {
 public:
  // Throws fluxboot::StageError when no simulation is running in `dir` (no DIR/sim.json).
  explicit ControlClient(const SimDir& dir);
  // The decoded JSON answer; throws StageError on a transport error or an HTTP status >= 400
  // (with the route's "error" message).
  nlohmann::json get(const std::string& path) const;
  nlohmann::json post(const std::string& path, const nlohmann::json& body) const;
  nlohmann::json post_text(const std::string& path, const std::string& body, const std::string& content_type) const;
  int port() const { return port_; }

 private:
  SimDir dir_;
  int port_ = 0;
};

}  // namespace fluxboot::sim
