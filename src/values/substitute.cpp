// Flux's post-build variable substitution. kustomize-controller runs fluxcd/pkg/envsubst (a fork of
// drone/envsubst) over each resource; its scanner has quirks that decide what is an error and what
// is text ($$ is an escape everywhere outside ${…}, defaults end at the first "}", "${VAR-x}" is a
// syntax error), so this is a faithful port of its scanner and parser rather than a fresh grammar.
#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <set>

#include "values/internal.hpp"

namespace fluxboot::values {

namespace {

constexpr char32_t kEof = 0;
// Nested replacements multiply lengths (${A//x/${A//x/…}}); no real manifest comes near this.
constexpr std::size_t kMaxResult = 16 * 1024 * 1024;

enum Token { TokIllegal, TokEof, TokIdent, TokLbrack, TokRbrack };
enum : unsigned { ScanIdent = 1, ScanLbrack = 2, ScanRbrack = 4, ScanEscape = 8 };
enum : unsigned { EscDollar = 1, EscBackslash = 2, EscAll = 3 };

enum class Accept {
  Rune,
  Ident,
  Colon,
  OneHash,
  NotClosing,
  HashFunc,
  PercentFunc,
  DefaultFunc,
  ReplaceFunc,
  OneEqual,
  OneColon,
  RejectColonClose,
  Slash,
  NotSlash,
  CasingFunc
};

bool is_letter_or_digit(char32_t r) {
  if (r >= 0x80) return true;  // unicode.IsLetter/IsDigit, approximated for non-ASCII
  return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9');
}

bool accepts(Accept a, char32_t r, std::size_t i) {
  switch (a) {
    case Accept::Rune:
      return true;
    case Accept::Ident:
      return is_letter_or_digit(r) || r == '_';
    case Accept::Colon:
      return r == ':';
    case Accept::OneHash:
      return r == '#' && i == 1;
    case Accept::NotClosing:
      return r != '}';
    case Accept::HashFunc:
      return r == '#' && i < 3;
    case Accept::PercentFunc:
      return r == '%' && i < 3;
    case Accept::DefaultFunc:
      return (i == 1 && r == ':') || (i == 2 && (r == '=' || r == '-' || r == '?' || r == '+'));
    case Accept::ReplaceFunc:
      return (i == 1 && r == '/') || (i == 2 && (r == '/' || r == '#' || r == '%'));
    case Accept::OneEqual:
      return i == 1 && r == '=';
    case Accept::OneColon:
      return i == 1 && r == ':';
    case Accept::RejectColonClose:
      return r != ':' && r != '}';
    case Accept::Slash:
      return r == '/';
    case Accept::NotSlash:
      return r != '/';
    case Accept::CasingFunc:
      return (r == ',' || r == '^') && i < 3;
  }
  return false;
}

struct SubstError {
  std::string message;
};

// scan.go
class Scanner {
 public:
  explicit Scanner(std::string_view buf) : buf_(buf) {}

  char32_t read() {
    if (pos_ >= buf_.size()) {
      width_ = 0;
      return kEof;
    }
    auto c = static_cast<unsigned char>(buf_[pos_]);
    std::size_t n = c < 0x80           ? 1
                    : (c >> 5) == 0x6  ? 2
                    : (c >> 4) == 0xe  ? 3
                    : (c >> 3) == 0x1e ? 4
                                       : 0;
    char32_t r = 0xfffd;
    if (n == 0 || pos_ + n > buf_.size()) {
      n = 1;
    } else {
      r = n == 1 ? c : n == 2 ? (c & 0x1fu) : n == 3 ? (c & 0x0fu) : (c & 0x07u);
      for (std::size_t k = 1; k < n; ++k) {
        auto cc = static_cast<unsigned char>(buf_[pos_ + k]);
        if ((cc & 0xc0) != 0x80) {
          n = 1;
          r = 0xfffd;
          break;
        }
        r = (r << 6) | (cc & 0x3fu);
      }
      // utf8.DecodeRuneInString: overlong forms, surrogates and values past U+10FFFF are one
      // invalid byte (RuneError), so "\xc0\x80" is not a NUL that would end the text.
      if (n > 1 && ((n == 2 && r < 0x80) || (n == 3 && r < 0x800) || (n == 4 && r < 0x10000) ||
                    r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff))) {
        n = 1;
        r = 0xfffd;
      }
    }
    width_ = n;
    pos_ += n;
    return r;
  }
  void unread() { pos_ -= std::min(width_, pos_); }
  void skip() { buf_.erase(pos_ - 1, 1); }
  char32_t peek() {
    char32_t r = read();
    unread();
    return r;
  }
  std::string string() const { return buf_.substr(start_, pos_ - start_); }

