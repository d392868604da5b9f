// Reading YAML the way Flux does. The rules follow go-yaml's resolve.go (v2 as vendored by
// sigs.k8s.io/yaml, v3 as used by kustomize) and decode.go (merge keys, duplicate keys), because
// the point of this module is that the values Helm receives have exactly the types Flux gives
// them. yaml-cpp only tokenises: it reports "?" as the tag of a plain scalar and "!" for quoted and
// block scalars, and the typing below is ours.
#include <fmt/format.h>

#include "fluxboot/files.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <set>
#include <unordered_set>
#include <sstream>

#include "fluxboot/redact.hpp"
#include "values/internal.hpp"

namespace fluxboot::values::detail {

namespace {

constexpr std::size_t kMaxNodes = 250'000;  // alias bombs ("billion laughs") stop here
constexpr int kMaxDepth = 1000;
constexpr std::string_view kTagPrefix = "tag:yaml.org,2002:";

bool is_digit(char c) { return c >= '0' && c <= '9'; }

int digit_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'z') return c - 'a' + 10;
  if (c >= 'A' && c <= 'Z') return c - 'A' + 10;
  return 99;
}

enum class IntResult { Ok, Syntax, Range };

// strconv.ParseUint(s, 0, 64) for a string without underscores.
IntResult go_parse_uint(std::string_view s, std::uint64_t& out) {
  if (s.empty()) return IntResult::Syntax;
  int base = 10;
  if (s[0] == '0') {
    char p = s.size() >= 3 ? static_cast<char>(s[1] | 0x20) : '\0';
    if (p == 'b') {
      base = 2;
      s.remove_prefix(2);
    } else if (p == 'o') {
      base = 8;
      s.remove_prefix(2);
    } else if (p == 'x') {
      base = 16;
      s.remove_prefix(2);
    } else {
      base = 8;
      s.remove_prefix(1);
    }
  }
  std::uint64_t n = 0;
  const auto b = static_cast<std::uint64_t>(base);
  for (char c : s) {
    int d = digit_value(c);
    if (d >= base) return IntResult::Syntax;
    const auto du = static_cast<std::uint64_t>(d);
    if (n > (std::numeric_limits<std::uint64_t>::max() - du) / b) return IntResult::Range;
    n = n * b + du;
  }
  out = n;
  return IntResult::Ok;
}

// strconv.ParseInt(s, 0, 64).
IntResult go_parse_int(std::string_view s, std::int64_t& out) {
  if (s.empty()) return IntResult::Syntax;
  bool neg = false;
  if (s[0] == '+' || s[0] == '-') {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  std::uint64_t u = 0;
  IntResult r = go_parse_uint(s, u);
  if (r != IntResult::Ok) return r;
  constexpr std::uint64_t cutoff = std::uint64_t{1} << 63;
  if (!neg && u >= cutoff) return IntResult::Range;
  if (neg && u > cutoff) return IntResult::Range;
  out = neg ? static_cast<std::int64_t>(0 - u) : static_cast<std::int64_t>(u);
  return IntResult::Ok;
}

// ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$  (go-yaml's yamlStyleFloat)
bool yaml_style_float(std::string_view s) {
  std::size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  if (i < s.size() && s[i] == '.') {
    ++i;
    std::size_t start = i;
    while (i < s.size() && is_digit(s[i])) ++i;
    if (i == start) return false;
  } else {
    std::size_t start = i;
    while (i < s.size() && is_digit(s[i])) ++i;
    if (i == start) return false;
    if (i < s.size() && s[i] == '.') {
      ++i;
      while (i < s.size() && is_digit(s[i])) ++i;
    }
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    std::size_t start = i;
    while (i < s.size() && is_digit(s[i])) ++i;
    if (i == start) return false;
  }
  return i == s.size();
}

// strconv.ParseFloat for the decimal syntax above; false on overflow (Go returns ErrRange).
bool parse_decimal_float(std::string_view s, double& out) {
  std::string copy(s);
  errno = 0;
  char* end = nullptr;
  double v = std::strtod(copy.c_str(), &end);
  if (end != copy.c_str() + copy.size()) return false;
  if (std::isinf(v)) return false;
  out = v;
  return true;
}

// ^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$  (go-yaml's base60float)
bool is_base60_impl(std::string_view s) {
  std::size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  if (i >= s.size() || !is_digit(s[i])) return false;
  ++i;
  while (i < s.size() && (is_digit(s[i]) || s[i] == '_')) ++i;
  int groups = 0;
  while (i < s.size() && s[i] == ':') {
    ++i;
    if (i < s.size() && s[i] >= '0' && s[i] <= '5' && i + 1 < s.size() && is_digit(s[i + 1])) {
      i += 2;
    } else if (i < s.size() && is_digit(s[i])) {
      ++i;
    } else {
      return false;
    }
    ++groups;
  }
  if (groups == 0) return false;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && (is_digit(s[i]) || s[i] == '_')) ++i;
  }
  return i == s.size();
}

