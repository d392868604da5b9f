// Stage 1, talos: `talosctl apply-config --insecure` on every node, in parallel (bounded).
// Nodes whose machine config is a set of minijinja templates are rendered in prepare() (so a
// missing variable fails before any node changes), `op inject`ed when they hold op:// references,
// merged by `talosctl machineconfig patch` in a private 0700 directory, then applied.
#include <sys/stat.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "fluxboot/error.hpp"
#include "fluxboot/gitops.hpp"
#include "fluxboot/private_dir.hpp"
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

  void prepare(Context& ctx) override {
    rendered_.clear();
    Problems problems;
    bool needs_op = false;
    for (const auto& node : ctx.inventory()) {
      if (node.config_templates.empty()) continue;
      // What the recipes export or compute while rendering a node's config: IS_CONTROLPLANE,
      // MACHINE_TYPE, the Image Factory schematic ID, version.yaml's versions.
      gitops::TemplateVars tv;
      try {
        tv = gitops::machineconfig_template_vars(ctx.config, node, gitops::node_template_env(ctx.options.env, node));
      } catch (const InputError& e) {
        problems.add(e.what());
        continue;
      }
      std::vector<std::string> texts;
      for (const auto& file : node.config_templates) {
        const std::string source = std::filesystem::relative(file, ctx.config.root).generic_string();
        try {
          std::ifstream in(file, std::ios::binary);
          if (!in) throw InputError(fmt::format("{}: cannot be read", source));
          std::stringstream buf;
          buf << in.rdbuf();
          texts.push_back(gitops::render_template(buf.str(), tv.env, source, nullptr, &tv.vars));
          needs_op = needs_op || texts.back().find("op://") != std::string::npos;
        } catch (const InputError& e) {
          // A schematic whose ID could not be computed explains an undefined `schematic`.
          problems.add(tv.problem.empty() ? std::string(e.what()) : fmt::format("{} ({})", e.what(), tv.problem));
        }
      }
      rendered_[node.address] = std::move(texts);
    }
    problems.throw_if_any("cannot render the Talos machine-config templates");
    if (needs_op) ctx.require_tool("op", "the machine-config templates hold op:// references (op inject)");
    if (!rendered_.empty()) (void)ctx.require_tool("talosctl", "talosctl machineconfig patch");
  }

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

  // The node's machine config as one file: the configured file, or the templates rendered in
  // prepare(), injected and merged into `dir`. Empty in a dry run that only planned the merge.
  std::string config_file(Context& ctx, const NodeSpec& node, std::optional<PrivateDir>& dir) {
    if (node.config_templates.empty()) return node.config_file.string();
    auto texts = rendered_.at(node.address);
    // A dry run writes nothing: the plan names the private directory instead of making one.
    const bool plan_only = ctx.dry_run();
    if (!plan_only) dir.emplace();
    const std::filesystem::path where = plan_only ? std::filesystem::path("<private dir>") : dir->path();
    std::vector<std::filesystem::path> files;
    for (size_t i = 0; i < texts.size(); ++i) {
      const std::string source = std::filesystem::relative(node.config_templates[i], ctx.config.root).generic_string();
      if (texts[i].find("op://") != std::string::npos) {
        process::Command inject;
        inject.argv = {ctx.tool("op"), "inject"};
        inject.input = texts[i];
        inject.input_is_secret = true;
        inject.mutating = true;  // reads secrets from 1Password: a dry run only plans it
        inject.label = "op inject " + source;
        auto out = ctx.run_secret_output(inject, fmt::format("op inject {}", source));
        if (out) texts[i] = *out;
      }
      // "<i>-<file name without .yaml/.yaml.j2>.yaml": 127.0.0.12.yaml stays 127.0.0.12 (one
      // private directory per node, so names never collide across nodes).
      std::string base = node.config_templates[i].filename().string();
      for (const char* ext : {".j2", ".yaml"})
        if (base.size() > std::strlen(ext) && base.compare(base.size() - std::strlen(ext), std::strlen(ext), ext) == 0)
          base.resize(base.size() - std::strlen(ext));
      const std::string name = fmt::format("{}-{}.yaml", i, base);
      files.push_back(plan_only ? where / name : dir->write(name, texts[i]));
    }
    const auto merged = where / "machineconfig.yaml";
    process::Command patch;
    patch.argv = {ctx.tool("talosctl"), "machineconfig", "patch", files.front().string()};
    for (size_t i = 1; i < files.size(); ++i) {
      patch.argv.push_back("--patch");
      patch.argv.push_back("@" + files[i].string());
    }
    patch.argv.push_back("--output");
    patch.argv.push_back(merged.string());
    patch.label = "talosctl machineconfig patch " + display(node);
    auto r = ctx.run(patch);
    if (r.dry_run) return merged.string();
    if (!r.ok())
      throw StageError(fmt::format("talosctl machineconfig patch exited {}: {}", r.exit_code,
                                   ctx.redactor.apply(r.tail())));
    ::chmod(merged.c_str(), 0600);
    return merged.string();
  }

  NodeOutcome apply(Context& ctx, const NodeSpec& node) {
    NodeOutcome outcome = NodeOutcome::Failed;
    std::optional<PrivateDir> dir;  // holds the merged config (secrets) until the apply is done
    const std::string file = config_file(ctx, node, dir);
    retry_until(ctx, fmt::format("node {} to accept its config", display(node)), Backoff{},
                [&](int) -> Attempt {
      process::Command cmd;
      cmd.argv = {ctx.tool("talosctl"), "apply-config", "--insecure", "--nodes", node.address,
                  "--file", file};
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

  std::map<std::string, std::vector<std::string>> rendered_;  // address → rendered templates

  static std::string last_line(const std::string& s) {
    auto nl = s.find_last_of('\n');
    return nl == std::string::npos ? s : s.substr(nl + 1);
  }
};

}  // namespace

std::unique_ptr<Stage> make_talos_stage() { return std::make_unique<ApplyTalosConfig>(); }

}  // namespace fluxboot::stages
