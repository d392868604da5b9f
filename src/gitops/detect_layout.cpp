// Layout detection: where this repository keeps what fluxboot reads. Home-ops repositories put the
// bootstrap helmfiles, the resources template and talhelper's talconfig.yaml in a handful of
// well-known places (../docs/layouts.md); fluxboot.yaml overrides any of them. Detection only
// looks at the file system: it never parses, never runs a tool and never throws.
#include <algorithm>
#include <array>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include "fluxboot/gitops.hpp"

namespace fluxboot::gitops {

namespace fs = std::filesystem;

namespace {

// The directories bootstrap files live in, most common first.
constexpr std::array<const char*, 2> kBootstrapDirs = {"bootstrap", "kubernetes/bootstrap"};
// helmfile file names, as <stem> + one of kHelmfileExts.
constexpr std::array<const char*, 2> kHelmfileExts = {".yaml", ".yaml.gotmpl"};

struct HelmfilePair {
  const char* apps;  // stem relative to the bootstrap directory
  const char* crds;  // nullptr: this layout keeps CRDs elsewhere (or has none)
};
// Split layouts first: a directory of state files wins over a lone helmfile.yaml beside it.
constexpr std::array<HelmfilePair, 4> kHelmfilePairs = {{
    {"helmfile.d/01-apps", "helmfile.d/00-crds"},
    {"helmfile/apps", "helmfile/crds"},
    {"helmfile.d/apps", "helmfile.d/crds"},
    {"helmfile", nullptr},
}};
// Where a single-file layout keeps its CRD helmfile, when it has one.
constexpr std::array<const char*, 2> kSingleCrdStems = {"crds/helmfile", "helmfile/crds"};

bool is_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

bool is_dir(const fs::path& p) {
  std::error_code ec;
  return fs::is_directory(p, ec);
}

std::string rel(const fs::path& p) { return p.lexically_normal().generic_string(); }

// The first of `stems` (each tried with every extension) under `dir` that exists, else "".
std::string first_helmfile(const fs::path& root, const std::string& dir,
                           const std::vector<std::string>& stems,
                           std::vector<std::string>& looked_for) {
  for (const auto& stem : stems)
    for (const char* ext : kHelmfileExts) {
      std::string candidate = rel(fs::path(dir) / (stem + ext));
      looked_for.push_back(candidate);
      if (is_file(root / candidate)) return candidate;
    }
  return {};
}

// ---- several clusters in one repository
// kubernetes/clusters/<name>/ (or clusters/<name>/) holding a Flux Kustomization, talos/<name>/
// holding machine-config templates or a talconfig.yaml. The clusters' directories are where the
// per-cluster candidates below are looked for first.
constexpr std::array<const char*, 2> kClusterParents = {"kubernetes/clusters", "clusters"};
constexpr std::array<const char*, 2> kTalosParents = {"talos", "kubernetes/talos"};

std::string head_of(const fs::path& file, std::size_t limit = 1 << 16) {
  std::ifstream in(file, std::ios::binary);
  std::string text(limit, '\0');
  in.read(text.data(), static_cast<std::streamsize>(limit));
  text.resize(static_cast<std::size_t>(std::max<std::streamsize>(in.gcount(), 0)));
  return text;
}

bool yaml_file_name(const fs::path& p) {
  const std::string ext = p.extension().string();
  return ext == ".yaml" || ext == ".yml";
}

// A Flux Kustomization (kustomize.toolkit.fluxcd.io, kind: Kustomization) in `file`.
bool holds_flux_kustomization(const fs::path& file) {
  if (!yaml_file_name(file) || !is_file(file)) return false;
  const std::string text = head_of(file);
  static const std::regex kind(R"((^|\n)kind:[ \t]*Kustomization[ \t]*(\r?\n|$))");
  return text.find("kustomize.toolkit.fluxcd.io") != std::string::npos && std::regex_search(text, kind);
}

bool dir_holds_flux_kustomization(const fs::path& dir) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (holds_flux_kustomization(e.path())) return true;
  return false;
}

bool holds_talos_cluster(const fs::path& dir) {
  for (const char* f : {"machineconfig.yaml.j2", "cluster.yaml.j2", "talconfig.yaml"})
    if (is_file(dir / f)) return true;
  return false;
}

std::vector<std::string> subdirs(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_directory(ec) && e.path().filename().string().rfind('.', 0) != 0)
      out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

void detect_cluster(Config& c) {
  LayoutItem i;
  i.key = "cluster";
  std::set<std::string> names;
  std::vector<std::pair<std::string, fs::path>> owned;  // cluster → a directory of its own
  for (const char* parent : kClusterParents) {
    i.looked_for.push_back(std::string(parent) + "/<name>/");
    for (const auto& n : subdirs(c.root / parent))
      if (is_cluster_name(n) && dir_holds_flux_kustomization(c.root / parent / n)) {
        names.insert(n);
        owned.emplace_back(n, c.root / parent / n);
      }
  }
  for (const char* parent : kTalosParents) {
    i.looked_for.push_back(std::string(parent) + "/<name>/");
    for (const auto& n : subdirs(c.root / parent))
      if (is_cluster_name(n) && holds_talos_cluster(c.root / parent / n)) {
        names.insert(n);
        owned.emplace_back(n, c.root / parent / n);
      }
  }
  // kubernetes/apps/<name>/ beside a shared kubernetes/apps/base/: that cluster's Kustomizations.
  for (const auto& n : names)
    if (is_dir(c.root / c.paths.apps / n)) owned.emplace_back(n, c.root / c.paths.apps / n);
  c.clusters.assign(names.begin(), names.end());
  if (!c.cluster.empty()) {
    i.origin = c.cluster_origin;
    i.value = c.cluster;
    i.present = names.count(c.cluster) > 0;
  } else if (names.size() == 1) {
    c.cluster = *names.begin();
    c.cluster_origin = "detected";
    i.origin = "detected";
    i.value = c.cluster;
    i.present = true;
  } else {
    i.origin = "default";
    i.present = names.empty();  // one cluster, no per-cluster directories: nothing to choose
  }
  if (!c.cluster.empty())
    for (const auto& [name, dir] : owned)
      if (name != c.cluster) c.foreign_dirs.push_back(dir.lexically_normal());
  // The kube context talosctl names: the cluster, in a repository of several.
  if (!c.kube_context_is_explicit && !c.cluster.empty() && (names.size() > 1 || c.cluster_origin != "detected"))
    c.kube_context_name = c.cluster;
  c.layout.push_back(std::move(i));
}

// An environment variable that names the cluster: CLUSTER, CLUSTER_NAME, KUBE_CLUSTER...
bool is_cluster_env(const std::string& name) {
  return name == "CLUSTER" || name == "CLUSTER_NAME" ||
         (name.size() > 8 && name.compare(name.size() - 8, 8, "_CLUSTER") == 0);
}

// "talos/<cluster>" before "talos": the per-cluster candidates first, when there is a cluster.
std::vector<std::string> per_cluster(const Config& c, std::initializer_list<const char*> dirs) {
  std::vector<std::string> out;
  if (!c.cluster.empty())
    for (const char* d : dirs) out.push_back(rel(fs::path(d) / c.cluster));
  for (const char* d : dirs) out.emplace_back(d);
  return out;
}

LayoutItem item(const Config& c, const std::string& key, const fs::path& current) {
  LayoutItem i;
  i.key = key;
  i.origin = c.path_is_explicit(key) ? "fluxboot.yaml" : "default";
  i.value = rel(current);
  return i;
}

// Unless fluxboot.yaml set it: the first <dir>/<file> of `dirs` that exists becomes the item.
void detect_file(const Config& c, LayoutItem& i, const std::vector<std::string>& dirs,
                 const char* file) {
  if (i.origin == "fluxboot.yaml") return;
  for (const auto& dir : dirs) {
    std::string candidate = rel(fs::path(dir) / file);
    i.looked_for.push_back(candidate);
    if (is_file(c.root / candidate)) {
      i.value = candidate;
      i.origin = "detected";
      return;
    }
  }
}

void detect_helmfiles(Config& c) {
  LayoutItem apps = item(c, "paths.appsHelmfile", c.paths.apps_helmfile);
  LayoutItem crds = item(c, "paths.crdsHelmfile", c.paths.crds_helmfile);
  const bool apps_set = apps.origin == "fluxboot.yaml";
  const bool crds_set = crds.origin == "fluxboot.yaml";

  std::string bootstrap_dir;  // where the apps helmfile was found: the CRD one is searched there
  if (!apps_set) {
    for (const char* dir : kBootstrapDirs) {
      for (const auto& pair : kHelmfilePairs) {
        std::string found = first_helmfile(c.root, dir, {pair.apps}, apps.looked_for);
        if (found.empty()) continue;
        apps.value = found;
        apps.origin = "detected";
        bootstrap_dir = dir;
        if (!crds_set) {
          std::vector<std::string> stems;
          if (pair.crds != nullptr) stems.emplace_back(pair.crds);
          else stems.assign(kSingleCrdStems.begin(), kSingleCrdStems.end());
          std::string crd = first_helmfile(c.root, dir, stems, crds.looked_for);
          if (!crd.empty()) {
            crds.value = crd;
            crds.origin = "detected";
          } else {
            crds.value.clear();  // this layout has no CRD helmfile: the crds stage has nothing to do
          }
        }
        break;
      }
      if (!bootstrap_dir.empty()) break;
    }
  }
  if (!crds_set && bootstrap_dir.empty()) {
    // The apps helmfile is configured (or not found): look for a CRD helmfile beside it.
    fs::path dir = fs::path(apps.value).parent_path();
    std::vector<std::string> stems = {"00-crds", "crds"};
    std::string crd = first_helmfile(c.root, dir.empty() ? "." : dir.generic_string(), stems,
                                     crds.looked_for);
    if (!crd.empty()) {
      crds.value = crd;
      crds.origin = "detected";
    } else if (apps_set || apps.origin == "detected") {
      crds.value.clear();
    }
  }
  apps.present = !apps.value.empty() && is_file(c.root / apps.value);
  crds.present = !crds.value.empty() && is_file(c.root / crds.value);
  c.paths.apps_helmfile = apps.value;
  c.paths.crds_helmfile = crds.value;
  c.layout.push_back(std::move(crds));
  c.layout.push_back(std::move(apps));
}

void detect_resources(Config& c) {
  LayoutItem r = item(c, "paths.resourcesTemplate", c.paths.resources_template);
  detect_file(c, r, {kBootstrapDirs.begin(), kBootstrapDirs.end()}, "resources.yaml.j2");
  r.present = is_file(c.root / r.value);
  c.paths.resources_template = r.value;
  c.layout.push_back(std::move(r));

  // Without a template: a kustomization directory, or *.sops.yaml files, in a bootstrap directory.
  LayoutItem d = item(c, "paths.resources", c.paths.resources);
  if (d.origin != "fluxboot.yaml") {
    d.value.clear();
    if (!c.layout.back().present) {
      for (const char* dir : kBootstrapDirs) {
        for (const char* sub : {"resources", "kustomize", ""}) {
          const std::string cand = rel(*sub ? fs::path(dir) / sub : fs::path(dir));
          d.looked_for.push_back(*sub ? cand + "/kustomization.yaml" : cand + "/*.sops.yaml");
          Config probe = c;
          probe.paths.resources_template.clear();
          probe.paths.resources = cand;
          if (resources_source(probe).kind != ResourcesSource::Kind::None) {
            d.value = cand;
            d.origin = "detected";
            break;
          }
        }
        if (!d.value.empty()) break;
      }
    }
  }
  c.paths.resources = d.value;
  {
    Config probe = c;
    probe.paths.resources_template.clear();
    d.present = !d.value.empty() && resources_source(probe).kind != ResourcesSource::Kind::None;
  }
  c.layout.push_back(std::move(d));
}

void detect_talconfig(Config& c) {
  LayoutItem t = item(c, "paths.talconfig", c.paths.talconfig);
  LayoutItem cc = item(c, "paths.clusterconfig", c.paths.clusterconfig);
  detect_file(c, t, per_cluster(c, {"talos", "kubernetes/talos", "kubernetes/bootstrap/talos"}), "talconfig.yaml");
  // talhelper writes clusterconfig/ next to talconfig.yaml.
  if (cc.origin != "fluxboot.yaml" && t.origin == "detected") {
    cc.value = rel(fs::path(t.value).parent_path() / "clusterconfig");
    cc.origin = "detected";
  }
  if (cc.origin != "fluxboot.yaml") cc.looked_for.push_back(cc.value);
  t.present = is_file(c.root / t.value);
  cc.present = is_dir(c.root / cc.value);
  c.paths.talconfig = t.value;
  c.paths.clusterconfig = cc.value;
  c.layout.push_back(std::move(t));
  c.layout.push_back(std::move(cc));
}

// Minijinja machine-config templates (machineconfig.yaml.j2 or cluster.yaml.j2 beside nodes/).
void detect_talos_templates(Config& c) {
  LayoutItem m = item(c, "paths.talosTemplates", c.paths.talos_templates);
  if (m.origin != "fluxboot.yaml") {
    for (const auto& dir : per_cluster(c, {"talos", "kubernetes/talos"})) {
      m.looked_for.push_back(rel(fs::path(dir) / "nodes"));
      Config probe = c;
      probe.paths.talos_templates = dir;
      if (find_machineconfig_templates(probe)) {
        m.value = dir;
        m.origin = "detected";
        break;
      }
    }
  }
  c.paths.talos_templates = m.value;
  m.present = find_machineconfig_templates(c).has_value();
  c.layout.push_back(std::move(m));
}

// The talosconfig: talhelper writes it into clusterconfig/; plain talosctl layouts keep it at the
// root or beside the templates (git-ignored, TALOSCONFIG in .mise.toml). TALOSCONFIG and
// --talosconfig still win (session.cpp).
void detect_talosconfig(Config& c) {
  LayoutItem t = item(c, "paths.talosconfig", c.paths.talosconfig);
  if (t.origin != "fluxboot.yaml") {
    const LayoutItem* cc = c.layout_item("paths.clusterconfig");
    std::vector<std::string> candidates;
    if (cc != nullptr && cc->origin == "detected") candidates.push_back(rel(fs::path(cc->value) / "talosconfig"));
    candidates.push_back("talosconfig");
    const LayoutItem* m = c.layout_item("paths.talosTemplates");
    if (m != nullptr && m->origin == "detected") candidates.push_back(rel(fs::path(m->value) / "talosconfig"));
    candidates.push_back(rel(c.paths.talosconfig));
    for (const auto& cand : candidates) {
      if (std::find(t.looked_for.begin(), t.looked_for.end(), cand) != t.looked_for.end()) continue;
      t.looked_for.push_back(cand);
      if (is_file(c.root / cand)) {
        t.value = cand;
        t.origin = "detected";
        break;
      }
    }
    // Nothing on disk yet (a fresh clone): where talhelper will write it, else the default.
    if (t.origin != "detected" && cc != nullptr && cc->origin == "detected") t.value = candidates.front();
  }
  c.paths.talosconfig = t.value;
  t.present = is_file(c.root / t.value);
  c.layout.push_back(std::move(t));
}

// The Flux Kustomization that reconciles the apps: `ks.yaml` in the cluster directory, or the
// `install.yaml`/`cluster.yaml` some repositories name it.
void detect_cluster_kustomization(Config& c) {
  LayoutItem k = item(c, "paths.clusterKustomization", c.paths.cluster_kustomization);
  // A cluster's own directory: kubernetes/clusters/<cluster>/{ks,apps,cluster,install}.yaml, else
  // its first file holding a Flux Kustomization.
  if (!c.cluster.empty() && k.origin != "fluxboot.yaml")
    for (const char* parent : kClusterParents) {
      const fs::path dir = fs::path(parent) / c.cluster;
      if (!is_dir(c.root / dir)) continue;
      for (const char* f : {"ks.yaml", "apps.yaml", "cluster.yaml", "install.yaml"}) {
        k.looked_for.push_back(rel(dir / f));
        if (holds_flux_kustomization(c.root / dir / f)) {
          k.value = rel(dir / f);
          k.origin = "detected";
          break;
        }
      }
      if (k.origin != "detected") {
        std::vector<fs::path> files;
        std::error_code ec;
        for (const auto& e : fs::directory_iterator(c.root / dir, ec)) files.push_back(e.path());
        std::sort(files.begin(), files.end());
        for (const auto& f : files)
          if (holds_flux_kustomization(f)) {
            k.value = rel(f.lexically_relative(c.root));
            k.origin = "detected";
            break;
          }
      }
      if (k.origin == "detected") break;
    }
  if (k.origin != "detected") detect_file(c, k, {"kubernetes/flux/cluster"}, "ks.yaml");
  if (k.origin != "detected") detect_file(c, k, {"kubernetes/flux/cluster"}, "install.yaml");
  if (k.origin != "detected") detect_file(c, k, {"kubernetes/flux/config", "kubernetes/flux/cluster"}, "cluster.yaml");
  k.present = is_file(c.root / k.value);
  c.paths.cluster_kustomization = k.value;
  c.layout.push_back(std::move(k));
}

// `requiredEnv "CLUSTER"` (or env "CLUSTER_NAME"...) in the helmfiles and their gotmpl files: the
// variables helmfile reads the cluster from, which fluxboot sets for it (stages/helmfile_support).
void detect_cluster_env(Config& c) {
  c.cluster_env.clear();
  if (c.cluster.empty()) return;
  std::vector<fs::path> files;
  for (const auto& h : {c.paths.apps_helmfile, c.paths.crds_helmfile}) {
    if (h.empty()) continue;
    const fs::path state = c.root / h;
    files.push_back(state);
    std::error_code ec;
    for (const fs::path& dir : {state.parent_path() / "templates", state.parent_path()})
      for (const auto& e : fs::directory_iterator(dir, ec))
        if (e.path().extension() == ".gotmpl" || yaml_file_name(e.path())) files.push_back(e.path());
  }
  static const std::regex use(R"re(\b(?:requiredEnv|env)\s+"([A-Za-z_][A-Za-z0-9_]*)")re");
  std::set<std::string> seen;
  for (const auto& f : files) {
    if (!is_file(f)) continue;
    const std::string text = head_of(f, 1 << 20);
    for (std::sregex_iterator it(text.begin(), text.end(), use), end; it != end; ++it) {
      const std::string name = (*it)[1].str();
      if (is_cluster_env(name) && seen.insert(name).second) c.cluster_env.push_back(name);
    }
  }
}

// The exceptions a lookup gotmpl lists beside its pattern, as a dict of "<ns>/<name>" to a path
// (a string, or a printf fed by the cluster variable):
//   dict "network/envoy-gateway" "../../../kubernetes/apps/base/network/envoy-gateway/app/helmrelease.yaml"
//        "flux-system/flux-instance" (printf "../../../kubernetes/clusters/%s/flux-instance/helmrelease.yaml" (requiredEnv "CLUSTER"))
void read_helmrelease_overrides(Config& c, const std::string& text, const fs::path& base) {
  static const std::regex pair(
      R"re("([a-z0-9][a-z0-9.-]*/[a-z0-9][a-z0-9.-]*)"\s+(?:"([^"{}]+)"|\(printf\s+"([^"{}]+)"\s+\((?:requiredEnv|env)\s+"([A-Za-z_][A-Za-z0-9_]*)"\)\)))re");
  for (std::sregex_iterator it(text.begin(), text.end(), pair), end; it != end; ++it) {
    std::string path = (*it)[2].str();
    if (path.empty()) {
      std::string format = (*it)[3].str();
      const auto at = format.find("%s");
      if (c.cluster.empty() || !is_cluster_env((*it)[4].str()) || at == std::string::npos ||
          format.find("%s", at + 2) != std::string::npos)
        continue;
      path = format.replace(at, 2, c.cluster);
    }
    if (path.size() < 5 || path.compare(path.size() - 5, 5, ".yaml") != 0) continue;
    const fs::path inside = (base / path).lexically_normal().lexically_relative(c.root);
    if (inside.empty() || inside.native().rfind("..", 0) == 0) continue;  // never outside the root
    c.paths.helmrelease_overrides[(*it)[1].str()] = rel(inside);
  }
}

// The values lookup as the repository's own gotmpl writes it:
//   readFile (printf "../../../kubernetes/apps/%s/%s/app/helmrelease.yaml" .Release.Namespace .Release.Name)
// read from the gotmpl files beside the apps helmfile (and the helmfile itself). The printf path
// is relative to the gotmpl's directory or to the helmfile's (repositories do both); the one whose
// fixed prefix exists in the repository wins. A leading "%s" fed by a root variable ($rootDir)
// is the root. Anything else fed into the pattern (a cluster id) is not guessed at.
void detect_helmrelease_pattern(Config& c) {
  LayoutItem h;
  h.key = "paths.helmrelease";
  h.origin = c.path_is_explicit("paths.helmrelease") ? "fluxboot.yaml" : "default";
  h.value = c.paths.helmrelease;
  if (h.origin == "default" && !c.paths.apps_helmfile.empty()) {
    const fs::path state = c.root / c.paths.apps_helmfile;
    std::vector<fs::path> files = {state};
    std::error_code ec;
    for (const fs::path& dir : {state.parent_path() / "templates", state.parent_path()})
      for (const auto& e : fs::directory_iterator(dir, ec))
        if (e.path().extension() == ".gotmpl") files.push_back(e.path());
    // `readFile (printf "..." ...)`, or the printf assigned to a variable that readFile reads.
    static const std::regex call(
        R"re(printf\s+"([^"]+)"((?:\s+(?:[.$][A-Za-z_.]+|\((?:requiredEnv|env)\s+"[A-Za-z_][A-Za-z0-9_]*"\)))+))re");
    static const std::regex token(R"re([.$][A-Za-z_.]+|\((?:requiredEnv|env)\s+"([A-Za-z_][A-Za-z0-9_]*)"\))re");
    for (const auto& f : files) {
      std::ifstream in(f, std::ios::binary);
      if (!in) continue;
      std::stringstream buf;
      buf << in.rdbuf();
      const std::string text = buf.str().substr(0, 1 << 20);
      h.looked_for.push_back(rel(f.lexically_relative(c.root)));
      if (text.find("readFile") == std::string::npos) continue;
      for (std::sregex_iterator it(text.begin(), text.end(), call), end; it != end; ++it) {
        std::string format = (*it)[1].str();
        if (format.size() < 16 || (format.compare(format.size() - 16, 16, "helmrelease.yaml") != 0 &&
                                   format.find("helm-release.yaml") == std::string::npos))
          continue;
        const std::string arg_text = (*it)[2].str();
        std::sregex_iterator args(arg_text.begin(), arg_text.end(), token), args_end;
        std::string pattern;
        bool ok = true;
        size_t pos = 0;
        for (size_t at; ok && (at = format.find("%s", pos)) != std::string::npos; pos = at + 2) {
          pattern += format.substr(pos, at - pos);
          if (args == args_end) {
            ok = false;
            break;
          }
          const std::string arg = (*args)[0].str();
          const std::string env = (*args)[1].str();
          ++args;
          if (arg == ".Release.Namespace") pattern += "{namespace}";
          else if (arg == ".Release.Name") pattern += "{name}";
          else if (!env.empty() && is_cluster_env(env) && !c.cluster.empty()) pattern += c.cluster;
          else if (at == 0 && arg.front() == '$') pattern += "{root}";  // $rootDir and the like
          else ok = false;
        }
        if (!ok) continue;
        pattern += format.substr(pos);
        std::vector<fs::path> bases;
        if (pattern.rfind("{root}", 0) == 0) {
          pattern = pattern.substr(pattern.find_first_not_of('/', 6));
          bases.push_back(c.root);
        } else {
          bases = {f.parent_path(), state.parent_path()};
        }
        const std::string fixed = pattern.substr(0, pattern.find('{'));
        for (const auto& base : bases) {
          fs::path dir = (base / fixed).lexically_normal();
          fs::path inside = dir.lexically_relative(c.root);
          if (inside.empty() || inside.native().rfind("..", 0) == 0 || !is_dir(dir)) continue;
          h.value = rel((base / pattern).lexically_normal().lexically_relative(c.root));
          h.origin = "detected";
          h.looked_for = {rel(f.lexically_relative(c.root))};
          read_helmrelease_overrides(c, text, base);
          break;
        }
        if (h.origin == "detected") break;
      }
      if (h.origin == "detected") break;
    }
    if (h.origin == "detected") c.paths.helmrelease = h.value;
    // The lookup also says where the apps are: `<apps>/{namespace}/...`, when the default
    // kubernetes/apps is not there (apps/ at the root, say).
    const auto at = h.value.find("/{namespace}/");
    for (auto& a : c.layout)
      if (h.origin == "detected" && a.key == "paths.apps" && a.origin == "default" && !a.present &&
          at != std::string::npos && is_dir(c.root / h.value.substr(0, at))) {
        a.looked_for.push_back(h.value.substr(0, at) + " (from the HelmRelease lookup)");
        a.value = h.value.substr(0, at);
        a.origin = "detected";
        a.present = true;
        c.paths.apps = a.value;
      }
  }
  const std::string fixed = c.paths.helmrelease.substr(0, c.paths.helmrelease.find('{'));
  h.present = is_dir(c.root / fixed);
  c.layout.push_back(std::move(h));
}

void detect_apps_dir(Config& c) {
  LayoutItem a = item(c, "paths.apps", c.paths.apps);
  a.present = is_dir(c.root / a.value);
  if (a.origin != "fluxboot.yaml") a.looked_for.push_back(a.value);
  if (a.present && a.origin == "default") a.origin = "detected";
  c.layout.push_back(std::move(a));
}

}  // namespace

// Items whose absence is a finding. The CRD helmfile may be absent by design: detection then
// leaves its value empty and the crds stage has nothing to do.
// talconfig.yaml is one inventory source among several (fluxboot.yaml nodes:, the talosconfig
// context): its absence is reported, not failed; load_inventory says what it finally used.
bool layout_item_required(const Config& c, const LayoutItem& i) {
  if (i.key == "cluster") return true;  // present unless the choice is missing or unknown
  if (i.key == "paths.helmrelease") return false;  // releases without a HelmRelease are fine
  // The resources come from the template or from paths.resources: one of them is needed.
  if (i.key == "paths.resourcesTemplate" || i.key == "paths.resources") {
    const LayoutItem* t = c.layout_item("paths.resourcesTemplate");
    const LayoutItem* r = c.layout_item("paths.resources");
    const bool any = (t != nullptr && t->present) || (r != nullptr && r->present);
    if (any) return i.present;
    return i.key == "paths.resourcesTemplate";
  }
  if (i.key == "paths.talconfig" || i.key == "paths.clusterconfig" ||
      i.key == "paths.talosTemplates" || i.key == "paths.talosconfig")
    return false;
  return i.key != "paths.crdsHelmfile" || !i.value.empty();
}

std::string layout_candidates(const Config& config, const std::string& key) {
  const LayoutItem* i = config.layout_item(key);
  if (i == nullptr || i->looked_for.empty()) return "nothing";
  std::string out;
  for (size_t n = 0; n < i->looked_for.size(); ++n)
    out += (n == 0 ? "" : n + 1 == i->looked_for.size() ? " or " : ", ") + i->looked_for[n];
  return out;
}

void detect_layout(Config& config) {
  config.layout.clear();
  config.foreign_dirs.clear();
  detect_apps_dir(config);
  detect_cluster(config);
  detect_helmfiles(config);
  detect_resources(config);
  detect_talconfig(config);
  detect_talos_templates(config);
  detect_talosconfig(config);
  detect_cluster_kustomization(config);
  detect_helmrelease_pattern(config);
  detect_cluster_env(config);
}

}  // namespace fluxboot::gitops
