#pragma once
// `fluxboot layout`: what fluxboot detected in the repository (docs/layouts.md) and where each item
// came from — fluxboot.yaml, detected on disk, or the built-in default.
#include <cstdio>
#include <string>

#include "fluxboot/session.hpp"

namespace fluxboot::ops {

struct LayoutOptions {
  std::string output = "text";  // text | json
};

// Prints the layout of session.config to `out`. Exit 0 when every item the stages need was found,
// 3 (invalid input) when one is missing, with the candidates that were looked for and the
// fluxboot.yaml key that sets it. Reads only the file system.
int run_layout(Session& session, const LayoutOptions& options, std::FILE* out);

struct InitOptions {
  bool force = false;       // replace an existing fluxboot.yaml
  bool to_stdout = false;   // print instead of writing
};

// `fluxboot init`: writes <root>/fluxboot.yaml pinning every layout item that was detected (a
// commented line per item says where it came from and what else was looked for), with the other
// keys as comments. Refuses (exit 3) when fluxboot.yaml exists unless --force; the file written is
// read back with the same loader the other commands use before it replaces anything.
int run_init(Session& session, const InitOptions& options, std::FILE* out);

}  // namespace fluxboot::ops