  Token scan() {
    start_ = pos_;
    char32_t r = read();
    if (r == kEof) return TokEof;
    if (scan_lbrack(r)) return TokLbrack;
    if (scan_rbrack(r)) return TokRbrack;
    if (scan_ident(r)) return TokIdent;
    return TokIllegal;
  }

  unsigned mode = 0;
  unsigned escape_chars = 0;
  Accept accept = Accept::Rune;

 private:
  bool scan_ident(char32_t r) {
    if ((mode & ScanIdent) == 0) return false;
    if (scan_escaped(r)) {
      skip();
    } else if (!accepts(accept, r, pos_ - start_)) {
      return false;
    }
    for (;;) {
      char32_t c = read();
      if (c == kEof) {
        unread();
        break;
      }
      if (scan_lbrack(c)) {
        unread();
        unread();
        break;
      }
      if (scan_escaped(c)) {
        skip();
        continue;
      }
      if (!accepts(accept, c, pos_ - start_)) {
        unread();
        break;
      }
    }
    return true;
  }
  bool scan_lbrack(char32_t r) {
    if ((mode & ScanLbrack) == 0) return false;
    if (r == '$') {
      if (read() == '{') return true;
      unread();
    }
    return false;
  }
  bool scan_rbrack(char32_t r) const { return (mode & ScanRbrack) != 0 && r == '}'; }
  bool scan_escaped(char32_t r) {
    if ((mode & ScanEscape) == 0) return false;
    if (r == '$' && (escape_chars & EscDollar) != 0 && peek() == '$') return true;
    if (r == '\\' && (escape_chars & EscBackslash) != 0) {
      char32_t n = peek();
      return n == '/' || n == '\\';
    }
    return false;
  }

  std::string buf_;
  std::size_t pos_ = 0;
  std::size_t start_ = 0;
  std::size_t width_ = 0;
};

struct Node {
  bool is_text = true;
  std::string text;                         // text node
  std::string name;                         // function: operator (":=", "#", …), "" for ${VAR}
  std::string param;                        // function: variable name
  std::vector<std::unique_ptr<Node>> args;  // function arguments
};
using NodePtr = std::unique_ptr<Node>;

NodePtr text_node(std::string s) {
  auto n = std::make_unique<Node>();
  n->text = std::move(s);
  return n;
}

// parse.go
class Parser {
 public:
  explicit Parser(std::string_view text) : s_(text) {}

  std::vector<NodePtr> parse_any() {
    std::vector<NodePtr> nodes;
    for (;;) {
      s_.accept = Accept::Rune;
      s_.mode = ScanIdent | ScanLbrack | ScanEscape;
      s_.escape_chars = EscDollar;
      switch (s_.scan()) {
        case TokIdent:
          nodes.push_back(text_node(s_.string()));
          break;
        case TokEof:
          return nodes;
        case TokLbrack:
          nodes.push_back(parse_func());
          break;
        default:
          throw SubstError{"bad substitution"};
      }
    }
  }

 private:
  NodePtr func(std::string param) {
    auto n = std::make_unique<Node>();
    n->is_text = false;
    n->param = std::move(param);
    return n;
  }

