// Stage 7, crds: render the CRD helmfile (never sync it), keep only CustomResourceDefinitions
// in-process (no yq, no post-renderer), one server-side apply, then wait until they are
// Established so the apps stage never races its own CRDs.
#include <fmt/format.h>

#include "fluxboot/error.hpp"
#include "fluxboot/gitops.hpp"
#include "stages/helmfile_support.hpp"
#include "stages/kube_access.hpp"
#include "stages/kubectl.hpp"
#include "stages/stage_factories.hpp"

namespace fluxboot::stages {

namespace {

class ApplyCrds final : public Stage {
 public:
  std::string_view name() const override { return "crds"; }
  std::string_view title() const override { return "apply the CRDs of the bootstrap charts"; }
  std::vector<std::string> tools() const override { return {"helmfile", "kubectl"}; }
  Millis default_timeout() const override { return std::chrono::minutes(5); }

  void prepare(Context& ctx) override {
    if (ctx.config.paths.crds_helmfile.empty()) return;  // the layout has no CRD helmfile
    handoff_ = derive(ctx, ctx.config.abs(ctx.config.paths.crds_helmfile));
  }

  std::string run(Context& ctx) override {
    if (ctx.config.paths.crds_helmfile.empty())
      return "nothing to do: this repository has no CRD helmfile (looked for " +
             gitops::layout_candidates(ctx.config, "paths.crdsHelmfile") +
             "; set paths.crdsHelmfile in fluxboot.yaml if it has one)";
    if (!handoff_) prepare(ctx);
    // Rendering downloads charts, so a dry run shows the command instead of running it.
    auto cmd = helmfile_command(ctx, handoff_->state_file(), {"template", "--quiet"});
    auto rendered = ctx.run_checked(cmd, "rendering " + ctx.config.paths.crds_helmfile.string());
    if (rendered.dry_run) {
      ctx.run(kubectl_apply(ctx, "<CustomResourceDefinitions from helmfile template>", false,
                            "kubectl apply crds"));
      return "CRD apply planned";
    }
    auto docs = gitops::split_documents(rendered.out, "helmfile template output");
    std::string stream;
    std::vector<std::string> names;
    for (const auto& d : docs) {
      if (d.kind != "CustomResourceDefinition") continue;
      stream += "---\n" + d.text + (d.text.empty() || d.text.back() == '\n' ? "" : "\n");
      names.push_back(d.name);
    }
    if (names.empty())
      throw StageError(fmt::format("helmfile template of {} produced {} documents but no "
                                   "CustomResourceDefinition (does helmDefaults.args include "
                                   "--include-crds?)",
                                   ctx.config.paths.crds_helmfile.string(), docs.size()));
    auto applied = run_apply(ctx, kubectl_apply(ctx, stream, false, "kubectl apply crds"),
                                   "applying CRDs");

    std::vector<kube::ObjectRef> crds;
    for (const auto& n : names) {
      auto ref = kube::ObjectRef::named("customresourcedefinition", "apiextensions.k8s.io/v1",
                                        "customresourcedefinitions", "", n);
      ref.condition = "Established";
      crds.push_back(std::move(ref));
    }
    auto client = make_kube_client(ctx);
    kube::wait_ready(client, crds, ctx.deadline, progress_for(ctx));
    return fmt::format("{} CRDs established: {}", names.size(), summarize_apply_output(applied.out));
  }

  void cleanup(Context&) noexcept override { handoff_.reset(); }

 private:
  std::unique_ptr<values::Handoff> handoff_;
};

}  // namespace

std::unique_ptr<Stage> make_crds_stage() { return std::make_unique<ApplyCrds>(); }

}  // namespace fluxboot::stages
