#pragma once
// Runs the real fluxboot binary on a copy of the example repository with the fake talosctl,
// kubectl and helmfile of tests/fakes first on PATH.
#include <csignal>
#include <string>
#include <vector>

#include "support/test_support.hpp"
#include "sim/api/api_server.hpp"

namespace fluxboot::testing {

// Fake talosctl/kubectl/helmfile on PATH; the kubeconfig the fake talosctl writes points at an
// in-process API server (plain HTTP on 127.0.0.1) seeded with registered nodes, a Ready Flux
// Operator pod, a Ready FluxInstance and the CRDs the fake helmfile renders.
class FakeCluster {
 public:
  // `fixture`: a layout fixture (tests/fixtures/<name>) instead of the example repository.
  explicit FakeCluster(const std::string& fixture = {});
  ~FakeCluster();
  fluxboot::sim::ApiServer& api() { return *api_; }
  // Sets the FluxInstance's Ready condition (and Stalled=True when `stalled`).
  void set_flux_instance(const std::string& ready, const std::string& reason,
                         const std::string& message, bool stalled = false);
  const std::filesystem::path& repo() const { return repo_; }
  std::filesystem::path fake_dir() const { return tmp_.path() / "fake"; }
  std::filesystem::path kubeconfig() const { return tmp_.path() / "out" / "kubeconfig"; }
  // Creates FAKE_DIR/<name> with `content` (the fakes' fault switches).
  void inject(const std::string& name, const std::string& content = "1") const;
  // Runs `fluxboot <args>` with the fakes on PATH; extra environment in `env`.
  RunResult fluxboot(std::vector<std::string> args, std::map<std::string, std::string> env = {},
                     const std::string& path_override = {}) const;
  // The calls the fakes recorded, one line each: tool \t arg \t arg ...
  std::vector<std::vector<std::string>> calls() const;
  // Calls of one tool whose argv contains `word`.
  size_t count_calls(const std::string& tool, const std::string& word = "") const;
  std::map<std::string, std::string> env() const;

 private:
  TempDir tmp_;
  std::filesystem::path repo_;
  std::unique_ptr<fluxboot::sim::ApiServer> api_;
};

bool process_alive(int pid);

}  // namespace fluxboot::testing