  NodePtr parse_func() {
    if (++depth_ > 256) throw SubstError{"substitutions nested too deeply"};
    s_.escape_chars = EscAll;
    if (s_.peek() == '#') return done(parse_len_func());
    s_.accept = Accept::Ident;
    s_.mode = ScanIdent;
    if (s_.scan() != TokIdent) throw SubstError{"unable to parse variable name"};
    std::string name = s_.string();
    switch (s_.peek()) {
      case ':':
        return done(parse_default_or_substr(name));
      case '=':
        return done(parse_default_func(name));
      case ',':
      case '^':
        return done(parse_casing_func(name));
      case '/':
        return done(parse_replace_func(name));
      case '#':
        return done(parse_remove_func(name, Accept::HashFunc));
      case '%':
        return done(parse_remove_func(name, Accept::PercentFunc));
      default:
        break;
    }
    s_.accept = Accept::Ident;
    s_.mode = ScanRbrack;
    if (s_.scan() != TokRbrack) throw SubstError{"missing closing brace"};
    return done(func(name));
  }

  NodePtr done(NodePtr n) {
    --depth_;
    return n;
  }

  NodePtr parse_param(Accept accept, unsigned mode) {
    s_.accept = accept;
    s_.mode = mode | ScanLbrack;
    switch (s_.scan()) {
      case TokLbrack:
        return parse_func();
      case TokIdent:
      case TokRbrack:
        return text_node(s_.string());
      default:
        throw SubstError{"unable to parse substitution within function"};
    }
  }

  NodePtr parse_default_or_substr(const std::string& name) {
    s_.read();
    char32_t r = s_.peek();
    s_.unread();
    if (r == '=' || r == '-' || r == '?' || r == '+') return parse_default_func(name);
    return parse_substr_func(name);
  }

  NodePtr parse_substr_func(const std::string& name) {
    auto node = func(name);
    s_.accept = Accept::OneColon;
    s_.mode = ScanIdent;
    if (s_.scan() != TokIdent) throw SubstError{"bad substitution"};
    node->name = s_.string();
    node->args.push_back(parse_param(Accept::RejectColonClose, ScanIdent));
    s_.accept = Accept::Colon;
    s_.mode = ScanIdent | ScanRbrack;
    switch (s_.scan()) {
      case TokRbrack:
        return node;
      case TokIdent:
        break;
      default:
        throw SubstError{"bad substitution"};
    }
    node->args.push_back(parse_param(Accept::NotClosing, ScanIdent));
    consume_rbrack();
    return node;
  }

  NodePtr parse_remove_func(const std::string& name, Accept accept) {
    auto node = func(name);
    s_.accept = accept;
    s_.mode = ScanIdent;
    if (s_.scan() != TokIdent) throw SubstError{"bad substitution"};
    node->name = s_.string();
    node->args.push_back(parse_param(Accept::NotClosing, ScanIdent));
    consume_rbrack();
    return node;
  }

  NodePtr parse_replace_func(const std::string& name) {
    auto node = func(name);
    s_.accept = Accept::ReplaceFunc;
    s_.mode = ScanIdent;
    if (s_.scan() != TokIdent) throw SubstError{"bad substitution"};
    node->name = s_.string();
    if (s_.peek() == '/') {
      node->args.push_back(text_node(""));
    } else {
      node->args.push_back(parse_param(Accept::NotSlash, ScanIdent | ScanEscape));
    }
    s_.accept = Accept::Slash;
    s_.mode = ScanIdent;
    if (s_.scan() != TokIdent) throw SubstError{"bad substitution"};
    if (s_.peek() == '}') {
      consume_rbrack();
      return node;
    }
    node->args.push_back(parse_param(Accept::NotClosing, ScanIdent | ScanEscape));
    consume_rbrack();
    return node;
  }