bool in_list(std::string_view s, std::initializer_list<std::string_view> list) {
  for (auto item : list)
    if (s == item) return true;
  return false;
}

bool valid_utf8_impl(std::string_view s) {
  std::size_t i = 0;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  while (i < s.size()) {
    unsigned char c = p[i];
    std::size_t n = c < 0x80           ? 1
                    : (c >> 5) == 0x6  ? 2
                    : (c >> 4) == 0xe  ? 3
                    : (c >> 3) == 0x1e ? 4
                                       : 0;
    if (n == 0 || i + n > s.size()) return false;
    std::uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1fu) : n == 3 ? (c & 0x0fu) : (c & 0x07u);
    for (std::size_t k = 1; k < n; ++k) {
      if ((p[i + k] & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3fu);
    }
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
        cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += n;
  }
  return true;
}

std::string go_format_float_key(double v) {
  // strconv.FormatFloat(v, 'g', -1, 32) as sigs.k8s.io/yaml does for float map keys.
  auto f = static_cast<float>(v);
  std::string s = fmt::format("{}", f);
  return s;
}

class Converter {
 public:
  Converter(Dialect dialect, const std::string& source) : dialect_(dialect), source_(source) {}

  json convert(const YNode* node, int depth) {
    // Expansion is bounded only where aliases make it large: a big plain document (every node
    // written out) is not "excessive aliasing", and the input size limit already applies to it.
    distinct_.insert(node);
    if (++count_ > kMaxNodes && count_ > 2 * distinct_.size())
      fail(
          node,
          "document contains excessive aliasing (more than 250,000 nodes after expanding aliases)");
    if (depth > kMaxDepth) fail(node, "document nested too deeply");
    switch (node->kind) {
      case YNode::Kind::Null:
        return json(nullptr);
      case YNode::Kind::Scalar:
        return scalar(node);
      case YNode::Kind::Sequence: {
        enter(node);
        json array = json::array();
        for (const YNode* item : node->items) array.push_back(convert(item, depth + 1));
        stack_.pop_back();
        return array;
      }
      case YNode::Kind::Map: {
        enter(node);
        json object = mapping(node, depth);
        stack_.pop_back();
        return object;
      }
    }
    return json(nullptr);
  }

 private:
  void enter(const YNode* node) {
    if (std::find(stack_.begin(), stack_.end(), node) != stack_.end())
      fail(node, "an alias refers to a node that contains it (recursive structure)");
    stack_.push_back(node);
  }

  [[noreturn]] void fail(const YNode* node, const std::string& message) const {
    const YAML::Mark mark = node->mark;
    if (mark.is_null()) throw InputError(fmt::format("{}: {}", source_, message));
    throw InputError(fmt::format("{}:{}: {}", source_, mark.line + 1, message));
  }

  static std::string_view tag_suffix(const std::string& tag) {
    std::string_view t(tag);
    if (t.substr(0, kTagPrefix.size()) == kTagPrefix) return t.substr(kTagPrefix.size());
    if (t.substr(0, 2) == "!!") return t.substr(2);
    return {};
  }

  static bool is_merge_key(const YNode* key) {
    if (key->kind != YNode::Kind::Scalar) return false;
    if (tag_suffix(key->tag) == "merge") return true;
    return (key->tag == "?" || key->tag.empty()) && key->value == "<<";
  }

