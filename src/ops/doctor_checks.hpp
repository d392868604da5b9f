#pragma once
// What the doctor's checks share: the repository read once (helmfile states, computed values,
// inventory, rendered resources) and the tool versions. Internal to src/ops.
#include <map>
#include <optional>
#include <set>

#include "fluxboot/doctor.hpp"
#include "fluxboot/gitops.hpp"
#include "fluxboot/values.hpp"
#include "ops/helmfile_state.hpp"

namespace fluxboot::ops::doctor {

struct ToolInfo {
  std::string name;
  std::string path;       // empty: not found
  ToolVersion version;
  std::string error;      // version command failed
};

struct ReleaseInfo {
  values::ReleaseRef ref;
  const StateRelease* in_state = nullptr;
  std::string state_name;                     // "00-crds.yaml" / "01-apps.yaml"
  bool apps = false;                          // from the apps helmfile (installed, adopted by Flux)
  std::optional<values::ComputedValues> values;
  std::string values_error;
  std::optional<values::Chart> chart;         // from the OCIRepository / HelmRepository
  std::string chart_error;
  // No HelmRelease in the repository (a CRD-only chart): helmfile's own values and chart apply,
  // and nothing is computed for it (docs/layouts.md).
  bool helmfile_only = false;
};

class DoctorRun {
 public:
  DoctorRun(Context& context, const DoctorOptions& opts) : ctx(context), options(opts) {}

  Context& ctx;
  const DoctorOptions& options;
  std::vector<Check> checks;

  std::string rel(const std::filesystem::path& p) const;
  Check& add(std::string id, std::string title);

  // Lazily computed shared inputs.
  const ToolInfo& tool(const std::string& name);
  const std::optional<HelmfileState>& state(bool apps);
  const std::string& state_error(bool apps);
  std::vector<ReleaseInfo>& releases();
  const std::vector<NodeSpec>* inventory(std::string* error = nullptr);
  const std::vector<gitops::YamlDocument>* resources(std::string* error = nullptr);
  std::filesystem::path age_key_path() const;
  std::vector<std::filesystem::path> sops_files();
  const std::set<std::filesystem::path>& decrypted() const { return decrypted_; }
  // The flux-instance release of the apps helmfile, when there is one.
  ReleaseInfo* flux_instance();
  ReleaseInfo* release_with_chart(const std::string& chart_basename);

 private:
  std::map<std::string, ToolInfo> tools_;
  std::optional<HelmfileState> states_[2];
  std::string state_errors_[2];
  bool states_read_[2] = {false, false};
  std::optional<std::vector<ReleaseInfo>> releases_;
  std::optional<std::vector<NodeSpec>> inventory_;
  std::string inventory_error_;
  bool inventory_read_ = false;
  std::optional<std::vector<gitops::YamlDocument>> resources_;
  std::string resources_error_;
  bool resources_read_ = false;
  std::optional<std::vector<std::filesystem::path>> sops_files_;
  std::set<std::filesystem::path> decrypted_;
};

// The checks, in report order (doctor_tools.cpp, doctor_repo.cpp, doctor_network.cpp).
void check_config(DoctorRun& run, const std::string& config_error);
void check_tools(DoctorRun& run);
void check_helm_features(DoctorRun& run);
void check_layout(DoctorRun& run);
void check_yaml(DoctorRun& run);
void check_inventory(DoctorRun& run);
void check_resources(DoctorRun& run);
void check_releases(DoctorRun& run);
void check_release_names(DoctorRun& run);
void check_drift(DoctorRun& run);
void check_talos_cni(DoctorRun& run);
void check_schematic_pins(DoctorRun& run);  // only shown when an installer image pins an ID
void check_flux_sync(DoctorRun& run);
void check_age_key(DoctorRun& run);
void check_sops_decrypt(DoctorRun& run);
void check_talosconfig(DoctorRun& run);
void check_kubeconfig(DoctorRun& run);
void check_api_server(DoctorRun& run);
void check_git_url(DoctorRun& run);

std::string slurp(const std::filesystem::path& p);
// Walks a value by keys; nullptr when absent.
const nlohmann::json* at(const nlohmann::json& j, std::initializer_list<const char*> keys);
bool truthy(const nlohmann::json* v);  // true, "true", "strict"

}  // namespace fluxboot::ops::doctor
