// Stage 8, apps: `helmfile sync` of the bootstrap apps under fluxboot's own deadline (helmfile's
// --timeout was long ignored), then the Flux Operator pod and the FluxInstance must be Ready.
#include <algorithm>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "fluxboot/error.hpp"
#include "fluxboot/helmfile_state.hpp"
#include "stages/helm_releases.hpp"
#include "stages/helmfile_support.hpp"
#include "stages/kube_access.hpp"
#include "stages/stage_factories.hpp"

namespace fluxboot::stages {

namespace {

class InstallApps final : public Stage {
 public:
  std::string_view name() const override { return "apps"; }
  std::string_view title() const override { return "install cilium … flux-instance with helmfile"; }
  std::vector<std::string> tools() const override { return {"helmfile", "helm"}; }
  Millis default_timeout() const override { return std::chrono::minutes(20); }

  void prepare(Context& ctx) override {
    handoff_ = derive(ctx, ctx.config.abs(ctx.config.paths.apps_helmfile));
  }

  std::string run(Context& ctx) override {
    if (!handoff_) prepare(ctx);
    const std::string& ns = ctx.config.flux_namespace;
    const std::string& fi = ctx.config.flux_instance;
    std::string changed;
    recover_stuck_releases(ctx);
    if (!ctx.dry_run() && releases_up_to_date(ctx, changed)) {
      ctx.reporter.info(name(), "every release is already deployed with these charts and values: "
                                "helmfile sync skipped");
      wait_flux(ctx);
      return "releases already up to date (sync skipped); Flux Operator ready; FluxInstance " + ns + "/" +
             fi + " Ready";
    }
    if (!changed.empty()) ctx.reporter.debug(name(), "helmfile sync needed: " + changed);
    auto sync = helmfile_command(ctx, handoff_->state_file(), {"sync", "--hide-notes"});
    process::Result r;
    try {
      r = ctx.run(sync);
    } catch (const InterruptedError&) {
      report_release_states(ctx);
      throw;
    }
    if (!r.ok() && !r.dry_run) {
      // helmfile lists the failed releases above a long ARGS block, so the plain output tail
      // misses them: name them explicitly.
      std::string failed = failed_releases(r.out + "\n" + r.err);
      if (r.timed_out)
        throw DeadlineError("helmfile sync did not finish before the stage deadline" +
                            (failed.empty() ? std::string() : " (failed: " + failed + ")"));
      std::string cause = helm_errors(r.out + "\n" + r.err);
      if (cause.empty()) cause = r.tail();
      throw StageError(fmt::format("helmfile sync of {} failed{} (exit {}):\n{}",
                                   ctx.config.paths.apps_helmfile.string(),
                                   failed.empty() ? "" : " on release " + failed, r.exit_code,
                                   ctx.redactor.apply(cause)));
    }
    if (r.dry_run)
      return fmt::format("would wait for the Flux Operator pod ({}) and FluxInstance {}/{}",
                         ctx.config.flux_operator_selector, ns, fi);
    wait_flux(ctx);
    return fmt::format("releases synced; Flux Operator ready; FluxInstance {}/{} Ready", ns, fi);
  }

  void cleanup(Context&) noexcept override { handoff_.reset(); }

