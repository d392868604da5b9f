// `fluxboot rollback`.
#include "fluxboot/rollback.hpp"

#include <fmt/format.h>

#include "fluxboot/error.hpp"
#include "fluxboot/journal.hpp"
#include "fluxboot/retry.hpp"
#include "fluxboot/session.hpp"
#include "fluxboot/values.hpp"
#include "ops/helmfile_state.hpp"

namespace fluxboot::ops {

namespace {

bool release_not_found(const process::Result& r) {
  const std::string text = r.out + "\n" + r.err;
  return text.find("not found") != std::string::npos;
}

// `helm uninstall` of one release; "not found" means it is already gone.
std::string uninstall(Context& ctx, const FluxRelease& rel) {
  process::Command cmd;
  cmd.argv = {ctx.tool("helm"), "uninstall", rel.name, "--namespace", rel.ns, "--wait", "--timeout",
              fmt::format("{}s", std::max<long long>(30, std::min<long long>(300, ctx.remaining().count() / 1000)))};
  cmd.label = "helm uninstall " + rel.str();
  auto r = ctx.run(cmd);
  if (r.dry_run) return rel.str();
  if (r.ok()) {
    ctx.reporter.info(ctx.stage, fmt::format("release {} removed", rel.str()));
    return rel.str() + " removed";
  }
  if (release_not_found(r)) {
    ctx.reporter.info(ctx.stage, fmt::format("release {} is not installed (already removed)", rel.str()));
    return rel.str() + " already gone";
  }
  if (r.timed_out) throw DeadlineError(fmt::format("helm uninstall {} did not finish before the deadline", rel.str()));
  throw StageError(fmt::format("helm uninstall {} exited {}:\n{}", rel.str(), r.exit_code, ctx.redactor.apply(r.tail())));
}

// The operator's finalizer uninstalls the Flux controllers when a FluxInstance is deleted; removing
// the operator before that leaves the FluxInstance stuck in deletion.
void wait_instances_gone(Context& ctx, const std::string& ns) {
  retry_until(ctx, "the FluxInstances in " + ns + " to be finalized by the Flux Operator",
              Backoff{std::chrono::milliseconds(500), 1.5, std::chrono::seconds(5)}, [&](int) -> Attempt {
    process::Command get;
    get.argv = {ctx.tool("kubectl"), "get", "fluxinstances.fluxcd.controlplane.io", "-n", ns, "-o", "name",
                "--ignore-not-found", "--request-timeout=10s"};
    get.mutating = false;
    get.label = "kubectl get fluxinstances";
    auto r = ctx.run(get);
    if (!r.ok()) {
      // The CRD is gone with the operator's chart or never existed: nothing left to finalize.
      if (r.err.find("the server doesn't have a resource type") != std::string::npos) return Attempt::finished();
      return Attempt::again(ctx.redactor.apply(r.tail(1)));
    }
    if (r.out.find_first_not_of(" \n") == std::string::npos) return Attempt::finished();
    std::string left = r.out;
    while (!left.empty() && left.back() == '\n') left.pop_back();
    ctx.reporter.progress(ctx.stage, "waiting for the Flux Operator to finalize " + left);
    return Attempt::again("still present: " + left);
  });
}

}  // namespace

RollbackPlan plan_rollback(const Config& config) {
  RollbackPlan plan;
  plan.instance = {"flux-instance", config.flux_namespace, "flux-instance"};
  plan.flux_operator = {"flux-operator", config.flux_namespace, "flux-operator"};
  bool found_instance = false, found_operator = false;
  const auto state_file = config.abs(config.paths.apps_helmfile);
  try {
    auto st = read_helmfile_state(state_file);
    for (const auto& r : st.releases) {
      std::string chart = chart_basename(r.chart);
      std::string ns = r.ns.empty() ? config.flux_namespace : r.ns;
      if (chart.empty() && !st.templated) {
        try {
          if (auto c = values::chart_for(config, values::ReleaseRef{ns, r.name})) chart = chart_basename(c->url + (c->name.empty() ? "" : "/" + c->name));
        } catch (const std::exception&) {
        }
      }
      if (chart.empty()) chart = r.name;  // a templated state: only names are known
      if (chart == "flux-instance" && !found_instance) {
        plan.instance = {r.name, ns, chart};
        found_instance = true;
      } else if (chart == "flux-operator" && !found_operator) {
        plan.flux_operator = {r.name, ns, chart};
        found_operator = true;
      }
    }
  } catch (const Error& e) {
    plan.notes.push_back(fmt::format("could not read {}: {}", state_file.string(), e.what()));
  }
  if (!found_instance)
    plan.notes.push_back(fmt::format("no release with chart flux-instance in {}: assuming {}",
                                     config.paths.apps_helmfile.string(), plan.instance.str()));
  if (!found_operator)
    plan.notes.push_back(fmt::format("no release with chart flux-operator in {}: assuming {}",
                                     config.paths.apps_helmfile.string(), plan.flux_operator.str()));
  return plan;
}

std::string execute_rollback(Context& ctx, const RollbackPlan& plan) {
  std::string first = uninstall(ctx, plan.instance);
  if (ctx.dry_run()) {
    ctx.reporter.info(ctx.stage, fmt::format("would wait until no FluxInstance is left in {}", plan.instance.ns));
  } else {
    wait_instances_gone(ctx, plan.instance.ns);
  }
  std::string second = uninstall(ctx, plan.flux_operator);
  return first + ", then " + second;
}

int run_rollback(Session& s, const RollbackOptions& options, bool interactive, std::istream& in, std::FILE* prompt) {
  Context ctx(s.config, s.options, s.runner(), *s.reporter, s.redactor);
  ctx.stage = "rollback";
  const RollbackPlan plan = plan_rollback(s.config);
  for (const auto& n : plan.notes) s.reporter->warn("rollback", n);

  // Tools first: a missing helm is exit 4 before anything else is asked.
  Problems missing;
  for (const auto& [tool, configured] : {std::pair{"helm", s.config.tools.helm}, std::pair{"kubectl", s.config.tools.kubectl}}) {
    if (auto found = process::find_executable(configured)) ctx.resolved_tools[tool] = found->string();
    else if (ctx.dry_run()) s.reporter->warn("rollback", fmt::format("{} ({}) not found; the plan shows it by name", tool, configured));
    else missing.add(fmt::format("{} not found{} — needed by rollback (install it, or set tools.{} in fluxboot.yaml)",
                                 tool, configured == tool ? " on PATH" : " at " + configured, tool));
  }
  if (!missing.empty()) {
    std::string msg = missing.items().front();
    if (missing.items().size() > 1) {
      msg = "missing tools:";
      for (const auto& m : missing.items()) msg += "\n  - " + m;
    }
    throw ToolMissingError(msg);
  }
  std::error_code ec;
  if (!std::filesystem::is_regular_file(s.options.kubeconfig, ec)) {
    std::string msg = fmt::format("no kubeconfig at {} (from {}): there is no cluster to roll back",
                                  s.options.kubeconfig.string(), s.options.kubeconfig_source);
    if (!ctx.dry_run()) throw InputError(msg);
    s.reporter->warn("rollback", msg);
  }

  const std::string what = fmt::format("remove the Helm release {} (the FluxInstance), wait until the Flux "
                                       "Operator has finalized it, then remove {} (the Flux Operator)",
                                       plan.instance.str(), plan.flux_operator.str());
  if (!ctx.dry_run() && !options.yes) {
    if (!interactive)
      throw UsageError("rollback changes the cluster and needs confirmation: pass --yes (stdin is not a terminal, "
                       "so fluxboot does not prompt). --dry-run shows the plan");
    std::fprintf(prompt,
                 "fluxboot rollback will %s\non the cluster of %s.\nFlux stops managing the cluster until the apps "
                 "stage runs again.\nContinue? [y/N] ",
                 what.c_str(), s.options.kubeconfig.c_str());
    std::fflush(prompt);
    std::string answer;
    std::getline(in, answer);
    while (!answer.empty() && (answer.back() == '\r' || answer.back() == ' ')) answer.pop_back();
    if (answer != "y" && answer != "Y" && answer != "yes" && answer != "YES" && answer != "Yes") {
      s.reporter->info("rollback", "cancelled: nothing was changed");
      return 1;
    }
  }

  std::unique_ptr<RunLock> lock;
  std::unique_ptr<RunJournal> journal;
  if (!ctx.dry_run()) {
    lock = lock_repository(s.config.root, "rollback", *s.reporter, s.global.no_lock);
    journal = std::make_unique<RunJournal>(ctx, "rollback");
  }
  Millis limit = s.options.timeout.value_or(s.config.timeout_for("rollback", std::chrono::minutes(10)));
  ctx.deadline = std::chrono::steady_clock::now() + limit;
  s.reporter->info("rollback", (ctx.dry_run() ? "plan: " : "") + what);
  int code = 0;
  // From here on the apps stage's success no longer describes the cluster, even if a step fails.
  if (journal) journal->mark_stage("apps", "rolled back");
  try {
    std::string summary = execute_rollback(ctx, plan);
    s.reporter->info("rollback", (ctx.dry_run() ? "planned: " : "done: ") + summary +
                                     (ctx.dry_run() ? "" : ". Run `fluxboot apps` (or `fluxboot all --resume`) to reinstall"));
  } catch (const Error& e) {
    code = static_cast<int>(e.code());
    if (journal) journal->finish(code);
    throw;
  }
  if (journal) journal->finish(code);
  return code;
}

}  // namespace fluxboot::ops
