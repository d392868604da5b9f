#pragma once
// Internals of the value reader shared by its .cpp files. yaml-cpp appears only here and in
// src/values/*.cpp.
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fluxboot/values.hpp"

namespace fluxboot::values::detail {

using nlohmann::json;
namespace fs = std::filesystem;

// Whole file as text; InputError "<what>: <path> not found" / "cannot read".
std::string read_text(const fs::path& path);
// The path relative to `root` when below it (for messages), else as is.
std::string display_path(const fs::path& path, const fs::path& root);

// A YAML node as the parser reported it (yaml-cpp's event API; its Node API is not used for
// reading because LoadAll never ends on a stray top-level ',' in yaml-cpp 0.7).
struct YNode {
  enum class Kind { Null, Scalar, Sequence, Map };
  Kind kind = Kind::Null;
  std::string tag;    // "?" plain, "!" quoted/block, else the explicit tag; "" for Null
  std::string value;  // scalar text
  YAML::Mark mark;
  std::vector<const YNode*> items;  // sequence items; map: key, value, key, value, …
};

// One parsed document of a multi-document stream.
struct Doc {
  const YNode* node = nullptr;
  int line = 1;  // 1-based line of the document's first content
};

// The documents of a stream and the nodes they own. Aliases share nodes (and may form cycles).
struct Tree {
  std::vector<std::unique_ptr<YNode>> arena;
  std::vector<Doc> docs;
};

// Parses a stream; errors as InputError("<source>:<line>:<col>: malformed YAML: …"). Empty
// documents (empty, comment-only, `~`) are dropped.
Tree load_documents(const std::string& text, const std::string& source);
// yaml-cpp's LoadAll, after load_documents has checked that the text parses (and terminates).
std::vector<YAML::Node> load_nodes(const std::string& text, const std::string& source);

// A YAML node → JSON, the way go-yaml decodes into interface{} (see values.hpp, parse_yaml).
json to_json(const YNode* node, Dialect dialect, const std::string& source);
json to_json(const YAML::Node& node, Dialect dialect, const std::string& source);

// Resolution of a plain scalar; false when it is NaN or ±Inf (not representable in JSON).
bool resolve_plain(std::string_view text, Dialect dialect, json& out);
// Whether a plain scalar with this text reads as a string in both go-yaml v2 and v3, and is
// never taken for anything else (base-60 numbers, timestamps, "=", "<<").
bool reads_as_string(std::string_view text);
bool valid_utf8(std::string_view text);
// go-yaml's isBase60Float (YAML 1.1 sexagesimal numbers such as 1:20).
bool is_base60(std::string_view text);

// Integral floats become integers, as Go's json.Marshal writes them (1.0 → 1).
json normalise_number(double value);

// go-yaml v2's Marshal of a JSON value (JSONToYAML), the text Flux runs envsubst on.
std::string to_goyaml(const json& value);
// Whether to_goyaml writes this (mapping value) string as a plain scalar.
bool goyaml_writes_plain(const std::string& s);
// Whether `text` after "key: " reads back as one plain scalar with exactly this text.
bool plain_scalar_ok(std::string_view text);

// Post-build substitution of one resource as Flux does it (to_goyaml → envsubst → go-yaml v2).
// allow_fast: substitute plain scalars in place when that gives the same result (no re-parse).
json substitute_document(const json& res, const std::map<std::string, std::string>& vars,
                         bool strict, const std::string& source,
                         std::vector<std::string>& undefined, bool allow_fast = true);

// helm's transform.MergeMaps: maps merge deeply, anything else in `from` replaces.
void merge_maps(json& into, const json& from);

// Flux's ReplacePathValue: Helm's strvals (`--set` syntax) for valuesFrom targetPath.
void replace_path_value(json& values, const std::string& path, const std::string& value,
                        const std::string& source);

// Kubernetes label selector matching ("a=b,c!=d,e in (x,y),!f,g").
bool selector_matches(const std::string& selector, const json& labels);

// Scalar accessors on JSON objects parsed from manifests.
std::string str_at(const json& object, std::initializer_list<const char*> path);
const json* at_path(const json& object, std::initializer_list<const char*> path);

bool is_sops_encrypted(const json& document);
bool looks_sops_encrypted(std::string_view text);

std::string lower(std::string_view s);
bool ends_with(std::string_view s, std::string_view suffix);
bool starts_with(std::string_view s, std::string_view prefix);

}  // namespace fluxboot::values::detail
