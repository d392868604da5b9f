#pragma once
// SHA-256 (FIPS 180-4) for the journal's stage-input hashes. In-process so the core needs no
// crypto library; not used for anything security-relevant beyond "did these bytes change".
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace fluxboot::ops {

class Sha256 {
 public:
  Sha256();
  void update(std::string_view data);
  // Finishes the hash; the object must not be updated afterwards.
  std::array<std::uint8_t, 32> digest();
  // Lower-case hex of digest().
  std::string hex();

 private:
  void block(const std::uint8_t* p);
  std::array<std::uint32_t, 8> h_;
  std::array<std::uint8_t, 64> buf_{};
  std::size_t used_ = 0;
  std::uint64_t total_ = 0;
};

std::string sha256_hex(std::string_view data);

}  // namespace fluxboot::ops
