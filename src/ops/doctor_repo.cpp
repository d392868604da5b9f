// Doctor checks on the repository: layout, YAML, inventory, resources, releases, drift, Talos CNI
// settings, the FluxInstance sync, the age key and sops, talosconfig and kubeconfig.
#include <algorithm>
#include <cstdlib>

#include <regex>
#include <set>
#include <fmt/format.h>

#include "fluxboot/values.hpp"
#include "ops/doctor_checks.hpp"

namespace fluxboot::ops::doctor {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string plural(size_t n, const char* word) { return fmt::format("{} {}{}", n, word, n == 1 ? "" : "s"); }

void fail(Check& k, std::string summary, std::string advice) {
  k.status = CheckStatus::Fail;
  k.summary = std::move(summary);
  k.advice = std::move(advice);
}

bool is_yaml(const fs::path& p) {
  auto e = p.extension().string();
  return e == ".yaml" || e == ".yml";
}

void yaml_files_under(const fs::path& dir, std::vector<fs::path>& out) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return;
  fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (it->is_directory(ec)) {
      if (!name.empty() && name[0] == '.') it.disable_recursion_pending();
      continue;
    }
    if (name.find(".fluxboot-") != std::string::npos) continue;  // fluxboot's own transient files
    if (is_yaml(it->path())) out.push_back(it->path());
  }
}

// Flux's sync URL forms: https://, http://, ssh://; scp-like git@host:path is not one of them.
std::string url_scheme(const std::string& url) {
  auto p = url.find("://");
  return p == std::string::npos ? "" : url.substr(0, p);
}

}  // namespace

void check_layout(DoctorRun& run) {
  const Config& c = run.ctx.config;
  Check& k = run.add("layout", "repository layout");
  std::error_code ec;
  // The same rule as `fluxboot layout`: what the stages need, with alternatives counted once.
  for (const auto& i : c.layout) {
    // Looked at again now: the repository may have changed since the layout was detected.
    // The cluster is not a path: Session already refused an unknown or missing choice.
    if (i.key == "cluster" && i.present) continue;
    if (!gitops::layout_item_required(c, i) || (i.present && fs::exists(c.abs(i.value), ec))) continue;
    k.details.push_back(fmt::format("{} ({}): missing; looked for {}", i.value.empty() ? "(none)" : i.value, i.key,
                                    gitops::layout_candidates(c, i.key)));
  }

  if (fs::is_directory(c.abs(c.paths.apps), ec)) {
    size_t dirs = 0;
    for (const auto& e : fs::directory_iterator(c.abs(c.paths.apps), ec)) dirs += e.is_directory(ec) ? 1 : 0;
    if (dirs == 0) k.details.push_back(fmt::format("{}: no namespace directories", run.rel(c.abs(c.paths.apps))));
  }
  if (!k.details.empty())
    fail(k, plural(k.details.size(), "missing path"),
         "create them, or point the paths.* keys in fluxboot.yaml at where they are");
  else
    k.summary = fmt::format("{}, {}, the helmfile states and the cluster Kustomization are in place",
                            run.rel(c.abs(c.paths.apps)), gitops::resources_source(c).describe());
}

void check_yaml(DoctorRun& run) {
  const Config& c = run.ctx.config;
  Check& k = run.add("yaml", "YAML files parse");
  std::vector<fs::path> files;
  fs::path manifests = c.abs(c.paths.apps).parent_path();
  if (manifests == c.root) manifests = c.abs(c.paths.apps);
  yaml_files_under(manifests, files);
  yaml_files_under(c.abs(c.paths.clusterconfig), files);
  for (const auto& state : {c.paths.apps_helmfile, c.paths.crds_helmfile})
    if (!state.empty()) yaml_files_under(c.abs(state).parent_path(), files);
  for (const fs::path& f : {c.abs(c.paths.talconfig), c.abs(c.paths.cluster_kustomization), run.ctx.options.talosconfig}) {
    std::error_code ec;
    if (fs::is_regular_file(f, ec)) files.push_back(f);
  }
  std::sort(files.begin(), files.end());
  files.erase(std::unique(files.begin(), files.end()), files.end());
  size_t templated = 0, docs = 0;
  for (const auto& f : files) {
    std::string text = slurp(f);
    // helmfile Go templates are rendered by helmfile, not parsed as YAML.
    if (text.find("{{") != std::string::npos && f.string().find("helmfile") != std::string::npos) {
      ++templated;
      continue;
    }
    try {
      for (const auto& d : gitops::split_documents(text, run.rel(f))) {
        values::parse_yaml(d.text, values::Dialect::GoYamlV3, fmt::format("{}:{}", run.rel(f), d.line));
        ++docs;
      }
    } catch (const std::exception& e) {
      k.details.push_back(e.what());
    }
  }
  if (!k.details.empty())
    fail(k, fmt::format("{} of {} do not parse", plural(k.details.size(), "file"), plural(files.size(), "file")),
         "fix the YAML at the lines named (Flux reads these files with the same rules)");
  else
    k.summary = fmt::format("{}, {} parsed{}", plural(files.size(), "file"), plural(docs, "document"),
                            templated ? fmt::format(" ({} helmfile templates left to helmfile)", templated) : "");
}

