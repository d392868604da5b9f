#pragma once
// Where a simulated cluster keeps its files (docs/simulated-cluster.md, "Files in DIR") and how
// the personalities find it, the real kubectl/helm and the shipped charts.
#include <filesystem>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace fluxboot::sim {

struct SimDir {
  std::filesystem::path root;
  explicit SimDir(std::filesystem::path dir) : root(std::move(dir)) {}
  std::filesystem::path pki() const { return root / "pki"; }
  std::filesystem::path pid_file() const { return root / "sim.pid"; }
  std::filesystem::path info_file() const { return root / "sim.json"; }  // written when serving
  std::filesystem::path log_file() const { return root / "sim.log"; }
  std::filesystem::path requests_log() const { return root / "requests.log"; }
  std::filesystem::path kubeconfig() const { return root / "kubeconfig"; }
  std::filesystem::path talosconfig() const { return root / "talosconfig"; }
  std::filesystem::path env_file() const { return root / "env"; }
  std::filesystem::path bin() const { return root / "bin"; }
  std::filesystem::path scenario() const { return root / "scenario.yaml"; }
  std::filesystem::path kube_cache() const { return root / "cache" / "kube"; }
  std::filesystem::path chart_cache() const { return root / "cache" / "charts"; }
  std::filesystem::path helm_home() const { return root / "helm"; }
};

// The contents of DIR/sim.json: {pid, port, url, dir, kubectl, helm, startedAt}.
std::optional<nlohmann::json> read_sim_info(const SimDir& dir);

// The directory of the running simulation a personality (talosctl, helmfile) talks to:
// $FLUXBOOT_SIM_DIR, else DIR when argv0 is DIR/bin/<name>, else the `fluxboot-sim.dir` key of
// the talosconfig in use. Empty when none is found.
std::filesystem::path locate_sim_dir(const std::string& argv0, const std::filesystem::path& talosconfig = {});

// The real kubectl or helm ("kubectl"/"helm"): `flag` when given, else $FLUXBOOT_SIM_KUBECTL /
// $FLUXBOOT_SIM_HELM, else .tools/bin of the source tree or of a directory above the executable,
// else PATH (skipping `skip_dir`, the simulation's own bin). Throws fluxboot::ToolMissingError.
std::filesystem::path find_real_tool(const std::string& name, const std::string& flag,
                                     const std::filesystem::path& skip_dir = {});

// This executable (/proc/self/exe).
std::filesystem::path self_executable();

// The charts the fake helmfile renders: $FLUXBOOT_SIM_CHARTS, else <exe dir>/../share/fluxboot-sim/charts,
// else <exe dir>/charts, else the source tree's src/sim/charts.
std::filesystem::path charts_dir();

// Environment variable or empty.
std::string env_or_empty(const char* name);

}  // namespace fluxboot::sim
