#include "fluxboot/status.hpp"

#include <cstdlib>

#include "fluxboot/session.hpp"

namespace fluxboot::ops {

namespace {

// The kubeconfig files as kubectl would read them: an explicit --kubeconfig (or the repository
// default) is one file; KUBECONFIG may list several, merged.
kube::KubeconfigSelection selection_for(const Session& session, const std::string& context) {
  kube::KubeconfigSelection sel;
  sel.context = context;
  if (session.options.kubeconfig_source == "KUBECONFIG") {
    auto it = session.options.env.find("KUBECONFIG");
    const char* env = std::getenv("KUBECONFIG");
    const std::string list = it != session.options.env.end() ? it->second : (env ? env : "");
    if (!list.empty()) return kube::select_kubeconfig({}, list, {}, context);
  }
  sel.files.push_back(session.options.kubeconfig);
  return sel;
}

}  // namespace

int run_status(Session& session, const StatusOptions& options, std::FILE* out) {
  const std::string context = options.context.empty() ? session.global.context : options.context;
  // Read-only: the exec plugin (if any) runs through the real runner even with --dry-run.
  kube::ClusterAccess access =
      kube::load_kubeconfig(selection_for(session, context), &session.real_runner());
  for (const auto& secret : access.secrets()) session.redactor.add(secret);

  kube::ClientOptions client_options;
  if (Reporter* reporter = session.reporter.get())
    client_options.debug = [reporter](const std::string& line) { reporter->debug("status", line); };
  kube::Client client(std::move(access), client_options);

  const auto timeout = session.options.timeout ? *session.options.timeout : options.timeout;
  const auto deadline = kube::Clock::now() + timeout;
  StatusTarget target;
  target.flux_namespace = session.config.flux_namespace;
  target.flux_instance = session.config.flux_instance;
  const StatusReport report = collect_status(client, target, deadline);

  const std::string text =
      options.output == "json" ? status_json(report).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n" : render_status_table(report);
  std::fputs(text.c_str(), out);
  std::fflush(out);
  return report.ok() ? 0 : 1;
}

}  // namespace fluxboot::ops
