#pragma once
// What the crds and apps stages share: the helmfile hand-off (values computed by fluxboot, not by
// the gotmpl lookup) and sops decryption through the process runner.
#include <memory>

#include "fluxboot/context.hpp"
#include "fluxboot/values.hpp"

namespace fluxboot::stages {

// Value-reader options wired to this run: --strict, sops via the runner, warnings to the reporter,
// decrypted secrets registered with the redactor.
values::Options value_options(Context& ctx);

// Derives the state file (generated values files are 0600 and removed by the Handoff). Warnings
// (drift, Go-template state files) are reported.
std::unique_ptr<values::Handoff> derive(Context& ctx, const std::filesystem::path& state_file);

// `helmfile --file <state> <args...>`.
process::Command helmfile_command(Context& ctx, const std::filesystem::path& state_file,
                                  std::vector<std::string> args);

}  // namespace fluxboot::stages
