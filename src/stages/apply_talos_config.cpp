// Stage 1, talos: `talosctl apply-config --insecure` on every node, in parallel (bounded).
#include <atomic>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "fluxboot/error.hpp"
#include "fluxboot/retry.hpp"
#include "stages/stage_factories.hpp"
#include "stages/talos_errors.hpp"

namespace fluxboot::stages {

namespace {

enum class NodeOutcome { Applied, AlreadyConfigured, Planned, Failed };

class ApplyTalosConfig final : public Stage {
 public:
  std::string_view name() const override { return "talos"; }
  std::string_view title() const override { return "apply the Talos machine configs"; }
  std::vector<std::string> tools() const override { return {"talosctl"}; }
  Millis default_timeout() const override { return std::chrono::minutes(5); }

  void prepare(Context& ctx) override { (void)ctx.inventory(); }

  std::string run(Context& ctx) override {
    const auto& nodes = ctx.inventory();
    std::vector<NodeOutcome> outcomes(nodes.size(), NodeOutcome::Failed);
    std::vector<std::string> errors(nodes.size());
    std::vector<ExitCode> codes(nodes.size(), ExitCode::Ok);
    std::atomic<size_t> next{0};
    std::atomic<int> done{0};
    std::mutex mu;

    auto worker = [&]() {
      for (size_t i = next++; i < nodes.size(); i = next++) {
        try {
          outcomes[i] = apply(ctx, nodes[i]);
        } catch (const Error& e) {
          errors[i] = e.what();
          codes[i] = e.code();
        }
        int n = ++done;
        std::lock_guard lock(mu);
        ctx.reporter.progress(name(), fmt::format("{}/{} nodes handled", n, nodes.size()));
      }
    };
    size_t workers = std::min<size_t>(nodes.size(), static_cast<size_t>(std::max(1, ctx.config.talos_parallelism)));
    std::vector<std::thread> pool;
    for (size_t w = 0; w < workers; ++w) pool.emplace_back(worker);
    for (auto& t : pool) t.join();

    if (process::interrupted()) throw InterruptedError(process::pending_signal());
    std::string failed;
    int applied = 0, configured = 0, planned = 0, deadline_failures = 0;
    for (size_t i = 0; i < nodes.size(); ++i) {
      switch (outcomes[i]) {
        case NodeOutcome::Applied: ++applied; break;
        case NodeOutcome::AlreadyConfigured: ++configured; break;
        case NodeOutcome::Planned: ++planned; break;
        case NodeOutcome::Failed:
          if (codes[i] == ExitCode::DeadlineExceeded) ++deadline_failures;
          failed += fmt::format("\n  node {} ({}): {}", display(nodes[i]), nodes[i].address, errors[i]);
          break;
      }
    }
    if (!failed.empty()) {
      std::string msg = "apply-config failed on" + failed;
      if (deadline_failures > 0) throw DeadlineError(msg);
      throw StageError(msg);
    }
    if (planned > 0) return fmt::format("{} node{} planned", planned, planned == 1 ? "" : "s");
    return fmt::format("{} node{}: {} applied, {} already configured", nodes.size(),
                       nodes.size() == 1 ? "" : "s", applied, configured);
  }

 private:
  static std::string display(const NodeSpec& n) { return n.hostname.empty() ? n.address : n.hostname; }

  NodeOutcome apply(Context& ctx, const NodeSpec& node) {
    NodeOutcome outcome = NodeOutcome::Failed;
    retry_until(ctx, fmt::format("node {} to accept its config", display(node)), Backoff{},
                [&](int) -> Attempt {
      process::Command cmd;
      cmd.argv = {ctx.tool("talosctl"), "apply-config", "--insecure", "--nodes", node.address,
                  "--file", node.config_file.string()};
      cmd.label = "talosctl apply-config " + display(node);
      auto r = ctx.run(cmd);
      if (r.dry_run) {
        outcome = NodeOutcome::Planned;
        return Attempt::finished();
      }
      std::string text = r.out + "\n" + r.err;
      if (r.ok()) {
        ctx.reporter.info(name(), fmt::format("{} ({}): config applied", display(node), node.address));
        outcome = NodeOutcome::Applied;
        return Attempt::finished();
      }
      if (is_certificate_required(text)) {
        ctx.reporter.info(name(), fmt::format("{} ({}): already configured (the node requires a "
                                              "client certificate), skipped",
                                              display(node), node.address));
        outcome = NodeOutcome::AlreadyConfigured;
        return Attempt::finished();
      }
      std::string tail = ctx.redactor.apply(r.tail());
      if (r.timed_out || !is_transient_talos_error(text))
        throw StageError(fmt::format("talosctl exited {}: {}", r.exit_code, tail.empty() ? "(no output)" : tail));
      ctx.reporter.progress(name(), fmt::format("{}: not reachable yet ({}), retrying", display(node), last_line(tail)));
      return Attempt::again(last_line(tail));
    });
    return outcome;
  }

  static std::string last_line(const std::string& s) {
    auto nl = s.find_last_of('\n');
    return nl == std::string::npos ? s : s.substr(nl + 1);
  }
};

}  // namespace

std::unique_ptr<Stage> make_talos_stage() { return std::make_unique<ApplyTalosConfig>(); }

}  // namespace fluxboot::stages
