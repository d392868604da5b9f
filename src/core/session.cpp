#include "fluxboot/session.hpp"

#include <unistd.h>

#include <cstdlib>
#include <ctime>

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "fluxboot/error.hpp"
#include "fluxboot/gitops.hpp"

extern char** environ;

namespace fluxboot {

namespace {

std::string env_or(const char* name, const std::string& fallback = {}) {
  const char* v = std::getenv(name);
  return (v != nullptr && *v != '\0') ? std::string(v) : fallback;
}

// $XDG_STATE_HOME/fluxboot/logs (default ~/.local/state/fluxboot/logs); keeps the newest 20.
std::filesystem::path debug_log_file() {
  std::filesystem::path base;
  if (auto x = env_or("XDG_STATE_HOME"); !x.empty()) base = x;
  else if (auto h = env_or("HOME"); !h.empty()) base = std::filesystem::path(h) / ".local/state";
  else return {};
  auto dir = base / "fluxboot" / "logs";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return {};
  std::vector<std::filesystem::path> old;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec))
    if (e.path().extension() == ".log") old.push_back(e.path());
  std::sort(old.begin(), old.end());
  for (size_t i = 0; i + 20 < old.size(); ++i) std::filesystem::remove(old[i], ec);
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", &tm);
  return dir / fmt::format("fluxboot-{}-{}.log", buf, ::getpid());
}

}  // namespace

std::filesystem::path resolve_root(const std::string& flag) {
  std::error_code ec;
  if (!flag.empty()) {
    auto p = std::filesystem::absolute(flag, ec);
    if (ec || !std::filesystem::is_directory(p))
      throw InputError(fmt::format("--root {}: not a directory", flag));
    return std::filesystem::weakly_canonical(p);
  }
  auto cwd = std::filesystem::current_path();
  for (auto p = cwd; !p.empty(); p = p.parent_path()) {
    if (std::filesystem::exists(p / ".git", ec)) return p;
    if (p == p.parent_path()) break;
  }
  return cwd;
}