void check_inventory(DoctorRun& run) {
  Check& k = run.add("inventory", "nodes and machine configs");
  std::string error;
  const auto* nodes = run.inventory(&error);
  if (nodes == nullptr) {
    fail(k, "the node inventory cannot be built", "fix the inventory source named above (docs/configuration.md, \"nodes\")");
    k.details.push_back(error);
    return;
  }
  size_t cps = 0;
  std::string list;
  for (const auto& n : *nodes) {
    cps += n.control_plane ? 1 : 0;
    std::string extra = n.hostname.empty() || n.hostname == n.address ? "" : n.address;
    if (n.control_plane) extra += extra.empty() ? "control plane" : ", control plane";
    list += fmt::format("{}{}{}", list.empty() ? "" : ", ", n.hostname.empty() ? n.address : n.hostname,
                        extra.empty() ? "" : " (" + extra + ")");
  }
  std::string from = nodes->empty() ? "?" : nodes->front().origin.substr(0, nodes->front().origin.find(':'));
  if (!nodes->empty() && !nodes->front().config_templates.empty())
    from = fs::path(from).parent_path().generic_string() + " (machine-config templates)";
  if (cps == 0) {
    fail(k, fmt::format("{}, none of them a control plane", plural(nodes->size(), "node")),
         "mark the control-plane nodes (controlPlane: true)");
    return;
  }
  k.summary = fmt::format("{} from {}: {}", plural(nodes->size(), "node"), from, list);
}

void check_resources(DoctorRun& run) {
  const Config& c = run.ctx.config;
  Check& k = run.add("resources", "bootstrap resources");
  std::string error;
  const auto src = gitops::resources_source(c);
  const auto* docs = run.resources(&error);
  if (docs == nullptr) {
    if (src.kind == gitops::ResourcesSource::Kind::Template)
      fail(k, fmt::format("{} does not render", run.rel(src.path)),
           "export the variables it needs (ENV.*), or give them a default(...) in the template");
    else if (src.kind == gitops::ResourcesSource::Kind::None)
      fail(k, "no bootstrap resources found", "set paths.resourcesTemplate or paths.resources in fluxboot.yaml");
    else
      fail(k, fmt::format("{} cannot be read", src.describe()),
           "run the command named below by hand to see the whole error");
    k.details.push_back(error);
    return;
  }
  std::vector<std::string> objects;
  for (const auto& d : *docs) {
    try {
      values::parse_yaml(d.text, values::Dialect::GoYamlV3, fmt::format("{}:{}", src.describe(), d.line));
    } catch (const std::exception& e) {
      k.details.push_back(e.what());
    }
    objects.push_back(fmt::format("{} {}{}", d.kind.empty() ? "?" : d.kind, d.ns.empty() ? "" : d.ns + "/", d.name));
  }
  if (!k.details.empty()) {
    fail(k, "renders to YAML that does not parse", "check the indentation of multi-line values (| indent(N))");
    return;
  }
  std::string list;
  for (const auto& o : objects) list += (list.empty() ? "" : ", ") + o;
  k.summary = fmt::format("{}: {}{}", src.describe(), plural(objects.size(), "object"), list.empty() ? "" : ": " + list);
}

