#pragma once
// Command-line parsing of the fake helmfile (helmfile v1 flag forms).
#include <string>
#include <vector>

namespace fluxboot::sim {

struct HelmfileArgs {
  std::string command;  // template, sync, list, version, help
  std::vector<std::string> files;  // --file (repeatable in spirit; usually one)
  std::string ns;                  // --namespace: default namespace of releases without one
  std::string kube_context;
  std::vector<std::string> selectors;  // -l name=x,namespace=y
  bool quiet = false;
  bool include_crds = false;  // template
  bool hide_notes = false;    // sync
  bool wait = false, wait_for_jobs = false;
  std::vector<std::string> extra_args;  // --args "…"
};

// Throws fluxboot::UsageError.
HelmfileArgs parse_helmfile_args(const std::vector<std::string>& args);

}  // namespace fluxboot::sim
