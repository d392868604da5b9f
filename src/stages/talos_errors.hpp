#pragma once
// Classifying talosctl's error text. talosctl has no machine-readable errors; these are the
// gRPC status texts Talos prints (siderolabs/talos pkg/cluster/bootstrap.go retries the same set).
#include <string_view>

namespace fluxboot::stages {

// The node left maintenance mode and now demands mTLS: its config was applied before.
bool is_certificate_required(std::string_view text);
// `talosctl bootstrap` on a node whose etcd already exists.
bool is_already_exists(std::string_view text);
// Worth another attempt: the node is booting, rebooting or briefly unreachable.
bool is_transient_talos_error(std::string_view text);

}  // namespace fluxboot::stages