void check_releases(DoctorRun& run) {
  Check& k = run.add("releases", "bootstrap releases resolve");
  for (bool apps : {false, true})
    if (!run.state_error(apps).empty()) k.details.push_back(run.state_error(apps));
  size_t n = 0, helmfile_only = 0;
  std::vector<std::string> warnings;
  for (const auto& r : run.releases()) {
    ++n;
    const std::string who = fmt::format("{} ({})", r.ref.str(), r.state_name);
    if (r.helmfile_only) {
      ++helmfile_only;
      // Its values are the helmfile's; it still needs a chart to install.
      if (r.in_state == nullptr || r.in_state->chart.empty())
        k.details.push_back(fmt::format("{}: no HelmRelease in the repository and no chart in the helmfile", who));
      continue;
    }
    if (!r.values_error.empty()) k.details.push_back(fmt::format("{}: values: {}", who, r.values_error));
    if (!r.chart_error.empty()) k.details.push_back(fmt::format("{}: chart: {}", who, r.chart_error));
    const std::string chart = r.in_state && !r.in_state->chart.empty() ? r.in_state->chart : (r.chart ? r.chart->url : "");
    const std::string version = r.in_state && !r.in_state->version.empty() ? r.in_state->version : (r.chart ? r.chart->version : "");
    if (r.chart_error.empty() && chart.empty())
      k.details.push_back(fmt::format("{}: no chart (neither in the helmfile nor from an OCIRepository/HelmRepository)", who));
    if (r.chart_error.empty() && version.empty() && (!r.chart || r.chart->digest.empty()))
      k.details.push_back(fmt::format("{}: no chart version (helmfile `version:` or OCIRepository spec.ref.tag)", who));
    if (r.values)
      for (const auto& w : r.values->warnings) warnings.push_back(fmt::format("{}: {}", who, w));
  }
  if (!k.details.empty()) {
    fail(k, fmt::format("{} of {}", plural(k.details.size(), "problem"), plural(n, "release")),
         "fix the HelmRelease/OCIRepository files named (fluxboot values <ns>/<name> shows what Flux would see)");
    k.details.insert(k.details.end(), warnings.begin(), warnings.end());
  } else if (!warnings.empty()) {
    k.status = CheckStatus::Warn;
    k.summary = fmt::format("{} resolve, with {}", plural(n, "release"), plural(warnings.size(), "warning"));
    k.details = warnings;
    k.advice = "define the variables (cluster-settings, postBuild.substitute) or use --strict to make them errors";
  } else {
    k.summary = fmt::format("{}: values, chart and version resolve for each", plural(n, "release"));
    if (helmfile_only > 0)
      k.summary += fmt::format(" ({} without a HelmRelease keep{} the helmfile's values)",
                               helmfile_only, helmfile_only == 1 ? "s" : "");
  }
}

void check_release_names(DoctorRun& run) {
  const Config& c = run.ctx.config;
  Check& k = run.add("release-names", "release names match HelmReleases");
  const auto& st = run.state(true);
  if (!st) {
    k.status = CheckStatus::Skip;
    k.summary = "no apps helmfile to check";
    return;
  }
  for (const auto& r : st->releases) {
    if (r.ns.empty()) {
      k.details.push_back(fmt::format("{}: release {} has no namespace (Flux adopts a release by namespace and name)",
                                      run.rel(st->file), r.name));
      continue;
    }
    // Flux adopts the release when a HelmRelease of the same name and namespace exists: the one
    // the values lookup finds (paths.helmrelease, its per-release overrides, shared base
    // directories), else a kubernetes/apps/<ns>/<name> directory.
    bool found = false;
    std::string looked;
    for (const auto& info : run.releases())
      if (info.apps && info.ref.ns == r.ns && info.ref.name == r.name) {
        found = !info.helmfile_only;
        if (info.values) looked = run.rel(info.values->file);
      }
    fs::path dir = c.abs(c.paths.apps) / r.ns / r.name;
    std::error_code ec;
    if (!found && !fs::is_directory(dir, ec))
      k.details.push_back(fmt::format("{}: release {}/{} has no HelmRelease named {} (looked for {} and {}): Flux's "
                                      "HelmRelease of another name would install a second copy instead of adopting it",
                                      run.rel(st->file), r.ns, r.name, r.name,
                                      looked.empty() ? c.paths.helmrelease : looked, run.rel(dir)));
  }
  if (!k.details.empty())
    fail(k, plural(k.details.size(), "release") + " Flux would not adopt",
         "name each helmfile release and namespace exactly like the HelmRelease Flux reconciles");
  else
    k.summary = fmt::format("{} match a HelmRelease of the same name and namespace", plural(st->releases.size(), "release"));
}

