#pragma once
// Shared by the kube unit tests and the kube benchmark: test certificates (made once per process
// with /usr/bin/openssl), the in-process simulated API server over mTLS, and kubeconfig text.
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "fluxboot/kube.hpp"
#include "fluxboot/redact.hpp"
#include "sim/api/api_server.hpp"
#include "support/test_support.hpp"

namespace fluxboot::kube::test {

namespace fs = std::filesystem;
using nlohmann::json;

inline std::string slurp(const fs::path& p) { return fluxboot::testing::read_file(p); }

// A CA, a server certificate (SAN IP:127.0.0.1, DNS:localhost, DNS:kubernetes), a client
// certificate CN=admin/O=system:masters, and a second, unrelated CA with its own client
// certificate (for the "wrong CA" and "wrong client certificate" cases). Made once per process.
struct Pki {
  fs::path dir;
  fs::path ca_crt, ca_key, server_crt, server_key, client_crt, client_key;
  fs::path other_ca_crt, other_client_crt, other_client_key;

  static const Pki& get() {
    static const Pki pki = make();
    return pki;
  }

 private:
  static void openssl(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"/usr/bin/openssl"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = fluxboot::testing::run(argv, {}, {}, {}, 60);
    if (r.exit_code != 0) throw std::runtime_error("openssl failed: " + r.err);
  }
  static void make_ca(const fs::path& crt, const fs::path& key, const std::string& cn) {
    openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", key.string(), "-out", crt.string(), "-days", "3650", "-subj", "/CN=" + cn});
  }
  static void make_leaf(const fs::path& dir, const std::string& name, const fs::path& ca_crt,
                        const fs::path& ca_key, const std::string& subj, const std::string& ext) {
    const fs::path key = dir / (name + ".key"), csr = dir / (name + ".csr"),
                   crt = dir / (name + ".crt"), extfile = dir / (name + ".ext");
    fluxboot::testing::write_file(extfile, ext);
    openssl({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", key.string(), "-out", csr.string(), "-subj", subj});
    openssl({"x509", "-req", "-in", csr.string(), "-CA", ca_crt.string(), "-CAkey", ca_key.string(),
             "-CAcreateserial", "-out", crt.string(), "-days", "3650", "-extfile",
             extfile.string()});
  }
  static Pki make() {
    std::string tmpl = (fs::temp_directory_path() / "fluxboot-kube-pki-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    Pki p;
    p.dir = tmpl;
    p.ca_crt = p.dir / "ca.crt";
    p.ca_key = p.dir / "ca.key";
    make_ca(p.ca_crt, p.ca_key, "fluxboot-test-ca");
    make_leaf(p.dir, "server", p.ca_crt, p.ca_key, "/CN=kube-apiserver",
              "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes\n"
              "extendedKeyUsage=serverAuth\n");
    make_leaf(p.dir, "client", p.ca_crt, p.ca_key, "/O=system:masters/CN=admin",
              "extendedKeyUsage=clientAuth\n");
    p.server_crt = p.dir / "server.crt";
    p.server_key = p.dir / "server.key";
    p.client_crt = p.dir / "client.crt";
    p.client_key = p.dir / "client.key";
    p.other_ca_crt = p.dir / "other-ca.crt";
    make_ca(p.other_ca_crt, p.dir / "other-ca.key", "someone-else-ca");
    make_leaf(p.dir, "other-client", p.other_ca_crt, p.dir / "other-ca.key",
              "/O=system:masters/CN=intruder", "extendedKeyUsage=clientAuth\n");
    p.other_client_crt = p.dir / "other-client.crt";
    p.other_client_key = p.dir / "other-client.key";
    // Removed when the test process exits.
    static const fs::path cleanup_dir = p.dir;
    std::atexit([] {
      std::error_code ec;
      fs::remove_all(cleanup_dir, ec);
    });
    return p;
  }
};

// The simulated API server, started on a free port. mtls=false serves TLS without asking for a
// client certificate (for token-only kubeconfigs).
class Sim {
 public:
  explicit Sim(bool mtls = true, bool deployment_pods_ready = true) {
    const Pki& pki = Pki::get();
    sim::ServerOptions o;
    o.cert_file = pki.server_crt.string();
    o.key_file = pki.server_key.string();
    if (mtls) o.client_ca_file = pki.ca_crt.string();
    o.deployment_pods_ready = deployment_pods_ready;
    server_ = std::make_unique<sim::ApiServer>(o);
    server_->start();
  }
  sim::ApiServer& api() { return *server_; }
  sim::ApiServer* operator->() { return server_.get(); }
  std::string url() const { return server_->url(); }
  int port() const { return server_->port(); }

  // Direct access (no kubeconfig) with the test CA and client certificate.
  ClusterAccess access() const;

  // The Flux kinds fluxboot reads (as a CRD would register them).
  void register_flux_types() {
    server_->register_type({"fluxcd.controlplane.io",
                            "v1",
                            "FluxInstance",
                            "fluxinstances",
                            "fluxinstance",
                            true,
                            {},
                            {"status"}});
    server_->register_type({"source.toolkit.fluxcd.io",
                            "v1",
                            "GitRepository",
                            "gitrepositories",
                            "gitrepository",
                            true,
                            {"gitrepo"},
                            {"status"}});
    server_->register_type({"kustomize.toolkit.fluxcd.io",
                            "v1",
                            "Kustomization",
                            "kustomizations",
                            "kustomization",
                            true,
                            {"ks"},
                            {"status"}});
    server_->register_type({"helm.toolkit.fluxcd.io",
                            "v2",
                            "HelmRelease",
                            "helmreleases",
                            "helmrelease",
                            true,
                            {"hr"},
                            {"status"}});
  }

 private:
  std::unique_ptr<sim::ApiServer> server_;
};

// The test CA and client certificate for `url`, as a kubeconfig with the data forms would give.
inline ClusterAccess access_for(const std::string& url) {
  const Pki& pki = Pki::get();
  ClusterAccess a;
  a.server = url;
  a.context = "sim";
  a.cluster = "sim";
  a.user = "admin";
  a.ca_pem = slurp(pki.ca_crt);
  a.client_cert_pem = slurp(pki.client_crt);
  a.client_key_pem = slurp(pki.client_key);
  a.auth = "client certificate";
  return a;
}

inline ClusterAccess Sim::access() const { return access_for(url()); }

inline json node(const std::string& name, const std::string& ip,
                 const std::string& ready = "False") {
  return {
      {"apiVersion", "v1"},
      {"kind", "Node"},
      {"metadata", {{"name", name}}},
      {"status",
       {{"addresses",
         {{{"type", "InternalIP"}, {"address", ip}}, {{"type", "Hostname"}, {"address", name}}}},
        {"conditions", {{{"type", "Ready"}, {"status", ready}, {"reason", "KubeletNotReady"}}}}}}};
}

inline json pod(const std::string& ns, const std::string& name, const json& labels, bool ready) {
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata", {{"namespace", ns}, {"name", name}, {"labels", labels}}},
          {"spec", {{"containers", {{{"name", "manager"}, {"image", "ghcr.io/x/y:1"}}}}}},
          {"status",
           {{"phase", ready ? "Running" : "Pending"},
            {"conditions",
             {{{"type", "Ready"},
               {"status", ready ? "True" : "False"},
               {"reason", ready ? "" : "ContainersNotReady"}}}},
            {"containerStatuses",
             {{{"name", "manager"},
               {"ready", ready},
               {"state", ready ? json{{"running", json::object()}}
                               : json{{"waiting",
                                       {{"reason", "ImagePullBackOff"},
                                        {"message", "Back-off pulling image"}}}}}}}}}}};
}

// A Flux object with a Ready condition (status "True", "False" or "Unknown").
inline json flux_object(const std::string& api_version, const std::string& kind,
                        const std::string& ns, const std::string& name, const std::string& ready,
                        const std::string& reason, const std::string& message,
                        const json& extra_status = json::object()) {
  json status = extra_status;
  status["conditions"] = {
      {{"type", "Ready"}, {"status", ready}, {"reason", reason}, {"message", message}}};
  return {{"apiVersion", api_version},
          {"kind", kind},
          {"metadata", {{"namespace", ns}, {"name", name}}},
          {"spec", json::object()},
          {"status", status}};
}

// Runs `fn` on another thread after `delay`; joined on destruction.
class After {
 public:
  template <typename F>
  After(std::chrono::milliseconds delay, F fn)
      : thread_([delay, fn = std::move(fn)]() mutable {
          std::this_thread::sleep_for(delay);
          fn();
        }) {}
  ~After() { thread_.join(); }
  After(const After&) = delete;
  After& operator=(const After&) = delete;

 private:
  std::thread thread_;
};

inline Deadline in(std::chrono::milliseconds d) { return Clock::now() + d; }

}  // namespace fluxboot::kube::test
