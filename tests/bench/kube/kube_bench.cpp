// Kubernetes API client benchmark (docs/benchmarks.md, "Kubernetes API client"), against the
// in-process simulated API server over mTLS:
//   1. flip → notice: a FluxInstance's Ready condition flips in the sim; how long until observe()
//      sees it (median of --flips), and the same for `kubectl wait` (flip → process exit).
//   2. the wait stage + apps readiness checks when everything is already true (pure overhead):
//      wait_api_ready + wait_nodes_registered(3) + wait_ready(operator pods, FluxInstance), vs the
//      kubectl commands the recipes run.
//   3. the same while it happens: nodes register at +300/+600 ms, the operator pod and the
//      FluxInstance become Ready at +1200 ms; wall time of both ways.
//   4. one GET on a kept-alive connection vs a new client (TLS handshake) each time.
// Usage: fluxboot_bench_kube [--flips N] [--runs N] [--kubectl PATH]
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <mutex>
#include <thread>

#include "unit/kube/kube_fixture.hpp"

namespace {

using namespace std::chrono_literals;
using namespace fluxboot;
using namespace fluxboot::kube;
using Ms = std::chrono::duration<double, std::milli>;
namespace fs = std::filesystem;

const std::string kFluxApi = "fluxcd.controlplane.io/v1";

struct Stats {
  double median = 0, p90 = 0, min = 0, max = 0;
  std::size_t n = 0;
};

Stats stats(std::vector<double> v) {
  Stats s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  s.n = v.size();
  s.median = v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
  s.p90 = v[std::min(v.size() - 1, static_cast<std::size_t>(0.9 * static_cast<double>(v.size())))];
  s.min = v.front();
  s.max = v.back();
  return s;
}

std::string show(const Stats& s) {
  return fmt::format("median {:.1f} ms, p90 {:.1f}, min {:.1f}, max {:.1f} (n={})", s.median, s.p90,
                     s.min, s.max, s.n);
}

std::string kubeconfig_for(const std::string& url) {
  const auto& pki = test::Pki::get();
  return "apiVersion: v1\nkind: Config\ncurrent-context: sim\n"
         "clusters:\n- name: sim\n  cluster:\n    server: " +
         url + "\n    certificate-authority-data: " + base64_encode(test::slurp(pki.ca_crt)) +
         "\n"
         "contexts:\n- name: sim\n  context: {cluster: sim, user: admin}\n"
         "users:\n- name: admin\n  user:\n"
         "    client-certificate-data: " +
         base64_encode(test::slurp(pki.client_crt)) +
         "\n"
         "    client-key-data: " +
         base64_encode(test::slurp(pki.client_key)) + "\n";
}

struct Kubectl {
  std::string bin;
  fs::path kubeconfig;
  fs::path cache;
  testing::RunResult run(std::vector<std::string> args) const {
    args.insert(args.begin(), {bin, "--kubeconfig", kubeconfig.string()});
    return testing::run(args, {{"KUBECACHEDIR", cache.string()}}, {}, {}, 120);
  }
};

void put_instance(sim::ApiServer& api, const std::string& ready) {
  api.put(test::flux_object(
      kFluxApi, "FluxInstance", "flux-system", "flux", ready,
      ready == "True" ? "ReconciliationSucceeded" : "Progressing",
      ready == "True" ? "Reconciliation finished" : "Reconciliation in progress"));
}

void set_ready(sim::ApiServer& api, bool ready) {
  api.set_condition(kFluxApi, "FluxInstance", "flux-system", "flux", "Ready",
                    ready ? "True" : "False", ready ? "ReconciliationSucceeded" : "Progressing",
                    "flip");
}

// ---- 1. flip → notice ----

Stats client_flip_latency(int flips) {
  test::Sim sim;
  sim.register_flux_types();
  put_instance(sim.api(), "False");
  Client client(sim.access());

  std::vector<double> samples;
  std::atomic<int> flipped{-1};  // index of the last flip issued
  std::atomic<int> noticed{-1};
  std::vector<Clock::time_point> flip_at(static_cast<std::size_t>(flips));
  std::mutex mu;
  std::thread flipper([&] {
    std::this_thread::sleep_for(200ms);  // the watch is open
    for (int i = 0; i < flips; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10 + (i * 7) % 20));
      {
        std::lock_guard lock(mu);
        flip_at[static_cast<std::size_t>(i)] = Clock::now();
      }
      flipped = i;
      set_ready(sim.api(), i % 2 == 0);
      const auto until = Clock::now() + 2s;
      while (noticed < i && Clock::now() < until) std::this_thread::sleep_for(100us);
    }
  });
  observe(
      client,
      {Query{resource_path(kFluxApi, "fluxinstances", "flux-system"), {"", "metadata.name=flux"}}},
      [&](const std::vector<ObjectMap>& maps) {
        const int i = flipped.load();
        if (i < 0 || maps[0].empty()) return false;
        const json* c = find_condition(maps[0].begin()->second, "Ready");
        const bool ready = c && c->value("status", "") == "True";
        if (ready == (i % 2 == 0) && noticed < i) {
          const auto now = Clock::now();
          std::lock_guard lock(mu);
          samples.push_back(Ms(now - flip_at[static_cast<std::size_t>(i)]).count());
          noticed = i;
        }
        return noticed >= flips - 1;
      },
      Clock::now() + 120s);
  flipper.join();
  return stats(samples);
}

