#pragma once
// Runs the real fluxboot binary on a copy of the example repository with the fake talosctl,
// kubectl and helmfile of tests/fakes first on PATH.
#include <csignal>
#include <string>
#include <vector>

#include "support/test_support.hpp"

namespace fluxboot::testing {

class FakeCluster {
 public:
  FakeCluster();
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
};

bool process_alive(int pid);

}  // namespace fluxboot::testing