  json scalar(const YNode* node) {
    const std::string& value = node->value;
    if (!valid_utf8_impl(value)) fail(node, "invalid UTF-8 in a scalar");
    const std::string& tag = node->tag;
    if (tag == "?" || tag.empty()) {
      json out;
      if (!resolve_plain(value, dialect_, out))
        fail(node,
             fmt::format("`{}` (NaN or infinity) cannot be represented in JSON; Flux rejects it",
                         value));
      return out;
    }
    std::string_view suffix = tag_suffix(tag);
    if (suffix.empty() || suffix == "str" || suffix == "timestamp" || suffix == "merge")
      return json(value);
    if (suffix == "binary") {
      std::string compact;
      for (char c : value)
        if (c != '\n' && c != '\r' && c != ' ' && c != '\t') compact.push_back(c);
      std::string decoded;
      if (!base64_decode(compact, decoded)) fail(node, "!!binary value is not valid base64");
      if (!valid_utf8_impl(decoded)) fail(node, "!!binary value is not UTF-8 text");
      return json(decoded);
    }
    json out;
    bool ok = resolve_plain(value, dialect_, out);
    if (!ok)
      fail(node,
           fmt::format("`{}` (NaN or infinity) cannot be represented in JSON; Flux rejects it",
                       value));
    if (suffix == "null" && out.is_null()) return out;
    if (suffix == "bool" && out.is_boolean()) return out;
    if (suffix == "int" && (out.is_number_integer())) return out;
    if (suffix == "float" && out.is_number()) return out;
    if (suffix == "map" || suffix == "seq") fail(node, fmt::format("!!{} on a scalar", suffix));
    if (suffix == "null" || suffix == "bool" || suffix == "int" || suffix == "float")
      fail(node, fmt::format("cannot decode `{}` as a !!{}", value, suffix));
    return json(value);  // an unknown tag: go-yaml keeps the text
  }

  std::string key_string(const YNode* key) {
    if (key->kind == YNode::Kind::Null) {
      if (dialect_ == Dialect::GoYamlV3) return "null";
      fail(key, "a null map key is not supported");
    }
    if (key->kind != YNode::Kind::Scalar) fail(key, "a map key must be a scalar");
    const std::string& text = key->value;
    if (!valid_utf8_impl(text)) fail(key, "invalid UTF-8 in a map key");
    const std::string& tag = key->tag;
    if (dialect_ == Dialect::GoYamlV3 || !(tag == "?" || tag.empty())) return text;
    json resolved;
    if (!resolve_plain(text, dialect_, resolved)) fail(key, "a NaN or infinite map key");
    if (resolved.is_string()) return resolved.get<std::string>();
    if (resolved.is_boolean()) return resolved.get<bool>() ? "true" : "false";
    if (resolved.is_number_float()) return go_format_float_key(resolved.get<double>());
    if (resolved.is_number()) return resolved.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    fail(key, "a null map key is not supported");
  }

  void apply_merge(json& object, const YNode* merge, const std::set<std::string>& explicit_keys,
                   int depth, bool override) {
    auto merge_one = [&](const YNode* m) {
      if (m->kind != YNode::Kind::Map)
        fail(m, "map merge requires map or sequence of maps as the value");
      json src = convert(m, depth + 1);
      for (auto it = src.begin(); it != src.end(); ++it) {
        if (override) {
          object[it.key()] = it.value();
        } else if (!explicit_keys.count(it.key()) && !object.contains(it.key())) {
          object[it.key()] = it.value();
        }
      }
    };
    if (merge->kind == YNode::Kind::Map) {
      merge_one(merge);
    } else if (merge->kind == YNode::Kind::Sequence) {
      if (override) {
        // go-yaml v2 applies the list from the end, so earlier maps win.
        for (std::size_t i = merge->items.size(); i-- > 0;) merge_one(merge->items[i]);
      } else {
        for (const YNode* m : merge->items) merge_one(m);
      }
    } else {
      fail(merge, "map merge requires map or sequence of maps as the value");
    }
  }

