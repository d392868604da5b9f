#pragma once
// Masks secret values in any text that leaves the process (logs, plans, JSON events, errors).
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace fluxboot {

class Redactor {
 public:
  static constexpr std::string_view kMask = "<redacted>";
  // Registers a secret. Values shorter than 4 characters are ignored (masking "a" would mask
  // every "a"); each line of a multi-line secret, and its base64 form, are registered too.
  void add(std::string_view secret);
  // Returns text with every registered secret replaced by kMask. Thread-safe.
  std::string apply(std::string_view text) const;
  bool empty() const;

 private:
  void add_one(std::string value);
  mutable std::mutex mu_;
  std::vector<std::string> secrets_;  // longest first, so overlapping secrets mask fully
};

std::string base64_encode(std::string_view data);
// Returns false on malformed input.
bool base64_decode(std::string_view text, std::string& out);

}  // namespace fluxboot
