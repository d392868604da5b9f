#include "fluxboot/redact.hpp"

#include <algorithm>
#include <array>

namespace fluxboot {

namespace {
constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
}

std::string base64_encode(std::string_view data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    unsigned n = (static_cast<unsigned char>(data[i]) << 16) |
                 (static_cast<unsigned char>(data[i + 1]) << 8) |
                 static_cast<unsigned char>(data[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  if (i < data.size()) {
    unsigned n = static_cast<unsigned char>(data[i]) << 16;
    if (i + 1 < data.size()) n |= static_cast<unsigned char>(data[i + 1]) << 8;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += (i + 1 < data.size()) ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

bool base64_decode(std::string_view text, std::string& out) {
  std::array<int, 256> rev{};
  rev.fill(-1);
  for (size_t i = 0; i < kAlphabet.size(); ++i) rev[static_cast<unsigned char>(kAlphabet[i])] = static_cast<int>(i);
  out.clear();
  unsigned buf = 0;
  int bits = 0;
  size_t pad = 0;
  for (char c : text) {
    if (c == '\n' || c == '\r' || c == ' ' || c == '\t') continue;
    if (c == '=') {
      ++pad;
      continue;
    }
    if (pad > 0) return false;
    int v = rev[static_cast<unsigned char>(c)];
    if (v < 0) return false;
    buf = (buf << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buf >> bits) & 0xFF);
    }
  }
  return pad <= 2;
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