  NodePtr parse_default_func(const std::string& name) {
    auto node = func(name);
    s_.accept = Accept::DefaultFunc;
    if (s_.peek() == '=') s_.accept = Accept::OneEqual;
    s_.mode = ScanIdent;
    if (s_.scan() != TokIdent) throw SubstError{"unable to parse default function"};
    node->name = s_.string();
    for (;;) {
      if (s_.peek() == '}') {
        consume_rbrack();
        return node;
      }
      node->args.push_back(parse_param(Accept::NotClosing, ScanIdent));
    }
  }

  NodePtr parse_casing_func(const std::string& name) {
    auto node = func(name);
    s_.accept = Accept::CasingFunc;
    s_.mode = ScanIdent;
    if (s_.scan() != TokIdent) throw SubstError{"bad substitution"};
    node->name = s_.string();
    consume_rbrack();
    return node;
  }

  NodePtr parse_len_func() {
    auto node = func("");
    s_.accept = Accept::OneHash;
    s_.mode = ScanIdent;
    if (s_.scan() != TokIdent) throw SubstError{"bad substitution"};
    node->name = s_.string();
    s_.accept = Accept::Ident;
    s_.mode = ScanIdent;
    if (s_.scan() != TokIdent) throw SubstError{"bad substitution"};
    node->param = s_.string();
    consume_rbrack();
    return node;
  }

  void consume_rbrack() {
    s_.mode = ScanRbrack;
    if (s_.scan() != TokRbrack) throw SubstError{"bad substitution"};
  }

  Scanner s_;
  int depth_ = 0;
};

// ---- funcs.go ------------------------------------------------------------------------------

// strconv.Atoi; false on syntax or range error.
bool go_atoi(const std::string& s, std::int64_t& out) {
  std::size_t i = 0;
  bool neg = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
  if (i == s.size()) return false;
  std::int64_t v = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    if (v > (std::numeric_limits<std::int64_t>::max() - (s[i] - '0')) / 10) return false;
    v = v * 10 + (s[i] - '0');
  }
  out = neg ? -v : v;
  return true;
}

std::string go_replace(const std::string& s, const std::string& from, const std::string& to,
                       bool all) {
  {
    std::size_t count = 0;
    if (from.empty()) {
      count = all ? s.size() + 1 : 1;
    } else {
      for (std::size_t at = s.find(from); at != std::string::npos && (all || count == 0);
           at = s.find(from, at + from.size()))
        ++count;
    }
    if (s.size() > kMaxResult || (to.size() > from.size() && count > 0 &&
                                  (to.size() - from.size()) > (kMaxResult - s.size()) / count))
      throw SubstError{"the substitution result exceeds 16 MiB"};
  }
  if (from.empty()) {
    // strings.Replace with an empty pattern inserts at every rune boundary (once when n == 1).
    if (!all) return to + s;
    std::string out = to;
    for (std::size_t i = 0; i < s.size();) {
      auto c = static_cast<unsigned char>(s[i]);
      std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : 4;
      n = std::min(n, s.size() - i);
      out.append(s, i, n);
      out += to;
      i += n;
    }
    return out;
  }
  std::string out;
  std::size_t start = 0;
  for (;;) {
    std::size_t at = s.find(from, start);
    if (at == std::string::npos) break;
    out.append(s, start, at - start);
    out += to;
    start = at + from.size();
    if (!all) break;
  }
  out.append(s, start, std::string::npos);
  return out;
}

enum class Match { Yes, No, Bad };

