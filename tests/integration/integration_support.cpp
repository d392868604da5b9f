#include "integration/integration_support.hpp"

#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <thread>
#include <sstream>

namespace fluxboot::testing {

namespace {

nlohmann::json crd(const std::string& group, const std::string& kind, const std::string& plural) {
  std::string singular = kind;
  for (auto& ch : singular) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return {{"apiVersion", "apiextensions.k8s.io/v1"},
          {"kind", "CustomResourceDefinition"},
          {"metadata", {{"name", plural + "." + group}}},
          {"spec",
           {{"group", group},
            {"scope", "Namespaced"},
            {"names", {{"kind", kind}, {"plural", plural}, {"singular", singular}}},
            {"versions", {{{"name", "v1"}, {"served", true}, {"storage", true}}}}}}};
}

}  // namespace

FakeCluster::FakeCluster(const std::string& fixture) {
  repo_ = tmp_.path() / "repo";
  if (fixture.empty()) copy_tree(FLUXBOOT_EXAMPLE_DIR, repo_);
  else materialize_fixture(fixture, repo_);
  std::filesystem::create_directories(fake_dir());
  std::filesystem::create_directories(tmp_.path() / "out");

  api_ = std::make_unique<fluxboot::sim::ApiServer>(fluxboot::sim::ServerOptions{});
  api_->start();
  for (const char* addr : {"127.0.0.11", "127.0.0.12", "127.0.0.13"})
    api_->put({{"apiVersion", "v1"},
               {"kind", "Node"},
               {"metadata", {{"name", std::string("node-") + addr}}},
               {"status",
                {{"addresses", {{{"type", "InternalIP"}, {"address", addr}}}},
                 {"conditions", {{{"type", "Ready"}, {"status", "False"}}}}}}});
  api_->put({{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "flux-system"}}}});
  api_->put({{"apiVersion", "v1"},
             {"kind", "Pod"},
             {"metadata",
              {{"name", "flux-operator-0"},
               {"namespace", "flux-system"},
               {"labels", {{"app.kubernetes.io/name", "flux-operator"}}}}},
             {"spec", {{"containers", {{{"name", "manager"}, {"image", "flux-operator"}}}}}}});
  api_->patch_status("v1", "Pod", "flux-system", "flux-operator-0",
                     {{"phase", "Running"}, {"conditions", {{{"type", "Ready"}, {"status", "True"}}}}});
  api_->put(crd("cert-manager.io", "Certificate", "certificates"));
  api_->put(crd("fluxcd.controlplane.io", "FluxInstance", "fluxinstances"));
  api_->put({{"apiVersion", "fluxcd.controlplane.io/v1"},
             {"kind", "FluxInstance"},
             {"metadata", {{"name", "flux"}, {"namespace", "flux-system"}}},
             {"spec", {{"distribution", {{"version", "2.x"}}}}}});
  set_flux_instance("True", "ReconciliationSucceeded", "Reconciliation finished");
}

FakeCluster::~FakeCluster() { api_->stop(); }

void FakeCluster::set_flux_instance(const std::string& ready, const std::string& reason,
                                    const std::string& message, bool stalled) {
  nlohmann::json conds = {{{"type", "Ready"}, {"status", ready}, {"reason", reason}, {"message", message}}};
  if (stalled) conds.push_back({{"type", "Stalled"}, {"status", "True"}, {"reason", reason}, {"message", message}});
  auto obj = api_->get("fluxcd.controlplane.io/v1", "FluxInstance", "flux-system", "flux");
  long long gen = obj ? obj->value("/metadata/generation"_json_pointer, 1LL) : 1;
  api_->patch_status("fluxcd.controlplane.io/v1", "FluxInstance", "flux-system", "flux",
                     {{"observedGeneration", gen}, {"conditions", conds}});
}

void FakeCluster::inject(const std::string& name, const std::string& content) const {
  write_file(fake_dir() / name, content);
}

std::map<std::string, std::string> FakeCluster::env() const {
  const char* path = std::getenv("PATH");
  return {{"PATH", std::string(FLUXBOOT_FAKES_DIR) + ":" + (path ? path : "/usr/bin:/bin")},
          {"FAKE_DIR", fake_dir().string()},
          {"FAKE_API_SERVER", api_->url()},
          {"FLUXBOOT_NO_DEBUG_LOG", "1"},
          {"KUBECONFIG", ""},
          {"TALOSCONFIG", ""},
          {"HOME", tmp_.path().string()}};
}

RunResult FakeCluster::fluxboot(std::vector<std::string> args, std::map<std::string, std::string> extra,
                                const std::string& path_override) const {
  std::vector<std::string> argv = {FLUXBOOT_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back("--root");
  argv.push_back(repo_.string());
  argv.push_back("--kubeconfig");
  argv.push_back(kubeconfig().string());
  auto e = env();
  if (!path_override.empty()) e["PATH"] = path_override;
  for (const auto& [k, v] : extra) e[k] = v;
  return run(argv, e, repo_, {}, 120);
}

std::vector<std::vector<std::string>> FakeCluster::calls() const {
  std::vector<std::vector<std::string>> out;
  std::istringstream in(read_file(fake_dir() / "calls.log"));
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> words;
    std::string w;
    std::istringstream ls(line);
    while (std::getline(ls, w, '\t')) words.push_back(w);
    out.push_back(words);
  }
  return out;
}

size_t FakeCluster::count_calls(const std::string& tool, const std::string& word) const {
  size_t n = 0;
  for (const auto& c : calls()) {
    if (c.empty() || c[0] != tool) continue;
    if (word.empty()) {
      ++n;
      continue;
    }
    for (size_t i = 1; i < c.size(); ++i)
      if (c[i] == word) {
        ++n;
        break;
      }
  }
  return n;
}

bool process_alive(int pid) {
  // A zombie counts as gone: in a container PID 1 may never reap orphans. SIGKILL delivery is
  // asynchronous, so give it a moment.
  for (int i = 0; i < 100; ++i) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    if (!stat) return false;
    std::string text;
    std::getline(stat, text);
    auto paren = text.rfind(')');
    if (paren == std::string::npos || paren + 2 >= text.size()) return false;
    char state = text[paren + 2];
    if (state == 'Z' || state == 'X') return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

}  // namespace fluxboot::testing
