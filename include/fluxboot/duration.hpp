#pragma once
#include <chrono>
#include <string>
#include <string_view>

namespace fluxboot {

using Millis = std::chrono::milliseconds;

// Parses Go-style durations: "90s", "10m", "1h30m", "500ms", "2m30s". A bare number means seconds.
// Throws InputError (naming `what`) on anything else, negative or empty values.
Millis parse_duration(std::string_view text, std::string_view what = "duration");

// "850ms", "12s", "3m05s", "1h02m".
std::string format_duration(Millis d);

}  // namespace fluxboot
