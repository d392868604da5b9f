// Talos machine configs kept as minijinja templates (plain talosctl + minijinja layouts):
//   <dir>/machineconfig.yaml.j2 | cluster.yaml.j2     shared by every node
//   <dir>/controlplane.yaml.j2, worker(s).yaml.j2     optional, per role
//   <dir>/nodes/<node>.yaml.j2                        per node, role from its machine.type
//   <dir>/nodes/<role>/<node>.yaml.j2                 per node, role from the directory
//   <dir>/<role>/<node>.yaml (no nodes/)              per node, role from the directory; only
//                                                     files naming a hostname are nodes, and
//                                                     <role>/<role>.yaml is the role's patch
// Only file names and raw text are read here: rendering needs the environment and happens in the
// talos stage, once per apply.
#include <algorithm>
#include <regex>
#include <system_error>

#include "fluxboot/gitops.hpp"
#include "gitops/yaml_support.hpp"

namespace fluxboot::gitops {

namespace fs = std::filesystem;

namespace {

constexpr const char* kExt = ".yaml.j2";

bool is_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

fs::path first_file(const fs::path& dir, std::initializer_list<const char*> names) {
  for (const char* n : names)
    if (is_file(dir / n)) return dir / n;
  return {};
}

// "controlplane" | "worker" | "" for a directory name under nodes/.
std::string role_of_dir(const std::string& name) {
  if (name == "controlplane" || name == "controlplanes" || name == "control-plane") return "controlplane";
  if (name == "worker" || name == "workers") return "worker";
  return {};
}

// `machine.type: controlplane` (or init) anywhere in the patch's text: the template is not
// rendered here, so this is a line match, documented as such in docs/layouts.md.
bool text_says_controlplane(const fs::path& file) {
  std::string text;
  try {
    text = detail::read_text(file, file.string());
  } catch (const std::exception&) {
    return false;  // unreadable: the talos stage reports it when it renders the file
  }
  static const std::regex type_line(R"((^|\n)[ \t]+type:[ \t]*["']?(controlplane|init)["']?[ \t]*(#[^\n]*)?(\r?\n|$))");
  return std::regex_search(text, type_line);
}

// A per-node patch names its node: `hostname: <name>` (HostnameConfig, machine.network.hostname).
bool names_hostname(const fs::path& file) {
  std::string text;
  try {
    text = detail::read_text(file, file.string());
  } catch (const std::exception&) {
    return false;
  }
  static const std::regex hostname(R"((^|\n)[ \t]*hostname:[ \t]*["']?[A-Za-z0-9])");
  return std::regex_search(text, hostname);
}

bool has_ext(const std::string& name) {
  const std::string ext = kExt;
  return name.size() > ext.size() && name.compare(name.size() - ext.size(), ext.size(), ext) == 0;
}

}  // namespace

std::map<std::string, std::string> node_template_env(std::map<std::string, std::string> env,
                                                     const NodeSpec& node) {
  if (node.control_plane) env["IS_CONTROLPLANE"] = "true";
  else env.erase("IS_CONTROLPLANE");
  env["MACHINE_TYPE"] = node.control_plane ? "controlplane" : "worker";
  return env;
}

std::optional<MachineConfigTemplates> find_machineconfig_templates(const Config& config) {
  MachineConfigTemplates t;
  t.dir = config.abs(config.paths.talos_templates);
  t.base = first_file(t.dir, {"machineconfig.yaml.j2", "cluster.yaml.j2"});
  t.nodes_dir = t.dir / "nodes";
  std::error_code ec;
  if (t.base.empty()) return std::nullopt;
  t.controlplane = first_file(t.dir, {"controlplane.yaml.j2", "controlplanes.yaml.j2"});
  t.worker = first_file(t.dir, {"worker.yaml.j2", "workers.yaml.j2"});
  if (!fs::is_directory(t.nodes_dir, ec)) {
    // Role directories beside the base template: <dir>/controlplane/<node>.yaml.
    t.nodes_dir = t.dir;
    for (const auto& entry : fs::directory_iterator(t.dir, ec)) {
      std::error_code e2;
      const std::string dir_name = entry.path().filename().string();
      const std::string role = role_of_dir(dir_name);
      if (role.empty() || !entry.is_directory(e2)) continue;
      for (const auto& sub : fs::directory_iterator(entry.path(), e2)) {
        const std::string name = sub.path().filename().string();
        std::string stem;
        if (has_ext(name)) stem = name.substr(0, name.size() - std::string(kExt).size());
        else if (name.size() > 5 && name.compare(name.size() - 5, 5, ".yaml") == 0) stem = name.substr(0, name.size() - 5);
        if (stem.empty() || stem.find("schematic") != std::string::npos || !is_file(sub.path())) continue;
        if (stem == dir_name || stem == role) {  // controlplane/controlplane.yaml: the role's patch
          fs::path& slot = role == "controlplane" ? t.controlplane : t.worker;
          if (slot.empty()) slot = sub.path();
          continue;
        }
        if (!names_hostname(sub.path())) continue;  // eGPU.yaml and other optional patches
        t.nodes.push_back({stem, sub.path(), role == "controlplane"});
      }
    }
    if (t.nodes.empty()) return std::nullopt;
    std::sort(t.nodes.begin(), t.nodes.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    return t;
  }

  auto add = [&](const fs::path& file, const std::string& role) {
    const std::string name = file.filename().string();
    if (!has_ext(name)) return;
    std::string stem = name.substr(0, name.size() - std::string(kExt).size());
    // <node>.schematic.yaml.j2 holds an Image Factory schematic, not a config patch.
    if (stem.empty() || stem.find(".schematic") != std::string::npos) return;
    if (!is_file(file)) return;
    MachineConfigTemplates::Node n;
    n.name = stem;
    n.patch = file;
    n.control_plane = role.empty() ? text_says_controlplane(file) : role == "controlplane";
    t.nodes.push_back(std::move(n));
  };
  for (const auto& entry : fs::directory_iterator(t.nodes_dir, ec)) {
    std::error_code e2;
    if (entry.is_directory(e2)) {
      std::string role = role_of_dir(entry.path().filename().string());
      if (role.empty()) continue;
      for (const auto& sub : fs::directory_iterator(entry.path(), e2)) add(sub.path(), role);
    } else {
      add(entry.path(), "");
    }
  }
  if (t.nodes.empty()) return std::nullopt;
  std::sort(t.nodes.begin(), t.nodes.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return t;
}

}  // namespace fluxboot::gitops
