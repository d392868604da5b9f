// Stage 4, wait: until the API answers and every inventory node has registered. NotReady counts:
// the CNI is installed only by the apps stage.
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "fluxboot/error.hpp"
#include "fluxboot/retry.hpp"
#include "stages/kubectl.hpp"
#include "stages/node_match.hpp"
#include "stages/stage_factories.hpp"

namespace fluxboot::stages {

namespace {

class WaitForNodes final : public Stage {
 public:
  std::string_view name() const override { return "wait"; }
  std::string_view title() const override { return "wait for the nodes to register"; }
  std::vector<std::string> tools() const override { return {"kubectl"}; }

  void prepare(Context& ctx) override { (void)ctx.inventory(); }

  std::string run(Context& ctx) override {
    const auto& nodes = ctx.inventory();
    if (ctx.dry_run())
      return fmt::format("would wait for {} node{} to register", nodes.size(), nodes.size() == 1 ? "" : "s");
    auto t0 = std::chrono::steady_clock::now();
    auto elapsed = [&]() {
      return format_duration(std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - t0));
    };

    retry_until(ctx, "the Kubernetes API (/readyz)", Backoff{std::chrono::milliseconds(500), 1.5, std::chrono::seconds(5)},
                [&](int) -> Attempt {
      process::Command cmd;
      cmd.argv = {ctx.tool("kubectl"), "get", "--raw", "/readyz", "--request-timeout=5s"};
      cmd.mutating = false;
      cmd.label = "kubectl get --raw /readyz";
      auto r = ctx.run(cmd);
      if (r.ok()) return Attempt::finished();
      ctx.reporter.progress(name(), fmt::format("API not ready yet ({})", elapsed()));
      return Attempt::again(ctx.redactor.apply(r.tail(1)));
    });

    std::vector<std::string> missing;
    retry_until(ctx, "every node to register", Backoff{std::chrono::seconds(1), 1.3, std::chrono::seconds(5)},
                [&](int) -> Attempt {
      process::Command cmd;
      cmd.argv = {ctx.tool("kubectl"), "get", "nodes", "-o", "json", "--request-timeout=10s"};
      cmd.mutating = false;
      cmd.label = "kubectl get nodes";
      auto r = ctx.run(cmd);
      if (!r.ok()) return Attempt::again(ctx.redactor.apply(r.tail(1)));
      nlohmann::json list = nlohmann::json::parse(r.out, nullptr, false);
      if (list.is_discarded() || !list.contains("items"))
        return Attempt::again("kubectl printed something that is not a node list");
      missing = unregistered_nodes(nodes, list["items"]);
      ctx.reporter.progress(name(), fmt::format("{}/{} nodes registered ({}){}", nodes.size() - missing.size(),
                                                nodes.size(), elapsed(),
                                                missing.empty() ? "" : "; waiting for " + join(missing)));
      if (missing.empty()) return Attempt::finished();
      return Attempt::again("not registered: " + join(missing));
    });
    return fmt::format("{}/{} nodes registered", nodes.size(), nodes.size());
  }
};

}  // namespace

std::unique_ptr<Stage> make_wait_stage() { return std::make_unique<WaitForNodes>(); }

}  // namespace fluxboot::stages
