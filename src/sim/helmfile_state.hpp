#pragma once
// The subset of a helmfile state file the fake helmfile understands: releases (name, namespace,
// chart, version, values, set, needs, hooks, installed) and helmDefaults. Plain YAML only: the fake
// cannot render Go templates (fluxboot hands it plain values files).
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace fluxboot::sim {

struct HelmfileHook {
  std::vector<std::string> events;  // prepare, presync, postsync, cleanup, ...
  std::string command;
  std::vector<std::string> args;
  bool showlogs = false;
};

// One `values:` entry: a file (absolute, resolved against the state file's directory) or an
// inline mapping.
struct ValuesEntry {
  std::filesystem::path file;
  nlohmann::json inline_values;
  bool is_file() const { return !file.empty(); }
};

struct HelmSettings {
  std::vector<std::string> args;  // extra helm flags (helmDefaults.args / release args)
  std::optional<bool> wait, wait_for_jobs, cleanup_on_fail, atomic, create_namespace;
  std::optional<int> timeout_s;
};

struct HelmfileRelease {
  std::string name;
  std::string ns;
  std::string chart;
  std::string version;
  std::vector<ValuesEntry> values;
  std::vector<std::pair<std::string, std::string>> set;  // --set name=value
  std::vector<std::string> needs;                        // as written: [ctx/][ns/]name
  std::vector<HelmfileHook> hooks;
  bool installed = true;
  HelmSettings settings;  // per-release overrides
  std::string id() const { return ns + "/" + name; }
};

struct HelmfileState {
  std::filesystem::path file;
  std::filesystem::path dir;  // base directory for values files and hook cwd
  HelmSettings defaults;
  std::vector<HelmfileRelease> releases;
};

// Parses the state file text (documents separated by --- are merged: releases appended,
// helmDefaults overridden key by key). Throws fluxboot::InputError listing every problem.
// `bases:` are read and layered first; base_depth bounds their nesting.
HelmfileState parse_helmfile_state(const std::string& text, const std::filesystem::path& file, int base_depth = 0);
HelmfileState load_helmfile_state(const std::filesystem::path& file);

// Releases in `needs` order: every release after the ones it needs, otherwise in file order.
// Throws InputError for a need that matches no release or a cycle.
std::vector<HelmfileRelease> order_by_needs(const std::vector<HelmfileRelease>& releases);

// The effective settings of a release: its own over helmDefaults.
HelmSettings effective_settings(const HelmfileState& state, const HelmfileRelease& release);

// The merged values of a release (files in order, then inline maps in their place, then `set`).
// Throws InputError for a .gotmpl file, a missing file or a file that isn't a YAML mapping.
nlohmann::json merged_values(const HelmfileRelease& release);

// The local chart the simulator uses for a release: charts_dir/<release name>, else
// charts_dir/<chart basename>, else charts_dir/generic.
std::filesystem::path local_chart_for(const HelmfileRelease& release,
                                      const std::filesystem::path& charts_dir);

}  // namespace fluxboot::sim