// path.Match (the envsubst fork's copy): '*' and '?' never match '/'.
Match glob(std::string_view pattern, std::string_view name) {
  while (!pattern.empty()) {
    char p = pattern.front();
    if (p == '*') {
      while (!pattern.empty() && pattern.front() == '*') pattern.remove_prefix(1);
      if (pattern.empty()) return name.find('/') == std::string_view::npos ? Match::Yes : Match::No;
      for (std::size_t i = 0; i <= name.size(); ++i) {
        Match m = glob(pattern, name.substr(i));
        if (m != Match::No) return m;
        if (i < name.size() && name[i] == '/') break;
      }
      return Match::No;
    }
    if (p == '?') {
      if (name.empty() || name.front() == '/') return Match::No;
      pattern.remove_prefix(1);
      name.remove_prefix(1);
      continue;
    }
    if (p == '[') {
      std::size_t i = 1;
      bool negate = i < pattern.size() && pattern[i] == '^';
      if (negate) ++i;
      bool matched = false;
      bool first = true;
      char c = name.empty() ? '\0' : name.front();
      for (;;) {
        if (i >= pattern.size()) return Match::Bad;
        if (pattern[i] == ']' && !first) break;
        first = false;
        char lo = pattern[i];
        if (lo == '\\') {
          if (++i >= pattern.size()) return Match::Bad;
          lo = pattern[i];
        }
        ++i;
        char hi = lo;
        if (i + 1 < pattern.size() && pattern[i] == '-' && pattern[i + 1] != ']') {
          hi = pattern[i + 1];
          if (hi == '\\') {
            if (i + 2 >= pattern.size()) return Match::Bad;
            hi = pattern[i + 2];
            ++i;
          }
          i += 2;
        }
        if (lo <= c && c <= hi) matched = true;
      }
      if (name.empty() || name.front() == '/' || matched == negate) return Match::No;
      pattern.remove_prefix(i + 1);
      name.remove_prefix(1);
      continue;
    }
    if (p == '\\') {
      pattern.remove_prefix(1);
      if (pattern.empty()) return Match::Bad;
      p = pattern.front();
    }
    if (name.empty() || name.front() != p) return Match::No;
    pattern.remove_prefix(1);
    name.remove_prefix(1);
  }
  return name.empty() ? Match::Yes : Match::No;
}

std::string trim_shortest(const std::string& s, const std::string& arg) {
  std::string shortest;
  for (std::size_t i = 0; i < s.size(); ++i) {
    Match m = glob(arg, std::string_view(s).substr(0, s.size() - i));
    if (m == Match::Bad) return s;
    if (m == Match::Yes) shortest = s.substr(0, s.size() - i);
  }
  if (!shortest.empty()) return s.substr(shortest.size());
  return s;
}

std::string trim_longest(const std::string& s, const std::string& arg) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    Match m = glob(arg, std::string_view(s).substr(0, s.size() - i));
    if (m == Match::Bad) return s;
    if (m == Match::Yes) return s.substr(s.size() - i);
  }
  return s;
}

std::string reverse_runes(const std::string& s) {
  std::vector<std::string> runes;
  for (std::size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : 4;
    n = std::min(n, s.size() - i);
    runes.push_back(s.substr(i, n));
    i += n;
  }
  std::string out;
  for (auto it = runes.rbegin(); it != runes.rend(); ++it) out += *it;
  return out;
}

std::string to_substr(const std::string& s, const std::vector<std::string>& args) {
  if (args.empty()) return s;
  std::int64_t pos = 0;
  if (!go_atoi(args[0], pos)) return s;
  const auto len = static_cast<std::int64_t>(s.size());
  if (pos < 0) pos = std::max<std::int64_t>(0, len + pos);
  if (args.size() == 1) return pos < len ? s.substr(static_cast<std::size_t>(pos)) : std::string();
  std::int64_t length = 0;
  if (!go_atoi(args[1], length)) return s;
  if (length < 0) {
    std::int64_t end = len + length;
    if (end < pos) return {};
    return s.substr(static_cast<std::size_t>(pos), static_cast<std::size_t>(end - pos));
  }
  if (pos >= len || length >= len - pos)
    return pos < len ? s.substr(static_cast<std::size_t>(pos)) : std::string();
  return s.substr(static_cast<std::size_t>(pos), static_cast<std::size_t>(length));
}