void check_drift(DoctorRun& run) {
  Check& k = run.add("drift", "helmfile vs OCIRepository versions");
  size_t compared = 0;
  for (const auto& r : run.releases()) {
    if (r.in_state == nullptr || !r.chart) continue;
    const auto& hf = *r.in_state;
    const auto& oci = *r.chart;
    if (!hf.version.empty() && !oci.version.empty()) {
      ++compared;
      if (hf.version != oci.version)
        k.details.push_back(fmt::format("{} ({}): helmfile pins {}, {} has {}", r.ref.str(), r.state_name, hf.version,
                                        oci.source, oci.version));
    }
    if (hf.chart.rfind("oci://", 0) == 0 && oci.is_oci() && hf.chart != oci.url)
      k.details.push_back(fmt::format("{} ({}): helmfile chart {} differs from {} url {}", r.ref.str(), r.state_name,
                                      hf.chart, oci.source, oci.url));
  }
  if (!k.details.empty())
    fail(k, plural(k.details.size(), "difference"),
         "let the helmfile take chart and version from the OCIRepository (leave them out; fluxboot fills them in), "
         "or update both: Flux moves the release to the OCIRepository's version right after bootstrap");
  else
    k.summary = compared ? fmt::format("{} agree", plural(compared, "pinned version"))
                         : "nothing pinned twice (versions come from one place)";
}

void check_talos_cni(DoctorRun& run) {
  Check& k = run.add("talos-cni", "Talos leaves CNI, kube-proxy, CoreDNS to the apps");
  ReleaseInfo* cilium = run.release_with_chart("cilium");
  ReleaseInfo* coredns = run.release_with_chart("coredns");
  if (cilium == nullptr && coredns == nullptr) {
    k.summary = "the apps stage installs neither cilium nor coredns: nothing to check";
    return;
  }
  // kube-proxy only has to go when cilium replaces it (values unknown: assume it does).
  bool proxy_needed = cilium != nullptr &&
                      (!cilium->values || !cilium->values->values.contains("kubeProxyReplacement") ||
                       truthy(at(cilium->values->values, {"kubeProxyReplacement"})));
  const auto* nodes = run.inventory();
  if (nodes == nullptr) {
    k.status = CheckStatus::Skip;
    k.summary = "no inventory (see the inventory check)";
    return;
  }
  size_t checked = 0;
  std::vector<std::string> unresolved;  // template variables not set in this environment
  std::vector<std::string> unknown;     // settings the config does not state in a form read here
  for (const auto& n : *nodes) {
    if (!n.control_plane) continue;  // the cluster settings take effect from the control plane
    ++checked;
    json cluster;
    bool new_style = false;  // Kube*Config documents (Talos 1.13+)
    // A machine config file, or the node's templates rendered (op:// references left as they
    // are: nothing secret is read) and their `cluster` maps merged in order, as talosctl patches.
    std::vector<fs::path> parts = n.config_templates;
    if (parts.empty()) parts.push_back(n.config_file);
    try {
      for (const auto& part : parts) {
        std::string text = slurp(part);
        if (!n.config_templates.empty()) {
          // Only the cluster settings are read here: a variable that cannot be computed must not
          // hide them (the talos stage still requires it). The schematic ID and version.yaml's
          // versions are computed as the talos stage computes them.
          gitops::TemplateVars tv;
          try {
            tv = gitops::machineconfig_template_vars(run.ctx.config, n, gitops::node_template_env(run.ctx.options.env, n));
          } catch (const InputError& e) {
            tv.env = gitops::node_template_env(run.ctx.options.env, n);
            tv.problem = e.what();
          }
          if (!tv.problem.empty()) unresolved.push_back(tv.problem);
          text = gitops::render_template(text, tv.env, run.rel(part), &unresolved, &tv.vars);
        }
        for (const auto& d : gitops::split_documents(text, run.rel(part))) {
          auto j = values::parse_yaml(d.text, values::Dialect::GoYamlV3, run.rel(part));
          if (j.is_object() && j.contains("cluster") && !j.contains("kind")) {
            if (cluster.is_null()) cluster = json::object();
            cluster.merge_patch(j["cluster"]);
          }
          // Talos 1.13+ documents that replace the v1alpha1 fields: folded into the same shape.
          if (j.is_object() && j.contains("kind") && j["kind"].is_string()) {
            const std::string kind = j["kind"].get<std::string>();
            auto set = [&](std::initializer_list<const char*> path, json v) {
              if (cluster.is_null()) cluster = json::object();
              json* at_ = &cluster;
              for (const char* p : path) at_ = &(*at_)[p];
              *at_ = std::move(v);
            };
            if (kind == "KubeCoreDNSConfig" && j.contains("enabled") && j["enabled"].is_boolean())
              set({"coreDNS", "disabled"}, !j["enabled"].get<bool>());
            if (kind == "KubeProxyConfig" && j.contains("enabled") && j["enabled"].is_boolean())
              set({"proxy", "disabled"}, !j["enabled"].get<bool>());
            if (kind == "KubeNetworkConfig" && j.contains("cni") && j["cni"].is_object() && j["cni"].contains("name"))
              set({"network", "cni", "name"}, j["cni"]["name"]);
            if (kind.rfind("Kube", 0) == 0) new_style = true;
          }
        }
      }
    } catch (const std::exception& e) {
      k.details.push_back(e.what());
      continue;
    }
    const std::string file = n.config_templates.empty() ? run.rel(n.config_file) : n.origin;
    if (cilium != nullptr) {
      const json* cni = at(cluster, {"network", "cni", "name"});
      std::string name = cni && cni->is_string() ? cni->get<std::string>() : "";
      if (name.empty() && new_style)
        unknown.push_back(fmt::format("{}: no CNI setting found among its Kube*Config documents", file));
      else if (name != "none")
        k.details.push_back(fmt::format("{}: cluster.network.cni.name is {} (must be none: the apps stage installs "
                                        "cilium)",
                                        file, name.empty() ? "unset (Talos's default: flannel)" : "'" + name + "'"));
      if (proxy_needed && !truthy(at(cluster, {"proxy", "disabled"})))
        k.details.push_back(fmt::format("{}: cluster.proxy.disabled is not true (cilium's kubeProxyReplacement "
                                        "takes kube-proxy's place)",
                                        file));
    }
    if (coredns != nullptr && !truthy(at(cluster, {"coreDNS", "disabled"})))
      k.details.push_back(fmt::format("{}: cluster.coreDNS.disabled is not true (the apps stage installs coredns; "
                                      "the release fails with \"invalid ownership metadata\")",
                                      file));
  }
  if (!unresolved.empty()) {
    // Not a clash, but the talos stage stops on it: say so where the settings are checked.
    Check& u = run.add("talos-template-vars", "machine-config template variables");
    u.status = CheckStatus::Warn;
    u.summary = fmt::format("{} not set here: the talos stage needs {}", plural(unresolved.size(), "variable"),
                            unresolved.size() == 1 ? "it" : "them");
    u.details = unresolved;
    u.advice = "export them before `fluxboot talos` (ENV.X), or give them a default(...) in the template";
  }
  if (!unknown.empty() && k.details.empty()) {
    k.status = CheckStatus::Warn;
    k.summary = "cannot tell whether Talos's built-in CNI is disabled";
    k.details = unknown;
    k.advice = "check that the machine config sets the CNI to none (the apps stage installs cilium)";
  } else if (!k.details.empty())
    fail(k, plural(k.details.size(), "setting") + " would clash with the apps stage",
         nodes->front().config_templates.empty()
             ? "in talconfig.yaml set cniConfig.name: none and patch cluster.proxy.disabled/cluster.coreDNS.disabled: true, "
               "then regenerate (talhelper genconfig)"
             : "in the machine-config templates set cluster.network.cni.name: none, cluster.proxy.disabled: true and "
               "cluster.coreDNS.disabled: true");
  else
    k.summary = fmt::format("{}: built-in CNI{}{} disabled", plural(checked, "control-plane config"),
                            proxy_needed ? ", kube-proxy" : "", coredns ? ", CoreDNS" : "");
}