// kubectl wait --for=condition=Ready fluxinstance/flux, with the flip 1 s after the start: the
// time from the flip to the process exiting.
Stats kubectl_flip_latency(const Kubectl& kubectl_base, int runs) {
  test::Sim sim;
  sim.register_flux_types();
  testing::TempDir dir;
  Kubectl kubectl = kubectl_base;
  kubectl.kubeconfig = dir / "kubeconfig";
  kubectl.cache = dir / "cache";
  testing::write_file(kubectl.kubeconfig, kubeconfig_for(sim.url()));
  std::vector<double> samples;
  for (int i = 0; i < runs; ++i) {
    put_instance(sim.api(), "False");
    Clock::time_point flip;
    std::thread flipper([&] {
      std::this_thread::sleep_for(1000ms);
      flip = Clock::now();
      set_ready(sim.api(), true);
    });
    auto r = kubectl.run({"wait", "--for=condition=Ready", "-n", "flux-system", "fluxinstance/flux",
                          "--timeout=30s"});
    const auto done = Clock::now();
    flipper.join();
    if (r.exit_code != 0) throw std::runtime_error("kubectl wait failed: " + r.err);
    samples.push_back(Ms(done - flip).count());
  }
  return stats(samples);
}

// ---- 2 and 3: the wait stage and the apps readiness checks ----

void seed_ready(sim::ApiServer& api) {
  for (int i = 0; i < 3; ++i)
    api.put(test::node(fmt::format("k8s-{}", i), fmt::format("10.0.0.1{}", i)));
  api.put(test::pod("flux-system", "flux-operator-abc", {{"app", "flux-operator"}}, true));
  put_instance(api, "True");
}

void client_way(const fs::path& kubeconfig, const std::vector<std::string>& nodes) {
  ClusterAccess access = load_kubeconfig({{kubeconfig}, ""}, nullptr);
  Client client(std::move(access));
  const auto deadline = Clock::now() + 60s;
  wait_api_ready(client, deadline);
  wait_nodes_registered(client, nodes, deadline);
  wait_ready(client,
             {ObjectRef::pods("flux-system", "app=flux-operator"),
              ObjectRef::named("fluxinstance", kFluxApi, "fluxinstances", "flux-system", "flux")},
             deadline);
}

// What the recipes and the design document run: /readyz, node registration (`kubectl wait --all`
// fails at once while no node exists, so it is retried after 1 s — the recipes sleep 5 s), then the
// operator pods and the FluxInstance.
void kubectl_way(const Kubectl& kubectl) {
  for (;;) {
    auto r = kubectl.run({"get", "--raw", "/readyz"});
    if (r.exit_code == 0) break;
    std::this_thread::sleep_for(1s);
  }
  for (;;) {
    // Registration, not readiness: nodes are NotReady without a CNI.
    auto r = kubectl.run({"get", "nodes", "-o", "name"});
    std::size_t count = static_cast<std::size_t>(std::count(r.out.begin(), r.out.end(), '\n'));
    if (r.exit_code == 0 && count >= 3) break;
    std::this_thread::sleep_for(1s);
  }
  for (;;) {
    auto r = kubectl.run({"wait", "--for=condition=ready", "pod", "-l", "app=flux-operator", "-n",
                          "flux-system", "--timeout=300s"});
    if (r.exit_code == 0) break;
    std::this_thread::sleep_for(1s);  // "no matching resources found": not created yet
  }
  auto r = kubectl.run({"wait", "--for=condition=ready", "fluxinstance/flux", "-n", "flux-system",
                        "--timeout=300s"});
  if (r.exit_code != 0) throw std::runtime_error("kubectl wait fluxinstance failed: " + r.err);
}

template <typename F>
Stats time_runs(int runs, F fn) {
  std::vector<double> samples;
  for (int i = 0; i < runs; ++i) {
    const auto t0 = Clock::now();
    fn();
    samples.push_back(Ms(Clock::now() - t0).count());
  }
  return stats(samples);
}