  json mapping(const YNode* node, int depth) {
    json object = json::object();
    std::set<std::string> raw_keys;
    std::set<std::string> explicit_keys;
    const YNode* last_merge = nullptr;
    for (std::size_t i = 0; i + 1 < node->items.size(); i += 2) {
      const YNode* key = node->items[i];
      const YNode* value = node->items[i + 1];
      if (dialect_ == Dialect::GoYamlV3) {
        // go-yaml v3 rejects a key written twice (compared as written, merge keys included).
        const bool is_scalar = key->kind == YNode::Kind::Scalar,
                   is_null = key->kind == YNode::Kind::Null;
        std::string raw = is_scalar ? key->value
                          : is_null ? std::string("\x01null")
                                    : std::string();
        if ((is_scalar || is_null) && !raw_keys.insert(raw).second)
          fail(key, fmt::format("mapping key \"{}\" already defined", raw));
      }
      if (is_merge_key(key)) {
        if (dialect_ == Dialect::GoYamlV2) {
          apply_merge(object, value, explicit_keys, depth, /*override=*/true);
        } else {
          last_merge = value;
        }
        continue;
      }
      std::string k = key_string(key);
      explicit_keys.insert(k);
      object[k] = convert(value, depth + 1);
    }
    if (last_merge != nullptr)
      apply_merge(object, last_merge, explicit_keys, depth, /*override=*/false);
    return object;
  }

  Dialect dialect_;
  const std::string& source_;
  std::size_t count_ = 0;
  std::unordered_set<const YNode*> distinct_;
  std::vector<const YNode*> stack_;
};

}  // namespace

bool valid_utf8(std::string_view text) { return valid_utf8_impl(text); }

bool is_base60(std::string_view text) { return is_base60_impl(text); }

bool resolve_plain(std::string_view in, Dialect dialect, json& out) {
  if (in.empty() || in_list(in, {"~", "null", "Null", "NULL"})) {
    out = nullptr;
    return true;
  }
  if (in_list(in, {"true", "True", "TRUE"})) {
    out = true;
    return true;
  }
  if (in_list(in, {"false", "False", "FALSE"})) {
    out = false;
    return true;
  }
  if (dialect == Dialect::GoYamlV2) {
    if (in_list(in, {"y", "Y", "yes", "Yes", "YES", "on", "On", "ON"})) {
      out = true;
      return true;
    }
    if (in_list(in, {"n", "N", "no", "No", "NO", "off", "Off", "OFF"})) {
      out = false;
      return true;
    }
  }
  if (in_list(in, {".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF",
                   "-.inf", "-.Inf", "-.INF"}))
    return false;
  const char c = in[0];
  if (c == '.') {
    // Not in the map, so maybe a plain float (strconv.ParseFloat on the text as written).
    std::size_t i = 1;
    while (i < in.size() && is_digit(in[i])) ++i;
    if (i > 1 && yaml_style_float(in)) {
      double v = 0;
      if (parse_decimal_float(in, v)) {
        out = normalise_number(v);
        return true;
      }
    }
    out = std::string(in);
    return true;
  }
  if (is_digit(c) || c == '+' || c == '-') {
    std::string plain;
    plain.reserve(in.size());
    for (char ch : in)
      if (ch != '_') plain.push_back(ch);
    std::int64_t iv = 0;
    if (go_parse_int(plain, iv) == IntResult::Ok) {
      out = iv;
      return true;
    }
    std::uint64_t uv = 0;
    if (go_parse_uint(plain, uv) == IntResult::Ok) {
      out = uv;
      return true;
    }
    if (yaml_style_float(plain)) {
      double v = 0;
      if (parse_decimal_float(plain, v)) {
        out = normalise_number(v);
        return true;
      }
    }
    // "0b…" and "-0b…" are covered by ParseInt's base prefixes above.
  }
  out = std::string(in);
  return true;
}

bool reads_as_string(std::string_view text) {
  json v2, v3;
  if (!resolve_plain(text, Dialect::GoYamlV2, v2) || !v2.is_string()) return false;
  if (!resolve_plain(text, Dialect::GoYamlV3, v3) || !v3.is_string()) return false;
  if (text == "<<" || text == "=") return false;
  // Base-60 numbers (YAML 1.1 "1:20"): go-yaml quotes them for other parsers' sake; so do we.
  if (is_base60(text)) return false;
  // Timestamps read as strings in Go, but other YAML tools make dates of them.
  if (text.size() >= 5 && is_digit(text[0]) && is_digit(text[1]) && is_digit(text[2]) &&
      is_digit(text[3]) && text[4] == '-')
    return false;
  return true;
}

