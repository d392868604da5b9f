// The HelmRelease value reader: reproduces, from the repository alone, what kustomize-controller
// and helm-controller do before Helm sees a release's values:
//   kustomize build of the app (its kustomization.yaml patches, then the Flux Kustomization's
//   spec.patches — which the cluster Kustomization may itself have patched in), post-build
//   substitution per resource, then helm-controller's valuesFrom/values merge.
// The cluster's ConfigMaps and Secrets are found as manifests or generators in the repository.
#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <list>
#include <regex>
#include <set>

#include "fluxboot/redact.hpp"
#include "values/internal.hpp"

namespace fluxboot::values {

using detail::at_path;
using detail::json;
using detail::str_at;
namespace fs = std::filesystem;

namespace detail {

namespace {

bool substitute_scalars(json& v, const std::map<std::string, std::string>& vars, bool strict,
                        const std::string& source, std::vector<std::string>& undefined) {
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    if (s.find('$') == std::string::npos) return true;
    if (!goyaml_writes_plain(s)) return false;
    std::string r = values::substitute(s, vars, strict, source, &undefined);
    if (!plain_scalar_ok(r)) return false;
    json typed;
    if (!resolve_plain(r, Dialect::GoYamlV2, typed)) return false;
    v = std::move(typed);
    return true;
  }
  if (v.is_object()) {
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (it.key().find('$') != std::string::npos) return false;
      if (!substitute_scalars(it.value(), vars, strict, source, undefined)) return false;
    }
  } else if (v.is_array()) {
    for (auto& item : v)
      if (!substitute_scalars(item, vars, strict, source, undefined)) return false;
  }
  return true;
}

}  // namespace

// Flux substitutes the whole resource as go-yaml v2 text and reads it back. When every
// placeholder sits in a string go-yaml writes as a plain scalar and the substituted text is
// again a plain scalar, that equals substituting the scalar and typing the result with go-yaml
// v2's rules, which needs no re-parse of the document; anything else takes the exact route.
json substitute_document(const json& res, const std::map<std::string, std::string>& vars,
                         bool strict, const std::string& source,
                         std::vector<std::string>& undefined, bool allow_fast) {
  values::substitute("", vars, strict, source, nullptr);  // validates the variable names
  if (allow_fast) {
    json copy = res;
    std::vector<std::string> fast_undefined;
    bool fast = false;
    try {
      fast = substitute_scalars(copy, vars, strict, source, fast_undefined);
    } catch (const InputError&) {
      fast = false;  // the exact route reports it as Flux would
    }
    if (fast) {
      for (auto& u : fast_undefined)
        if (std::find(undefined.begin(), undefined.end(), u) == undefined.end())
          undefined.push_back(std::move(u));
      return copy;
    }
  }
  std::string text = to_goyaml(res);
  std::string out = values::substitute(text, vars, strict, source, &undefined);
  auto tree = load_documents(out, source + " (after variable substitution)");
  if (tree.docs.empty()) return nullptr;
  return to_json(tree.docs.front().node, Dialect::GoYamlV2,
                 source + " (after variable substitution)");
}

}  // namespace detail

ReleaseRef ReleaseRef::parse(std::string_view text) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 >= text.size() ||
      text.find('/', slash + 1) != std::string_view::npos)
    throw InputError(fmt::format("release \"{}\": expected <namespace>/<name>", text));
  return ReleaseRef{std::string(text.substr(0, slash)), std::string(text.substr(slash + 1))};
}

namespace {

constexpr std::uintmax_t kMaxIndexedFile = 2 * 1024 * 1024;
constexpr std::size_t kParsedFilesKept = 64;  // recently parsed files (a release reads ~5)
constexpr std::size_t kReleasesKept = 8;      // compute() then chart() of a release share the work

// A small least-recently-used map: memory stays flat however many releases one Reader serves.
template <typename V>
class Lru {
 public:
  explicit Lru(std::size_t capacity) : capacity_(capacity) {}
  const V* find(const std::string& key) {
    auto it = index_.find(key);
    if (it == index_.end()) return nullptr;
    order_.splice(order_.begin(), order_, it->second);
    return &it->second->second;
  }
  const V& put(const std::string& key, V value) {
    if (auto it = index_.find(key); it != index_.end()) {
      order_.erase(it->second);
      index_.erase(it);
    }
    order_.emplace_front(key, std::move(value));
    index_[key] = order_.begin();
    if (order_.size() > capacity_) {
      index_.erase(order_.back().first);
      order_.pop_back();
    }
    return order_.front().second;
  }

