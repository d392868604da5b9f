// fluxboot-sim serve: the background server process `up` starts. It runs the API server and the
// simulation until SIGTERM, and ends by itself when DIR/sim.pid stops naming it (the directory
// was deleted, or another `up` took over), when --watch-pid's process is gone, or after
// --max-lifetime, so that crashed tests leave nothing behind.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <iostream>

#include <fmt/format.h>

#include "fluxboot/duration.hpp"
#include "fluxboot/error.hpp"
#include "sim/api/api_server.hpp"
#include "sim/cluster_sim.hpp"
#include "sim/commands.hpp"
#include "sim/file_util.hpp"
#include "sim/pki.hpp"
#include "sim/scenario.hpp"
#include "sim/sim_paths.hpp"
#include "sim/simple_flags.hpp"

namespace fluxboot::sim {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

void log_line(const std::string& text) {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%H:%M:%S", &tm);
  std::cout << buf << " fluxboot-sim: " << text << std::endl;
}

}  // namespace

int serve_command(const std::vector<std::string>& args) {
  auto f = parse_flags(args, {{"dir", "port", "nodes", "max-lifetime", "watch-pid", "kubectl", "helm"}, {"bootstrapped"}, {}, {}});
  if (!f.has("dir")) throw UsageError("serve: --dir is required");
  SimDir dir(fs::absolute(f.get("dir")));
  const auto lifetime = parse_duration(f.get("max-lifetime", "2h"), "--max-lifetime");
  const int watch_pid = std::stoi(f.get("watch-pid", "0"));
  const int nodes = std::stoi(f.get("nodes", "0"));
  const pid_t self = ::getpid();

  // Signals are taken synchronously by this thread only: block them before any thread starts.
  sigset_t sigs;
  sigemptyset(&sigs);
  for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&sigs, s);
  ::pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  write_text_atomic(dir.pid_file(), fmt::format("{}\n", self));

  ClusterSimOptions opts;
  if (fs::exists(dir.scenario())) opts.scenario = parse_scenario(read_text(dir.scenario()));
  for (int i = 0; i < nodes; ++i) opts.initial_nodes.push_back(fmt::format("127.0.0.{}", 11 + i));
  opts.bootstrapped = f.flag("bootstrapped");
  PkiPaths pki(dir.pki());
  opts.kubeconfig.ca_pem = read_text(pki.ca_crt);
  opts.kubeconfig.client_crt_pem = read_text(pki.client_crt);
  opts.kubeconfig.client_key_pem = read_text(pki.client_key);

  ServerOptions so;
  so.bind = "127.0.0.1";
  so.port = std::stoi(f.get("port", "0"));
  so.cert_file = pki.server_crt.string();
  so.key_file = pki.server_key.string();
  so.client_ca_file = pki.ca_crt.string();
  so.request_log = dir.requests_log();
  ApiServer api(so);
  int port = 0;
  {
    ClusterSim sim(api, opts);
    sim.install();
    port = api.start();
    // ClusterSim reads the URL lazily; the server URL is known only now.
    sim.set_server_url(api.url());
    json info = {{"pid", self},
                 {"port", port},
                 {"url", api.url()},
                 {"dir", dir.root.string()},
                 {"kubectl", f.get("kubectl")},
                 {"helm", f.get("helm")},
                 {"startedAt", static_cast<long long>(std::time(nullptr))}};
    write_text_atomic(dir.info_file(), info.dump(2) + "\n");
    log_line(fmt::format("serving {} (pid {}, max lifetime {})", api.url(), self, format_duration(lifetime)));

    const auto started = std::chrono::steady_clock::now();
    std::string reason;
    while (reason.empty()) {
      timespec ts{1, 0};
      int sig = ::sigtimedwait(&sigs, nullptr, &ts);
      if (sig > 0) {
        reason = fmt::format("signal {}", sig);
      } else if (read_pid_file(dir.pid_file()) != self) {
        reason = fmt::format("{} no longer names this process", dir.pid_file().string());
      } else if (watch_pid > 0 && ::kill(watch_pid, 0) != 0 && errno == ESRCH) {
        reason = fmt::format("watched process {} is gone", watch_pid);
      } else if (std::chrono::steady_clock::now() - started > lifetime) {
        reason = fmt::format("max lifetime {} reached", format_duration(lifetime));
      }
    }
    log_line("stopping: " + reason);
    sim.stop();
    api.stop();
  }
  std::error_code ec;
  if (read_pid_file(dir.pid_file()) == self) {
    fs::remove(dir.info_file(), ec);
    fs::remove(dir.pid_file(), ec);
  }
  log_line("stopped");
  return 0;
}

}  // namespace fluxboot::sim
