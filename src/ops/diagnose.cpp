// `fluxboot diagnose`: the Troubleshooting section of the design document as one bundle.
#include "fluxboot/diagnose.hpp"

#include <unistd.h>

#include <cstring>
#include <ctime>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "fluxboot/error.hpp"
#include "fluxboot/gitops.hpp"
#include "fluxboot/journal.hpp"
#include "fluxboot/session.hpp"
#include "fluxboot/values.hpp"
#include "fluxboot/version.hpp"
#include "ops/tar_gz.hpp"

namespace fluxboot::ops {

namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// "20250131-120003" (file names) or "2025-01-31T12:00:03Z" (README).
std::string utc_stamp(bool iso) {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  if (iso) std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  else std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", &tm);
  return buf;
}

struct Collection {
  std::string name;               // path in the bundle
  std::vector<std::string> args;  // kubectl arguments
  std::string why;                // the Troubleshooting question it answers
};

// The design document's Troubleshooting and Verification commands. Never `get secret -o yaml`:
// Secrets appear by name only.
std::vector<Collection> collections(const Config& c) {
  const std::string& ns = c.flux_namespace;
  const std::string& sel = c.flux_operator_selector;
  const std::string tail = "--tail=5000";
  return {
      {"cluster/version.txt", {"version"}, "client and server versions"},
      {"cluster/nodes.txt", {"get", "nodes", "-o", "wide"}, "nodes and their readiness"},
      {"flux/pods.txt", {"get", "pods", "-n", ns, "-o", "wide"}, "pods in " + ns},
      {"flux/flux-operator.describe.txt", {"describe", "pod", "-n", ns, "-l", sel}, "Flux Operator not starting"},
      {"flux/flux-operator.log",
       {"logs", "-n", ns, "-l", sel, "--all-containers", "--prefix", tail, "--max-log-requests=10"},
       "Flux Operator not starting"},
      {"flux/fluxinstance.describe.txt", {"describe", "fluxinstance", "-n", ns}, "FluxInstance not reconciling"},
      {"flux/fluxinstance.yaml", {"get", "fluxinstance", "-n", ns, "-o", "yaml"}, "FluxInstance spec and status"},
      {"flux/events.txt", {"get", "events", "-n", ns, "--sort-by=.lastTimestamp"}, "FluxInstance not reconciling"},
      {"flux/gitrepository.describe.txt", {"describe", "gitrepository", "-n", ns}, "GitRepository not syncing"},
      {"flux/gitrepositories.txt", {"get", "gitrepositories", "-A", "-o", "wide"}, "GitRepository status"},
      {"flux/source-controller.log",
       {"logs", "-n", ns, "deployment/source-controller", "--all-containers", tail},
       "GitRepository not syncing"},
      {"flux/kustomize-controller.log",
       {"logs", "-n", ns, "deployment/kustomize-controller", "--all-containers", tail},
       "SOPS decryption failing"},
      {"flux/helm-controller.log",
       {"logs", "-n", ns, "deployment/helm-controller", "--all-containers", tail}, "HelmReleases failing"},
      {"flux/kustomizations.txt", {"get", "kustomizations", "-A", "-o", "wide"}, "Kustomizations"},
      {"flux/helmreleases.txt", {"get", "helmreleases", "-A", "-o", "wide"}, "HelmReleases"},
      {"flux/secrets.txt", {"get", "secrets", "-n", ns, "-o", "name"}, "which bootstrap secrets exist (names only)"},
      {"flux/configmaps.txt", {"get", "configmaps", "-n", ns, "-o", "name"}, "which ConfigMaps exist (names only)"},
  };
}

// Secrets the design document's prerequisites name, and whether `secrets.txt` lists them.
std::string bootstrap_secret_report(const Config& c, const std::string& names) {
  std::set<std::string> listed;
  std::istringstream in(names);
  for (std::string line; std::getline(in, line);) listed.insert(line);
  std::string out = fmt::format("Bootstrap secrets in {} (names only; values are never collected):\n", c.flux_namespace);
  for (const char* want : {"sops-age", "github-deploy-key", "cluster-secrets"})
    out += fmt::format("  {:<20} {}\n", want, listed.count(std::string("secret/") + want) ? "present" : "MISSING");
  return out;
}

}  // namespace

size_t BundleResult::failed() const {
  size_t n = 0;
  for (const auto& e : entries) n += e.ok ? 0 : 1;
  return n;
}

fs::path default_bundle_path(const fs::path& dir) {
  return dir / ("fluxboot-diagnose-" + utc_stamp(false) + ".tar.gz");
}

