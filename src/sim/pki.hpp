#pragma once
// Certificates of a simulated cluster, made with OpenSSL's C API (EC P-256, valid one year):
// a CA, a server certificate for 127.0.0.1/localhost and a client certificate CN=admin,
// O=system:masters. Private keys are written 0600.
#include <filesystem>
#include <string>

namespace fluxboot::sim {

struct PkiPaths {
  std::filesystem::path ca_crt, ca_key, server_crt, server_key, client_crt, client_key;
  explicit PkiPaths(const std::filesystem::path& dir)
      : ca_crt(dir / "ca.crt"), ca_key(dir / "ca.key"), server_crt(dir / "server.crt"),
        server_key(dir / "server.key"), client_crt(dir / "client.crt"), client_key(dir / "client.key") {}
};

// Creates `dir` (0700) and writes all six files, replacing old ones. Throws std::runtime_error
// with OpenSSL's reason on failure.
void generate_pki(const std::filesystem::path& dir);

std::string base64_encode(const std::string& data);
std::string sha256_hex(const std::string& data);

}  // namespace fluxboot::sim
