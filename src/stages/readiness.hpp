#pragma once
// Reading readiness from Kubernetes objects (kstatus conventions, as Flux uses them).
#include <string>

#include <nlohmann/json.hpp>

namespace fluxboot::stages {

struct Readiness {
  bool ready = false;
  bool terminal = false;   // will not become ready by waiting (Stalled, terminal failure)
  std::string message;     // latest condition message, or why it is not ready
};

// A Pod: Ready condition True.
Readiness pod_readiness(const nlohmann::json& pod);
// A Flux-style object (FluxInstance, Kustomization, ...): Ready=True (and observedGeneration
// current); Stalled=True or Ready=False with a terminal reason is terminal.
Readiness kstatus_readiness(const nlohmann::json& obj);

}  // namespace fluxboot::stages
