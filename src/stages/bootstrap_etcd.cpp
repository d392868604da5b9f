// Stage 2, k8s: `talosctl bootstrap` on the controller until it succeeds or reports AlreadyExists.
#include <fmt/format.h>

#include "fluxboot/error.hpp"
#include "fluxboot/retry.hpp"
#include "stages/stage_factories.hpp"
#include "stages/talos_errors.hpp"

namespace fluxboot::stages {

namespace {

class BootstrapEtcd final : public Stage {
 public:
  std::string_view name() const override { return "k8s"; }
  std::string_view title() const override { return "bootstrap etcd on the controller"; }
  std::vector<std::string> tools() const override { return {"talosctl"}; }

  void prepare(Context& ctx) override { (void)ctx.controller(); }

  std::string run(Context& ctx) override {
    const NodeSpec& cp = ctx.controller();
    const std::string who = cp.hostname.empty() ? cp.address : cp.hostname + " (" + cp.address + ")";
    std::string summary;
    retry_until(ctx, "etcd bootstrap on " + who, Backoff{std::chrono::seconds(2), 1.5, std::chrono::seconds(15)},
                [&](int attempt) -> Attempt {
      process::Command cmd;
      cmd.argv = {ctx.tool("talosctl"), "bootstrap", "--nodes", cp.address};
      cmd.label = "talosctl bootstrap " + who;
      cmd.timeout = std::chrono::minutes(2);
      auto r = ctx.run(cmd);
      if (r.dry_run) {
        summary = "bootstrap of " + who + " planned";
        return Attempt::finished();
      }
      std::string text = r.out + "\n" + r.err;
      if (r.ok()) {
        summary = "etcd bootstrapped on " + who;
        return Attempt::finished();
      }
      if (is_already_exists(text)) {
        summary = "etcd already bootstrapped on " + who + " (AlreadyExists)";
        return Attempt::finished();
      }
      std::string tail = ctx.redactor.apply(r.tail());
      if (!r.timed_out && !is_transient_talos_error(text))
        throw StageError(fmt::format("talosctl bootstrap on {} exited {}: {}", who, r.exit_code,
                                     tail.empty() ? "(no output)" : tail));
      auto nl = tail.find_last_of('\n');
      std::string last = nl == std::string::npos ? tail : tail.substr(nl + 1);
      ctx.reporter.progress(name(), fmt::format("attempt {}: {} not ready ({}), retrying", attempt, who, last));
      return Attempt::again(last);
    });
    return summary;
  }
};

}  // namespace

std::unique_ptr<Stage> make_k8s_stage() { return std::make_unique<BootstrapEtcd>(); }

}  // namespace fluxboot::stages
