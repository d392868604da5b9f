// Doctor checks: fluxboot.yaml, the tools and their versions, Helm versus the helmfile features.
#include <fmt/format.h>

#include "fluxboot/values.hpp"
#include "ops/doctor_checks.hpp"

namespace fluxboot::ops::doctor {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct ToolSpec {
  const char* name;
  const char* install;  // where to get it
};

constexpr ToolSpec kTools[] = {
    {"talosctl", "https://www.talos.dev/latest/talos-guides/install/talosctl/"},
    {"kubectl", "https://kubernetes.io/docs/tasks/tools/"},
    {"helmfile", "https://helmfile.readthedocs.io/en/latest/#installation"},
    {"helm", "https://helm.sh/docs/intro/install/"},
    {"sops", "https://github.com/getsops/sops/releases"},
};

// talconfig.yaml's talosVersion / kubernetesVersion, when there is one.
ToolVersion talconfig_version(const Config& c, const char* key) {
  std::error_code ec;
  fs::path file = c.abs(c.paths.talconfig);
  if (!fs::is_regular_file(file, ec)) return {};
  try {
    auto j = values::parse_yaml(slurp(file), values::Dialect::GoYamlV3, file.string());
    if (const json* v = at(j, {key}); v != nullptr && v->is_string()) return parse_tool_version(v->get<std::string>());
  } catch (const std::exception&) {
  }
  return {};
}

bool any_oci_chart(DoctorRun& run) {
  for (bool apps : {false, true})
    if (const auto& st = run.state(apps))
      for (const auto& r : st->releases)
        if (r.chart.rfind("oci://", 0) == 0) return true;
  return false;
}

// Where a helmfile state asks for a post-renderer (removed in Helm 4 for executables).
std::vector<std::string> post_renderers(const HelmfileState& st, const std::string& name) {
  std::vector<std::string> found;
  auto args_have = [](const json* args) {
    if (args == nullptr || !args->is_array()) return false;
    for (const auto& a : *args)
      if (a.is_string() && a.get<std::string>().rfind("--post-renderer", 0) == 0) return true;
    return false;
  };
  if (st.helm_defaults.contains("postRenderer") || args_have(at(st.helm_defaults, {"args"})))
    found.push_back(name + ": helmDefaults");
  for (const auto& r : st.releases)
    if (r.raw.contains("postRenderer") || r.raw.contains("postRendererArgs") || args_have(at(r.raw, {"args"})))
      found.push_back(fmt::format("{}: release {}", name, r.name));
  return found;
}

}  // namespace

void check_config(DoctorRun& run, const std::string& config_error) {
  const Config& c = run.ctx.config;
  Check& k = run.add("config", "fluxboot.yaml");
  if (!config_error.empty()) {
    k.status = CheckStatus::Fail;
    k.summary = "cannot be used; the other checks use the defaults";
    k.details.push_back(config_error);
    k.advice = "fix the keys named above (docs/configuration.md lists every key)";
  } else if (c.file) {
    k.summary = fmt::format("{} read", run.rel(*c.file));
  } else {
    k.summary = "none: the conventional layout (docs/configuration.md)";
  }
}