void register_local_secrets(Context& ctx) {
  const Config& c = ctx.config;
  auto env = ctx.options.env;
  fs::path key = gitops::age_key(c, env).path;
  std::error_code ec;
  if (fs::is_regular_file(key, ec)) {
    std::string content = slurp(key);
    for (size_t pos = 0; (pos = content.find("AGE-SECRET-KEY-", pos)) != std::string::npos; ++pos) {
      size_t end = content.find_first_of(" \r\n", pos);
      ctx.redactor.add(content.substr(pos, end == std::string::npos ? std::string::npos : end - pos));
    }
  }
  fs::path tmpl = c.abs(c.paths.resources_template);
  if (fs::is_regular_file(tmpl, ec)) {
    try {
      auto rendered = gitops::render_template(slurp(tmpl), env, tmpl.string());
      for (const auto& s : gitops::secret_values(gitops::split_documents(rendered, tmpl.string()))) ctx.redactor.add(s);
    } catch (const std::exception&) {
      // Does not render here (an unset variable): nothing from it can have been applied by us.
    }
  }
  if (fs::is_regular_file(ctx.options.kubeconfig, ec)) {
    try {
      auto doc = values::parse_yaml(slurp(ctx.options.kubeconfig), values::Dialect::GoYamlV3,
                                    ctx.options.kubeconfig.string());
      if (doc.is_object() && doc.contains("users") && doc["users"].is_array())
        for (const auto& u : doc["users"]) {
          if (!u.is_object() || !u.contains("user") || !u["user"].is_object()) continue;
          for (const char* k : {"client-key-data", "token", "password"}) {
            std::string v = u["user"].value(k, "");
            if (v.empty()) continue;
            ctx.redactor.add(v);
            std::string decoded;
            if (std::string(k) == "client-key-data" && base64_decode(v, decoded)) ctx.redactor.add(decoded);
          }
        }
    } catch (const std::exception&) {
    }
  }
}

