// Two YAML writers over JSON values.
//  - to_yaml: what fluxboot prints and hands helmfile. It only has to be read back by go-yaml
//    (Helm) as exactly the same JSON, so it quotes every string that would read as anything else.
//  - to_goyaml: an imitation of go-yaml v2's Marshal (sigs.k8s.io/yaml JSONToYAML), the text Flux
//    runs ${VAR} substitution on. Its scalar styles decide what a substituted value becomes (a
//    plain `${PORT}` turns into a number, a single-quoted one stays a string), so the style rules
//    of libyaml's emitter (yaml_emitter_analyze_scalar) are reproduced; line folding at 80 columns
//    is not (it changes no value).
#include <fmt/format.h>

#include <cstdint>
#include <string>

#include "values/internal.hpp"

namespace fluxboot::values::detail {

namespace {

// Decodes one UTF-8 code point at s[i]; returns its length (input is valid UTF-8).
std::size_t decode(std::string_view s, std::size_t i, std::uint32_t& cp) {
  auto c = static_cast<unsigned char>(s[i]);
  std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : 4;
  if (i + n > s.size()) n = 1;
  cp = n == 1 ? c : n == 2 ? (c & 0x1fu) : n == 3 ? (c & 0x0fu) : (c & 0x07u);
  for (std::size_t k = 1; k < n; ++k)
    cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3fu);
  return n;
}

// libyaml's is_printable (with unicode output enabled).
bool printable(std::uint32_t cp) {
  return cp == 0x0a || (cp >= 0x20 && cp <= 0x7e) || cp == 0x85 || (cp >= 0xa0 && cp <= 0xd7ff) ||
         (cp >= 0xe000 && cp <= 0xfffd && cp != 0xfeff) || (cp >= 0x10000 && cp <= 0x10ffff);
}

bool is_break(std::uint32_t cp) {
  return cp == '\r' || cp == '\n' || cp == 0x85 || cp == 0x2028 || cp == 0x2029;
}

struct Analysis {
  bool multiline = false;
  bool block_plain_allowed = true;
  bool single_quoted_allowed = true;
  bool block_allowed = true;
};

// yaml_emitter_analyze_scalar, block context.
Analysis analyze(std::string_view value) {
  Analysis a;
  if (value.empty()) {
    a.block_allowed = false;
    return a;
  }
  bool block_indicators = false;
  bool leading_space = false, leading_break = false, trailing_space = false, trailing_break = false;
  bool break_space = false, space_break = false, previous_space = false, previous_break = false;
  bool line_breaks = false, special = false;
  if (value.size() >= 3 && (value.substr(0, 3) == "---" || value.substr(0, 3) == "..."))
    block_indicators = true;
  bool preceded_by_whitespace = true;
  for (std::size_t i = 0; i < value.size();) {
    std::uint32_t cp = 0;
    std::size_t w = decode(value, i, cp);
    bool followed_by_whitespace = i + w >= value.size() || value[i + w] == ' ' ||
                                  value[i + w] == '\t' || value[i + w] == '\n' ||
                                  value[i + w] == '\r';
    if (i == 0) {
      switch (cp) {
        case '#':
        case ',':
        case '[':
        case ']':
        case '{':
        case '}':
        case '&':
        case '*':
        case '!':
        case '|':
        case '>':
        case '\'':
        case '"':
        case '%':
        case '@':
        case '`':
          block_indicators = true;
          break;
        case '?':
        case ':':
        case '-':
          if (followed_by_whitespace) block_indicators = true;
          break;
        default:
          break;
      }
    } else {
      if (cp == ':' && followed_by_whitespace) block_indicators = true;
      if (cp == '#' && preceded_by_whitespace) block_indicators = true;
    }
    if (!printable(cp)) special = true;
    if (cp == ' ') {
      if (i == 0) leading_space = true;
      if (i + w == value.size()) trailing_space = true;
      if (previous_break) break_space = true;
      previous_space = true;
      previous_break = false;
    } else if (is_break(cp)) {
      line_breaks = true;
      if (i == 0) leading_break = true;
      if (i + w == value.size()) trailing_break = true;
      if (previous_space) space_break = true;
      previous_space = false;
      previous_break = true;
    } else {
      previous_space = false;
      previous_break = false;
    }
    preceded_by_whitespace = cp == ' ' || cp == '\t' || is_break(cp);
    i += w;
  }
  a.multiline = line_breaks;
  if (leading_space || leading_break || trailing_space || trailing_break)
    a.block_plain_allowed = false;
  if (trailing_space) a.block_allowed = false;
  if (break_space) {
    a.block_plain_allowed = false;
    a.single_quoted_allowed = false;
  }
  if (space_break || special) {
    a.block_plain_allowed = false;
    a.single_quoted_allowed = false;
    a.block_allowed = false;
  }
  if (line_breaks) a.block_plain_allowed = false;
  if (block_indicators) a.block_plain_allowed = false;
  return a;
}

std::string double_quoted(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out.push_back('"');
  for (std::size_t i = 0; i < s.size();) {
    std::uint32_t cp = 0;
    std::size_t w = decode(s, i, cp);
    switch (cp) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      case 0:
        out += "\\0";
        break;
      default:
        if (cp < 0x20 || cp == 0x7f) {
          out += fmt::format("\\x{:02x}", cp);
        } else if ((cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029 || cp == 0xfeff ||
                   (cp >= 0xd800 && cp <= 0xdfff) || cp == 0xfffe || cp == 0xffff) {
          out += fmt::format("\\u{:04x}", cp);
        } else {
          out.append(s.substr(i, w));
        }
    }
    i += w;
  }
  out.push_back('"');
  return out;
}

std::string single_quoted(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "''";
    else
      out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

std::string spaces(int n) { return std::string(static_cast<std::size_t>(n < 0 ? 0 : n), ' '); }

// libyaml writes a key as a simple key only when it is at most 128 bytes and on one line;
// otherwise "? key" and ": value" (YAML parsers reject simple keys over 1024 characters).
bool explicit_key(const std::string& key) {
  return key.size() > 128 || key.find('\n') != std::string::npos ||
         key.find('\r') != std::string::npos;
}

// A literal block scalar "|<indicator><chomp>\n<lines>" whose content sits at `content_indent`
// columns; `parent_indent` is the indentation of the node that owns it (-1 at top level).
std::string literal_block(std::string_view s, int parent_indent, int content_indent) {
  std::size_t trailing = 0;
  while (trailing < s.size() && s[s.size() - 1 - trailing] == '\n') ++trailing;
  std::string header = "|";
  if (!s.empty() && (s[0] == ' ' || s[0] == '\n'))
    header += std::to_string(parent_indent < 0 ? content_indent : content_indent - parent_indent);
  std::string_view body = s.substr(0, s.size() - trailing);
  // libyaml's chomping hints: "-" without a final break, "+" when more than one break ends the
  // text or it is only breaks ("\n" under clip would read back as "").
  if (trailing == 0)
    header += "-";
  else if (trailing >= 2 || body.empty())
    header += "+";
  std::string out = header;
  out.push_back('\n');
  std::size_t start = 0;
  while (true) {
    std::size_t nl = body.find('\n', start);
    std::string_view line =
        body.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    if (!line.empty()) out += spaces(content_indent);
    out.append(line);
    out.push_back('\n');
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  for (std::size_t k = 1; k < trailing; ++k) out.push_back('\n');
  return out;  // ends with a newline
}

std::string format_float(double v) {
  std::string s = fmt::format("{}", v);
  if (s.find_first_of(".eE") == std::string::npos) s += ".0";
  return s;
}

std::string number_text(const json& v) {
  if (v.is_number_unsigned()) return std::to_string(v.get<std::uint64_t>());
  if (v.is_number_integer()) return std::to_string(v.get<std::int64_t>());
  return format_float(v.get<double>());
}

// ---- to_yaml -------------------------------------------------------------------------------

bool plain_safe(std::string_view s) {
  if (s.empty() || !reads_as_string(s)) return false;
  if (s.substr(0, 3) == "---" || s.substr(0, 3) == "...") return false;
  Analysis a = analyze(s);
  if (!a.block_plain_allowed || a.multiline) return false;
  for (char c : s)
    if (c == '\t') return false;
  return true;
}

bool literal_ok(std::string_view s) {
  if (s.find('\n') == std::string_view::npos) return false;
  bool content = false;
  for (std::size_t i = 0; i < s.size();) {
    std::uint32_t cp = 0;
    std::size_t w = decode(s, i, cp);
    if (cp == '\r' || cp == 0x85 || cp == 0x2028 || cp == 0x2029 || cp == 0xfeff) return false;
    if (cp != '\n' && cp != '\t' && !printable(cp)) return false;
    if (cp != '\n' && cp != ' ' && cp != '\t') content = true;
    i += w;
  }
  if (!content) return false;
  // A tab or space right at a line start of the first line after an empty one would be taken as
  // indentation by some parsers; the explicit indentation indicator covers leading spaces, tabs
  // at a line start are fine inside a block scalar.
  return true;
}

std::string key_text(const std::string& key) {
  if (plain_safe(key)) return key;
  return double_quoted(key);
}

void emit_scalar_value(std::string& out, const json& v, int parent_indent) {
  switch (v.type()) {
    case json::value_t::null:
      out += "null\n";
      return;
    case json::value_t::boolean:
      out += v.get<bool>() ? "true\n" : "false\n";
      return;
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      out += number_text(v);
      out.push_back('\n');
      return;
    case json::value_t::string: {
      const auto& s = v.get_ref<const std::string&>();
      if (plain_safe(s)) {
        out += s;
        out.push_back('\n');
      } else if (literal_ok(s)) {
        out += literal_block(s, parent_indent, parent_indent < 0 ? 2 : parent_indent + 2);
      } else {
        out += double_quoted(s);
        out.push_back('\n');
      }
      return;
    }
    default:
      out += "null\n";
      return;
  }
}

void emit(std::string& out, const json& v, int indent);

// Writes a node that follows "key:" or "-" at column `indent`.
void emit_child(std::string& out, const json& v, int indent) {
  if (v.is_object() && !v.empty()) {
    out.push_back('\n');
    emit(out, v, indent + 2);
  } else if (v.is_array() && !v.empty()) {
    out.push_back('\n');
    emit(out, v, indent + 2);
  } else if (v.is_object()) {
    out += " {}\n";
  } else if (v.is_array()) {
    out += " []\n";
  } else {
    out.push_back(' ');
    emit_scalar_value(out, v, indent);
  }
}

void emit(std::string& out, const json& v, int indent) {
  if (v.is_object()) {
    if (v.empty()) {
      out += spaces(indent) + "{}\n";
      return;
    }
    for (auto it = v.begin(); it != v.end(); ++it) {
      out += spaces(indent);
      if (explicit_key(it.key()))
        out += "? " + key_text(it.key()) + "\n" + spaces(indent);
      else
        out += key_text(it.key());
      out.push_back(':');
      emit_child(out, it.value(), indent);
    }
  } else if (v.is_array()) {
    if (v.empty()) {
      out += spaces(indent) + "[]\n";
      return;
    }
    for (const auto& item : v) {
      if (item.is_object() && !item.empty()) {
        // "- first: 1\n  second: 2": render at indent+2, then put the dash in front.
        std::string body;
        emit(body, item, indent + 2);
        body.replace(0, static_cast<std::size_t>(indent + 2), spaces(indent) + "- ");
        out += body;
      } else if (item.is_array() && !item.empty()) {
        out += spaces(indent) + "-\n";
        emit(out, item, indent + 2);
      } else {
        out += spaces(indent) + "-";
        emit_child(out, item, indent);
      }
    }
  } else {
    out += spaces(indent);
    emit_scalar_value(out, v, indent - 1 < 0 ? -1 : indent);
  }
}

// ---- to_goyaml ----------------------------------------------------------------------------------

std::string goyaml_string(const std::string& s, bool is_key, int parent_indent, int content_indent,
                          bool& block) {
  block = false;
  json resolved;
  bool can_use_plain = resolve_plain(s, Dialect::GoYamlV2, resolved) && resolved.is_string();
  if (can_use_plain && is_base60(s)) can_use_plain = false;
  Analysis a = analyze(s);
  if (s.find('\n') != std::string::npos) {
    if (a.block_allowed && !is_key) {
      block = true;
      return literal_block(s, parent_indent, content_indent);
    }
    return double_quoted(s);
  }
  if (can_use_plain) {
    if (a.block_plain_allowed && !(s.empty() && is_key)) return s;
    if (a.single_quoted_allowed) return single_quoted(s);
  }
  return double_quoted(s);
}

void goyaml_scalar(std::string& out, const json& v, int parent_indent) {
  if (v.is_string()) {
    bool block = false;
    std::string text =
        goyaml_string(v.get<std::string>(), false, parent_indent, parent_indent + 2, block);
    out += text;
    if (!block) out.push_back('\n');
    return;
  }
  if (v.is_null())
    out += "null\n";
  else if (v.is_boolean())
    out += v.get<bool>() ? "true\n" : "false\n";
  else if (v.is_number())
    out += number_text(v) + "\n";
  else if (v.is_object())
    out += "{}\n";
  else
    out += "[]\n";
}

void goyaml(std::string& out, const json& v, int indent);

void goyaml_child(std::string& out, const json& v, int indent, bool in_map) {
  if (v.is_object() && !v.empty()) {
    out.push_back('\n');
    goyaml(out, v, indent + 2);
  } else if (v.is_array() && !v.empty()) {
    out.push_back('\n');
    // go-yaml v2 does not indent a sequence that is a mapping value.
    goyaml(out, v, in_map ? indent : indent + 2);
  } else {
    out.push_back(' ');
    goyaml_scalar(out, v, indent);
  }
}

void goyaml(std::string& out, const json& v, int indent) {
  if (v.is_object()) {
    for (auto it = v.begin(); it != v.end(); ++it) {
      bool block = false;
      std::string key = goyaml_string(it.key(), true, indent, indent + 2, block);
      if (explicit_key(it.key()))
        out += spaces(indent) + "? " + key + "\n" + spaces(indent) + ":";
      else
        out += spaces(indent) + key + ":";
      goyaml_child(out, it.value(), indent, true);
    }
  } else if (v.is_array()) {
    for (const auto& item : v) {
      if (item.is_object() && !item.empty()) {
        std::string body;
        goyaml(body, item, indent + 2);
        body.replace(0, static_cast<std::size_t>(indent + 2), spaces(indent) + "- ");
        out += body;
      } else if (item.is_array() && !item.empty()) {
        std::string body;
        goyaml(body, item, indent + 2);
        body.replace(0, static_cast<std::size_t>(indent + 2), spaces(indent) + "- ");
        out += body;
      } else {
        out += spaces(indent) + "-";
        goyaml_child(out, item, indent, false);
      }
    }
  } else {
    goyaml_scalar(out, v, -1);
  }
}

}  // namespace

bool goyaml_writes_plain(const std::string& s) {
  if (s.find('\n') != std::string::npos) return false;
  json resolved;
  if (!resolve_plain(s, Dialect::GoYamlV2, resolved) || !resolved.is_string() || is_base60(s))
    return false;
  return analyze(s).block_plain_allowed;
}

bool plain_scalar_ok(std::string_view text) {
  Analysis a = analyze(text);
  return a.block_plain_allowed && !a.multiline;
}

std::string to_goyaml(const json& value) {
  std::string out;
  if ((value.is_object() || value.is_array()) && value.empty())
    return value.is_object() ? "{}\n" : "[]\n";
  goyaml(out, value, 0);
  return out;
}

}  // namespace fluxboot::values::detail

namespace fluxboot::values {

std::string to_yaml(const nlohmann::json& value) {
  std::string out;
  if (value.is_object() || value.is_array()) {
    detail::emit(out, value, 0);
  } else {
    detail::emit_scalar_value(out, value, -1);
  }
  return out;
}

}  // namespace fluxboot::values
