// Stage 8, apps: `helmfile sync` of the bootstrap apps under fluxboot's own deadline (helmfile's
// --timeout was long ignored), then the Flux Operator pod and the FluxInstance must be Ready.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "fluxboot/error.hpp"
#include "fluxboot/retry.hpp"
#include "stages/helmfile_support.hpp"
#include "stages/kubectl.hpp"
#include "stages/node_match.hpp"
#include "stages/readiness.hpp"
#include "stages/stage_factories.hpp"

namespace fluxboot::stages {

namespace {

class InstallApps final : public Stage {
 public:
  std::string_view name() const override { return "apps"; }
  std::string_view title() const override { return "install cilium … flux-instance with helmfile"; }
  std::vector<std::string> tools() const override { return {"helmfile", "kubectl"}; }
  Millis default_timeout() const override { return std::chrono::minutes(20); }

  void prepare(Context& ctx) override {
    handoff_ = derive(ctx, ctx.config.abs(ctx.config.paths.apps_helmfile));
  }

  std::string run(Context& ctx) override {
    if (!handoff_) prepare(ctx);
    auto sync = helmfile_command(ctx, handoff_->state_file(), {"sync", "--hide-notes"});
    auto r = ctx.run_checked(sync, "helmfile sync of " + ctx.config.paths.apps_helmfile.string());
    const std::string& ns = ctx.config.flux_namespace;
    const std::string& fi = ctx.config.flux_instance;
    if (r.dry_run)
      return fmt::format("would wait for the Flux Operator pod ({}) and FluxInstance {}/{}",
                         ctx.config.flux_operator_selector, ns, fi);
    wait_operator(ctx);
    std::string msg = wait_instance(ctx);
    return fmt::format("releases synced; Flux Operator ready; FluxInstance {}/{} Ready{}", ns, fi,
                       msg.empty() ? "" : " (" + msg + ")");
  }

  void cleanup(Context&) noexcept override { handoff_.reset(); }

 private:
  void wait_operator(Context& ctx) {
    const std::string& ns = ctx.config.flux_namespace;
    const std::string& sel = ctx.config.flux_operator_selector;
    retry_until(ctx, fmt::format("the Flux Operator pod ({} in {}) to be Ready", sel, ns),
                Backoff{std::chrono::milliseconds(500), 1.5, std::chrono::seconds(5)}, [&](int) -> Attempt {
      auto out = kubectl_json(ctx, {"get", "pods", "-n", ns, "-l", sel, "-o", "json"},
                              "listing the Flux Operator pods");
      auto list = nlohmann::json::parse(out, nullptr, false);
      if (list.is_discarded()) return Attempt::again("kubectl printed something that is not JSON");
      auto items = list.value("items", nlohmann::json::array());
      if (items.empty()) {
        ctx.reporter.progress(name(), "waiting for the Flux Operator pod to appear");
        return Attempt::again("no pod matches " + sel);
      }
      std::vector<std::string> not_ready;
      for (const auto& pod : items) {
        auto rd = pod_readiness(pod);
        if (!rd.ready) not_ready.push_back(pod.value("/metadata/name"_json_pointer, std::string("?")) + ": " + rd.message);
      }
      if (not_ready.empty()) return Attempt::finished();
      ctx.reporter.progress(name(), "Flux Operator not ready: " + join(not_ready, "; "));
      return Attempt::again(join(not_ready, "; "));
    });
  }

  std::string wait_instance(Context& ctx) {
    const std::string& ns = ctx.config.flux_namespace;
    const std::string& fi = ctx.config.flux_instance;
    std::string message;
    retry_until(ctx, fmt::format("FluxInstance {}/{} to be Ready", ns, fi),
                Backoff{std::chrono::milliseconds(500), 1.5, std::chrono::seconds(5)}, [&](int) -> Attempt {
      process::Command get;
      get.argv = {ctx.tool("kubectl"), "get", "fluxinstance", fi, "-n", ns, "-o", "json", "--ignore-not-found"};
      get.mutating = false;
      get.label = "kubectl get fluxinstance";
      auto r = ctx.run(get);
      if (!r.ok()) return Attempt::again(ctx.redactor.apply(r.tail(1)));
      if (r.out.find_first_not_of(" \n") == std::string::npos) {
        ctx.reporter.progress(name(), "waiting for FluxInstance " + fi + " to appear");
        return Attempt::again("FluxInstance " + ns + "/" + fi + " does not exist");
      }
      auto obj = nlohmann::json::parse(r.out, nullptr, false);
      if (obj.is_discarded()) return Attempt::again("kubectl printed something that is not JSON");
      auto rd = kstatus_readiness(obj);
      message = rd.message;
      if (rd.terminal)
        throw StageError(fmt::format("FluxInstance {}/{} will not become Ready: {}", ns, fi, rd.message));
      if (rd.ready) return Attempt::finished();
      ctx.reporter.progress(name(), "FluxInstance: " + rd.message);
      return Attempt::again(rd.message);
    });
    return message;
  }

  std::unique_ptr<values::Handoff> handoff_;
};

}  // namespace

std::unique_ptr<Stage> make_apps_stage() { return std::make_unique<InstallApps>(); }

}  // namespace fluxboot::stages
