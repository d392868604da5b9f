#pragma once
#include <memory>

#include "fluxboot/stage.hpp"

namespace fluxboot::stages {
std::unique_ptr<Stage> make_talos_stage();       // apply_talos_config.cpp
std::unique_ptr<Stage> make_k8s_stage();         // bootstrap_etcd.cpp
std::unique_ptr<Stage> make_kubeconfig_stage();  // fetch_kubeconfig.cpp
std::unique_ptr<Stage> make_wait_stage();        // wait_for_nodes.cpp
std::unique_ptr<Stage> make_namespaces_stage();  // apply_namespaces.cpp
std::unique_ptr<Stage> make_resources_stage();   // apply_resources.cpp
std::unique_ptr<Stage> make_crds_stage();        // apply_crds.cpp
std::unique_ptr<Stage> make_apps_stage();        // install_apps.cpp
}  // namespace fluxboot::stages