void check_tools(DoctorRun& run) {
  const Config& c = run.ctx.config;
  const bool sops_needed = !run.sops_files().empty();
  for (const auto& spec : kTools) {
    const std::string name = spec.name;
    Check& k = run.add("tool." + name, name);
    const ToolInfo& t = run.tool(name);
    if (t.path.empty()) {
      if (name == "sops" && !sops_needed) {
        k.status = CheckStatus::Skip;
        k.summary = "not installed; not needed (no *.sops.yaml files in the repository)";
        continue;
      }
      k.status = CheckStatus::Fail;
      std::string configured = run.ctx.tool(name);
      k.summary = configured == name ? "not found on PATH" : "not found at " + configured;
      if (name == "sops") k.summary += fmt::format(" (the repository has {} *.sops.yaml files)", run.sops_files().size());
      if (name == "helm") k.summary += " (helmfile runs it; rollback needs it)";
      k.advice = fmt::format("install {} ({}), or set tools.{} in fluxboot.yaml", name, spec.install, name);
      continue;
    }
    const ToolVersion& v = t.version;
    if (!v.known()) {
      k.status = CheckStatus::Warn;
      k.summary = fmt::format("version unknown ({})", t.path);
      if (!t.error.empty()) k.details.push_back(t.error);
      k.advice = fmt::format("check that {} runs: {} version", t.path, name);
      continue;
    }
    k.summary = fmt::format("{} ({})", v.text, t.path);
    auto fail = [&](std::string why, std::string advice) {
      k.status = CheckStatus::Fail;
      k.details.push_back(std::move(why));
      k.advice = std::move(advice);
    };
    auto warn = [&](std::string why, std::string advice) {
      if (k.status == CheckStatus::Pass) k.status = CheckStatus::Warn;
      k.details.push_back(std::move(why));
      if (k.advice.empty()) k.advice = std::move(advice);
    };
    if (name == "talosctl") {
      if (v.major < 1) fail("talosctl before v1.0 does not know the flags fluxboot uses", "install talosctl v1.x");
      ToolVersion cluster = talconfig_version(c, "talosVersion");
      if (cluster.known() && (cluster.major != v.major || std::abs(cluster.minor - v.minor) > 1))
        warn(fmt::format("talosctl {} is more than one minor version away from the cluster's Talos {} ({})", v.text,
                         cluster.text, run.rel(c.abs(c.paths.talconfig))),
             fmt::format("use a talosctl matching Talos {}", cluster.text));
    } else if (name == "kubectl") {
      if (v.major < 1 || (v.major == 1 && v.minor < 22))
        fail(fmt::format("kubectl {} predates server-side apply as fluxboot uses it (--server-side "
                         "--force-conflicts, GA in 1.22)", v.text),
             "install kubectl 1.22 or newer (ideally the cluster's minor version)");
      ToolVersion cluster = talconfig_version(c, "kubernetesVersion");
      if (cluster.known() && cluster.major == v.major && std::abs(cluster.minor - v.minor) > 1)
        warn(fmt::format("kubectl {} is outside the supported skew (±1 minor) of Kubernetes {} ({})", v.text,
                         cluster.text, run.rel(c.abs(c.paths.talconfig))),
             fmt::format("use kubectl {}.{}", cluster.major, cluster.minor));
    } else if (name == "helm") {
      if (v.major < 3) fail(fmt::format("Helm {} is not supported (Tiller-era Helm 2)", v.text), "install Helm 3 or 4");
      else if (v.major == 3 && v.minor < 8 && any_oci_chart(run))
        fail(fmt::format("Helm {} cannot pull oci:// charts (OCI support is GA from 3.8)", v.text),
             "install Helm 3.8 or newer");
    } else if (name == "helmfile") {
      if (v.major == 0)
        warn(fmt::format("helmfile {} (v0) is no longer maintained; fluxboot is tested with helmfile v1", v.text),
             "install helmfile v1");
    } else if (name == "sops") {
      if (v.major < 3 || (v.major == 3 && v.minor < 9))
        fail(fmt::format("sops {} has no `sops decrypt` subcommand (new in 3.9), which fluxboot runs", v.text),
             "install sops 3.9 or newer");
      if (!sops_needed && k.status == CheckStatus::Pass) k.summary += "; not needed (no *.sops.yaml files)";
    }
  }
}

void check_helm_features(DoctorRun& run) {
  const Config& c = run.ctx.config;
  Check& k = run.add("helm-features", "Helm vs helmfile features");
  const ToolInfo& helm = run.tool("helm");
  std::vector<std::string> problems, warnings;
  // The CRD helmfile: without --include-crds `helm template` leaves every chart's crds/ out.
  if (const auto& crds = run.state(false); crds && !crds->templated) {
    bool include = false;
    if (const json* args = at(crds->helm_defaults, {"args"}); args != nullptr && args->is_array())
      for (const auto& a : *args) include = include || (a.is_string() && a.get<std::string>() == "--include-crds");
    if (!include)
      problems.push_back(fmt::format("{}: helmDefaults.args has no --include-crds, so `helmfile template` renders "
                                     "no CustomResourceDefinition and the crds stage fails",
                                     run.rel(crds->file)));
  }
  if (!helm.path.empty() && helm.version.known()) {
    const int major = helm.version.major;
    for (bool apps : {false, true}) {
      const auto& st = run.state(apps);
      if (!st || st->templated) continue;
      std::string name = run.rel(st->file);
      if (major >= 4)
        for (const auto& where : post_renderers(*st, name))
          problems.push_back(where + ": an executable post-renderer; Helm 4 removed them (helm/helm#31340)");
      if (apps) {
        bool force = truthy(at(st->helm_defaults, {"forceConflicts"}));
        if (major >= 4 && !force)
          warnings.push_back(name + ": Helm 4 installs with server-side apply; without helmDefaults.forceConflicts "
                                    "a field another manager owns (e.g. CRDs applied by the crds stage) fails the "
                                    "release");
        if (major == 3 && force)
          warnings.push_back(name + ": helmDefaults.forceConflicts is a Helm 4 option; Helm 3 ignores or rejects it");
      }
    }
  }
  if (!problems.empty()) {
    k.status = CheckStatus::Fail;
    k.summary = fmt::format("{} problem{}", problems.size(), problems.size() == 1 ? "" : "s");
    k.details = problems;
    k.details.insert(k.details.end(), warnings.begin(), warnings.end());
    k.advice = "filter CRDs with --include-crds (fluxboot keeps only CRDs in-process; no post-renderer needed)";
  } else if (!warnings.empty()) {
    k.status = CheckStatus::Warn;
    k.summary = fmt::format("{} warning{}", warnings.size(), warnings.size() == 1 ? "" : "s");
    k.details = warnings;
    k.advice = "match helmDefaults to the Helm major version in use";
  } else if (helm.path.empty() || !helm.version.known()) {
    k.status = CheckStatus::Pass;
    k.summary = "no Helm version to compare with; the helmfile states need nothing version-specific";
  } else {
    k.summary = fmt::format("Helm {}: the helmfile states use nothing it lacks", helm.version.text);
  }
  (void)c;
}

}  // namespace fluxboot::ops::doctor
