#pragma once
// kubectl invocations shared by several stages.
#include <string>

#include "fluxboot/context.hpp"

namespace fluxboot::stages {

// `kubectl apply --server-side --force-conflicts --field-manager <fm> -f -` with `manifests`
// (a YAML stream) on stdin. `secret`: stdin holds secret data (never shown or logged).
process::Command kubectl_apply(Context& ctx, std::string manifests, bool secret,
                               const std::string& label);

// Counts "<kind>/<name> serverside-applied|unchanged|configured" lines in kubectl's output.
std::string summarize_apply_output(const std::string& out);

}  // namespace fluxboot::stages
