#pragma once
// The API client the stages wait with, built from the kubeconfig the run resolved.
#include "fluxboot/context.hpp"
#include "fluxboot/kube.hpp"

namespace fluxboot::stages {

// Loads the resolved kubeconfig (the one the kubeconfig stage writes), registers its credentials
// with the redactor, and routes the client's debug lines to the reporter.
kube::Client make_kube_client(Context& ctx, bool after_interrupt = false);

// Reports a wait's progress as the current stage's progress line.
kube::Progress progress_for(Context& ctx);

}  // namespace fluxboot::stages