// An installer image that names an Image Factory schematic by its ID (`factory.talos.dev/
// installer/<id>:v1.9.5`) while the repository also keeps the schematic itself: the two must
// agree, or nodes install an image other than the one `schematic.yaml` describes. The ID is
// computed offline, as the talos stage computes {{ schematic }}.
void check_schematic_pins(DoctorRun& run) {
  const auto* nodes = run.inventory();
  if (nodes == nullptr) return;
  static const std::regex pin(R"(factory\.talos\.dev/[a-z-]+/([0-9a-f]{64}))");
  std::vector<std::string> details;
  std::set<std::string> seen;
  size_t compared = 0;
  for (const auto& n : *nodes) {
    if (n.config_templates.empty()) continue;
    gitops::TemplateVars tv;
    try {
      tv = gitops::machineconfig_template_vars(run.ctx.config, n, gitops::node_template_env(run.ctx.options.env, n));
    } catch (const InputError&) {
      continue;  // reported by the Talos check
    }
    auto id = tv.vars.find("schematic");
    if (id == tv.vars.end()) continue;
    for (const auto& part : n.config_templates) {
      const std::string text = slurp(part);
      int line = 1;
      std::size_t from = 0;
      for (std::sregex_iterator it(text.begin(), text.end(), pin), end; it != end; ++it) {
        line += static_cast<int>(std::count(text.begin() + static_cast<std::ptrdiff_t>(from),
                                            text.begin() + it->position(0), '\n'));
        from = static_cast<std::size_t>(it->position(0));
        ++compared;
        const std::string pinned = (*it)[1].str();
        if (pinned == id->second) continue;
        const std::string d = fmt::format("{}:{}: installs schematic {}…, but {} gives {}… (node {})", run.rel(part),
                                          line, pinned.substr(0, 12), tv.schematic_file, id->second.substr(0, 12),
                                          n.hostname.empty() ? n.address : n.hostname);
        if (seen.insert(fmt::format("{}:{}", run.rel(part), line)).second) details.push_back(d);
      }
    }
  }
  if (compared == 0) return;  // nothing pinned by ID: no check to show
  Check& k = run.add("talos-schematic", "installer image vs schematic file");
  if (details.empty()) {
    k.summary = fmt::format("{} pinned ID{} match the schematic files", compared, compared == 1 ? "" : "s");
    return;
  }
  k.status = CheckStatus::Warn;
  k.summary = details.size() == 1 ? std::string("1 pinned schematic ID differs from the schematic file")
                                   : fmt::format("{} pinned schematic IDs differ from the schematic files", details.size());
  k.details = details;
  k.advice = "use {{ schematic }} in the installer image (fluxboot computes it from the file), or update the pinned ID";
}