Session::Session(const GlobalOptions& g) : global(g) {
  if (g.log_format != "text" && g.log_format != "json")
    throw UsageError(fmt::format("--log-format must be text or json, not '{}'", g.log_format));

  ReporterOptions ro;
  ro.format = g.log_format == "json" ? LogFormat::Json : LogFormat::Text;
  ro.verbosity = g.quiet ? Verbosity::Quiet : (g.verbose > 0 ? Verbosity::Verbose : Verbosity::Normal);
  if (!g.no_debug_log && env_or("FLUXBOOT_NO_DEBUG_LOG").empty()) ro.debug_log = debug_log_file();
  reporter = std::make_unique<Reporter>(ro, redactor);

  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv = *e;
    auto eq = kv.find('=');
    if (eq != std::string::npos) options.env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }

  config = gitops::load_config(resolve_root(g.root), g.cluster);
  // The helmfile templates read the cluster from the environment (`requiredEnv "CLUSTER"`): set
  // it for every tool unless the user's environment already does (theirs wins, and is shown).
  for (const auto& name : config.cluster_env) {
    auto it = options.env.find(name);
    if (it == options.env.end()) options.env[name] = config.cluster;
    else if (it->second != config.cluster)
      reporter->warn("", fmt::format("{}={} in the environment, cluster {} selected: helmfile reads {}",
                                     name, it->second, config.cluster, it->second));
  }
  if (!g.layout_only && !config.clusters.empty() && !config.cluster.empty() &&
      std::find(config.clusters.begin(), config.clusters.end(), config.cluster) == config.clusters.end())
    throw InputError(fmt::format("cluster '{}' (from {}) is not in this repository: it holds {}", config.cluster,
                                 config.cluster_origin, fmt::join(config.clusters, ", ")));
  if (!g.layout_only && config.cluster.empty() && config.clusters.size() > 1)
    throw InputError(fmt::format(
        "this repository holds {} clusters ({}): choose one with --cluster NAME or `cluster:` in fluxboot.yaml",
        config.clusters.size(), fmt::join(config.clusters, ", ")));
  // Variables only the repository's templates read (GITHUB_DEPLOY_KEY for resources.yaml.j2, say)
  // are kept from every tool: a secret passed for a template must not sit in talosctl's, kubectl's
  // or helm's /proc/PID/environ. Names tools themselves read stay (docs/configuration.md).
  if (!g.layout_only) {
    auto tool_reads = [&](const std::string& name) {
      static const char* const exact[] = {"PATH", "HOME", "USER", "LOGNAME", "SHELL", "TMPDIR", "TERM", "LANG",
                                          "TZ", "KUBECONFIG", "TALOSCONFIG", "SSH_AUTH_SOCK", "GNUPGHOME",
                                          "NO_PROXY", "HTTP_PROXY", "HTTPS_PROXY", "no_proxy", "http_proxy",
                                          "https_proxy"};
      static const char* const prefixes[] = {"LC_", "XDG_", "SOPS_", "OP_", "HELM_", "HELMFILE_", "AGE_", "KUBE"};
      for (const char* e : exact)
        if (name == e) return true;
      for (const char* p : prefixes)
        if (name.rfind(p, 0) == 0) return true;
      return std::find(config.cluster_env.begin(), config.cluster_env.end(), name) != config.cluster_env.end();
    };
    for (const auto& name : gitops::template_env_names(config.root))
      if (!tool_reads(name) && options.env.count(name) != 0) options.template_only_env.push_back(name);
    if (!options.template_only_env.empty())
      reporter->debug("", fmt::format("not passed to tools (read only by templates): {}",
                                      fmt::join(options.template_only_env, ", ")));
  }
  options.dry_run = g.dry_run;
  options.strict = g.strict;
  if (!g.timeout.empty()) options.timeout = parse_duration(g.timeout, "--timeout");

  // kubeconfig/talosconfig: flag, then environment, then the repository default.
  auto pick = [&](const std::string& flag, const char* flag_name, const char* env,
                  const std::filesystem::path& def, std::string& source) {
    if (!flag.empty()) {
      source = flag_name;
      return std::filesystem::absolute(flag);
    }
    if (auto v = env_or(env); !v.empty()) {
      source = env;
      auto first = v.substr(0, v.find(':'));  // a KUBECONFIG list: fluxboot writes the first
      return std::filesystem::absolute(first);
    }
    source = "default";
    return config.abs(def);
  };
  options.kubeconfig = pick(g.kubeconfig, "--kubeconfig", "KUBECONFIG", config.paths.kubeconfig,
                            options.kubeconfig_source);
  options.talosconfig = pick(g.talosconfig, "--talosconfig", "TALOSCONFIG",
                             config.paths.talosconfig, options.talosconfig_source);
  reporter->debug("", fmt::format("root {}{}", config.root.string(),
                                  config.file ? " (config " + config.file->string() + ")" : ""));
  reporter->debug("", fmt::format("kubeconfig {} (from {})", options.kubeconfig.string(),
                                  options.kubeconfig_source));
  reporter->debug("", fmt::format("talosconfig {} (from {})", options.talosconfig.string(),
                                  options.talosconfig_source));

  real_ = process::make_real_runner();
  if (options.dry_run) {
    Reporter* rep = reporter.get();
    dry_ = process::make_dry_runner(*real_, [rep](const process::Command& cmd) {
      rep->planned("", cmd);
    });
  }
}

Session::~Session() = default;

process::Runner& Session::runner() { return dry_ ? *dry_ : *real_; }
process::Runner& Session::real_runner() { return *real_; }

int run_guarded(Reporter* reporter, const std::function<int()>& body) {
  auto report = [&](const std::string& msg) {
    if (reporter != nullptr) reporter->error(msg);
    else fmt::print(stderr, "error: {}\n", msg);
  };
  int code = 0;
  try {
    code = body();
  } catch (const Error& e) {
    report(e.what());
    code = static_cast<int>(e.code());
  } catch (const std::exception& e) {
    report(std::string("internal error: ") + e.what());
    code = 1;
  }
  if (code != 0 && reporter != nullptr && !reporter->debug_log_path().empty())
    fmt::print(stderr, "debug log: {}\n", reporter->debug_log_path().string());
  return code;
}

}  // namespace fluxboot
