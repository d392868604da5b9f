#pragma once
// A throw-away GitOps repository for value-reader tests.
#include <string>

#include "fluxboot/config.hpp"
#include "support/test_support.hpp"

namespace fluxboot::values::testing {

class Repo {
 public:
  Repo() { config_.root = dir_.path(); }
  const Config& config() const { return config_; }
  Config& mutable_config() { return config_; }
  const std::filesystem::path& root() const { return dir_.path(); }
  void file(const std::string& rel, const std::string& content) {
    fluxboot::testing::write_file(dir_ / rel, content);
  }
  // kubernetes/apps/<ns>/<name>/app/helmrelease.yaml
  void helmrelease(const std::string& ns, const std::string& name, const std::string& content) {
    file("kubernetes/apps/" + ns + "/" + name + "/app/helmrelease.yaml", content);
  }
  // kubernetes/apps/<ns>/<name>/ks.yaml with `extra` appended under spec (indented 2).
  void ks(const std::string& ns, const std::string& name, const std::string& extra_spec = "",
          const std::string& extra_metadata = "") {
    file("kubernetes/apps/" + ns + "/" + name + "/ks.yaml",
         "---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  "
         "name: " +
             name + "\n  namespace: flux-system\n" + extra_metadata +
             "spec:\n  path: ./kubernetes/apps/" + ns + "/" + name +
             "/app\n  interval: 1h\n  targetNamespace: " + ns + "\n" + extra_spec);
  }

 private:
  fluxboot::testing::TempDir dir_;
  Config config_;
};

// A HelmRelease document named `name` with `body` appended (indented under spec:).
inline std::string hr(const std::string& name, const std::string& spec_body) {
  return "---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: " +
         name + "\nspec:\n  interval: 1h\n  chartRef:\n    kind: OCIRepository\n    name: " + name +
         "\n" + spec_body;
}

}  // namespace fluxboot::values::testing
