#pragma once
// `fluxboot diagnose`: the design document's Troubleshooting commands, run once and packed into a
// .tar.gz with fluxboot's journal and debug log — the one file to attach to a bug report or a CI
// run. Collection is read-only kubectl (argv only); a collection that fails is recorded in the
// bundle as <name>.error.txt and never stops the others. Secret values never enter the bundle:
// Secrets are listed by name only, and every collected text passes through the Redactor.
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "fluxboot/context.hpp"

namespace fluxboot {
class Session;
}

namespace fluxboot::ops {

struct DiagnoseOptions {
  std::filesystem::path output;                       // empty: default_bundle_path(cwd)
  std::chrono::milliseconds command_timeout{30000};   // per kubectl call
  std::string reason;                                 // recorded in README.txt
  std::vector<std::filesystem::path> extra_logs;      // debug logs to include besides the journal's
};

struct BundleEntry {
  std::string name;      // path inside the bundle (<what>.error.txt when it failed)
  std::string command;   // what produced it (display form), empty for files copied
  bool ok = true;        // false: the content is the error
  size_t bytes = 0;
  std::string what;      // the collection's name (name without .error.txt)
  std::string error;     // failed: one line saying why
};

struct BundleResult {
  std::filesystem::path path;
  std::vector<BundleEntry> entries;
  size_t failed() const;
};

// "<dir>/fluxboot-diagnose-YYYYmmdd-HHMMSS.tar.gz" (UTC).
std::filesystem::path default_bundle_path(const std::filesystem::path& dir);

// Collects and writes the bundle (0600; written to a temporary name and renamed). Throws
// StageError only when the bundle file itself cannot be written; InterruptedError on Ctrl-C.
BundleResult write_diagnose_bundle(Context& ctx, const DiagnoseOptions& options);

// `fluxboot diagnose`: prints the bundle path (stdout) and a line per failed collection. Exit 0
// when the bundle was written, whatever the collections found.
int run_diagnose(Session& session, const DiagnoseOptions& options);

// Registers with ctx.redactor every secret value fluxboot can find locally: the age key, the
// Secret values of the rendered resources template, and the kubeconfig's credentials. Best
// effort (a template that does not render is skipped).
void register_local_secrets(Context& ctx);

}  // namespace fluxboot::ops
