#pragma once
// `fluxboot doctor`: a preflight checklist that catches the classic mistakes before anything
// changes — tools and versions, the repository layout, YAML that does not parse, releases whose
// values/chart/version do not resolve, helmfile/OCIRepository drift, release names Flux would not
// adopt, a Talos config that still runs its own CNI/kube-proxy/CoreDNS, a FluxInstance that would
// sync nothing, an age key that does not decrypt, and (unless --offline) whether the API server
// and the Git URL answer. Read-only: it runs `<tool> version` and `sops decrypt` (output discarded)
// and nothing else. docs/operator-guide.md lists every check with its pass/fail rule.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "fluxboot/context.hpp"
#include "fluxboot/session.hpp"

namespace fluxboot::ops {

enum class CheckStatus { Pass, Warn, Fail, Skip };
std::string_view to_string(CheckStatus s);  // "pass", "warn", "fail", "skip"

struct Check {
  std::string id;                    // stable, for scripts: "tool.helm", "drift", "talos-cni", …
  std::string title;                 // "helm", "helmfile vs OCIRepository versions"
  CheckStatus status = CheckStatus::Pass;
  std::string summary;               // one line: what was found
  std::vector<std::string> details;  // one line per problem (file:line: message)
  std::string advice;                // one line: what to do; empty when passing
};

struct DoctorReport {
  std::filesystem::path root;
  std::vector<Check> checks;
  bool ok() const;  // no check failed (warnings and skips are fine)
  size_t count(CheckStatus s) const;
  const Check* find(std::string_view id) const;
};

struct DoctorOptions {
  bool offline = false;                               // --offline: skip api-server and git-url
  std::string output = "text";                        // text | json
  std::chrono::milliseconds network_timeout{3000};    // connect and answer, per probe
  std::chrono::milliseconds tool_timeout{10000};      // per `<tool> version` / `sops decrypt`
};

// Runs every check. ctx.runner must be a real runner (doctor only runs read-only commands);
// `config_error` is the message when fluxboot.yaml could not be read (ctx.config then holds the
// defaults, and the config check fails). Never throws for what it checks.
DoctorReport run_doctor_checks(Context& ctx, const DoctorOptions& options, const std::string& config_error = {});

// "✓ title  summary" per check, details and "→ advice" indented below, a count line at the end.
std::string render_doctor_text(const DoctorReport& report, bool color);
// {"root","ok","summary":{"pass","warn","fail","skip"},"checks":[{"id","title","status","summary","details","advice"}]}
nlohmann::json doctor_json(const DoctorReport& report);

// `fluxboot doctor`: builds what it needs from the global flags — even when fluxboot.yaml is
// broken, which is then the first failed check — prints the report to `out`. Exit 0 when no check
// failed, 3 otherwise.
int run_doctor(const GlobalOptions& global, const DoctorOptions& options, std::FILE* out);

// Parses the first version ("v1.9.5", "3.17.0", "1.32") in a tool's `version` output.
struct ToolVersion {
  int major = -1, minor = -1, patch = -1;
  std::string text;  // as found, e.g. "v1.9.5"
  bool known() const { return major >= 0; }
};
ToolVersion parse_tool_version(std::string_view output);

// A TCP connection to host:port within `timeout` (ssh:// Git URLs; HTTP(S) goes through the kube
// module's client, so libcurl stays in src/kube). Empty string: connected; else why not.
std::string tcp_probe(const std::string& host, int port, std::chrono::milliseconds timeout);

}  // namespace fluxboot::ops