json normalise_number(double value) {
  if (std::isfinite(value) && std::floor(value) == value && std::fabs(value) < 1e21) {
    if (value >= -9223372036854775808.0 && value < 9223372036854775808.0)
      return json(static_cast<std::int64_t>(value));
    if (value >= 0 && value < 18446744073709551616.0)
      return json(static_cast<std::uint64_t>(value));
  }
  return json(value);
}

std::string read_text(const fs::path& path) { return read_input_file(path, path.string()); }

std::string display_path(const fs::path& path, const fs::path& root) {
  if (root.empty()) return path.string();
  std::error_code ec;
  fs::path rel = path.lexically_relative(root);
  if (rel.empty() || rel.string().rfind("..", 0) == 0) return path.string();
  return rel.string();
}

json to_json(const YNode* node, Dialect dialect, const std::string& source) {
  Converter converter(dialect, source);
  return converter.convert(node, 0);
}

namespace {

// A yaml-cpp Node as a YNode tree (for callers that hold Nodes, e.g. a helmfile state).
const YNode* adapt(const YAML::Node& n, Tree& tree, int depth) {
  tree.arena.push_back(std::make_unique<YNode>());
  YNode* out = tree.arena.back().get();
  out->mark = n.Mark();
  if (depth > kMaxDepth) throw InputError("document nested too deeply (or recursive)");
  switch (n.Type()) {
    case YAML::NodeType::Scalar:
      out->kind = YNode::Kind::Scalar;
      out->tag = n.Tag().empty() ? "!" : n.Tag();
      out->value = n.Scalar();
      break;
    case YAML::NodeType::Sequence:
      out->kind = YNode::Kind::Sequence;
      out->tag = n.Tag();
      for (const auto& item : n) out->items.push_back(adapt(item, tree, depth + 1));
      break;
    case YAML::NodeType::Map:
      out->kind = YNode::Kind::Map;
      out->tag = n.Tag();
      for (auto it = n.begin(); it != n.end(); ++it) {
        out->items.push_back(adapt(it->first, tree, depth + 1));
        out->items.push_back(adapt(it->second, tree, depth + 1));
      }
      break;
    default:
      out->kind = YNode::Kind::Null;
  }
  return out;
}

}  // namespace

json to_json(const YAML::Node& node, Dialect dialect, const std::string& source) {
  Tree tree;
  return to_json(adapt(node, tree, 0), dialect, source);
}

std::string str_at(const json& object, std::initializer_list<const char*> path) {
  const json* p = at_path(object, path);
  if (p == nullptr) return {};
  if (p->is_string()) return p->get<std::string>();
  if (p->is_number() || p->is_boolean()) return p->dump();
  return {};
}

const json* at_path(const json& object, std::initializer_list<const char*> path) {
  const json* p = &object;
  for (const char* key : path) {
    if (!p->is_object()) return nullptr;
    auto it = p->find(key);
    if (it == p->end()) return nullptr;
    p = &*it;
  }
  return p;
}

bool is_sops_encrypted(const json& document) {
  return document.is_object() && document.contains("sops") && document["sops"].is_object();
}

bool looks_sops_encrypted(std::string_view text) {
  return text.find("ENC[AES256_GCM,") != std::string_view::npos ||
         text.find("sops_mac=") != std::string_view::npos;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

}  // namespace fluxboot::values::detail

namespace fluxboot::values {

nlohmann::json parse_yaml(std::string_view text, Dialect dialect, const std::string& source) {
  auto tree = detail::load_documents(std::string(text), source);
  if (tree.docs.empty()) return nullptr;
  if (tree.docs.size() > 1)
    throw InputError(
        fmt::format("{}: expected one YAML document, found {}", source, tree.docs.size()));
  return detail::to_json(tree.docs.front().node, dialect, source);
}

}  // namespace fluxboot::values
