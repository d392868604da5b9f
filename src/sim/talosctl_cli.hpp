#pragma once
// Command-line parsing of the fake talosctl (talosctl 1.9's flag forms: -n x, -nx, -n=x,
// --nodes x, --nodes=x, comma-separated or repeated).
#include <string>
#include <vector>

namespace fluxboot::sim {

struct TalosctlArgs {
  std::string command;                 // apply-config, bootstrap, kubeconfig, version, config info, help
  std::vector<std::string> nodes, endpoints;
  std::string talosconfig, context;
  std::string file, mode;              // apply-config
  bool insecure = false, dry_run = false;
  bool has_config_patch = false;
  bool force = false, merge = true;    // kubeconfig
  std::string force_context_name;
  bool client_only = false, short_output = false;  // version
  std::vector<std::string> patches;     // machineconfig patch: --patch/-p values ("@file" or inline)
  std::string output;                  // machineconfig patch: --output/-o (empty: stdout)
  std::vector<std::string> positional;  // after the subcommand
};

// Throws fluxboot::UsageError with talosctl-like text ("unknown flag: --x", "unknown command").
TalosctlArgs parse_talosctl_args(const std::vector<std::string>& args);

}  // namespace fluxboot::sim
