// Doctor checks that touch the network: the API server and the Git URL, only those, with short
// timeouts, and only without --offline. HTTP(S) goes through the kube module's client (libcurl
// stays in src/kube); ssh:// URLs get a plain TCP connect (tcp_probe.cpp).
#include <fmt/format.h>

#include "fluxboot/kube.hpp"
#include "fluxboot/values.hpp"
#include "ops/doctor_checks.hpp"

namespace fluxboot::ops::doctor {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

kube::ClientOptions probe_options(const DoctorOptions& o) {
  kube::ClientOptions co;
  co.connect_timeout = o.network_timeout;
  co.request_timeout = o.network_timeout;
  co.max_attempts = 1;
  co.user_agent = "fluxboot-doctor";
  return co;
}

// Where the API server will be before there is a kubeconfig: talconfig.yaml's endpoint, else the
// first control plane on 6443.
std::string expected_endpoint(DoctorRun& run) {
  const Config& c = run.ctx.config;
  std::error_code ec;
  fs::path tc = c.abs(c.paths.talconfig);
  if (fs::is_regular_file(tc, ec)) {
    try {
      auto j = values::parse_yaml(slurp(tc), values::Dialect::GoYamlV3, tc.string());
      if (const json* e = at(j, {"endpoint"}); e && e->is_string() && !e->get<std::string>().empty())
        return e->get<std::string>();
    } catch (const std::exception&) {
    }
  }
  if (const auto* nodes = run.inventory())
    for (const auto& n : *nodes)
      if (n.control_plane)
        return n.address.find(':') != std::string::npos ? fmt::format("https://[{}]:6443", n.address)
                                                        : fmt::format("https://{}:6443", n.address);
  return {};
}

std::string one_line(std::string s) {
  for (auto& ch : s)
    if (ch == '\n') ch = ' ';
  return s;
}

}  // namespace

void check_api_server(DoctorRun& run) {
  Check& k = run.add("api-server", "Kubernetes API server reachable");
  if (run.options.offline) {
    k.status = CheckStatus::Skip;
    k.summary = "skipped (--offline)";
    return;
  }
  const auto& opts = run.ctx.options;
  std::error_code ec;
  const bool have_kubeconfig = fs::is_regular_file(opts.kubeconfig, ec);
  kube::ClusterAccess access;
  try {
    if (have_kubeconfig) {
      kube::KubeconfigSelection sel;
      sel.files = {opts.kubeconfig};
      access = kube::load_kubeconfig(sel, &run.ctx.runner);
      for (const auto& s : access.secrets()) run.ctx.redactor.add(s);
    } else {
      access.server = expected_endpoint(run);
      // Only "does something answer there": no credentials exist yet, so no identity to verify.
      access.insecure_skip_tls_verify = true;
      access.auth = "no credentials";
    }
  } catch (const std::exception& e) {
    k.status = CheckStatus::Fail;
    k.summary = "the kubeconfig cannot be used";
    k.details.push_back(e.what());
    k.advice = "fetch it again: fluxboot kubeconfig";
    return;
  }
  if (access.server.empty()) {
    k.status = CheckStatus::Skip;
    k.summary = "no kubeconfig and no endpoint in talconfig.yaml: nothing to probe";
    return;
  }
  const auto deadline = kube::Clock::now() + run.options.network_timeout + std::chrono::seconds(1);
  try {
    kube::Client client(access, probe_options(run.options));
    auto r = client.request("GET", "/readyz", {}, {}, deadline, false);
    if (r.status == 200) {
      k.summary = fmt::format("{} is ready (/readyz 200)", access.server);
    } else if (!have_kubeconfig) {
      k.summary = fmt::format("{} answers (HTTP {}; no kubeconfig yet)", access.server, r.status);
    } else {
      k.status = CheckStatus::Warn;
      k.summary = fmt::format("{} answers /readyz with HTTP {}", access.server, r.status);
      k.advice = r.status == 401 || r.status == 403 ? "the kubeconfig's credentials are refused: fetch it again (fluxboot kubeconfig)"
                                                    : "the API server is not ready yet; fluxboot's wait stage waits for it";
    }
  } catch (const InterruptedError&) {
    throw;
  } catch (const std::exception& e) {
    if (have_kubeconfig) {
      k.status = CheckStatus::Fail;
      k.summary = fmt::format("{} is not reachable", access.server);
      k.advice = "check the network path to the control plane, or fetch the kubeconfig again";
    } else {
      k.status = CheckStatus::Warn;
      k.summary = fmt::format("{} is not reachable (expected before the k8s stage bootstraps etcd)", access.server);
      k.advice = "if the cluster is already bootstrapped, check the network path to the control plane";
    }
    k.details.push_back(one_line(e.what()));
  }
}