 private:
  // A release left pending-install/pending-upgrade/pending-rollback (helm interrupted by Ctrl-C, a
  // deadline or a lost connection) makes every later `helmfile sync` fail with "another operation
  // is in progress". fluxboot holds the repository lock, so no run of its own is mid-operation:
  // roll such a release back to its last deployed revision, or uninstall one that never deployed.
  void recover_stuck_releases(Context& ctx) {
    std::vector<values::ReleaseSpec> specs;
    std::vector<HelmReleaseRecord> releases;
    try {
      specs = values::read_release_specs(handoff_->state_file());
      auto client = make_kube_client(ctx);
      releases = latest_helm_releases(client, ctx.deadline);
    } catch (const Error& e) {
      // No cluster yet (a dry run before the kubeconfig exists) or no API: nothing to recover here;
      // helmfile sync reports the real problem.
      ctx.reporter.debug(name(), std::string("stuck-release check skipped: ") + e.what());
      return;
    }
    for (const auto& spec : specs) {
      for (const auto& r : releases) {
        if (r.name != spec.name || r.ns != spec.ns || !r.pending()) continue;
        const std::string id = r.ns + "/" + r.name;
        process::Command cmd;
        std::string what, plan;
        if (r.last_good_revision > 0) {
          cmd.argv = {ctx.tool("helm"), "rollback", r.name, std::to_string(r.last_good_revision), "--namespace", r.ns};
          what = fmt::format("rolled back to revision {}", r.last_good_revision);
          plan = fmt::format("would be rolled back to revision {}", r.last_good_revision);
        } else {
          cmd.argv = {ctx.tool("helm"), "uninstall", r.name, "--namespace", r.ns};
          what = "uninstalled (it never deployed)";
          plan = "would be uninstalled (it never deployed)";
        }
        cmd.label = "helm " + cmd.argv[1] + " " + r.name;
        auto res = ctx.run(cmd);
        if (res.dry_run) {
          ctx.reporter.warn(name(), fmt::format("release {} is stuck in {} (revision {}): {}", id, r.status, r.revision, plan));
          continue;
        }
        if (!res.ok())
          throw StageError(fmt::format("release {} is stuck in {} (revision {}) and {} failed: {}", id, r.status,
                                       r.revision, cmd.label, ctx.redactor.apply(res.tail())));
        ctx.reporter.warn(name(), fmt::format("release {} was stuck in {} (revision {}, an interrupted helm): {}",
                                              id, r.status, r.revision, what));
      }
    }
  }

  // After Ctrl-C during `helmfile sync`: what each release was left as, read from Helm's own
  // records (5 s at most; a further signal ends it), so the user knows what the next run does.
  void report_release_states(Context& ctx) noexcept {
    try {
      auto specs = values::read_release_specs(handoff_->state_file());
      auto client = make_kube_client(ctx, /*after_interrupt=*/true);
      auto releases = latest_helm_releases(client, std::chrono::steady_clock::now() + std::chrono::seconds(5));
      for (const auto& spec : specs) {
        const std::string id = spec.ns + "/" + spec.name;
        const HelmReleaseRecord* found = find_release(releases, spec.ns, spec.name);
        if (found == nullptr) {
          ctx.reporter.warn(name(), fmt::format("after the interrupt: release {} is not installed", id));
          continue;
        }
        std::string next;
        if (found->pending())
          next = found->last_good_revision > 0
                     ? fmt::format("; the next run rolls it back to revision {} first", found->last_good_revision)
                     : std::string("; the next run uninstalls it first (it never deployed)");
        else if (found->status == "failed")
          next = "; the next run upgrades it again";
        ctx.reporter.warn(name(), fmt::format("after the interrupt: release {} is {} (revision {}){}", id,
                                              found->status, found->revision, next));
      }
    } catch (const std::exception& e) {
      ctx.reporter.warn(name(), std::string("after the interrupt: the releases' state could not be read: ") +
                                    ctx.redactor.apply(e.what()));
    }
  }