BundleResult write_diagnose_bundle(Context& ctx, const DiagnoseOptions& options) {
  const Config& c = ctx.config;
  BundleResult result;
  result.path = options.output.empty() ? default_bundle_path(fs::current_path()) : options.output;
  if (result.path.has_parent_path()) fs::create_directories(result.path.parent_path());
  std::string top = result.path.filename().string();
  for (const char* ext : {".tar.gz", ".tgz", ".tar"})
    if (top.size() > std::strlen(ext) && top.ends_with(ext)) top.resize(top.size() - std::strlen(ext));
  if (top.empty() || top[0] == '.') top = "fluxboot-diagnose";
  const std::time_t now = std::time(nullptr);
  std::vector<std::pair<std::string, std::string>> files;  // name → content

  auto record = [&](const std::string& name, const std::string& command, bool ok, std::string content,
                    std::string why = {}) {
    content = ctx.redactor.apply(content);
    why = ctx.redactor.apply(why);
    for (auto& ch : why)
      if (ch == '\n') ch = ' ';
    result.entries.push_back({ok ? name : name + ".error.txt", command, ok, content.size(), name, why});
    files.emplace_back(result.entries.back().name, std::move(content));
  };

  std::string previous_stage = ctx.stage;
  ctx.stage = "diagnose";
  std::error_code ec;
  std::string secret_names;
  if (!fs::is_regular_file(ctx.options.kubeconfig, ec)) {
    record("cluster", "", false,
           fmt::format("no kubeconfig at {} (from {}): the kubeconfig stage has not run, so there is no "
                       "cluster to collect from.\n",
                       ctx.options.kubeconfig.string(), ctx.options.kubeconfig_source),
           "no kubeconfig at " + ctx.options.kubeconfig.string());
  } else {
    for (const auto& col : collections(c)) {
      process::Command cmd;
      cmd.argv = {ctx.tool("kubectl")};
      cmd.argv.insert(cmd.argv.end(), col.args.begin(), col.args.end());
      cmd.argv.push_back("--request-timeout=20s");
      cmd.mutating = false;
      cmd.timeout = options.command_timeout;
      cmd.label = "kubectl " + col.args[0] + " (" + col.name + ")";
      std::vector<std::string> display = cmd.argv;
      display[0] = "kubectl";
      std::string shown = process::format_argv(display, &ctx.redactor);
      try {
        auto r = ctx.run(cmd);
        if (r.ok()) {
          if (col.name == "flux/secrets.txt") secret_names = r.out;
          record(col.name, shown, true, r.out.empty() ? "(no output)\n" : r.out);
        } else {
          std::string why = r.timed_out ? fmt::format("timed out after {}s", options.command_timeout.count() / 1000)
                                        : fmt::format("exited {}", r.exit_code);
          const std::string text = r.err.empty() ? r.out : r.err;
          record(col.name, shown, false, fmt::format("$ {}\nkubectl {} ({})\n\n{}\n", shown, why, col.why, text),
                 "kubectl " + why + (r.tail(1).empty() ? "" : ": " + r.tail(1)));
        }
      } catch (const InterruptedError&) {
        throw;
      } catch (const std::exception& e) {
        record(col.name, shown, false, fmt::format("$ {}\n{}\n", shown, e.what()), e.what());
      }
    }
    if (!secret_names.empty()) record("flux/bootstrap-secrets.txt", "", true, bootstrap_secret_report(c, secret_names));
  }

  // The journal and the debug logs of the latest runs (and any the caller names, e.g. this run's).
  std::set<fs::path> logs(options.extra_logs.begin(), options.extra_logs.end());
  if (fs::is_regular_file(journal_path(c.root), ec)) {
    record("fluxboot/state.json", "", true, slurp(journal_path(c.root)));
    try {
      auto state = load_journal(c.root);
      int taken = 0;
      for (auto it = state.runs.rbegin(); it != state.runs.rend() && taken < 3; ++it)
        if (!it->debug_log.empty()) {
          logs.insert(it->debug_log);
          ++taken;
        }
    } catch (const std::exception&) {
    }
  } else {
    record("fluxboot/state.json", "", false, "no run journal yet: no stage has run in this repository\n",
           "no run journal yet");
  }
  for (const auto& log : logs) {
    if (log.empty()) continue;
    if (fs::is_regular_file(log, ec)) record("fluxboot/logs/" + log.filename().string(), "", true, slurp(log));
    else record("fluxboot/logs/" + log.filename().string(), "", false, "debug log no longer exists: " + log.string() + "\n",
                "debug log no longer exists");
  }

  // README last: it lists everything above.
  std::string readme = fmt::format(
      "fluxboot diagnostics bundle\n\n"
      "written    {}\nfluxboot   {}\nrepository {}\nkubeconfig {} (from {})\n{}\n"
      "Secret values are never collected: Secrets are listed by name, and every file passed through\n"
      "fluxboot's redaction of the secrets it knows (age key, bootstrap resources, kubeconfig).\n\n"
      "{:<40} {:<6} {}\n",
      utc_stamp(true), kVersion, c.root.string(), ctx.options.kubeconfig.string(),
      ctx.options.kubeconfig_source, options.reason.empty() ? "" : "reason     " + options.reason + "\n", "FILE",
      "STATUS", "COMMAND");
  nlohmann::json manifest = nlohmann::json::array();
  for (const auto& e : result.entries) {
    readme += fmt::format("{:<40} {:<6} {}\n", e.name, e.ok ? "ok" : "FAILED", e.command);
    if (!e.ok) readme += fmt::format("{:<40}        {}\n", "", e.error);
    manifest.push_back({{"file", e.name}, {"ok", e.ok}, {"command", e.command}, {"bytes", e.bytes}, {"error", e.error}});
  }
  ctx.stage = previous_stage;

  fs::path tmp = result.path;
  tmp += fmt::format(".tmp-{}", ::getpid());
  try {
    TarGzWriter tar(tmp);
    tar.add_dir(top, now);
    tar.add_file(top + "/README.txt", readme, now);
    tar.add_file(top + "/manifest.json", manifest.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n", now);
    for (const auto& [name, content] : files) tar.add_file(top + "/" + name, content, now);
    tar.close();
  } catch (...) {
    fs::remove(tmp, ec);
    throw;
  }
  fs::rename(tmp, result.path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw StageError(fmt::format("cannot write {}: {}", result.path.string(), ec.message()));
  }
  return result;
}

int run_diagnose(Session& s, const DiagnoseOptions& options) {
  Context ctx(s.config, s.options, s.real_runner(), *s.reporter, s.redactor);
  if (auto kubectl = process::find_executable(s.config.tools.kubectl)) ctx.resolved_tools["kubectl"] = kubectl->string();
  register_local_secrets(ctx);
  DiagnoseOptions o = options;
  if (!s.reporter->debug_log_path().empty()) o.extra_logs.push_back(s.reporter->debug_log_path());
  auto result = write_diagnose_bundle(ctx, o);
  for (const auto& e : result.entries)
    if (!e.ok) s.reporter->warn("diagnose", fmt::format("{} not collected: {}", e.what, e.error));
  std::fprintf(stdout, "%s\n", result.path.string().c_str());
  std::fflush(stdout);
  s.reporter->info("diagnose", fmt::format("wrote {} ({} files, {} could not be collected)", result.path.string(),
                                           result.entries.size(), result.failed()));
  return 0;
}

}  // namespace fluxboot::ops