void check_flux_sync(DoctorRun& run) {
  const Config& c = run.ctx.config;
  Check& k = run.add("flux-sync", "FluxInstance sync");
  ReleaseInfo* fi = run.flux_instance();
  if (fi == nullptr) {
    k.status = CheckStatus::Warn;
    k.summary = "no flux-instance release in the apps helmfile";
    k.advice = "the apps stage waits for a FluxInstance; add the flux-instance chart to " + c.paths.apps_helmfile.string();
    return;
  }
  if (!fi->values) {
    k.status = CheckStatus::Skip;
    k.summary = "its values do not resolve (see the releases check)";
    return;
  }
  const json& v = fi->values->values;
  const json* sync = at(v, {"instance", "sync"});
  if (sync == nullptr || !sync->is_object()) {
    fail(k, "instance.sync is not set: Flux would be installed but sync nothing",
         "set instance.sync.url, ref and path in " + run.rel(fi->values->file));
    return;
  }
  auto str = [&](const char* key) {
    const json* x = at(*sync, {key});
    return x && x->is_string() ? x->get<std::string>() : std::string();
  };
  const std::string kind = str("kind").empty() ? "GitRepository" : str("kind");
  const std::string url = str("url"), ref = str("ref"), path = str("path"), pull = str("pullSecret");
  for (const auto& [key, value] : {std::pair{"url", url}, std::pair{"ref", ref}, std::pair{"path", path}}) {
    if (value.empty()) k.details.push_back(fmt::format("instance.sync.{} is empty", key));
    else if (value.find("${") != std::string::npos)
      k.details.push_back(fmt::format("instance.sync.{} has an unresolved variable: {}", key, value));
  }
  if (kind == "GitRepository" && !url.empty()) {
    std::string scheme = url_scheme(url);
    if (scheme.empty() && url.find('@') != std::string::npos)
      k.details.push_back(fmt::format("url {} is scp-like; Flux needs ssh://{}", url, [&] {
        std::string u = url;
        auto colon = u.find(':');
        if (colon != std::string::npos) u[colon] = '/';
        return u;
      }()));
    else if (scheme != "https" && scheme != "http" && scheme != "ssh")
      k.details.push_back(fmt::format("url {}: Flux's GitRepository takes https://, http:// or ssh:// URLs", url));
    if (!ref.empty() && ref.rfind("refs/", 0) != 0)
      k.details.push_back(fmt::format("ref '{}' is not a full Git reference (refs/heads/{}, refs/tags/…)", ref, ref));
    if (scheme == "ssh") {
      if (pull.empty()) {
        k.details.push_back("an ssh:// url needs instance.sync.pullSecret (a Secret with identity and known_hosts)");
      } else {
        std::string error;
        const auto* docs = run.resources(&error);
        bool found = false, keys = false;
        if (docs != nullptr)
          for (const auto& d : *docs) {
            if (d.kind != "Secret" || d.name != pull || (!d.ns.empty() && d.ns != c.flux_namespace)) continue;
            found = true;
            try {
              auto j = values::parse_yaml(d.text, values::Dialect::GoYamlV3, "resources");
              bool id = at(j, {"data", "identity"}) || at(j, {"stringData", "identity"});
              bool kh = at(j, {"data", "known_hosts"}) || at(j, {"stringData", "known_hosts"});
              keys = id && kh;
            } catch (const std::exception&) {
            }
          }
        if (!found)
          k.details.push_back(fmt::format("pullSecret {} is not among the bootstrap resources ({}): Flux cannot clone "
                                          "until it exists in {}",
                                          pull, c.paths.resources_template.string(), c.flux_namespace));
        else if (!keys)
          k.details.push_back(fmt::format("Secret {}/{} needs the keys identity and known_hosts (a deploy key)",
                                          c.flux_namespace, pull));
      }
    }
  }
  std::string rel_path = path;
  while (rel_path.rfind("./", 0) == 0) rel_path = rel_path.substr(2);
  std::error_code ec;
  if (!path.empty() && path.find("${") == std::string::npos && kind != "OCIRepository" &&
      !fs::is_directory(c.root / rel_path, ec))
    k.details.push_back(fmt::format("path {} does not exist in this repository: Flux would sync nothing", path));
  if (!k.details.empty()) {
    fail(k, fmt::format("{} in {}", plural(k.details.size(), "problem"), run.rel(fi->values->file)),
         "fix instance.sync; a wrong url, ref or path makes Flux silently do nothing");
    return;
  }
  k.summary = fmt::format("{} {} @ {}, path {}{}", kind, url, ref, path, pull.empty() ? "" : " (pullSecret " + pull + ")");
}

