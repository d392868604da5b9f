// Stage 7, crds: render the CRD helmfile (never sync it), keep only CustomResourceDefinitions
// in-process (no yq, no post-renderer), one server-side apply, then wait until they are
// Established so the apps stage never races its own CRDs.
#include <map>
#include <optional>
#include <regex>

#include <fmt/format.h>

#include "fluxboot/error.hpp"
#include "fluxboot/gitops.hpp"
#include "fluxboot/helmfile_state.hpp"
#include "stages/helmfile_support.hpp"
#include "stages/kube_access.hpp"
#include "stages/kubectl.hpp"
#include "stages/stage_factories.hpp"

namespace fluxboot::stages {

namespace {

// The chart name in a chart reference: oci://quay.io/jetstack/charts/cert-manager, jetstack/cert-manager
// and ./charts/cert-manager all name "cert-manager".
std::string chart_basename(std::string chart) {
  while (!chart.empty() && chart.back() == '/') chart.pop_back();
  const auto slash = chart.rfind('/');
  return slash == std::string::npos ? chart : chart.substr(slash + 1);
}

// A CRD that a chart renders from templates/ (cert-manager with crds.enabled, flux-operator,
// prometheus-operator-crds) becomes part of that release when helm installs it. Applied by
// fluxboot first, helm would refuse it ("exists and cannot be imported into the current release:
// invalid ownership metadata"); with Helm's ownership metadata it is adopted instead, by the
// apps stage's helm and by Flux's HelmRelease of the same name. CRDs from a chart's crds/
// directory are never managed by helm, so they stay as they are.
struct Owner {
  std::string name, ns;
};

// The release of each chart name; nullopt when several releases use that chart (no single owner).
std::map<std::string, std::optional<Owner>> owners_by_chart(const std::filesystem::path& state_file) {
  std::map<std::string, std::optional<Owner>> out;
  for (const auto& spec : values::read_release_specs(state_file)) {
    const std::string chart = chart_basename(spec.chart);
    if (chart.empty()) continue;
    auto [it, fresh] = out.emplace(chart, Owner{spec.name, spec.ns});
    if (!fresh) it->second.reset();
  }
  return out;
}

// "cert-manager" for a document rendered from "# Source: cert-manager/templates/crds.yaml" (also
// a subchart's templates: "kube-prometheus-stack/charts/crds/templates/x.yaml"); empty for crds/.
std::string templated_by(const std::string& text) {
  static const std::regex source(R"((^|\n)# Source: ([^/\n]+)/([^\n]*))");
  std::smatch m;
  if (!std::regex_search(text, m, source)) return "";
  const std::string rest = m[3].str();
  if (rest.rfind("templates/", 0) != 0 && rest.find("/templates/") == std::string::npos) return "";
  return m[2].str();
}

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
    const auto owners = owners_by_chart(handoff_->state_file());
    std::size_t adopted = 0;
    for (const auto& d : docs) {
      if (d.kind != "CustomResourceDefinition") continue;
      names.push_back(d.name);
      const std::string chart = templated_by(d.text);
      auto owner = owners.find(chart);
      if (chart.empty() || owner == owners.end() || !owner->second) {
        if (!chart.empty())
          ctx.reporter.debug(name(), fmt::format("CRD {} (chart {}): no single release of {} renders it; applied "
                                                 "without Helm ownership metadata",
                                                 d.name, chart, ctx.config.paths.crds_helmfile.string()));
        stream += "---\n" + d.text + (d.text.empty() || d.text.back() == '\n' ? "" : "\n");
        continue;
      }
      // kubectl reads YAML the way sigs.k8s.io/yaml does (go-yaml v2); JSON is YAML.
      nlohmann::json crd = values::parse_yaml(d.text, values::Dialect::GoYamlV2,
                                              fmt::format("helmfile template output, CRD {}", d.name));
      if (!crd.is_object()) continue;
      auto& meta = crd["metadata"];
      meta["labels"]["app.kubernetes.io/managed-by"] = "Helm";
      meta["annotations"]["meta.helm.sh/release-name"] = owner->second->name;
      meta["annotations"]["meta.helm.sh/release-namespace"] = owner->second->ns;
      stream += "---\n" + crd.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
      ++adopted;
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
    return fmt::format("{} CRDs established{}: {}", names.size(),
                       adopted == 0 ? std::string() : fmt::format(" ({} templated by a chart, labelled for Helm to adopt)", adopted),
                       summarize_apply_output(applied.out));
  }

  void cleanup(Context&) noexcept override { handoff_.reset(); }

 private:
  std::unique_ptr<values::Handoff> handoff_;
};

}  // namespace

std::unique_ptr<Stage> make_crds_stage() { return std::make_unique<ApplyCrds>(); }

}  // namespace fluxboot::stages
