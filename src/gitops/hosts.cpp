#include <arpa/inet.h>

#include <cctype>
#include <string>

#include "fluxboot/gitops.hpp"

namespace fluxboot::gitops {

namespace {

bool is_alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

// RFC 1123 label: letters, digits and '-', 1–63 characters, alphanumeric at both ends.
bool is_host_label(const std::string& label) {
  if (label.empty() || label.size() > 63) return false;
  if (!is_alnum(label.front()) || !is_alnum(label.back())) return false;
  for (char c : label) {
    if (!is_alnum(c) && c != '-') return false;
  }
  return true;
}

}  // namespace

bool is_dns1123_label(const std::string& name) {
  if (!is_host_label(name)) return false;
  for (char c : name) {
    if (std::isupper(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

bool is_ip_address(const std::string& address) {
  unsigned char buf[16];
  return ::inet_pton(AF_INET, address.c_str(), buf) == 1 || ::inet_pton(AF_INET6, address.c_str(), buf) == 1;
}

bool is_valid_host(const std::string& address) {
  if (address.empty() || address.size() > 253) return false;
  unsigned char buf[16];
  if (address.find(':') != std::string::npos) return ::inet_pton(AF_INET6, address.c_str(), buf) == 1;
  if (::inet_pton(AF_INET, address.c_str(), buf) == 1) return true;
  size_t start = 0;
  std::string last;
  while (true) {
    size_t dot = address.find('.', start);
    std::string label = address.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!is_host_label(label)) return false;
    last = label;
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  // An all-numeric last label means a mistyped IPv4 address (10.0.0.256), not a host name.
  bool numeric = true;
  for (char c : last) numeric = numeric && std::isdigit(static_cast<unsigned char>(c));
  return !numeric;
}

}  // namespace fluxboot::gitops
