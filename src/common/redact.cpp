#include "fluxboot/redact.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>

namespace fluxboot {

// Base64 through OpenSSL's libcrypto (EVP_EncodeBlock / EVP_DecodeBlock): Kubernetes Secret data
// and kubeconfig credentials.
std::string base64_encode(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(data.data()), static_cast<int>(data.size()));
  out.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  return out;
}

// Whitespace (line breaks in PEM-like values) is skipped; missing '=' padding is accepted, as
// Kubernetes clients write and read both.
bool base64_decode(std::string_view text, std::string& out) {
  out.clear();
  std::string in;
  in.reserve(text.size() + 3);
  for (char c : text)
    if (c != '\n' && c != '\r' && c != ' ' && c != '\t') in.push_back(c);
  std::size_t pad = 0;
  while (!in.empty() && in.back() == '=') {
    in.pop_back();
    ++pad;
  }
  if (pad > 2 || in.find('=') != std::string::npos || in.size() % 4 == 1) return false;
  if (in.empty()) return true;
  const std::size_t missing = (4 - in.size() % 4) % 4;
  in.append(missing, 'A');  // zero bits; the bytes they decode to are dropped below
  std::string buf(in.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(buf.data()),
                                reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  if (n < 0) return false;
  buf.resize(static_cast<std::size_t>(n) - missing);
  out = std::move(buf);
  return true;
}

void Redactor::add_one(std::string value) {
  while (!value.empty() && (value.back() == '\n' || value.back() == '\r' || value.back() == ' '))
    value.pop_back();
  if (value.size() < 4) return;
  if (std::find(secrets_.begin(), secrets_.end(), value) != secrets_.end()) return;
  secrets_.push_back(std::move(value));
}

void Redactor::add(std::string_view secret) {
  std::lock_guard lock(mu_);
  if (secret.size() < 4) return;
  add_one(std::string(secret));
  add_one(base64_encode(secret));
  // Each line on its own: tools print multi-line keys one line at a time.
  size_t start = 0;
  while (start < secret.size()) {
    size_t nl = secret.find('\n', start);
    if (nl == std::string_view::npos) nl = secret.size();
    std::string line(secret.substr(start, nl - start));
    // Lines of a PEM/age armour are what must not leak; short structural lines are kept.
    if (line.size() >= 8) add_one(line);
    start = nl + 1;
  }
  std::sort(secrets_.begin(), secrets_.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
}

std::string Redactor::apply(std::string_view text) const {
  std::lock_guard lock(mu_);
  std::string out(text);
  for (const auto& s : secrets_) {
    size_t pos = 0;
    while ((pos = out.find(s, pos)) != std::string::npos) {
      out.replace(pos, s.size(), kMask);
      pos += kMask.size();
    }
  }
  return out;
}

bool Redactor::empty() const {
  std::lock_guard lock(mu_);
  return secrets_.empty();
}

}  // namespace fluxboot
