#include "stages/kube_access.hpp"

#include <cstdlib>

namespace fluxboot::stages {

kube::Client make_kube_client(Context& ctx, bool after_interrupt) {
  const char* home = std::getenv("HOME");
  auto selection = kube::select_kubeconfig(ctx.options.kubeconfig, "", home ? home : "");
  auto access = kube::load_kubeconfig(selection, &ctx.runner);
  for (const auto& s : access.secrets()) ctx.redactor.add(s);
  kube::ClientOptions options;
  Reporter* reporter = &ctx.reporter;
  std::string stage = ctx.stage;
  options.debug = [reporter, stage](const std::string& line) { reporter->debug(stage, line); };
  options.after_interrupt = after_interrupt;
  return kube::Client(std::move(access), options);
}

kube::Progress progress_for(Context& ctx) {
  Reporter* reporter = &ctx.reporter;
  std::string stage = ctx.stage;
  auto t0 = std::chrono::steady_clock::now();
  return [reporter, stage, t0](const std::string& message) {
    auto elapsed = std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - t0);
    reporter->progress(stage, message + " (" + format_duration(elapsed) + ")");
  };
}

}  // namespace fluxboot::stages
