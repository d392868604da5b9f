#pragma once
// SHA-256 through OpenSSL's libcrypto (EVP): the journal's stage-input hashes and Image Factory
// schematic IDs. One implementation for the product; the sim uses the same library.
#include <memory>
#include <string>
#include <string_view>

namespace fluxboot {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(std::string_view data);
  // Lower-case hex of the digest; finishes the hash (no update() afterwards).
  std::string hex();

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

std::string sha256_hex(std::string_view data);

}  // namespace fluxboot
