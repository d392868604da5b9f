#pragma once
// The fault scenario of a simulated cluster (docs/simulated-cluster.md, "Scenario file").
#include <chrono>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace fluxboot::sim {

using Millis = std::chrono::milliseconds;

// The Kubernetes API answers 503 from `after` (measured from the etcd bootstrap) for `duration`.
struct DownWindow {
  Millis after{0};
  Millis duration{0};
};

// The next `count` Kubernetes requests under `path` (prefix; "" = any) answer `status`.
struct FailRule {
  int count = 1;
  int status = 500;
  std::string path;
  int retry_after_s = 0;
};

// `name` fails its next `times` syncs (-1: every sync) with a helm-like `message`.
struct ReleaseFault {
  std::string name;
  int times = -1;
  std::string message;
};

struct Scenario {
  std::vector<DownWindow> api_down;
  Millis api_latency{0};
  std::vector<FailRule> api_fail;        // armed when the API comes up (at bootstrap)
  Millis node_register_delay{500};       // bootstrap (or a later apply) → Node object
  Millis node_ready_delay{200};          // cilium installed → Node Ready=True
  std::vector<std::string> nodes_never;  // addresses or hostnames that never register
  std::vector<std::string> nodes_never_ready;
  int talos_apply_transient = 0;         // per node: first N applies answer Unavailable
  int talos_bootstrap_transient = 0;     // first N bootstraps answer Unavailable
  std::vector<ReleaseFault> release_failures;
  Millis flux_ready_delay{300};
  bool flux_stalled = false;
  std::string flux_stalled_reason = "ReconciliationFailed";
  std::string flux_stalled_message;
};

// Parses the scenario YAML. Throws fluxboot::InputError listing every problem (unknown keys
// included, so a typo never silently disables a fault). An empty text is the default scenario.
Scenario parse_scenario(const std::string& yaml_text);
nlohmann::json scenario_to_json(const Scenario& s);

}  // namespace fluxboot::sim
