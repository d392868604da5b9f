#include "fluxboot/stages.hpp"

#include "stages/stage_factories.hpp"

namespace fluxboot::stages {

// The bootstrap order. Written down here and nowhere else.
StageList all() {
  StageList list;
  list.push_back(make_talos_stage());
  list.push_back(make_k8s_stage());
  list.push_back(make_kubeconfig_stage());
  list.push_back(make_wait_stage());
  list.push_back(make_namespaces_stage());
  list.push_back(make_resources_stage());
  list.push_back(make_crds_stage());
  list.push_back(make_apps_stage());
  return list;
}

}  // namespace fluxboot::stages
