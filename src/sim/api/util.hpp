#pragma once
// Small helpers shared by the API server's files: identifiers, time, base64, hashing.
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace fluxboot::sim::api {

using json = nlohmann::json;

std::string new_uid();                    // random RFC 4122 v4 UUID
std::string random_suffix(std::size_t n);  // n chars from Kubernetes' safe alphabet (no vowels)
std::string now_rfc3339();                 // "2025-01-02T03:04:05Z"
// Seconds since the RFC 3339 timestamp, or -1 when unparsable.
long long age_seconds(const std::string& rfc3339);
std::string human_age(long long seconds);  // "5s", "3m", "2h", "4d"

std::string base64_encode(std::string_view in);
// Ignores whitespace; returns false on invalid input.
bool base64_decode(std::string_view in, std::string& out);

std::uint64_t fnv1a64(std::string_view data);
// A short, stable, DNS-safe hash string (like pod-template-hash).
std::string safe_hash(std::string_view data, std::size_t length = 10);

// Returns obj[a][b]... or nullptr when a step is missing or not an object.
const json* find_path(const json& obj, std::initializer_list<std::string_view> path);
std::string string_at(const json& obj, std::initializer_list<std::string_view> path,
                      const std::string& fallback = "");

std::string to_lower(std::string s);

}  // namespace fluxboot::sim::api