std::string ascii_case(std::string s, bool upper, bool first_only) {
  for (auto& c : s) {
    if (upper && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (!upper && c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (first_only) break;
  }
  return s;
}

std::string apply(const std::string& name, const std::string& v,
                  const std::vector<std::string>& args) {
  if (name == ",") return ascii_case(v, false, true);
  if (name == ",,") return ascii_case(v, false, false);
  if (name == "^") return ascii_case(v, true, true);
  if (name == "^^") return ascii_case(v, true, false);
  if (name == "#") {
    if (args.empty()) return std::to_string(v.size());
    return trim_shortest(v, args[0]);
  }
  if (name == "##") return args.empty() ? v : trim_longest(v, args[0]);
  if (name == "%")
    return args.empty() ? v
                        : reverse_runes(trim_shortest(reverse_runes(v), reverse_runes(args[0])));
  if (name == "%%")
    return args.empty() ? v : reverse_runes(trim_longest(reverse_runes(v), reverse_runes(args[0])));
  if (name == ":") return to_substr(v, args);
  if (name == "/#") {
    if (args.size() != 2) return v;
    return v.rfind(args[0], 0) == 0 ? go_replace(v, args[0], args[1], false) : v;
  }
  if (name == "/%") {
    if (args.size() != 2) return v;
    if (detail::ends_with(v, args[0])) return v.substr(0, v.size() - args[0].size()) + args[1];
    return v;
  }
  if (name == "/" || name == "//") {
    if (args.empty()) return v;
    return go_replace(v, args[0], args.size() > 1 ? args[1] : std::string(), name == "//");
  }
  // toDefault: "=", ":=", ":-", ":?", ":+", "-", "+", and anything unknown.
  if (v.empty() && !args.empty()) {
    std::string joined;
    for (const auto& a : args) {
      if (joined.size() + a.size() > kMaxResult)
        throw SubstError{"the substitution result exceeds 16 MiB"};
      joined += a;
    }
    return joined;
  }
  return v;
}

bool is_default_op(const std::string& name) {
  static const std::set<std::string> ops = {"-", "+", "=", "?", ":-", ":+", ":=", ":?"};
  return ops.count(name) != 0;
}

struct Evaluator {
  const std::map<std::string, std::string>& vars;
  bool strict;
  std::vector<std::string>* undefined;
  std::set<std::string> reported;

  void eval(const Node& node, std::string& out) {
    if (node.is_text) {
      out += node.text;
      return;
    }
    std::vector<std::string> args;
    for (const auto& a : node.args) {
      std::string buf;
      eval(*a, buf);
      args.push_back(std::move(buf));
    }
    auto it = vars.find(node.param);
    bool exists = it != vars.end();
    if (!exists && !is_default_op(node.name)) {
      if (strict)
        throw SubstError{fmt::format("variable not set (strict mode): \"{}\"", node.param)};
      if (undefined != nullptr && reported.insert(node.param).second)
        undefined->push_back(node.param);
    }
    out += apply(node.name, exists ? it->second : std::string(), args);
    if (out.size() > kMaxResult) throw SubstError{"the substitution result exceeds 16 MiB"};
  }
};

bool valid_var_name(const std::string& name) {
  if (name.empty()) return false;
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  if (!(alpha(name[0]) || name[0] == '_')) return false;
  for (char c : name)
    if (!(alpha(c) || c == '_' || (c >= '0' && c <= '9'))) return false;
  return true;
}

}  // namespace

std::string substitute(std::string_view text, const std::map<std::string, std::string>& vars,
                       bool strict, const std::string& source,
                       std::vector<std::string>* undefined) {
  for (const auto& [name, value] : vars)
    if (!valid_var_name(name))
      throw InputError(fmt::format(
          "{}: '{}' var name is invalid, must match '^[_[:alpha:]][_[:alpha:][:digit:]]*$'", source,
          name));
  try {
    Parser parser(text);
    auto nodes = parser.parse_any();
    Evaluator ev{vars, strict, undefined, {}};
    std::string out;
    out.reserve(text.size());
    for (const auto& n : nodes) ev.eval(*n, out);
    return out;
  } catch (const SubstError& e) {
    throw InputError(fmt::format("{}: variable substitution failed: {}", source, e.message));
  }
}

}  // namespace fluxboot::values