 private:
  std::size_t capacity_;
  std::list<std::pair<std::string, V>> order_;
  std::map<std::string, typename std::list<std::pair<std::string, V>>::iterator> index_;
};

struct ParsedFile {
  std::vector<json> docs;
  std::vector<int> lines;
};

// A ConfigMap, Secret, HelmRepository or OCIRepository the repository defines.
struct Resource {
  std::string kind;
  std::string name;
  std::string ns;       // explicit metadata.namespace / generator namespace, may be empty
  fs::path file;        // the manifest, or the kustomization.yaml declaring the generator
  std::size_t doc = 0;  // document index in `file`
  bool generated = false;
  json generator;          // generator entry (generated only)
  json manifest;           // the document (manifests only)
  json generator_options;  // kustomization generatorOptions (generated only)
};

struct Kustomization {
  json doc;  // after the parent's patches and substitution
  fs::path file;
  std::string ns;  // effective namespace (kustomize namespace transformer, metadata, default)
};

struct VarSet {
  std::map<std::string, std::string> vars;
  std::vector<std::string> secrets;
};

struct Prepared {
  ReleaseRef ref;
  fs::path hr_file;
  fs::path app_dir;
  std::size_t hr_doc = 0;
  json hr;         // after patches and substitution
  std::string ns;  // the namespace the HelmRelease lands in
  std::optional<Kustomization> ks;
  std::shared_ptr<const VarSet> vars;
  mutable std::optional<std::vector<Resource>>
      local;  // the app directory's resources, read when needed
  std::vector<std::string> warnings;
};

bool substitution_disabled(const json& res) {
  const json* l = at_path(res, {"metadata", "labels", "kustomize.toolkit.fluxcd.io/substitute"});
  const json* a =
      at_path(res, {"metadata", "annotations", "kustomize.toolkit.fluxcd.io/substitute"});
  return (l != nullptr && l->is_string() && *l == "disabled") ||
         (a != nullptr && a->is_string() && *a == "disabled");
}

std::string strip_newlines(std::string v) {
  v.erase(std::remove(v.begin(), v.end(), '\n'), v.end());
  return v;
}

bool regex_full_match(const std::string& pattern, const std::string& value) {
  try {
    return std::regex_match(value, std::regex(pattern, std::regex::ECMAScript));
  } catch (const std::regex_error&) {
    return pattern == value;
  }
}

// kustomize patch target selection (types.Selector).
bool targets(const json& target, const json& res) {
  std::string api = str_at(res, {"apiVersion"});
  std::string group, version = api;
  if (auto slash = api.find('/'); slash != std::string::npos) {
    group = api.substr(0, slash);
    version = api.substr(slash + 1);
  }
  auto check = [&](const char* key, const std::string& have, bool regex) {
    const json* want = at_path(target, {key});
    if (want == nullptr || !want->is_string() || want->get<std::string>().empty()) return true;
    return regex ? regex_full_match(want->get<std::string>(), have)
                 : want->get<std::string>() == have;
  };
  if (!check("group", group, false) || !check("version", version, false) ||
      !check("kind", str_at(res, {"kind"}), false) ||
      !check("name", str_at(res, {"metadata", "name"}), true) ||
      !check("namespace", str_at(res, {"metadata", "namespace"}), true))
    return false;
  std::string labels = str_at(target, {"labelSelector"});
  if (!labels.empty() &&
      !detail::selector_matches(labels, at_path(res, {"metadata", "labels"})
                                            ? *at_path(res, {"metadata", "labels"})
                                            : json::object()))
    return false;
  std::string annotations = str_at(target, {"annotationSelector"});
  if (!annotations.empty() &&
      !detail::selector_matches(annotations, at_path(res, {"metadata", "annotations"})
                                                 ? *at_path(res, {"metadata", "annotations"})
                                                 : json::object()))
    return false;
  return true;
}

std::string normalise_rel(std::string p) {
  while (p.rfind("./", 0) == 0) p = p.substr(2);
  fs::path n = fs::path(p).lexically_normal();
  std::string s = n.generic_string();
  while (!s.empty() && s.back() == '/') s.pop_back();
  if (s == ".") s.clear();
  return s;
}

bool path_covers(const std::string& ks_path, const std::string& dir) {
  if (ks_path.empty()) return true;
  return dir == ks_path || dir.rfind(ks_path + "/", 0) == 0;
}

void collect_strings(const json& v, std::vector<std::string>& out) {
  if (v.is_string()) {
    if (v.get_ref<const std::string&>().size() >= 4) out.push_back(v.get<std::string>());
  } else if (v.is_structured()) {
    for (const auto& item : v) collect_strings(item, out);
  }
}

std::string remove_quotes(const std::string& s) {
  if (s.size() >= 2 && s.front() == s.back() && (s.front() == '"' || s.front() == '\''))
    return s.substr(1, s.size() - 2);
  return s;
}

}  // namespace

struct Reader::Impl {
  Config config;
  Options options;
  Lru<std::shared_ptr<const ParsedFile>> files{kParsedFilesKept};
  std::map<std::string, std::string> decrypted;  // path → plaintext
  enum class Kinds { Values, Sources, All };     // ConfigMap/Secret; HelmRepository/OCIRepository
  bool indexed_values = false;
  bool indexed_sources = false;
  std::optional<std::vector<fs::path>> repo_files;
  std::vector<Resource> index;
  std::map<std::string, std::shared_ptr<const VarSet>> var_cache;
  std::map<std::string, std::map<std::string, std::string>> data_cache;
  Lru<std::shared_ptr<const Prepared>> prepared{kReleasesKept};
  std::map<std::string, std::vector<Kustomization>>
      ks_cache;                                 // dir → Flux Kustomizations found there
  std::map<std::string, std::string> ns_cache;  // dir → kustomization.yaml namespace
  std::optional<std::vector<json>> cluster_docs;
  std::optional<std::vector<Kustomization>> tree_ks;  // every Kustomization under the cluster's paths
  std::map<std::string, json> patch_cache;
  std::set<std::string> reported;

  Impl(const Config& c, Options o) : config(c), options(std::move(o)) {}

  std::string rel(const fs::path& p) const { return detail::display_path(p, config.root); }

  void warn(std::vector<std::string>& list, const std::string& message) {
    list.push_back(message);
    if (options.warn && reported.insert(message).second) options.warn(message);
  }

  std::shared_ptr<const ParsedFile> parsed(const fs::path& path) {
    auto key = path.string();
    if (const auto* hit = files.find(key)) return *hit;
    auto pf = std::make_shared<ParsedFile>();
    const std::string source = rel(path);
    std::string text = detail::read_text(path);
    for (auto& d : detail::load_documents(text, source).docs) {
      pf->docs.push_back(detail::to_json(d.node, Dialect::GoYamlV3, source));
      pf->lines.push_back(d.line);
    }
    return files.put(key, pf);
  }

