#pragma once
// Helm's releases as Helm itself stores them: one Secret per revision, `sh.helm.release.v1.<name>.v<N>`,
// labelled owner=helm, whose data.release is base64 of gzip of the release JSON (the same under helm
// 3 and helm 4). Read through the API client, so the apps stage needs no `helm list` / `helm get
// values` process and no knowledge of either helm's flags.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fluxboot/kube.hpp"

namespace fluxboot::stages {

struct HelmReleaseRecord {
  std::string name;
  std::string ns;
  int revision = 0;
  std::string status;         // deployed, failed, pending-install, pending-upgrade, superseded ...
  std::string chart;          // chart name
  std::string chart_version;
  nlohmann::json config;      // the user-supplied values (`helm get values`), {} when none
  // The newest earlier revision that was deployed (status deployed or superseded): where
  // `helm rollback` returns a release stuck in pending-*. 0 when it never deployed.
  int last_good_revision = 0;
  bool pending() const { return status.rfind("pending-", 0) == 0; }
};

// The latest revision of every release in the cluster. Secrets that do not decode are skipped.
std::vector<HelmReleaseRecord> latest_helm_releases(kube::Client& client, kube::Deadline deadline);

// The record of release ns/name in `records`, or nullptr.
const HelmReleaseRecord* find_release(const std::vector<HelmReleaseRecord>& records, const std::string& ns,
                                      const std::string& name);

// Decodes one release Secret's data.release (exposed for tests); throws std::runtime_error.
HelmReleaseRecord decode_helm_release(const std::string& data_release);

}  // namespace fluxboot::stages
