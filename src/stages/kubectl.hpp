#pragma once
// kubectl invocations shared by several stages.
#include <string>

#include "fluxboot/context.hpp"

namespace fluxboot::stages {

// `kubectl apply --server-side --force-conflicts --field-manager <fm> -f -` with `manifests`
// (a YAML stream) on stdin. `secret`: stdin holds secret data (never shown or logged).
process::Command kubectl_apply(Context& ctx, std::string manifests, bool secret,
                               const std::string& label);

// Runs a `kubectl apply` like Context::run_checked, but retries (with backoff, within the stage
// deadline) when kubectl fails the way an API server restarting makes it fail: 503 / "currently
// unable to handle the request", connection refused or reset, TLS handshake or i/o timeouts,
// etcd leader changes, an unexpected EOF. Server-side apply is idempotent, so a retry is safe.
// Any other failure throws at once, as run_checked does.
process::Result run_apply(Context& ctx, const process::Command& cmd, const std::string& what);

// Whether kubectl's output names a transient API failure (the list above).
bool transient_api_error(const std::string& output);

// Counts "<kind>/<name> serverside-applied|unchanged|configured" lines in kubectl's output.
std::string summarize_apply_output(const std::string& out);

}  // namespace fluxboot::stages
