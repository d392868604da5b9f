#include <string>

#include "fluxboot/process.hpp"
#include "fluxboot/redact.hpp"

namespace fluxboot::process {

namespace {

bool is_safe(char c) {
  if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '_': case '@': case '%': case '+': case '=': case ':': case ',': case '.': case '/':
    case '-':
      return true;
    default:
      return false;
  }
}

}  // namespace

std::string shell_quote(std::string_view word) {
  if (word.empty()) return "''";
  bool safe = true;
  for (char c : word) safe = safe && is_safe(c);
  if (safe) return std::string(word);
  std::string out = "'";
  for (char c : word) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  out += '\'';
  return out;
}

std::string format_argv(const std::vector<std::string>& argv, const Redactor* redactor) {
  std::string out;
  for (const auto& word : argv) {
    if (!out.empty()) out += ' ';
    // Mask before quoting: quoting would split a secret containing a quote and hide it from
    // the redactor.
    out += redactor != nullptr ? shell_quote(redactor->apply(word)) : shell_quote(word);
  }
  return out;
}

}  // namespace fluxboot::process