void check_git_url(DoctorRun& run) {
  Check& k = run.add("git-url", "Git URL reachable");
  if (run.options.offline) {
    k.status = CheckStatus::Skip;
    k.summary = "skipped (--offline)";
    return;
  }
  ReleaseInfo* fi = run.flux_instance();
  const json* sync = fi && fi->values ? at(fi->values->values, {"instance", "sync"}) : nullptr;
  std::string url = sync && at(*sync, {"url"}) && at(*sync, {"url"})->is_string() ? at(*sync, {"url"})->get<std::string>() : "";
  std::string pull = sync && at(*sync, {"pullSecret"}) && at(*sync, {"pullSecret"})->is_string()
                         ? at(*sync, {"pullSecret"})->get<std::string>()
                         : "";
  if (url.empty() || url.find("${") != std::string::npos) {
    k.status = CheckStatus::Skip;
    k.summary = "no resolved FluxInstance sync URL (see the flux-sync check)";
    return;
  }
  const auto scheme_end = url.find("://");
  const std::string scheme = scheme_end == std::string::npos ? "" : url.substr(0, scheme_end);
  if (scheme == "ssh") {
    // ssh://[user@]host[:port]/path
    std::string rest = url.substr(scheme_end + 3);
    rest = rest.substr(0, rest.find('/'));
    if (auto at_sign = rest.find('@'); at_sign != std::string::npos) rest = rest.substr(at_sign + 1);
    int port = 22;
    std::string host = rest;
    if (!rest.empty() && rest[0] == '[') {
      auto close = rest.find(']');
      host = rest.substr(1, close - 1);
      if (close + 1 < rest.size() && rest[close + 1] == ':') port = std::atoi(rest.c_str() + close + 2);
    } else if (auto colon = rest.rfind(':'); colon != std::string::npos) {
      host = rest.substr(0, colon);
      port = std::atoi(rest.c_str() + colon + 1);
    }
    std::string err = tcp_probe(host, port, run.options.network_timeout);
    if (err.empty()) {
      k.summary = fmt::format("{}: {}:{} accepts connections (ssh; the deploy key is checked by Flux)", url, host, port);
    } else {
      k.status = CheckStatus::Fail;
      k.summary = fmt::format("{}: cannot connect to {}:{}", url, host, port);
      k.details.push_back(err);
      k.advice = "check the URL and that this network can reach the Git host (Flux in the cluster must too)";
    }
    return;
  }
  if (scheme != "https" && scheme != "http") {
    k.status = CheckStatus::Skip;
    k.summary = fmt::format("{}: not an http(s) or ssh URL (see the flux-sync check)", url);
    return;
  }
  std::string base = url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  kube::ClusterAccess access;
  access.server = base;
  access.auth = "no credentials";
  const auto deadline = kube::Clock::now() + run.options.network_timeout + std::chrono::seconds(1);
  try {
    kube::Client client(access, probe_options(run.options));
    // Git's smart-HTTP discovery: what `git clone` asks first.
    auto r = client.request("GET", "/info/refs?service=git-upload-pack", {}, {}, deadline, false);
    if (r.status >= 200 && r.status < 400) {
      k.summary = fmt::format("{} answers as a Git repository (HTTP {})", url, r.status);
    } else if ((r.status == 401 || r.status == 403 || r.status == 404) && !pull.empty()) {
      k.summary = fmt::format("{} needs credentials (HTTP {}); Flux uses pullSecret {}", url, r.status, pull);
    } else if (r.status == 401 || r.status == 403 || r.status == 404) {
      k.status = CheckStatus::Fail;
      k.summary = fmt::format("{} answers HTTP {}: no such repository, or a private one", url, r.status);
      k.advice = "fix instance.sync.url, or give a private repository a pullSecret (or use ssh:// with a deploy key)";
    } else {
      k.status = CheckStatus::Warn;
      k.summary = fmt::format("{} answers HTTP {}", url, r.status);
      k.advice = "check the URL in a browser or with git ls-remote";
    }
  } catch (const InterruptedError&) {
    throw;
  } catch (const std::exception& e) {
    k.status = CheckStatus::Fail;
    k.summary = fmt::format("{} is not reachable", url);
    k.details.push_back(one_line(e.what()));
    k.advice = "check the URL and that this network can reach the Git host (Flux in the cluster must too)";
  }
}

}  // namespace fluxboot::ops::doctor
