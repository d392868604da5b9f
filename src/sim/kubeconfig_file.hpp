#pragma once
// Kubeconfig documents for the simulated cluster (DIR/kubeconfig and `talosctl kubeconfig`).
#include <string>

#include <nlohmann/json.hpp>

namespace fluxboot::sim {

struct KubeconfigParts {
  std::string server;  // https://127.0.0.1:PORT
  std::string ca_pem, client_crt_pem, client_key_pem;
  std::string cluster = "sim";
  std::string user = "admin@sim";
  std::string context = "sim";
};

// A one-cluster kubeconfig with embedded certificates and current-context = parts.context.
nlohmann::json make_kubeconfig(const KubeconfigParts& parts);

// Merges the single cluster/user/context of `add` into `existing` (entries matched by name) and
// makes it the current context. A clashing context is replaced when `force`, otherwise the new
// entries are renamed NAME-1, NAME-2, ... Returns the context name that was written.
std::string merge_kubeconfig(nlohmann::json& existing, nlohmann::json add, bool force);

}  // namespace fluxboot::sim
