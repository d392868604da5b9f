#pragma once
// `fluxboot rollback`: the design document's Rollback — remove the FluxInstance release, wait
// until the operator has finalized every FluxInstance, then remove the Flux Operator release.
// Asks for confirmation on a terminal; needs --yes when stdin is not one; --dry-run prints the plan.
#include <cstdio>
#include <istream>
#include <string>
#include <vector>

#include "fluxboot/config.hpp"
#include "fluxboot/context.hpp"

namespace fluxboot {
class Session;
}

namespace fluxboot::ops {

struct FluxRelease {
  std::string name;
  std::string ns;
  std::string chart;  // basename ("flux-instance"), for messages
  std::string str() const { return ns + "/" + name; }
};

struct RollbackPlan {
  FluxRelease instance;           // removed first
  FluxRelease flux_operator;      // removed last
  std::vector<std::string> notes; // how the releases were found (fallbacks are noted)
};

// From the apps helmfile: the release whose chart is flux-instance and the one whose chart is
// flux-operator (the chart from the release's OCIRepository when the helmfile names none); the
// namespace defaults to flux.namespace. Falls back to the release names flux-instance and
// flux-operator (with a note) when the helmfile has no such release or cannot be read.
RollbackPlan plan_rollback(const Config& config);

// Runs the plan through ctx (helm uninstall is mutating: a dry-run context only prints it).
// A release that is already gone counts as removed. Returns a one-line summary; throws StageError
// or DeadlineError.
std::string execute_rollback(Context& ctx, const RollbackPlan& plan);

struct RollbackOptions {
  bool yes = false;  // --yes: no confirmation
};

// The command: tools, confirmation (`in`/`prompt` are the terminal; `interactive` says whether
// stdin is one), lock, journal (the apps stage is marked "rolled back" so --resume reinstalls it).
// Exit 0 on success, 1 when the user declines or a step fails, 2 when confirmation is needed but
// stdin is not a terminal.
int run_rollback(Session& session, const RollbackOptions& options, bool interactive, std::istream& in,
                 std::FILE* prompt);

}  // namespace fluxboot::ops