void check_age_key(DoctorRun& run) {
  const Config& c = run.ctx.config;
  Check& k = run.add("age-key", "age key");
  fs::path key = run.age_key_path();
  const bool from_env = gitops::age_key(c, run.ctx.options.env).from_env;
  const std::string where = run.rel(key) + (from_env ? " (SOPS_AGE_KEY_FILE)" : "");
  bool decryption = false;
  try {
    std::error_code ec;
    fs::path ks = c.abs(c.paths.cluster_kustomization);
    if (fs::is_regular_file(ks, ec))
      for (const auto& d : gitops::split_documents(slurp(ks), run.rel(ks)))
        decryption = decryption || at(values::parse_yaml(d.text, values::Dialect::GoYamlV3, run.rel(ks)), {"spec", "decryption"});
  } catch (const std::exception&) {
  }
  const size_t encrypted = run.sops_files().size();
  std::error_code ec;
  if (!fs::is_regular_file(key, ec)) {
    if (encrypted == 0 && !decryption) {
      k.summary = fmt::format("{} absent; not needed (no *.sops.yaml files, no decryption in {})", where,
                              run.rel(c.abs(c.paths.cluster_kustomization)));
      return;
    }
    fail(k, fmt::format("{} not found", where),
         fmt::format("put the age identity at {} (or set SOPS_AGE_KEY_FILE): the resources stage creates {}/sops-age "
                     "from it",
                     c.paths.age_key.string(), c.flux_namespace));
    if (encrypted) k.details.push_back(fmt::format("{} *.sops.yaml files need it", encrypted));
    if (decryption) k.details.push_back(run.rel(c.abs(c.paths.cluster_kustomization)) + " decrypts with the sops-age Secret");
    return;
  }
  std::string content = slurp(key);
  size_t ids = 0;
  for (size_t pos = 0; (pos = content.find("AGE-SECRET-KEY-", pos)) != std::string::npos; ++pos) ++ids;
  if (ids == 0) {
    fail(k, where + " holds no age identity (no AGE-SECRET-KEY- line)", "generate one with age-keygen -o " + c.paths.age_key.string());
    return;
  }
  k.summary = fmt::format("{}: {}", where, plural(ids, "identity"));
}

void check_sops_decrypt(DoctorRun& run) {
  Check& k = run.add("sops-decrypt", "*.sops.yaml decrypt with the age key");
  auto files = run.sops_files();
  for (const auto& f : run.decrypted())
    if (std::find(files.begin(), files.end(), f) == files.end()) files.push_back(f);
  if (files.empty()) {
    k.summary = "no *.sops.yaml files";
    return;
  }
  const ToolInfo& sops = run.tool("sops");
  if (sops.path.empty()) {
    fail(k, fmt::format("{} to check but sops is not installed", plural(files.size(), "file")),
         "install sops 3.9+ (https://github.com/getsops/sops/releases)");
    return;
  }
  fs::path key = run.age_key_path();
  std::error_code ec;
  if (!fs::is_regular_file(key, ec)) {
    k.status = CheckStatus::Skip;
    k.summary = "no age key (see the age-key check)";
    return;
  }
  for (const auto& f : files) {
    auto cmd = gitops::sops_decrypt_command(sops.path, f, run.ctx.config, run.ctx.options.env);
    cmd.timeout = run.options.tool_timeout;
    // The plaintext stays in this Result and is dropped: never logged, never printed.
    auto r = run.ctx.runner.run(cmd);
    if (!r.ok()) {
      std::string why = r.tail(2);
      for (auto& ch : why)
        if (ch == '\n') ch = ' ';
      k.details.push_back(fmt::format("{}: {}", run.rel(f), why.empty() ? fmt::format("sops exited {}", r.exit_code) : why));
    }
  }
  if (!k.details.empty())
    fail(k, fmt::format("{} of {} do not decrypt with {}", plural(k.details.size(), "file"), plural(files.size(), "file"),
                        run.rel(key)),
         "re-encrypt them for this key's recipient (sops updatekeys), or use the key they were encrypted for");
  else
    k.summary = fmt::format("{} decrypt with {}", plural(files.size(), "file"), run.rel(key));
}