  // What helm itself said for each failed release: helmfile wraps it in a block (PATH, ARGS with
  // every argument, ERROR, EXITCODE, STDERR, COMBINED OUTPUT) after "failed processing release X";
  // only the STDERR part is the cause. Empty when the output has no such block.
  static std::string helm_errors(const std::string& output) {
    std::string out, release;
    std::istringstream in(output);
    std::string line;
    bool collecting = false;
    std::size_t lines = 0;
    while (std::getline(in, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      const std::string marker = "failed processing release ";
      if (auto p = line.find(marker); p != std::string::npos) {
        std::istringstream w(line.substr(p + marker.size()));
        w >> release;
        while (!release.empty() && release.back() == ':') release.pop_back();
        collecting = false;
        continue;
      }
      if (line == "STDERR:") {
        collecting = true;
        lines = 0;
        out += (out.empty() ? "" : "\n") + (release.empty() ? std::string("helm") : release) + ":";
        continue;
      }
      if (!collecting) continue;
      if (line.empty() || line.rfind("  ", 0) != 0) {
        collecting = false;
        continue;
      }
      if (++lines <= 10) out += "\n  " + line.substr(2);
    }
    return out;
  }

  // "spegel, cilium" from helmfile's "failed processing release X" lines and FAILED RELEASES table.
  static std::string failed_releases(const std::string& output) {
    std::vector<std::string> names;
    auto add = [&](std::string n) {
      while (!n.empty() && (n.back() == ':' || n.back() == ',' || n.back() == '\r')) n.pop_back();
      if (!n.empty() && std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
    };
    std::istringstream in(output);
    std::string line;
    bool table = false;
    while (std::getline(in, line)) {
      const std::string marker = "failed processing release ";
      if (auto p = line.find(marker); p != std::string::npos) {
        std::istringstream w(line.substr(p + marker.size()));
        std::string n;
        w >> n;
        add(n);
      }
      if (line.find("FAILED RELEASES:") != std::string::npos) {
        table = true;
        continue;
      }
      if (table) {
        // Rows are NAME NAMESPACE CHART [VERSION] DURATION; the table ends at a blank line or at
        // the first line that is not such a row (helmfile prints the per-release errors next).
        std::istringstream w(line);
        std::vector<std::string> cols;
        for (std::string c; w >> c;) cols.push_back(c);
        if (!cols.empty() && cols[0] == "NAME") continue;
        bool row = cols.size() >= 4 && cols.size() <= 5;
        for (const auto& c : cols)
          if (!c.empty() && c.back() == ':') row = false;
        if (!row) {
          table = false;
          continue;
        }
        add(cols[0]);
      }
    }
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
    return out;
  }

  // True when helm already runs every release of the derived state, deployed, at the state's
  // chart version, with exactly the values helmfile would pass. Then `helmfile sync` would only
  // add a Helm revision with identical manifests, so a re-run skips it. Any doubt means sync.
  bool releases_up_to_date(Context& ctx, std::string& why) {
    std::vector<values::ReleaseSpec> specs;
    try {
      specs = values::read_release_specs(handoff_->state_file());
    } catch (const Error& e) {
      why = e.what();
      return false;
    }
    if (specs.empty()) return false;
    // Helm's own release records, through the API (no helm process: `helm list` lost --all in
    // helm 4, and one `helm get values` per release cost a process each).
    std::vector<HelmReleaseRecord> deployed;
    try {
      auto client = make_kube_client(ctx);
      deployed = latest_helm_releases(client, ctx.deadline);
    } catch (const Error& e) {
      why = std::string("cannot read Helm's releases: ") + e.what();
      return false;
    }
    for (const auto& spec : specs) {
      const std::string id = spec.ns + "/" + spec.name;
      const HelmReleaseRecord* found = find_release(deployed, spec.ns, spec.name);
      if (found == nullptr) return why = id + " is not installed", false;
      if (found->status != "deployed") return why = id + " is " + found->status, false;
      if (!spec.version.empty() && found->chart_version != spec.version &&
          "v" + found->chart_version != spec.version && found->chart_version != "v" + spec.version)
        return why = id + " runs " + found->chart + "-" + found->chart_version + ", the state wants " + spec.version, false;
      if (!spec.values) return why = "the values of " + id + " are only known to helmfile", false;
      if (found->config != *spec.values) return why = "the values of " + id + " changed", false;
    }
    return true;
  }

  // The design document's steps 5 and 6, on watches: the Flux Operator pods, then the
  // FluxInstance. Stalled (or a terminal Ready=False reason) fails at once with its message.
  void wait_flux(Context& ctx) {
    const std::string& ns = ctx.config.flux_namespace;
    auto client = make_kube_client(ctx);
    kube::wait_ready(client,
                     {kube::ObjectRef::pods(ns, ctx.config.flux_operator_selector),
                      kube::ObjectRef::named("fluxinstance", "fluxcd.controlplane.io/v1",
                                             "fluxinstances", ns, ctx.config.flux_instance)},
                     ctx.deadline, progress_for(ctx));
  }

  std::unique_ptr<values::Handoff> handoff_;
};

}  // namespace

std::unique_ptr<Stage> make_apps_stage() { return std::make_unique<InstallApps>(); }

}  // namespace fluxboot::stages
