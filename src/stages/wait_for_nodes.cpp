// Stage 4, wait: until the API answers and every inventory node has registered. NotReady counts:
// the CNI is installed only by the apps stage. Event-driven through the API client (a watch on
// Nodes), not kubectl: `kubectl wait --all` fails at once while no node exists yet.
#include <fmt/format.h>

#include "fluxboot/error.hpp"
#include "fluxboot/kube.hpp"
#include "stages/kube_access.hpp"
#include "stages/stage_factories.hpp"

namespace fluxboot::stages {

namespace {

class WaitForNodes final : public Stage {
 public:
  std::string_view name() const override { return "wait"; }
  std::string_view title() const override { return "wait for the nodes to register"; }

  void prepare(Context& ctx) override { (void)ctx.inventory(); }

  std::string run(Context& ctx) override {
    const auto& nodes = ctx.inventory();
    if (ctx.dry_run())
      return fmt::format("would wait for {} node{} to register", nodes.size(), nodes.size() == 1 ? "" : "s");
    if (!std::filesystem::exists(ctx.options.kubeconfig))
      throw StageError(fmt::format("no kubeconfig at {} (from {}): run the kubeconfig stage first",
                                   ctx.options.kubeconfig.string(), ctx.options.kubeconfig_source));
    auto client = make_kube_client(ctx);
    auto progress = progress_for(ctx);
    kube::wait_api_ready(client, ctx.deadline, progress);
    // Addresses always match (status.addresses); hostnames only if the kubelet used them.
    std::vector<std::string> expected;
    for (const auto& n : nodes) expected.push_back(n.address);
    auto names = kube::wait_nodes_registered(client, expected, ctx.deadline, progress);
    std::string list;
    for (size_t i = 0; i < names.size() && i < nodes.size(); ++i)
      list += (list.empty() ? "" : ", ") + names[i];
    return fmt::format("{}/{} nodes registered: {}", names.size(), nodes.size(), list);
  }
};

}  // namespace

std::unique_ptr<Stage> make_wait_stage() { return std::make_unique<WaitForNodes>(); }

}  // namespace fluxboot::stages
