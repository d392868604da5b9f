// Multi-document YAML streams: split on the document markers while keeping each document's exact
// text (so `helmfile template` output is applied byte for byte, never re-serialised), and
// collect the values of Secret manifests for the Redactor.
#include <set>
#include <string_view>

#include <fmt/format.h>

#include "fluxboot/gitops.hpp"
#include "fluxboot/redact.hpp"
#include "gitops/yaml_support.hpp"

namespace fluxboot::gitops {

namespace {

enum class Marker { None, Start, End };

// Document markers only count at column 0 and followed by whitespace, a comment or the end of
// the line; an indented `---` (inside a block scalar) is content.
Marker marker_of(std::string_view line) {
  auto is_marker = [&](std::string_view m) {
    if (line.substr(0, 3) != m) return false;
    return line.size() == 3 || line[3] == ' ' || line[3] == '\t' || line[3] == '#';
  };
  if (is_marker("---")) return Marker::Start;
  if (is_marker("...")) return Marker::End;
  return Marker::None;
}

// True when the text holds nothing but blank lines, comments and directives.
bool is_blank(std::string_view text) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    std::string_view line = text.substr(pos, eol == std::string_view::npos ? eol : eol - pos);
    size_t first = line.find_first_not_of(" \t\r");
    if (first != std::string_view::npos && line[first] != '#' && !(first == 0 && line[0] == '%')) {
      return false;
    }
    if (eol == std::string_view::npos) break;
    pos = eol + 1;
  }
  return true;
}

std::string scalar_at(const YAML::Node& map, const char* key) {
  if (!map.IsMap()) return {};
  const YAML::Node v = detail::child(map, key);
  return v.IsScalar() ? v.Scalar() : std::string();
}

}  // namespace

std::vector<YamlDocument> split_documents(const std::string& stream, const std::string& source) {
  struct Segment {
    size_t begin;
    size_t end;
    int line;
  };
  std::vector<Segment> segments;
  size_t pos = stream.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;
  size_t seg_begin = pos;
  int line = 1;
  int seg_line = 1;
  while (pos < stream.size()) {
    size_t eol = stream.find('\n', pos);
    const size_t line_end = eol == std::string::npos ? stream.size() : eol;
    const size_t next = eol == std::string::npos ? stream.size() : eol + 1;
    std::string_view text(stream.data() + pos, line_end - pos);
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    const Marker m = marker_of(text);
    if (m != Marker::None) {
      segments.push_back({seg_begin, pos, seg_line});
      seg_begin = next;
      seg_line = line + 1;
      if (m == Marker::Start) {
        // `--- !tag` or `--- value`: the rest of the line belongs to the document.
        size_t rest = text.find_first_not_of(" \t", 3);
        if (rest != std::string_view::npos && text[rest] != '#') {
          seg_begin = pos + rest;
          seg_line = line;
        }
      }
    }
    pos = next;
    ++line;
  }
  segments.push_back({seg_begin, stream.size(), seg_line});

  std::vector<YamlDocument> docs;
  for (const auto& seg : segments) {
    if (seg.begin >= seg.end) continue;
    std::string text = stream.substr(seg.begin, seg.end - seg.begin);
    if (is_blank(text)) continue;
    YAML::Node node = detail::parse_yaml(text, source, seg.line);
    if (node.IsNull() || !node.IsDefined()) continue;
    YamlDocument doc;
    doc.text = std::move(text);
    doc.line = seg.line;
    doc.kind = scalar_at(node, "kind");
    doc.api_version = scalar_at(node, "apiVersion");
    if (node.IsMap()) {
      const YAML::Node meta = detail::child(node, "metadata");
      doc.name = scalar_at(meta, "name");
      doc.ns = scalar_at(meta, "namespace");
    }
    docs.push_back(std::move(doc));
  }
  return docs;
}

namespace {

void secret_values_of(const YAML::Node& secret, std::vector<std::string>& out,
                      std::set<std::string>& seen) {
  auto keep = [&](const std::string& v) {
    if (!v.empty() && seen.insert(v).second) out.push_back(v);
  };
  const YAML::Node data = detail::child(secret, "data");
  if (data.IsMap()) {
    for (const auto& kv : data) {
      if (!kv.second.IsScalar()) continue;
      std::string encoded;
      for (char c : kv.second.Scalar()) {
        if (c != ' ' && c != '\n' && c != '\r' && c != '\t') encoded += c;
      }
      keep(encoded);
      std::string decoded;
      if (base64_decode(encoded, decoded)) keep(decoded);
    }
  }
  const YAML::Node string_data = detail::child(secret, "stringData");
  if (string_data.IsMap()) {
    for (const auto& kv : string_data) {
      if (kv.second.IsScalar()) keep(kv.second.Scalar());
    }
  }
}

}  // namespace

std::vector<std::string> secret_values(const std::vector<YamlDocument>& docs) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const auto& doc : docs) {
    const bool is_list = doc.kind == "List" || doc.kind == "SecretList";
    if (doc.kind != "Secret" && !is_list) continue;
    const YAML::Node node =
        detail::parse_yaml(doc.text, "manifest stream", doc.line);
    if (!node.IsMap()) continue;
    if (!is_list) {
      secret_values_of(node, out, seen);
      continue;
    }
    const YAML::Node items = detail::child(node, "items");
    if (!items.IsSequence()) continue;
    for (const auto& item : items) {
      if (item.IsMap() && (doc.kind == "SecretList" || scalar_at(item, "kind") == "Secret")) {
        secret_values_of(item, out, seen);
      }
    }
  }
  return out;
}

}  // namespace fluxboot::gitops
