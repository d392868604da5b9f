#pragma once
// Runs a selection of stages in order: preflight (tools), prepare (all inputs validated before
// anything changes), run, cleanup, summary. Maps the outcome to an exit code.
#include <functional>
#include <string>
#include <vector>

#include "fluxboot/context.hpp"
#include "fluxboot/stage.hpp"

namespace fluxboot {

struct Selection {
  std::string from;                 // first stage to run (inclusive); empty: the first
  std::string to;                   // last stage to run (inclusive); empty: the last
  std::vector<std::string> skip;    // stages left out
  std::vector<std::string> only;    // when non-empty: exactly these (`fluxboot <stage>`)
};

// The stages a selection picks, in pipeline order. Unknown names and an empty result are
// UsageErrors naming the known stages.
std::vector<Stage*> select_stages(const StageList& all, const Selection& selection);

// Observes the run (the journal in ops/ uses this to record outcomes and resume points).
struct PipelineObserver {
  virtual ~PipelineObserver() = default;
  virtual void stage_started(const Stage&) {}
  virtual void stage_finished(const Stage&, const StageSummary&) {}
};

// Returns the exit code (0 when every selected stage succeeded). Never throws fluxboot::Error:
// failures are reported through ctx.reporter and turned into their documented exit code.
int run_pipeline(Context& ctx, const std::vector<Stage*>& stages,
                 PipelineObserver* observer = nullptr);

// Resolves each selected stage's tools (config.tools, PATH) into ctx.resolved_tools; missing
// tools are a ToolMissingError naming the tool and the stages that need it. Under --dry-run
// missing tools are warnings and plans show the bare name.
void resolve_tools(Context& ctx, const std::vector<Stage*>& stages);

}  // namespace fluxboot