  std::string decrypt(const fs::path& path) {
    auto key = path.string();
    if (auto it = decrypted.find(key); it != decrypted.end()) return it->second;
    if (!options.decrypt)
      throw InputError(
          fmt::format("{}: is encrypted with sops and no decryption is available", rel(path)));
    std::string plain;
    try {
      plain = options.decrypt(path);
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {
      throw InputError(fmt::format("{}: sops decrypt failed: {}", rel(path), e.what()));
    }
    decrypted.emplace(key, plain);
    return plain;
  }

  // The manifest document of a resource, decrypted when it is a sops file.
  json manifest(const Resource& r) {
    json doc = r.manifest;
    if (detail::is_sops_encrypted(doc)) {
      std::string plain = decrypt(r.file);
      auto tree = detail::load_documents(plain, rel(r.file) + " (decrypted)");
      if (r.doc >= tree.docs.size())
        throw InputError(fmt::format("{}: decrypted file has fewer documents", rel(r.file)));
      doc = detail::to_json(tree.docs[r.doc].node, Dialect::GoYamlV3, rel(r.file));
      doc.erase("sops");
    }
    return doc;
  }

  // ---- repository scan ------------------------------------------------------------------------

  static bool yaml_name(const fs::path& p) {
    auto ext = p.extension().string();
    return ext == ".yaml" || ext == ".yml";
  }

  static bool kustomization_name(const fs::path& p) {
    auto f = p.filename().string();
    return f == "kustomization.yaml" || f == "kustomization.yml" || f == "Kustomization";
  }

  void add_generators(const fs::path& kfile, const json& k, std::vector<Resource>& out) {
    const std::string kns = str_at(k, {"namespace"});
    for (const char* key : {"configMapGenerator", "secretGenerator"}) {
      const json* gens = at_path(k, {key});
      if (gens == nullptr || !gens->is_array()) continue;
      for (const auto& g : *gens) {
        if (!g.is_object()) continue;
        Resource r;
        r.kind = std::string(key) == "configMapGenerator" ? "ConfigMap" : "Secret";
        r.name = str_at(g, {"name"});
        r.ns = str_at(g, {"namespace"});
        if (r.ns.empty()) r.ns = kns;
        r.file = kfile;
        r.generated = true;
        r.generator = g;
        if (const json* go = at_path(k, {"generatorOptions"})) r.generator_options = *go;
        if (!r.name.empty()) out.push_back(std::move(r));
      }
    }
  }

  // Resources of one file; malformed files are skipped with a warning (they are not this
  // release's inputs unless referenced, and then the reference reports them).
  static bool wanted(Kinds kinds, const std::string& kind) {
    const bool values = kind == "ConfigMap" || kind == "Secret";
    const bool sources = kind == "HelmRepository" || kind == "OCIRepository";
    return kinds == Kinds::All ? values || sources : kinds == Kinds::Values ? values : sources;
  }

  void scan_file(const fs::path& path, std::vector<Resource>& out,
                 std::vector<std::string>& warnings, Kinds kinds, bool quick) {
    std::error_code ec;
    auto size = fs::file_size(path, ec);
    if (ec || size > kMaxIndexedFile) return;
    std::shared_ptr<const ParsedFile> pf;
    if (quick) {
      std::ifstream in(path, std::ios::binary);
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      bool generator = kustomization_name(path) && text.find("Generator") != std::string::npos;
      auto top_level_kind = [&](std::string_view kind) {
        // "kind: X" at the start of a line: a document's own kind, not a reference inside it.
        for (auto at = text.find(kind); at != std::string::npos; at = text.find(kind, at + 1)) {
          std::size_t k = at;
          while (k > 0 && (text[k - 1] == ' ' || text[k - 1] == '"' || text[k - 1] == '\'')) --k;
          if (k < 5 || text.compare(k - 5, 5, "kind:") != 0) continue;
          if (k - 5 == 0 || text[k - 6] == '\n') return true;
        }
        return false;
      };
      const bool values = generator || top_level_kind("ConfigMap") || top_level_kind("Secret");
      const bool sources = top_level_kind("HelmRepository") || top_level_kind("OCIRepository");
      if (!(kinds == Kinds::Values    ? values
            : kinds == Kinds::Sources ? sources
                                      : values || sources))
        return;
      // Parsed here without the file cache: the repository scan must not push out a release's
      // files.
      try {
        auto own = std::make_shared<ParsedFile>();
        const std::string source = rel(path);
        for (auto& d : detail::load_documents(text, source).docs)
          own->docs.push_back(detail::to_json(d.node, Dialect::GoYamlV3, source));
        pf = own;
      } catch (const InputError& e) {
        warn(warnings,
             fmt::format("skipped while looking for ConfigMaps, Secrets and chart sources: {}",
                         e.what()));
        return;
      }
    } else {
      try {
        pf = parsed(path);
      } catch (const InputError& e) {
        warn(warnings,
             fmt::format("skipped while looking for ConfigMaps, Secrets and chart sources: {}",
                         e.what()));
        return;
      }
    }
    for (std::size_t i = 0; i < pf->docs.size(); ++i) {
      const json& d = pf->docs[i];
      if (!d.is_object()) continue;
      if (kustomization_name(path)) {
        if (kinds != Kinds::Sources) add_generators(path, d, out);
        continue;
      }
      std::string kind = str_at(d, {"kind"});
      if (!wanted(kinds, kind)) continue;
      Resource r;
      r.kind = kind;
      r.name = str_at(d, {"metadata", "name"});
      r.ns = str_at(d, {"metadata", "namespace"});
      r.file = path;
      r.doc = i;
      r.manifest = d;
      if (!r.name.empty()) out.push_back(std::move(r));
    }
  }

  // The repository's ConfigMaps and Secrets (for substituteFrom), or its chart sources, scanned
  // once each, when first needed.
  void ensure_index(Kinds kinds, std::vector<std::string>& warnings) {
    bool& done = kinds == Kinds::Values ? indexed_values : indexed_sources;
    if (done) return;
    done = true;
    for (const auto& p : all_repo_files()) scan_file(p, index, warnings, kinds, true);
  }

  const std::vector<fs::path>& all_repo_files() {
    if (repo_files) return *repo_files;
    std::vector<fs::path> dirs;
    fs::path apps = config.abs(config.paths.apps).lexically_normal();
    fs::path top = apps.parent_path();
    std::error_code ec;
    if (top == config.root || top.empty() || !fs::is_directory(top, ec)) top = apps;
    dirs.push_back(top);
    fs::path cluster_dir =
        config.abs(config.paths.cluster_kustomization).parent_path().lexically_normal();
    if (cluster_dir.string().rfind(top.string(), 0) != 0) dirs.push_back(cluster_dir);
    std::vector<fs::path> paths;
    for (const auto& dir : dirs) {
      if (!fs::is_directory(dir, ec)) continue;
      for (auto it = fs::recursive_directory_iterator(
               dir, fs::directory_options::skip_permission_denied, ec);
           it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (ec) break;
        const auto& p = it->path();
        if (it->is_directory(ec) && (p.filename().string().rfind('.', 0) == 0 || foreign(p))) {
          it.disable_recursion_pending();
          continue;
        }
        if (it->is_regular_file(ec) && (yaml_name(p) || kustomization_name(p))) paths.push_back(p);
      }
    }
    std::sort(paths.begin(), paths.end());
    repo_files = std::move(paths);
    return *repo_files;
  }

  const std::vector<Resource>& local_resources(const Prepared& p,
                                               std::vector<std::string>& warnings) {
    if (!p.local) p.local = scan_app_dir(p.app_dir, warnings);
    return *p.local;
  }

  std::vector<Resource> scan_app_dir(const fs::path& dir, std::vector<std::string>& warnings) {
    std::vector<Resource> out;
    std::error_code ec;
    std::vector<fs::path> paths;
    for (const auto& e : fs::directory_iterator(dir, ec))
      if (e.is_regular_file(ec) && (yaml_name(e.path()) || kustomization_name(e.path())))
        paths.push_back(e.path());
    std::sort(paths.begin(), paths.end());
    for (const auto& p : paths) scan_file(p, out, warnings, Kinds::All, false);
    return out;
  }

  // Best match of kind/name: the app's own directory first, then the repository; within those an
  // explicit namespace equal to `ns`, then no namespace, then any other.
  const Resource* find_resource(const std::vector<Resource>* local, const std::string& kind,
                                const std::string& name, const std::string& ns,
                                std::vector<std::string>& warnings, bool& is_local) {
    auto best_of = [&](const std::vector<Resource>& list) -> const Resource* {
      const Resource* best = nullptr;
      int best_rank = 99;
      std::set<std::string> other_ns;
      for (const auto& r : list) {
        if (r.kind != kind || r.name != name) continue;
        int rank = r.ns == ns ? 0 : r.ns.empty() ? 1 : 2;
        if (rank == 2) other_ns.insert(r.ns);
        if (rank < best_rank) {
          best = &r;
          best_rank = rank;
        }
      }
      if (best != nullptr && best_rank == 2 && other_ns.size() > 1)
        warn(warnings,
             fmt::format("{} {} is defined in several namespaces ({}) but not in {}; using {}",
                         kind, name, fmt::join(other_ns, ", "), ns, rel(best->file)));
      return best;
    };
    is_local = false;
    if (local != nullptr) {
      if (const Resource* r = best_of(*local)) {
        is_local = true;
        return r;
      }
    }
    ensure_index(kind == "ConfigMap" || kind == "Secret" ? Kinds::Values : Kinds::Sources,
                 warnings);
    return best_of(index);
  }

  // A generated ConfigMap/Secret as kustomize would build it (data as plain strings).
  json generate(const Resource& r) {
    const fs::path base = r.file.parent_path();
    json data = json::object();
    const std::string source =
        fmt::format("{} {} in {}", r.kind == "ConfigMap" ? "configMapGenerator" : "secretGenerator",
                    r.name, rel(r.file));
    // Flux's kustomize build reads only inside the source it fetched (a secure filesystem rooted at
    // the artifact): a file outside the repository, by an absolute path, `../` or a symlink, is
    // refused there, so it is refused here too, before its content could become Helm values.
    auto confine = [&](const std::string& what, const std::string& file) {
      if (fs::path(file).is_absolute())
        throw InputError(fmt::format("{}: {} {} is an absolute path; kustomize (and Flux) read files only inside "
                                     "the repository",
                                     source, what, file));
      std::error_code ec;
      const fs::path root = fs::weakly_canonical(config.root, ec);
      const fs::path real = fs::weakly_canonical(base / file, ec);
      const fs::path inside = real.lexically_relative(root);
      if (ec || inside.empty() || *inside.begin() == "..")
        throw InputError(fmt::format("{}: {} {} resolves to {}, outside the repository {}; Flux's kustomize "
                                     "build refuses it",
                                     source, what, file, real.string(), root.string()));
    };
    auto read_source = [&](const fs::path& p) {
      std::string text = detail::read_text(p);
      if (detail::looks_sops_encrypted(text)) text = decrypt(p);
      return text;
    };
    if (const json* files_list = at_path(r.generator, {"files"});
        files_list != nullptr && files_list->is_array()) {
      for (const auto& f : *files_list) {
        if (!f.is_string()) continue;
        std::string spec = f.get<std::string>();
        std::string key, file = spec;
        if (auto eq = spec.find('='); eq != std::string::npos) {
          key = spec.substr(0, eq);
          file = spec.substr(eq + 1);
        } else {
          key = fs::path(file).filename().string();
        }
        confine("file", file);
        try {
          data[key] = read_source(base / file);
        } catch (const InputError&) {
          throw InputError(fmt::format("{}: file {} not found", source, file));
        }
      }
    }
    if (const json* lits = at_path(r.generator, {"literals"});
        lits != nullptr && lits->is_array()) {
      for (const auto& l : *lits) {
        if (!l.is_string()) continue;
        std::string s = l.get<std::string>();
        auto eq = s.find('=');
        if (eq == std::string::npos || eq == 0)
          throw InputError(
              fmt::format("{}: invalid literal source \"{}\", expected key=value", source, s));
        data[s.substr(0, eq)] = remove_quotes(s.substr(eq + 1));
      }
    }
    std::vector<std::string> envs;
    if (const json* e = at_path(r.generator, {"envs"}); e != nullptr && e->is_array())
      for (const auto& x : *e)
        if (x.is_string()) envs.push_back(x.get<std::string>());
    if (std::string env = str_at(r.generator, {"env"}); !env.empty()) envs.push_back(env);
    for (const auto& env : envs) {
      confine("env file", env);
      std::string text = read_source(base / env);
      std::size_t start = 0;
      while (start <= text.size()) {
        std::size_t nl = text.find('\n', start);
        std::string line =
            text.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
        start = nl == std::string::npos ? text.size() + 1 : nl + 1;
        auto b = line.find_first_not_of(" \t\r");
        if (b == std::string::npos || line[b] == '#') continue;
        line = line.substr(b);
        while (!line.empty() && (line.back() == '\r')) line.pop_back();
        auto eq = line.find('=');
        if (eq == std::string::npos) continue;  // a bare KEY takes its value from the environment
        data[line.substr(0, eq)] = remove_quotes(line.substr(eq + 1));
      }
    }
    json res = {{"apiVersion", "v1"}, {"kind", r.kind}, {"metadata", {{"name", r.name}}}};
    for (const json* opts : {&r.generator_options, at_path(r.generator, {"options"})}) {
      if (opts == nullptr || !opts->is_object()) continue;
      for (const char* m : {"labels", "annotations"})
        if (const json* v = at_path(*opts, {m}); v != nullptr && v->is_object())
          for (auto it = v->begin(); it != v->end(); ++it)
            res["metadata"][m][it.key()] = it.value();
    }
    res[r.kind == "Secret" ? "stringData" : "data"] = data;
    return res;
  }

  // data of a ConfigMap/Secret (Secret data decoded; stringData wins, as the API server merges).
  std::map<std::string, std::string> resource_data(const Resource& r, const VarSet* vars,
                                                   const std::string& ns,
                                                   std::vector<std::string>& warnings) {
    std::string key = fmt::format("{}|{}|{}|{}|{}", r.kind, r.file.string(), r.doc, r.name,
                                  vars != nullptr ? ns : "");
    if (auto it = data_cache.find(key); it != data_cache.end()) return it->second;
    json res = r.generated ? generate(r) : manifest(r);
    const std::string source = rel(r.file);
    // Generated Secrets are base64 in the cluster, where substitution cannot touch them.
    if (vars != nullptr && !vars->vars.empty() && !substitution_disabled(res) &&
        !(r.generated && r.kind == "Secret")) {
      std::vector<std::string> undefined;
      res = substitute_resource(res, vars->vars, source, undefined);
      for (const auto& u : undefined) warn_undefined(warnings, u, source);
    }
    std::map<std::string, std::string> out;
    auto take = [&](const char* field, bool base64) {
      const json* d = at_path(res, {field});
      if (d == nullptr || d->is_null()) return;
      if (!d->is_object())
        throw InputError(fmt::format("{}: {} {}: {} must be a map", source, r.kind, r.name, field));
      for (auto it = d->begin(); it != d->end(); ++it) {
        std::string v;
        if (it.value().is_string()) {
          v = it.value().get<std::string>();
        } else if (it.value().is_null()) {
          v = "";
        } else {
          v = it.value().is_boolean() || it.value().is_number() ? it.value().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                                                                : it.value().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
          warn(warnings,
               fmt::format("{}: {} {} {}.{} is not a string; Kubernetes rejects such a manifest",
                           source, r.kind, r.name, field, it.key()));
        }
        if (base64) {
          std::string decoded;
          std::string compact;
          for (char c : v)
            if (c != '\n' && c != '\r' && c != ' ') compact.push_back(c);
          if (!base64_decode(compact, decoded))
            throw InputError(
                fmt::format("{}: Secret {} data.{} is not valid base64", source, r.name, it.key()));
          v = decoded;
        }
        out[it.key()] = v;
      }
    };
    if (r.kind == "Secret") {
      take("data", true);
      take("stringData", false);
    } else {
      take("data", false);
    }
    data_cache.emplace(key, out);
    return out;
  }

  // ---- substitution --------------------------------------------------------------------------

  json substitute_resource(const json& res, const std::map<std::string, std::string>& vars,
                           const std::string& source, std::vector<std::string>& undefined) {
    return detail::substitute_document(res, vars, options.strict, source, undefined);
  }

  void warn_undefined(std::vector<std::string>& warnings, const std::string& name,
                      const std::string& source) {
    warn(
        warnings,
        fmt::format(
            "{}: variable ${{{}}} is not defined; Flux substitutes an empty string (--strict makes "
            "this an error)",
            source, name));
  }

  std::shared_ptr<const VarSet> load_vars(const json& ks, const std::string& ns,
                                          const std::string& source,
                                          std::vector<std::string>& warnings) {
    const json* post = at_path(ks, {"spec", "postBuild"});
    if (post == nullptr || !post->is_object()) return std::make_shared<VarSet>();
    std::string key = ns + "|" + post->dump();
    if (auto it = var_cache.find(key); it != var_cache.end()) return it->second;
    auto set = std::make_shared<VarSet>();
    if (const json* from = at_path(*post, {"substituteFrom"});
        from != nullptr && from->is_array()) {
      for (const auto& ref : *from) {
        std::string kind = str_at(ref, {"kind"});
        std::string name = str_at(ref, {"name"});
        const json* opt = at_path(ref, {"optional"});
        bool optional = opt != nullptr && opt->is_boolean() && opt->get<bool>();
        if (kind != "ConfigMap" && kind != "Secret") continue;
        bool local = false;
        const Resource* r = find_resource(nullptr, kind, name, ns, warnings, local);
        if (r == nullptr) {
          if (!optional)
            warn(warnings,
                 fmt::format(
                     "{}: substituteFrom {}/{} is not defined in the repository (it must exist in "
                     "the cluster); its variables count as undefined",
                     source, kind, name));
          continue;
        }
        for (auto& [k, v] : resource_data(*r, nullptr, ns, warnings)) {
          set->vars[k] = strip_newlines(v);
          if (kind == "Secret") set->secrets.push_back(v);
        }
      }
    }
    if (const json* sub = at_path(*post, {"substitute"}); sub != nullptr && sub->is_object()) {
      for (auto it = sub->begin(); it != sub->end(); ++it) {
        if (!it.value().is_string())
          throw InputError(fmt::format(
              "{}: spec.postBuild.substitute.{} must be a string (quote it)", source, it.key()));
        set->vars[it.key()] = strip_newlines(it.value().get<std::string>());
      }
    }
    var_cache.emplace(key, set);
    return set;
  }

  // ---- patches -------------------------------------------------------------------------------

  void apply_patch(json& res, const json& spec, const fs::path& base_dir,
                   const std::string& source) {
    if (!spec.is_object()) return;
    std::string text = str_at(spec, {"patch"});
    std::string where = source;
    if (text.empty()) {
      std::string path = str_at(spec, {"path"});
      if (path.empty()) return;
      text = detail::read_text(base_dir / path);
      where = rel(base_dir / path);
    }
    // The cluster Kustomization applies the same patches to every child: parse each text once.
    auto cached = patch_cache.find(text);
    if (cached == patch_cache.end())
      cached =
          patch_cache.emplace(text, parse_yaml(text, Dialect::GoYamlV3, where + " (patch)")).first;
    json patch = cached->second;
    const json* target = at_path(spec, {"target"});
    if (target != nullptr && target->is_object()) {
      if (!targets(*target, res)) return;
    } else if (patch.is_object()) {
      // No target: the patch names its resource itself.
      if (str_at(patch, {"kind"}) != str_at(res, {"kind"}) ||
          str_at(patch, {"metadata", "name"}) != str_at(res, {"metadata", "name"}))
        return;
    } else {
      return;
    }
    if (patch.is_array()) {
      try {
        res = res.patch(patch);
      } catch (const json::exception& e) {
        throw InputError(fmt::format("{}: JSON6902 patch failed: {}", where, e.what()));
      }
      return;
    }
    if (!patch.is_object()) return;
    patch.erase("apiVersion");
    patch.erase("kind");
    if (patch.contains("metadata") && patch["metadata"].is_object()) {
      patch["metadata"].erase("name");
      patch["metadata"].erase("namespace");
    }
    res.merge_patch(patch);
  }

  void apply_patches(json& res, const json* patches, const fs::path& base_dir,
                     const std::string& source) {
    if (patches == nullptr || !patches->is_array()) return;
    for (const auto& p : *patches) apply_patch(res, p, base_dir, source);
  }

  // kustomization.yaml patches of a directory (patches, patchesStrategicMerge, patchesJson6902).
  void apply_kustomize_patches(json& res, const fs::path& dir) {
    for (const char* f : {"kustomization.yaml", "kustomization.yml", "Kustomization"}) {
      fs::path kfile = dir / f;
      std::error_code ec;
      if (!fs::is_regular_file(kfile, ec)) continue;
      {
        std::ifstream in(kfile, std::ios::binary);
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (text.find("atches") == std::string::npos)
          return;  // patches, patchesStrategicMerge, …Json6902
      }
      auto pf = parsed(kfile);
      if (pf->docs.empty() || !pf->docs.front().is_object()) return;
      const json& k = pf->docs.front();
      const std::string source = rel(kfile);
      apply_patches(res, at_path(k, {"patches"}), dir, source);
      if (const json* sm = at_path(k, {"patchesStrategicMerge"}); sm != nullptr && sm->is_array())
        for (const auto& p : *sm)
          if (p.is_string()) {
            std::string s = p.get<std::string>();
            json spec = s.find('\n') != std::string::npos || s.find(':') != std::string::npos
                            ? json{{"patch", s}}
                            : json{{"path", s}};
            apply_patch(res, spec, dir, source);
          }
      if (const json* jp = at_path(k, {"patchesJson6902"}); jp != nullptr && jp->is_array())
        for (const auto& p : *jp) apply_patch(res, p, dir, source);
      return;
    }
  }

  std::string kustomize_namespace(const fs::path& dir) {
    auto key = dir.string();
    if (auto it = ns_cache.find(key); it != ns_cache.end()) return it->second;
    std::string ns;
    for (const char* f : {"kustomization.yaml", "kustomization.yml", "Kustomization"}) {
      std::error_code ec;
      if (!fs::is_regular_file(dir / f, ec)) continue;
      try {
        auto pf = parsed(dir / f);
        if (!pf->docs.empty()) ns = str_at(pf->docs.front(), {"namespace"});
      } catch (const InputError&) {
      }
      break;
    }
    ns_cache.emplace(key, ns);
    return ns;
  }

  // ---- Flux Kustomizations ---------------------------------------------------------------------

  static bool is_flux_kustomization(const json& d) {
    return d.is_object() && str_at(d, {"kind"}) == "Kustomization" &&
           str_at(d, {"apiVersion"}).rfind("kustomize.toolkit.fluxcd.io/", 0) == 0;
  }

  const std::vector<json>& cluster() {
    if (cluster_docs) return *cluster_docs;
    cluster_docs.emplace();
    fs::path f = config.abs(config.paths.cluster_kustomization);
    std::error_code ec;
    if (fs::is_regular_file(f, ec))
      for (const auto& d : parsed(f)->docs)
        if (is_flux_kustomization(d)) cluster_docs->push_back(d);
    return *cluster_docs;
  }

  std::string ks_namespace(const json& doc, const fs::path& file) {
    // kustomize's namespace transformer (the namespace directory's kustomization.yaml) wins.
    fs::path apps = config.abs(config.paths.apps).lexically_normal();
    for (fs::path dir = file.parent_path(); !dir.empty(); dir = dir.parent_path()) {
      std::string ns = kustomize_namespace(dir);
      if (!ns.empty()) return ns;
      if (dir == apps || dir == config.root || dir == dir.parent_path()) break;
    }
    std::string ns = str_at(doc, {"metadata", "namespace"});
    return ns.empty() ? config.flux_namespace : ns;
  }

  // Flux Kustomizations defined in `dir`, each with its parent's patches and substitution applied.
  const std::vector<Kustomization>& kustomizations_in(const fs::path& dir,
                                                      std::vector<std::string>& warnings) {
    auto key = dir.string();
    if (auto it = ks_cache.find(key); it != ks_cache.end()) return it->second;
    std::vector<Kustomization> out;
    std::error_code ec;
    std::vector<fs::path> paths;
    for (const auto& e : fs::directory_iterator(dir, ec))
      if (e.is_regular_file(ec) && yaml_name(e.path()) && !kustomization_name(e.path()))
        paths.push_back(e.path());
    std::sort(paths.begin(), paths.end());
    fs::path cluster_file = config.abs(config.paths.cluster_kustomization).lexically_normal();
    for (const auto& p : paths) {
      if (p.lexically_normal() == cluster_file) continue;
      std::ifstream in(p, std::ios::binary);
      std::string head((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (head.find("kustomize.toolkit.fluxcd.io") == std::string::npos) continue;
      for (const auto& d : parsed(p)->docs) {
        if (!is_flux_kustomization(d)) continue;
        Kustomization k{d, p, {}};
        with_parent(k, warnings);
        k.ns = ks_namespace(k.doc, p);
        out.push_back(std::move(k));
      }
    }
    return ks_cache.emplace(key, std::move(out)).first->second;
  }

  void with_parent(Kustomization& child, std::vector<std::string>& warnings) {
    const std::string child_dir = normalise_rel(rel(child.file.parent_path()));
    const json* parent = nullptr;
    std::size_t best = 0;
    for (const auto& c : cluster()) {
      std::string p = normalise_rel(str_at(c, {"spec", "path"}));
      if (path_covers(p, child_dir) && (parent == nullptr || p.size() > best)) {
        parent = &c;
        best = p.size();
      }
    }
    if (parent == nullptr) return;
    const std::string source = rel(child.file);
    const json original = child.doc;
    apply_patches(child.doc, at_path(*parent, {"spec", "patches"}),
                  config.abs(config.paths.cluster_kustomization).parent_path(),
                  rel(config.abs(config.paths.cluster_kustomization)));
    std::string pns = str_at(*parent, {"metadata", "namespace"});
    auto vars = load_vars(*parent, pns.empty() ? config.flux_namespace : pns,
                          rel(config.abs(config.paths.cluster_kustomization)), warnings);
    if (!vars->vars.empty() && !substitution_disabled(original)) {
      std::vector<std::string> undefined;
      child.doc = substitute_resource(child.doc, vars->vars, source, undefined);
      for (const auto& u : undefined) warn_undefined(warnings, u, source);
    }
  }

  // Another cluster's own directory (a multi-cluster repository): never read for this one.
  bool foreign(const fs::path& dir) const {
    const fs::path d = dir.lexically_normal();
    for (const auto& f : config.foreign_dirs)
      if (d == f) return true;
    return false;
  }

  // Shared base directories (kubernetes/apps/base/<ns>/<app>) are reconciled by Kustomizations
  // that live elsewhere: under the cluster Kustomization's spec.path (kubernetes/apps/<cluster>/),
  // named <app>.yaml rather than ks.yaml. Every Flux Kustomization in that tree, parents applied.
  const std::vector<Kustomization>& cluster_tree_kustomizations(std::vector<std::string>& warnings) {
    if (tree_ks) return *tree_ks;
    tree_ks.emplace();
    std::set<std::string> seen;
    for (const auto& c : cluster()) {
      const std::string p = normalise_rel(str_at(c, {"spec", "path"}));
      if (p.empty() || p.find("${") != std::string::npos) continue;
      const fs::path top = (config.root / p).lexically_normal();
      std::error_code ec;
      if (!fs::is_directory(top, ec) || !seen.insert(top.string()).second) continue;
      std::vector<fs::path> dirs = {top};
      for (auto it = fs::recursive_directory_iterator(top, fs::directory_options::skip_permission_denied, ec);
           it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (ec) break;
        if (!it->is_directory(ec)) continue;
        if (it->path().filename().string().rfind('.', 0) == 0 || foreign(it->path())) {
          it.disable_recursion_pending();
          continue;
        }
        dirs.push_back(it->path());
      }
      for (const auto& d : dirs)
        for (const auto& k : kustomizations_in(d, warnings)) tree_ks->push_back(k);
    }
    return *tree_ks;
  }

  std::optional<Kustomization> find_ks(const fs::path& app_dir,
                                       std::vector<std::string>& warnings) {
    const std::string app_rel = normalise_rel(rel(app_dir));
    std::optional<Kustomization> best;
    std::size_t best_len = 0;
    fs::path dir = app_dir;
    for (int up = 0; up < 3 && !dir.empty(); ++up, dir = dir.parent_path()) {
      for (const auto& k : kustomizations_in(dir, warnings)) {
        std::string p = normalise_rel(str_at(k.doc, {"spec", "path"}));
        if (path_covers(p, app_rel) && (!best || p.size() > best_len)) {
          best = k;
          best_len = p.size();
        }
      }
      if (best) break;
      if (dir == config.root) break;
    }
    if (!best)
      for (const auto& k : cluster_tree_kustomizations(warnings)) {
        std::string p = normalise_rel(str_at(k.doc, {"spec", "path"}));
        if (path_covers(p, app_rel) && (!best || p.size() > best_len)) {
          best = k;
          best_len = p.size();
        }
      }
    return best;
  }

  // ---- a release, up to its substituted HelmRelease
  // ------------------------------------------------

  std::shared_ptr<const Prepared> prepare(const ReleaseRef& ref) {
    auto cache_key = ref.str();
    if (const auto* hit = prepared.find(cache_key)) return *hit;
    auto p = std::make_shared<Prepared>();
    p->ref = ref;
    p->hr_file = helmrelease_file(ref);
    const std::string source = rel(p->hr_file);
    std::error_code ec;
    if (!fs::is_regular_file(p->hr_file, ec))
      throw InputError(fmt::format("release {}: {} not found (paths.helmrelease: {})", ref.str(),
                                   source, config.paths.helmrelease));
    auto pf = parsed(p->hr_file);
    std::vector<std::string> names;
    bool found = false;
    for (std::size_t i = 0; i < pf->docs.size(); ++i) {
      const json& d = pf->docs[i];
      if (!d.is_object() || str_at(d, {"kind"}) != "HelmRelease") continue;
      names.push_back(str_at(d, {"metadata", "name"}));
      if (names.back() == ref.name && !found) {
        p->hr_doc = i;
        found = true;
      }
    }
    if (!found) {
      if (names.empty())
        throw InputError(
            fmt::format("release {}: {} has no HelmRelease document", ref.str(), source));
      throw InputError(fmt::format("release {}: {} has no HelmRelease named {} (found: {})",
                                   ref.str(), source, ref.name, fmt::join(names, ", ")));
    }
    p->hr = pf->docs[p->hr_doc];
    p->app_dir = p->hr_file.parent_path();
    const bool disabled = substitution_disabled(p->hr);

    apply_kustomize_patches(p->hr, p->app_dir);
    p->ks = find_ks(p->app_dir, p->warnings);
    p->vars = std::make_shared<VarSet>();
    if (p->ks) {
      apply_patches(p->hr, at_path(p->ks->doc, {"spec", "patches"}), p->ks->file.parent_path(),
                    rel(p->ks->file));
      p->vars = load_vars(p->ks->doc, p->ks->ns, rel(p->ks->file), p->warnings);
    } else if (detail::to_goyaml(p->hr).find("${") != std::string::npos) {
      warn(p->warnings,
           fmt::format("{}: no Flux Kustomization (ks.yaml) has a spec.path covering {}; ${{VAR}} "
                       "placeholders are left as they are",
                       source, rel(p->app_dir)));
    }
    if (!p->vars->vars.empty() && !disabled) {
      std::vector<std::string> undefined;
      p->hr = substitute_resource(p->hr, p->vars->vars, source, undefined);
      for (const auto& u : undefined) warn_undefined(p->warnings, u, source);
    }
    p->ns = p->ks ? str_at(p->ks->doc, {"spec", "targetNamespace"}) : std::string();
    if (p->ns.empty()) p->ns = str_at(p->hr, {"metadata", "namespace"});
    if (p->ns.empty()) p->ns = ref.ns;
    return prepared.put(cache_key, p);
  }

  fs::path helmrelease_file(const ReleaseRef& ref) const {
    if (auto it = config.paths.helmrelease_overrides.find(ref.str());
        it != config.paths.helmrelease_overrides.end())
      return config.abs(it->second).lexically_normal();
    std::string pattern = config.paths.helmrelease;
    for (const auto& [key, value] :
         {std::pair<std::string, std::string>{"{namespace}", ref.ns}, {"{name}", ref.name}}) {
      for (auto at = pattern.find(key); at != std::string::npos;
           at = pattern.find(key, at + value.size()))
        pattern.replace(at, key.size(), value);
    }
    fs::path file = config.abs(pattern).lexically_normal();
    // Unless fluxboot.yaml pins the pattern, `helm-release.yaml` (the other spelling home-ops
    // repositories use, docs/layouts.md) stands in for a missing `helmrelease.yaml`.
    std::error_code ec;
    if (!config.path_is_explicit("paths.helmrelease") && file.filename() == "helmrelease.yaml" &&
        !fs::exists(file, ec)) {
      fs::path alt = file.parent_path() / "helm-release.yaml";
      if (fs::is_regular_file(alt, ec)) return alt;
    }
    return file;
  }

  ComputedValues compute(const ReleaseRef& ref) {
    auto p = prepare(ref);
    ComputedValues out;
    out.file = p->hr_file;
    out.warnings = p->warnings;
    out.secrets = p->vars->secrets;
    const std::string source = rel(p->hr_file);
    const std::string what = fmt::format("HelmRelease {} ({})", ref.str(), source);
    json result = json::object();
    const json* from = at_path(p->hr, {"spec", "valuesFrom"});
    if (from != nullptr && !from->is_null() && !from->is_array())
      throw InputError(fmt::format("{}: spec.valuesFrom must be a list", what));
    if (from != nullptr && from->is_array()) {
      for (const auto& vref : *from) {
        std::string kind = str_at(vref, {"kind"});
        std::string name = str_at(vref, {"name"});
        std::string key = str_at(vref, {"valuesKey"});
        if (key.empty()) key = "values.yaml";
        std::string target = str_at(vref, {"targetPath"});
        const json* opt = at_path(vref, {"optional"});
        bool optional = opt != nullptr && opt->is_boolean() && opt->get<bool>();
        if (kind != "ConfigMap" && kind != "Secret")
          throw InputError(fmt::format(
              "{}: valuesFrom kind \"{}\" is not supported (ConfigMap or Secret)", what, kind));
        bool local = false;
        const Resource* r = find_resource(&local_resources(*p, out.warnings), kind, name, p->ns,
                                          out.warnings, local);
        if (r == nullptr) {
          if (optional) continue;  // as helm-controller: an absent optional source is not a problem
          throw InputError(
              fmt::format("{}: valuesFrom {}/{} not found in {} or anywhere in the repository",
                          what, kind, name, rel(p->app_dir)));
        }
        auto data = resource_data(*r, local ? p->vars.get() : nullptr, p->ns, out.warnings);
        auto it = data.find(key);
        if (it == data.end()) {
          if (optional) continue;
          throw InputError(fmt::format("{}: valuesFrom {}/{} ({}) has no key {}", what, kind, name,
                                       rel(r->file), key));
        }
        const std::string vsource = fmt::format("{}/{} key {} ({})", kind, name, key, rel(r->file));
        if (!detail::valid_utf8(it->second))
          throw InputError(fmt::format("{}: the value is not UTF-8 text", vsource));
        if (kind == "Secret") out.secrets.push_back(it->second);
        if (!target.empty()) {
          detail::replace_path_value(result, target, it->second, vsource);
          continue;
        }
        auto tree = detail::load_documents(it->second, vsource);
        json parsed = tree.docs.empty()
                          ? json(nullptr)
                          : detail::to_json(tree.docs.front().node, Dialect::GoYamlV2, vsource);
        if (!parsed.is_null() && !parsed.is_object())
          throw InputError(fmt::format("{}: the values are not a map", vsource));
        if (kind == "Secret") collect_strings(parsed, out.secrets);
        detail::merge_maps(result, parsed);
      }
    }
    const json* vals = at_path(p->hr, {"spec", "values"});
    if (vals != nullptr && !vals->is_null()) {
      if (!vals->is_object()) throw InputError(fmt::format("{}: spec.values must be a map", what));
      detail::merge_maps(result, *vals);
    }
    out.values = std::move(result);
    out.yaml = to_yaml(out.values);
    return out;
  }

  // An OCIRepository/HelmRepository for a chart reference: the HelmRelease's own file, its app
  // directory, then the repository.
  std::optional<std::pair<json, fs::path>> source_doc(const Prepared& p, const std::string& kind,
                                                      const std::string& name, std::string ns,
                                                      std::vector<std::string>& warnings) {
    if (ns.empty()) ns = p.ns;
    auto pf = parsed(p.hr_file);
    for (std::size_t i = 0; i < pf->docs.size(); ++i)
      if (i != p.hr_doc && str_at(pf->docs[i], {"kind"}) == kind &&
          str_at(pf->docs[i], {"metadata", "name"}) == name)
        return std::make_pair(local_substituted(p, pf->docs[i], p.hr_file, warnings), p.hr_file);
    bool local = false;
    const Resource* r =
        find_resource(&local_resources(p, warnings), kind, name, ns, warnings, local);
    if (r == nullptr) return std::nullopt;
    json doc = manifest(*r);
    if (local) doc = local_substituted(p, doc, r->file, warnings);
    return std::make_pair(doc, r->file);
  }

  json local_substituted(const Prepared& p, const json& doc, const fs::path& file,
                         std::vector<std::string>& warnings) {
    if (p.vars->vars.empty() || substitution_disabled(doc)) return doc;
    std::vector<std::string> undefined;
    json out = substitute_resource(doc, p.vars->vars, rel(file), undefined);
    for (const auto& u : undefined) warn_undefined(warnings, u, rel(file));
    return out;
  }

  std::optional<Chart> chart(const ReleaseRef& ref) {
    auto p = prepare(ref);
    const std::string what = fmt::format("HelmRelease {} ({})", ref.str(), rel(p->hr_file));
    std::vector<std::string> warnings;
    if (const json* cr = at_path(p->hr, {"spec", "chartRef"}); cr != nullptr && cr->is_object()) {
      std::string kind = str_at(*cr, {"kind"});
      std::string name = str_at(*cr, {"name"});
      if (kind != "OCIRepository") {
        warn(warnings,
             fmt::format("{}: chartRef kind {} is not read by fluxboot; no chart/version derived",
                         what, kind));
        return std::nullopt;
      }
      auto src = source_doc(*p, kind, name, str_at(*cr, {"namespace"}), warnings);
      if (!src)
        throw InputError(
            fmt::format("{}: chartRef OCIRepository {} not found in {}, {} or the repository", what,
                        name, rel(p->hr_file), rel(p->app_dir)));
      Chart c;
      c.url = str_at(src->first, {"spec", "url"});
      c.version = str_at(src->first, {"spec", "ref", "semver"});
      if (c.version.empty()) c.version = str_at(src->first, {"spec", "ref", "tag"});
      c.digest = str_at(src->first, {"spec", "ref", "digest"});
      c.source = fmt::format("OCIRepository {} ({})", name, rel(src->second));
      if (c.url.empty())
        throw InputError(
            fmt::format("{}: OCIRepository {} has no spec.url", rel(src->second), name));
      return c;
    }
    if (const json* spec = at_path(p->hr, {"spec", "chart", "spec"});
        spec != nullptr && spec->is_object()) {
      std::string chart_name = str_at(*spec, {"chart"});
      std::string kind = str_at(*spec, {"sourceRef", "kind"});
      std::string name = str_at(*spec, {"sourceRef", "name"});
      if (kind != "HelmRepository") {
        warn(warnings,
             fmt::format("{}: chart source {} is not read by fluxboot; no chart/version derived",
                         what, kind));
        return std::nullopt;
      }
      auto src = source_doc(*p, kind, name, str_at(*spec, {"sourceRef", "namespace"}), warnings);
      if (!src)
        throw InputError(fmt::format("{}: HelmRepository {} not found in {} or the repository",
                                     what, name, rel(p->app_dir)));
      Chart c;
      std::string url = str_at(src->first, {"spec", "url"});
      while (!url.empty() && url.back() == '/') url.pop_back();
      c.version = str_at(*spec, {"version"});
      c.source = fmt::format("HelmRepository {} ({})", name, rel(src->second));
      if (str_at(src->first, {"spec", "type"}) == "oci" || url.rfind("oci://", 0) == 0) {
        c.url = url + "/" + chart_name;
      } else {
        c.url = url;
        c.name = chart_name;
      }
      return c;
    }
    return std::nullopt;
  }
};

Reader::Reader(const Config& config, Options options)
    : impl_(std::make_unique<Impl>(config, std::move(options))) {}
Reader::~Reader() = default;

ComputedValues Reader::compute(const ReleaseRef& release) { return impl_->compute(release); }
std::optional<Chart> Reader::chart(const ReleaseRef& release) { return impl_->chart(release); }
std::filesystem::path Reader::helmrelease_file(const ReleaseRef& release) const {
  return impl_->helmrelease_file(release);
}

ComputedValues compute(const Config& config, const ReleaseRef& release, const Options& options) {
  Reader reader(config, options);
  return reader.compute(release);
}

std::optional<Chart> chart_for(const Config& config, const ReleaseRef& release) {
  Reader reader(config, Options{});
  return reader.chart(release);
}

}  // namespace fluxboot::values