struct Env {
  test::Sim sim;
  testing::TempDir dir;
  Kubectl kubectl;
  Env(const std::string& kubectl_bin) {
    sim.register_flux_types();
    kubectl = {kubectl_bin, dir / "kubeconfig", dir / "cache"};
    testing::write_file(kubectl.kubeconfig, kubeconfig_for(sim.url()));
  }
};

const std::vector<std::string> kNodes = {"k8s-0", "k8s-1", "k8s-2"};

// Scenario 3: everything appears while we wait.
template <typename F>
Stats time_dynamic(const std::string& kubectl_bin, int runs, F way) {
  std::vector<double> samples;
  for (int i = 0; i < runs; ++i) {
    Env env(kubectl_bin);
    env.sim->put(test::node("k8s-0", "10.0.0.10"));  // the API is up, one node is already there
    const auto t0 = Clock::now();
    std::thread script([&] {
      std::this_thread::sleep_for(300ms);
      env.sim->put(test::node("k8s-1", "10.0.0.11"));
      std::this_thread::sleep_for(300ms);
      env.sim->put(test::node("k8s-2", "10.0.0.12"));
      std::this_thread::sleep_for(300ms);
      put_instance(env.sim.api(), "Unknown");
      env.sim->put(
          test::pod("flux-system", "flux-operator-abc", {{"app", "flux-operator"}}, false));
      std::this_thread::sleep_for(300ms);
      env.sim->put(test::pod("flux-system", "flux-operator-abc", {{"app", "flux-operator"}}, true));
      set_ready(env.sim.api(), true);
    });
    way(env);
    samples.push_back(Ms(Clock::now() - t0).count());
    script.join();
  }
  return stats(samples);
}

}  // namespace

int main(int argc, char** argv) {
  int flips = 50;
  int runs = 15;
  std::string kubectl_bin = std::string(FLUXBOOT_TOOLS_BIN_DIR) + "/kubectl";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--flips")) flips = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--runs")) runs = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--kubectl")) kubectl_bin = argv[i + 1];
  }
  const bool have_kubectl = fs::exists(kubectl_bin);
  try {
    std::cout << "fluxboot_bench_kube: flips=" << flips << " runs=" << runs
              << " kubectl=" << (have_kubectl ? kubectl_bin : "(not found, skipped)") << "\n\n";

    std::cout << "1. flip -> notice (FluxInstance Ready condition)\n";
    std::cout << "   client (observe/watch):        " << show(client_flip_latency(flips)) << "\n";
    if (have_kubectl)
      std::cout << "   kubectl wait (flip -> exit):   "
                << show(kubectl_flip_latency({kubectl_bin, {}, {}}, std::max(3, runs / 3))) << "\n";

    std::cout << "\n2. wait stage + apps readiness, everything already true (3 nodes, operator "
                 "pod, FluxInstance)\n";
    {
      Env env(kubectl_bin);
      seed_ready(env.sim.api());
      std::cout << "   client (load kubeconfig, /readyz, nodes, pods+instance): "
                << show(time_runs(runs, [&] { client_way(env.kubectl.kubeconfig, kNodes); }))
                << "\n";
      if (have_kubectl) {
        env.kubectl.run({"get", "--raw", "/readyz"});  // warm the discovery cache
        std::cout << "   kubectl (get --raw /readyz, get nodes, wait pod, wait fluxinstance): "
                  << show(time_runs(runs, [&] { kubectl_way(env.kubectl); })) << "\n";
      }
    }

    std::cout << "\n3. the same while it happens (nodes at +300/+600 ms, operator pod and "
                 "FluxInstance Ready at +1200 ms)\n";
    const int dyn_runs = std::max(3, runs / 3);
    std::cout << "   client:  " << show(time_dynamic(kubectl_bin, dyn_runs, [](Env& env) {
      client_way(env.kubectl.kubeconfig, kNodes);
    })) << "\n";
    if (have_kubectl)
      std::cout << "   kubectl: " << show(time_dynamic(kubectl_bin, dyn_runs, [](Env& env) {
        kubectl_way(env.kubectl);
      })) << "\n";

    std::cout << "\n4. one GET /api/v1/namespaces/default (mTLS)\n";
    {
      test::Sim sim;
      Client reused(sim.access());
      reused.get("/api/v1/namespaces/default");
      std::cout << "   reused connection:           "
                << show(time_runs(100, [&] { reused.get("/api/v1/namespaces/default"); })) << "\n";
      std::cout << "   new client (TLS handshake):  " << show(time_runs(100, [&] {
        Client fresh(sim.access());
        fresh.get("/api/v1/namespaces/default");
      })) << "\n";
    }
  } catch (const std::exception& e) {
    std::cerr << "fluxboot_bench_kube: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
