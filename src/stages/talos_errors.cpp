#include "stages/talos_errors.hpp"

#include <array>

namespace fluxboot::stages {

bool is_certificate_required(std::string_view text) {
  return text.find("certificate required") != std::string_view::npos;
}

bool is_already_exists(std::string_view text) {
  return text.find("AlreadyExists") != std::string_view::npos ||
         text.find("etcd data directory is not empty") != std::string_view::npos;
}

bool is_transient_talos_error(std::string_view text) {
  if (is_certificate_required(text)) return false;  // code = Unavailable too, but final
  static constexpr std::array<std::string_view, 10> kTransient = {
      "code = Unavailable",  "code = DeadlineExceeded", "code = Canceled",
      "code = FailedPrecondition", "connection refused", "connection reset",
      "i/o timeout",         "no route to host",        "EOF",
      "context deadline exceeded"};
  for (auto t : kTransient)
    if (text.find(t) != std::string_view::npos) return true;
  return false;
}

}  // namespace fluxboot::stages
