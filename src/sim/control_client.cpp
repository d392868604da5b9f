#include "sim/control_client.hpp"

#include <httplib.h>

#include <fmt/format.h>

#include "fluxboot/error.hpp"
#include "sim/pki.hpp"

namespace fluxboot::sim {

ControlClient::ControlClient(const SimDir& dir) : dir_(dir) {
  auto info = read_sim_info(dir);
  if (!info || !info->contains("port"))
    throw StageError(fmt::format("no simulated cluster is running in {} (run `fluxboot-sim up --dir {}`)",
                                 dir.root.string(), dir.root.string()));
  port_ = (*info)["port"].get<int>();
}

namespace {

nlohmann::json decode(const httplib::Result& res, const std::string& path, int port) {
  if (!res)
    throw StageError(fmt::format("simulated cluster at 127.0.0.1:{} unreachable ({} {}): is it running?",
                                 port, path, httplib::to_string(res.error())));
  nlohmann::json body;
  try {
    body = nlohmann::json::parse(res->body.empty() ? "null" : res->body);
  } catch (const std::exception&) {
    body = res->body;
  }
  if (res->status >= 400) {
    std::string msg = body.is_object() && body.contains("error") ? body["error"].get<std::string>() : res->body;
    throw StageError(fmt::format("simulated cluster: {} answered {}: {}", path, res->status, msg));
  }
  return body;
}

std::unique_ptr<httplib::SSLClient> client(const SimDir& dir, int port) {
  PkiPaths pki(dir.pki());
  auto cli = std::make_unique<httplib::SSLClient>("127.0.0.1", port, pki.client_crt.string(), pki.client_key.string());
  cli->set_ca_cert_path(pki.ca_crt.string().c_str());
  cli->enable_server_certificate_verification(true);
  cli->set_connection_timeout(5, 0);
  cli->set_read_timeout(60, 0);
  return cli;
}

}  // namespace

nlohmann::json ControlClient::get(const std::string& path) const {
  auto cli = client(dir_, port_);
  return decode(cli->Get(path.c_str()), path, port_);
}

nlohmann::json ControlClient::post(const std::string& path, const nlohmann::json& body) const {
  return post_text(path, body.dump(), "application/json");
}

nlohmann::json ControlClient::post_text(const std::string& path, const std::string& body,
                                        const std::string& content_type) const {
  auto cli = client(dir_, port_);
  return decode(cli->Post(path.c_str(), body, content_type.c_str()), path, port_);
}

}  // namespace fluxboot::sim
