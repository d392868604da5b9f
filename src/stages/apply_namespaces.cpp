// Stage 5, namespaces: one Namespace per directory under kubernetes/apps, all in ONE server-side
// apply (the recipes spent two kubectl processes per namespace).
#include <fmt/format.h>

#include "fluxboot/error.hpp"
#include "fluxboot/gitops.hpp"
#include "stages/kubectl.hpp"
#include "stages/stage_factories.hpp"

namespace fluxboot::stages {

namespace {

class ApplyNamespaces final : public Stage {
 public:
  std::string_view name() const override { return "namespaces"; }
  std::string_view title() const override { return "create the namespaces of kubernetes/apps"; }
  std::vector<std::string> tools() const override { return {"kubectl"}; }
  Millis default_timeout() const override { return std::chrono::minutes(2); }

  void prepare(Context& ctx) override {
    namespaces_ = gitops::collect_namespaces(ctx.config);
    if (namespaces_.empty())
      throw InputError(fmt::format("no namespace directories under {}",
                                   ctx.config.abs(ctx.config.paths.apps).string()));
  }

  std::string run(Context& ctx) override {
    std::string stream;
    int with_metadata = 0;
    for (const auto& ns : namespaces_) {
      stream += "---\n" + ns.json + "\n";
      with_metadata += ns.from_file ? 1 : 0;
    }
    auto r = run_apply(ctx, kubectl_apply(ctx, stream, false, "kubectl apply namespaces"),
                             "applying namespaces");
    std::string names;
    for (const auto& ns : namespaces_) names += (names.empty() ? "" : ", ") + ns.name;
    if (r.dry_run)
      return fmt::format("{} namespaces planned: {}", namespaces_.size(), names);
    return fmt::format("{} namespaces ({} from namespace.yaml): {}", namespaces_.size(), with_metadata,
                       summarize_apply_output(r.out));
  }

 private:
  std::vector<gitops::NamespaceManifest> namespaces_;
};

}  // namespace

std::unique_ptr<Stage> make_namespaces_stage() { return std::make_unique<ApplyNamespaces>(); }

}  // namespace fluxboot::stages