void check_talosconfig(DoctorRun& run) {
  Check& k = run.add("talosconfig", "talosconfig");
  const auto& opts = run.ctx.options;
  const std::string where = fmt::format("{} (from {})", run.rel(opts.talosconfig), opts.talosconfig_source);
  std::error_code ec;
  if (!fs::is_regular_file(opts.talosconfig, ec)) {
    // Git-ignored in every layout: a fresh clone has none until talhelper genconfig (or talosctl
    // gen config, or the secrets manager) writes it. The talos stage does not need it (the nodes
    // are in maintenance mode); the k8s and kubeconfig stages do.
    k.status = CheckStatus::Warn;
    k.summary = where + " is not there yet";
    k.advice = "generate it before the k8s stage (talhelper genconfig, talosctl gen config), or pass --talosconfig / "
               "set TALOSCONFIG: talosctl needs it once the nodes leave maintenance mode";
    return;
  }
  try {
    auto j = values::parse_yaml(slurp(opts.talosconfig), values::Dialect::GoYamlV3, run.rel(opts.talosconfig));
    std::string context = j.value("context", "");
    const json* ctxj = at(j, {"contexts", context.c_str()});
    if (context.empty() || ctxj == nullptr) {
      fail(k, where + ": no current context", "set `context:` to one of its contexts");
      return;
    }
    const json* eps = at(*ctxj, {"endpoints"});
    if (eps == nullptr || !eps->is_array() || eps->empty()) {
      fail(k, fmt::format("{}: context {} has no endpoints", where, context), "add the control-plane addresses as endpoints");
      return;
    }
    std::string list;
    for (const auto& e : *eps)
      if (e.is_string()) list += (list.empty() ? "" : ", ") + e.get<std::string>();
    k.summary = fmt::format("{}: context {}, endpoints {}", where, context, list);
  } catch (const std::exception& e) {
    fail(k, where + " does not parse", "regenerate it");
    k.details.push_back(e.what());
  }
}

void check_kubeconfig(DoctorRun& run) {
  Check& k = run.add("kubeconfig", "kubeconfig");
  const auto& opts = run.ctx.options;
  const std::string where = fmt::format("{} (from {})", run.rel(opts.kubeconfig), opts.kubeconfig_source);
  std::error_code ec;
  if (!fs::is_regular_file(opts.kubeconfig, ec)) {
    k.status = CheckStatus::Warn;
    k.summary = where + " does not exist yet";
    k.advice = "expected before the first bootstrap: the kubeconfig stage writes it";
    return;
  }
  try {
    auto j = values::parse_yaml(slurp(opts.kubeconfig), values::Dialect::GoYamlV3, run.rel(opts.kubeconfig));
    std::string current = j.value("current-context", "");
    std::string server;
    if (const json* contexts = at(j, {"contexts"}); contexts && contexts->is_array())
      for (const auto& cx : *contexts)
        if (cx.value("name", "") == current)
          if (const json* cl = at(cx, {"context", "cluster"}); cl && cl->is_string())
            if (const json* clusters = at(j, {"clusters"}); clusters && clusters->is_array())
              for (const auto& c : *clusters)
                if (c.value("name", "") == cl->get<std::string>())
                  if (const json* s = at(c, {"cluster", "server"}); s && s->is_string()) server = s->get<std::string>();
    if (current.empty() || server.empty()) {
      fail(k, where + ": no current context with a server", "fetch it again: fluxboot kubeconfig");
      return;
    }
    k.summary = fmt::format("{}: context {} → {}", where, current, server);
  } catch (const std::exception& e) {
    fail(k, where + " does not parse", "fetch it again: fluxboot kubeconfig");
    k.details.push_back(e.what());
  }
}

}  // namespace fluxboot::ops::doctor
