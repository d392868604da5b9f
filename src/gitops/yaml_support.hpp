#pragma once
// Internal to src/gitops: the yaml-cpp helpers every reader shares (file loading with
// file:line:col errors, marks, key suggestions, display paths). Never include from a public header.
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace fluxboot::gitops::detail {

// Reads a whole file; throws InputError naming `display` when it cannot be read.
std::string read_text(const std::filesystem::path& file, const std::string& display);

// Parses one YAML document; a syntax error becomes InputError "display:LINE:COL: message".
// `first_line` is the 1-based line of `text` within its file (for documents cut from a stream).
YAML::Node parse_yaml(const std::string& text, const std::string& display, int first_line = 1);

// Parses every document of a stream (marks are stream-relative); same error format.
// Both refuse a mapping key defined twice, as go-yaml does ("display:LINE:COL: mapping key "k"
// already defined"), unless `duplicates_ok` (fluxboot.yaml's loader reports them itself, all at once).
std::vector<YAML::Node> parse_yaml_all(const std::string& text, const std::string& display, bool duplicates_ok = false);

// map[key] without yaml-cpp's trap: a missing key on a const node yields an "invalid" node whose
// Type()/IsScalar() throw. Returns an Undefined node when `map` is not a mapping or lacks `key`.
YAML::Node child(const YAML::Node& map, const std::string& key);

// 1-based line of a parsed node, 0 when yaml-cpp has no mark for it.
int line_of(const YAML::Node& node);
// "display:LINE" (or just "display" when the line is unknown).
std::string where(const std::string& display, const YAML::Node& node);
std::string where(const std::string& display, int line);

// "string", "list", "mapping", "null" — for type errors.
std::string type_name(const YAML::Node& node);

// The known key closest to `key` when it is close enough to be a typo (case ignored), else "".
std::string closest(std::string_view key, const std::vector<std::string>& known);
// "unknown <what> 'key' <in>, did you mean 'x'? (known: a, b)" — the one wording for typos.
std::string unknown_key_message(std::string_view what, std::string_view key, std::string_view in,
                                const std::vector<std::string>& known);
// "a, b, c"
std::string join(const std::vector<std::string>& items, std::string_view sep = ", ");

// `p` relative to `root` when it lies inside it (for messages), else `p` itself.
std::string display_path(const std::filesystem::path& root, const std::filesystem::path& p);

}  // namespace fluxboot::gitops::detail
