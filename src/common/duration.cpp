#include "fluxboot/duration.hpp"

#include <cctype>
#include <fmt/format.h>

#include "fluxboot/error.hpp"

namespace fluxboot {

Millis parse_duration(std::string_view text, std::string_view what) {
  auto fail = [&]() -> InputError {
    return InputError(fmt::format(
        "invalid {} \"{}\": expected a duration such as 90s, 10m, 1h30m or 500ms", what, text));
  };
  if (text.empty()) throw fail();
  bool all_digits = true;
  for (char c : text) all_digits = all_digits && std::isdigit(static_cast<unsigned char>(c));
  if (all_digits) {
    if (text.size() > 9) throw fail();
    return std::chrono::seconds(std::stoll(std::string(text)));
  }
  double total_ms = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
      ++i;
    if (start == i || i - start > 12) throw fail();
    double value = 0;
    try {
      value = std::stod(std::string(text.substr(start, i - start)));
    } catch (...) {
      throw fail();
    }
    size_t ustart = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    std::string_view unit = text.substr(ustart, i - ustart);
    if (unit == "ms") total_ms += value;
    else if (unit == "s") total_ms += value * 1000;
    else if (unit == "m") total_ms += value * 60'000;
    else if (unit == "h") total_ms += value * 3'600'000;
    else throw fail();
  }
  if (total_ms > 1e12) throw fail();
  return Millis(static_cast<long long>(total_ms));
}

std::string format_duration(Millis d) {
  long long ms = d.count();
  if (ms < 0) ms = 0;
  if (ms < 1000) return fmt::format("{}ms", ms);
  long long s = ms / 1000;
  if (s < 60) {
    if (ms < 10'000) return fmt::format("{:.1f}s", static_cast<double>(ms) / 1000.0);
    return fmt::format("{}s", s);
  }
  long long m = s / 60;
  if (m < 60) return fmt::format("{}m{:02}s", m, s % 60);
  return fmt::format("{}h{:02}m", m / 60, m % 60);
}

}  // namespace fluxboot
