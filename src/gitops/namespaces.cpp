// One Namespace per directory under kubernetes/apps, with the labels and annotations of its
// namespace.yaml (PSA levels, prune: disabled, …) that `kubectl create namespace` would drop.
#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "fluxboot/gitops.hpp"
#include "gitops/yaml_support.hpp"

namespace fluxboot::gitops {

namespace fs = std::filesystem;

namespace {

class NamespaceReader {
 public:
  NamespaceReader(std::string display, int first_line, Problems& problems)
      : display_(std::move(display)), first_line_(first_line), problems_(problems) {}

  std::string at(const YAML::Node& node) const {
    int line = detail::line_of(node);
    return detail::where(display_, line > 0 ? first_line_ - 1 + line : 0);
  }

  void add(const YAML::Node& node, const std::string& message) {
    problems_.add(fmt::format("{}: {}", at(node), message));
  }

  // labels / annotations: a mapping of strings; plain scalars (true, 1) become their text.
  std::optional<nlohmann::json> string_map(const YAML::Node& node, const std::string& what) {
    if (!node.IsDefined() || node.IsNull()) return std::nullopt;
    if (!node.IsMap()) {
      add(node, fmt::format("metadata.{} must be a mapping, got {}", what, detail::type_name(node)));
      return std::nullopt;
    }
    nlohmann::json out = nlohmann::json::object();
    for (const auto& kv : node) {
      if (!kv.first.IsScalar()) {
        add(kv.first, fmt::format("metadata.{} keys must be strings", what));
        continue;
      }
      if (kv.second.IsNull()) {
        out[kv.first.Scalar()] = "";
      } else if (kv.second.IsScalar()) {
        out[kv.first.Scalar()] = kv.second.Scalar();
      } else {
        add(kv.second, fmt::format("metadata.{}.{} must be a string, got {}", what,
                                   kv.first.Scalar(), detail::type_name(kv.second)));
      }
    }
    if (out.empty()) return std::nullopt;
    return out;
  }

 private:
  std::string display_;
  int first_line_;
  Problems& problems_;
};

// kustomize's namespace transformer: the `namespace:` of <dir>/kustomization.yaml renames every
// Namespace object the kustomization builds, so a namespace.yaml may carry a placeholder name
// (`_`) and a directory may define its namespace with no namespace.yaml at all. Empty when unset.
std::string kustomization_namespace(const fs::path& root, const fs::path& dir, Problems& problems) {
  std::error_code ec;
  for (const char* name : {"kustomization.yaml", "kustomization.yml", "Kustomization"}) {
    const fs::path file = dir / name;
    if (!fs::is_regular_file(file, ec) && !fs::is_symlink(file, ec)) continue;
    const std::string display = detail::display_path(root, file);
    try {
      const YAML::Node node = detail::parse_yaml(detail::read_text(file, display), display, 1);
      const YAML::Node ns = detail::child(node, "namespace");
      if (!ns || ns.IsNull()) return {};
      if (!ns.IsScalar() || !is_dns1123_label(ns.Scalar())) {
        problems.add(fmt::format("{}:{}: namespace '{}' is not a valid namespace name", display,
                                 ns.Mark().line + 1, ns.IsScalar() ? ns.Scalar() : "<not a string>"));
        return {};
      }
      return ns.Scalar();
    } catch (const InputError& e) {
      problems.add(e.what());
      return {};
    }
  }
  return {};
}

nlohmann::json bare(const std::string& name) {
  return {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", name}}}};
}

}  // namespace

std::vector<NamespaceManifest> collect_namespaces(const Config& config) {
  const fs::path apps = config.abs(config.paths.apps);
  const std::string apps_display = detail::display_path(config.root, apps);
  std::error_code ec;
  if (!fs::is_directory(apps, ec)) {
    throw InputError(fmt::format("{}: apps directory not found (paths.apps in fluxboot.yaml)",
                                 apps_display));
  }
  std::vector<fs::path> dirs;
  for (const auto& entry : fs::directory_iterator(apps, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.front() == '.') continue;
    if (entry.is_directory(ec)) dirs.push_back(entry.path());
  }
  if (ec) throw InputError(fmt::format("{}: cannot list directory: {}", apps_display, ec.message()));
  std::sort(dirs.begin(), dirs.end());

  Problems problems;
  std::vector<NamespaceManifest> out;
  for (const auto& dir : dirs) {
    const std::string name = dir.filename().string();
    const std::string dir_display = detail::display_path(config.root, dir);
    if (!is_dns1123_label(name)) {
      problems.add(fmt::format("{}/: directory name '{}' is not a valid namespace name (lower-case "
                               "letters, digits and '-', starting and ending with a letter or "
                               "digit, at most 63 characters)",
                               dir_display, name));
      continue;
    }
    // The namespace kustomize would build: the kustomization's `namespace:`, else the directory.
    const std::string renamed = kustomization_namespace(config.root, dir, problems);
    const std::string target = renamed.empty() ? name : renamed;
    NamespaceManifest ns;
    ns.name = target;
    nlohmann::json manifest = bare(target);
    const fs::path file = dir / "namespace.yaml";
    // A symlink is read too: a dangling one or a loop is an error, not "no namespace.yaml".
    if (fs::is_regular_file(file, ec) || fs::is_symlink(file, ec)) {
      const std::string display = detail::display_path(config.root, file);
      try {
        auto docs = split_documents(detail::read_text(file, display), display);
        std::vector<const YamlDocument*> found;
        for (const auto& doc : docs) {
          if (doc.kind == "Namespace") found.push_back(&doc);
        }
        if (found.size() > 1) {
          problems.add(fmt::format("{}:{}: a second Namespace document (the first is at line {})",
                                   display, found[1]->line, found[0]->line));
        } else if (found.size() == 1) {
          const YamlDocument& doc = *found.front();
          NamespaceReader reader(display, doc.line, problems);
          const YAML::Node node = detail::parse_yaml(doc.text, display, doc.line);
          const YAML::Node meta = detail::child(node, "metadata");
          const size_t before = problems.items().size();
          if (!meta.IsMap()) {
            reader.add(node, "Namespace has no metadata");
          } else if (doc.name.empty()) {
            reader.add(meta, "Namespace has no metadata.name");
          } else if (renamed.empty() && doc.name != name) {
            reader.add(detail::child(meta, "name"), fmt::format("Namespace name '{}' does not match its "
                                                 "directory '{}' (the directory name is the "
                                                 "namespace)",
                                                 doc.name, name));
          } else {
            if (auto labels = reader.string_map(detail::child(meta, "labels"), "labels")) {
              manifest["metadata"]["labels"] = *labels;
            }
            if (auto annotations = reader.string_map(detail::child(meta, "annotations"), "annotations")) {
              manifest["metadata"]["annotations"] = *annotations;
            }
          }
          ns.from_file = problems.items().size() == before;
        }
      } catch (const InputError& e) {
        problems.add(e.what());
        continue;
      }
    }
    ns.json = manifest.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    out.push_back(std::move(ns));
  }
  problems.throw_if_any(fmt::format("invalid namespaces under {}", apps_display));
  return out;
}

}  // namespace fluxboot::gitops
