// The minijinja subset bootstrap/resources.yaml.j2 uses, rendered in process so the resources
// stage needs no minijinja-cli. Settings match the repositories' .minijinja.toml: no autoescape,
// trim_blocks, lstrip_blocks, environment as ENV. Templates cannot touch files, the network or
// processes: the only inputs are the text and ENV.
//
// Robustness (the renderer sees arbitrary files): nesting of blocks and expressions is bounded,
// output size and evaluation steps are bounded, and every failure is an InputError naming the
// source and line.
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <memory>
#include <new>
#include <optional>
#include <regex>
#include <string_view>
#include <utility>

#include <fmt/format.h>

#include "fluxboot/gitops.hpp"
#include "fluxboot/redact.hpp"
#include "gitops/yaml_support.hpp"

namespace fluxboot::gitops {

namespace {

constexpr int kMaxDepth = 64;                      // nested blocks, and nested expressions
constexpr int kMaxExprHeight = 128;                // longest chain of operators in one expression
constexpr size_t kMaxOutput = size_t{64} << 20;    // 64 MiB of rendered text (or of any string)
constexpr std::uint64_t kMaxSteps = 1'000'000;     // evaluation steps (nested loops multiply)

// ---------------------------------------------------------------------------------------------
// Errors

class Failer {
 public:
  explicit Failer(std::string source) : source_(std::move(source)) {}
  [[noreturn]] void fail(int line, const std::string& message) const {
    throw InputError(fmt::format("{}:{}: {}", source_, line, message));
  }
  const std::string& source() const { return source_; }

 private:
  std::string source_;
};

// ---------------------------------------------------------------------------------------------
// Lexer: the template becomes text pieces and tags, whitespace control already applied.

enum class TokType { Name, String, Int, Op };

struct Token {
  TokType type;
  std::string text;  // name, string value or operator
  std::int64_t number = 0;
  int line = 1;
};

struct Piece {
  enum class Kind { Text, Output, Statement } kind;
  std::string text;             // Text
  std::vector<Token> tokens;    // Output, Statement
  int line = 1;
};

class Lexer {
 public:
  Lexer(std::string_view src, const Failer& f) : src_(src), f_(f) {}

  std::vector<Piece> run() {
    size_t text_start = 0;
    while (true) {
      size_t open = find_open(pos_);
      if (open == std::string_view::npos) {
        emit_text(text_start, src_.size());
        break;
      }
      emit_text(text_start, open);
      advance_to(open);
      const char kind = src_[open + 1];  // '{', '%' or '#'
      const int tag_line = line_;
      size_t body = open + 2;
      char open_mod = 0;
      if (body < src_.size() && (src_[body] == '-' || src_[body] == '+')) open_mod = src_[body++];
      const bool is_block = kind != '{';
      apply_left(open_mod, is_block);

      char close_mod = 0;
      if (kind == '#') {
        size_t end = src_.find("#}", body);
        if (end == std::string_view::npos) f_.fail(tag_line, "unclosed comment: '{#' without '#}'");
        if (end > body && (src_[end - 1] == '-' || src_[end - 1] == '+')) close_mod = src_[end - 1];
        advance_to(end + 2);
      } else {
        Piece piece;
        piece.kind = kind == '{' ? Piece::Kind::Output : Piece::Kind::Statement;
        piece.line = tag_line;
        advance_to(body);
        close_mod = tokenize(kind == '{' ? "}}" : "%}", tag_line, piece.tokens);
        if (piece.tokens.empty()) {
          f_.fail(tag_line, kind == '{' ? "empty expression '{{ }}'" : "empty tag '{% %}'");
        }
        const bool is_raw = piece.kind == Piece::Kind::Statement && piece.tokens.size() == 1 &&
                            piece.tokens[0].type == TokType::Name && piece.tokens[0].text == "raw";
        if (is_raw) {
          // Jinja keeps the newline after `{% raw %}` (trim_blocks does not apply); `-%}` strips.
          if (close_mod == '-') apply_right(close_mod, true);
          lex_raw(tag_line);
          text_start = pos_;
          continue;
        }
        pieces_.push_back(std::move(piece));
      }
      apply_right(close_mod, is_block);
      text_start = pos_;
    }
    return std::move(pieces_);
  }

 private:
  size_t find_open(size_t from) const {
    for (size_t i = src_.find('{', from); i != std::string_view::npos; i = src_.find('{', i + 1)) {
      if (i + 1 < src_.size() && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#')) {
        return i;
      }
    }
    return std::string_view::npos;
  }

  void advance_to(size_t to) {
    for (size_t i = pos_; i < to; ++i) {
      if (src_[i] == '\n') ++line_;
    }
    pos_ = to;
  }

  void emit_text(size_t from, size_t to) {
    Piece p;
    p.kind = Piece::Kind::Text;
    p.text = std::string(src_.substr(from, to > from ? to - from : 0));
    p.line = line_;  // callers emit before advancing, so line_ is the line of `from`
    text_at_line_start_ = from == 0 || src_[from - 1] == '\n';
    pieces_.push_back(std::move(p));
  }

  // Whitespace before a tag: `{%-` strips all of it; lstrip_blocks strips the spaces and tabs
  // between the start of the line and a block or comment tag (unless `{%+`).
  void apply_left(char open_mod, bool is_block) {
    std::string& text = pieces_.back().text;
    if (open_mod == '-') {
      size_t keep = text.find_last_not_of(" \t\r\n");
      text.erase(keep == std::string::npos ? 0 : keep + 1);
      return;
    }
    if (!is_block || open_mod == '+') return;
    size_t nl = text.rfind('\n');
    if (nl == std::string::npos && !text_at_line_start_) return;
    size_t tail = nl == std::string::npos ? 0 : nl + 1;
    if (text.find_first_not_of(" \t", tail) == std::string::npos) text.erase(tail);
  }

  // Whitespace after a tag: `-%}` strips all of it; trim_blocks removes the one newline that
  // follows a block or comment tag (unless `+%}`).
  void apply_right(char close_mod, bool is_block) {
    if (close_mod == '-') {
      size_t i = pos_;
      while (i < src_.size() && (src_[i] == ' ' || src_[i] == '\t' || src_[i] == '\r' || src_[i] == '\n')) ++i;
      advance_to(i);
      return;
    }
    if (!is_block || close_mod == '+') return;
    if (src_.substr(pos_, 1) == "\n") advance_to(pos_ + 1);
    else if (src_.substr(pos_, 2) == "\r\n") advance_to(pos_ + 2);
  }

  // Tokens of one tag up to `closer`; returns the whitespace modifier before the closer.
  char tokenize(std::string_view closer, int tag_line, std::vector<Token>& out) {
    const std::string opener = closer == "}}" ? "{{" : "{%";
    while (true) {
      size_t i = pos_;
      while (i < src_.size() && (src_[i] == ' ' || src_[i] == '\t' || src_[i] == '\r' || src_[i] == '\n')) ++i;
      advance_to(i);
      if (pos_ >= src_.size()) {
        f_.fail(tag_line, fmt::format("unclosed '{}': missing '{}'", opener, closer));
      }
      const char c = src_[pos_];
      if ((c == '-' || c == '+') && src_.substr(pos_ + 1, 2) == closer) {
        advance_to(pos_ + 3);
        return c;
      }
      if (src_.substr(pos_, 2) == closer) {
        advance_to(pos_ + 2);
        return 0;
      }
      Token t;
      t.line = line_;
      if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
        size_t e = pos_;
        while (e < src_.size() && (std::isalnum(static_cast<unsigned char>(src_[e])) || src_[e] == '_')) ++e;
        t.type = TokType::Name;
        t.text = std::string(src_.substr(pos_, e - pos_));
        advance_to(e);
      } else if (std::isdigit(static_cast<unsigned char>(c))) {
        size_t e = pos_;
        std::int64_t v = 0;
        while (e < src_.size() && std::isdigit(static_cast<unsigned char>(src_[e]))) {
          if (v > (std::numeric_limits<std::int64_t>::max() - 9) / 10) f_.fail(line_, "number too large");
          v = v * 10 + (src_[e] - '0');
          ++e;
        }
        t.type = TokType::Int;
        t.number = v;
        t.text = std::string(src_.substr(pos_, e - pos_));
        advance_to(e);
      } else if (c == '"' || c == '\'') {
        t.type = TokType::String;
        t.text = lex_string(c);
      } else if (src_.substr(pos_, 2) == "==" || src_.substr(pos_, 2) == "!=") {
        t.type = TokType::Op;
        t.text = std::string(src_.substr(pos_, 2));
        advance_to(pos_ + 2);
      } else if (std::string_view(".[](),|~=").find(c) != std::string_view::npos) {
        t.type = TokType::Op;
        t.text = std::string(1, c);
        advance_to(pos_ + 1);
      } else {
        f_.fail(line_, fmt::format("unexpected character '{}' in '{}' tag", c, opener));
      }
      out.push_back(std::move(t));
    }
  }

  std::string lex_string(char quote) {
    const int start_line = line_;
    std::string value;
    size_t i = pos_ + 1;
    while (true) {
      if (i >= src_.size()) f_.fail(start_line, "unterminated string literal");
      char c = src_[i];
      if (c == quote) break;
      if (c == '\\' && i + 1 < src_.size()) {
        char e = src_[++i];
        switch (e) {
          case 'n': value += '\n'; break;
          case 't': value += '\t'; break;
          case 'r': value += '\r'; break;
          case '\\': value += '\\'; break;
          case '"': value += '"'; break;
          case '\'': value += '\''; break;
          default: value += '\\'; value += e; break;
        }
      } else {
        value += c;
      }
      ++i;
    }
    advance_to(i + 1);
    return value;
  }

  // `{% raw %}…{% endraw %}`: the content is text, tags inside it are not interpreted.
  void lex_raw(int raw_line) {
    const size_t content = pos_;
    for (size_t i = src_.find("{%", pos_); i != std::string_view::npos; i = src_.find("{%", i + 2)) {
      size_t j = i + 2;
      char open_mod = 0;
      if (j < src_.size() && (src_[j] == '-' || src_[j] == '+')) open_mod = src_[j++];
      while (j < src_.size() && (src_[j] == ' ' || src_[j] == '\t')) ++j;
      if (src_.substr(j, 6) != "endraw") continue;
      j += 6;
      while (j < src_.size() && (src_[j] == ' ' || src_[j] == '\t')) ++j;
      char close_mod = 0;
      if (j < src_.size() && (src_[j] == '-' || src_[j] == '+')) close_mod = src_[j++];
      if (src_.substr(j, 2) != "%}") continue;
      emit_text(content, i);
      apply_left(open_mod, true);
      advance_to(j + 2);
      apply_right(close_mod, true);
      return;
    }
    f_.fail(raw_line, "{% raw %} is never closed (missing {% endraw %})");
  }

  std::string_view src_;
  const Failer& f_;
  size_t pos_ = 0;
  int line_ = 1;
  bool text_at_line_start_ = true;
  std::vector<Piece> pieces_;
};

// ---------------------------------------------------------------------------------------------
// Values

struct Value;
using ValueList = std::vector<Value>;
using ValueMap = std::map<std::string, Value>;

struct Value {
  enum class Kind { Undefined, None, Bool, Int, String, List, Map } kind = Kind::Undefined;
  bool b = false;
  std::int64_t i = 0;   // Int; for Undefined the line where it was looked up
  std::string s;        // String; for Undefined the name that was looked up ("ENV.X")
  std::shared_ptr<const ValueList> list;
  std::shared_ptr<const ValueMap> map;

  static Value undefined(std::string name, int line) {
    Value v;
    v.s = std::move(name);
    v.i = line;
    return v;
  }
  static Value none() { Value v; v.kind = Kind::None; return v; }
  static Value boolean(bool x) { Value v; v.kind = Kind::Bool; v.b = x; return v; }
  static Value integer(std::int64_t x) { Value v; v.kind = Kind::Int; v.i = x; return v; }
  static Value string(std::string x) { Value v; v.kind = Kind::String; v.s = std::move(x); return v; }
  static Value of_list(ValueList x) {
    Value v;
    v.kind = Kind::List;
    v.list = std::make_shared<const ValueList>(std::move(x));
    return v;
  }
  static Value of_map(ValueMap x) {
    Value v;
    v.kind = Kind::Map;
    v.map = std::make_shared<const ValueMap>(std::move(x));
    return v;
  }

  bool is_undefined() const { return kind == Kind::Undefined; }
  bool truthy() const {
    switch (kind) {
      case Kind::Undefined: case Kind::None: return false;
      case Kind::Bool: return b;
      case Kind::Int: return i != 0;
      case Kind::String: return !s.empty();
      case Kind::List: return !list->empty();
      case Kind::Map: return !map->empty();
    }
    return false;
  }
};

const char* kind_name(const Value& v) {
  switch (v.kind) {
    case Value::Kind::Undefined: return "undefined";
    case Value::Kind::None: return "none";
    case Value::Kind::Bool: return "a boolean";
    case Value::Kind::Int: return "a number";
    case Value::Kind::String: return "a string";
    case Value::Kind::List: return "a list";
    case Value::Kind::Map: return "a map";
  }
  return "?";
}

bool equal(const Value& a, const Value& b) {
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case Value::Kind::Undefined: case Value::Kind::None: return true;
    case Value::Kind::Bool: return a.b == b.b;
    case Value::Kind::Int: return a.i == b.i;
    case Value::Kind::String: return a.s == b.s;
    case Value::Kind::List:
      if (a.list->size() != b.list->size()) return false;
      for (size_t k = 0; k < a.list->size(); ++k) {
        if (!equal((*a.list)[k], (*b.list)[k])) return false;
      }
      return true;
    case Value::Kind::Map: return a.map == b.map;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// AST

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind { Literal, List, Name, Attr, Item, Filter, Test, Not, And, Or, Eq, Ne, Concat, Cond } kind;
  int line = 1;
  int height = 1;                     // longest path to a leaf: bounds evaluation recursion
  Value literal;
  std::string name;                   // Name, Attr, Filter, Test
  bool negated = false;               // Test: `is not`
  std::vector<ExprPtr> args;          // operands; for Filter args[0] is the input
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
};

struct Node;
using Body = std::vector<Node>;

struct Node {
  enum class Kind { Text, Output, For, If } kind;
  int line = 1;
  std::string text;
  ExprPtr expr;                                  // Output; For: the iterable
  std::string var;                               // For
  Body body;                                     // For
  Body else_body;                                // For, If
  std::vector<std::pair<ExprPtr, Body>> branches;  // If / elif
};

// Text form of a variable reference, for messages: ENV.X, ENV["X-Y"], loop.index.
std::string describe(const Expr& e) {
  switch (e.kind) {
    case Expr::Kind::Name: return e.name;
    case Expr::Kind::Attr: return describe(*e.args[0]) + "." + e.name;
    case Expr::Kind::Item:
      if (e.args[1]->kind == Expr::Kind::Literal && e.args[1]->literal.kind == Value::Kind::String) {
        const std::string& key = e.args[1]->literal.s;
        bool ident = !key.empty() && !std::isdigit(static_cast<unsigned char>(key[0]));
        for (char c : key) ident = ident && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
        return describe(*e.args[0]) + (ident ? "." + key : fmt::format("[\"{}\"]", key));
      }
      return describe(*e.args[0]) + "[…]";
    default: return "expression";
  }
}

// ---------------------------------------------------------------------------------------------
// Parser

class Parser {
 public:
  Parser(std::vector<Piece> pieces, const Failer& f) : pieces_(std::move(pieces)), f_(f) {}

  Body parse() {
    std::string stop;
    Body body = parse_body(0, {}, stop, "", 0);
    return body;
  }

 private:
  // ---- statements

  Body parse_body(int depth, std::initializer_list<std::string_view> stops, std::string& stopped_by,
                  const std::string& opener, int opener_line) {
    Body body;
    while (at_ < pieces_.size()) {
      Piece& piece = pieces_[at_++];
      if (piece.kind == Piece::Kind::Text) {
        if (piece.text.empty()) continue;
        Node n;
        n.kind = Node::Kind::Text;
        n.line = piece.line;
        n.text = std::move(piece.text);
        body.push_back(std::move(n));
        continue;
      }
      begin(piece);
      if (piece.kind == Piece::Kind::Output) {
        Node n;
        n.kind = Node::Kind::Output;
        n.line = piece.line;
        n.expr = expression(0);
        finish();
        body.push_back(std::move(n));
        continue;
      }
      const Token& head = tokens_->front();
      if (head.type != TokType::Name) f_.fail(head.line, "expected a tag name after '{%'");
      const std::string kw = head.text;
      for (auto s : stops) {
        if (kw == s) {
          stopped_by = kw;
          return body;
        }
      }
      ++tok_;
      if (kw == "for") {
        body.push_back(parse_for(depth, piece.line));
      } else if (kw == "if") {
        body.push_back(parse_if(depth, piece.line));
      } else if (kw == "endfor" || kw == "endif" || kw == "elif" || kw == "else" || kw == "endraw") {
        f_.fail(piece.line, fmt::format("unexpected {{% {} %}}{}", kw,
                                        opener.empty() ? std::string()
                                                       : fmt::format(" inside {{% {} %}} from line {}",
                                                                     opener, opener_line)));
      } else {
        f_.fail(piece.line, fmt::format("unknown tag '{}' (supported: for, if, raw)", kw));
      }
    }
    if (stops.size() > 0) {
      f_.fail(opener_line, fmt::format("{{% {} %}} is never closed (missing {{% {} %}})", opener,
                                       *(stops.end() - 1)));
    }
    return body;
  }

  Node parse_for(int depth, int line) {
    if (depth >= kMaxDepth) f_.fail(line, "blocks nested too deeply");
    Node n;
    n.kind = Node::Kind::For;
    n.line = line;
    const Token& var = next("a loop variable name");
    if (var.type != TokType::Name || is_keyword(var.text)) {
      f_.fail(var.line, fmt::format("expected a loop variable name, got '{}'", var.text));
    }
    n.var = var.text;
    expect_name("in");
    n.expr = expression(0);
    finish();
    std::string stop;
    n.body = parse_body(depth + 1, {"else", "endfor"}, stop, "for", line);
    if (stop == "else") {
      expect_end_of_tag();
      n.else_body = parse_body(depth + 1, {"endfor"}, stop, "for", line);
    }
    expect_end_of_tag();
    return n;
  }

  Node parse_if(int depth, int line) {
    if (depth >= kMaxDepth) f_.fail(line, "blocks nested too deeply");
    Node n;
    n.kind = Node::Kind::If;
    n.line = line;
    ExprPtr cond = expression(0);
    finish();
    std::string stop;
    while (true) {
      Body body = parse_body(depth + 1, {"elif", "else", "endif"}, stop, "if", line);
      n.branches.emplace_back(std::move(cond), std::move(body));
      if (stop != "elif") break;
      ++tok_;
      cond = expression(0);
      finish();
    }
    if (stop == "else") {
      expect_end_of_tag();
      n.else_body = parse_body(depth + 1, {"endif"}, stop, "if", line);
    }
    expect_end_of_tag();
    return n;
  }

  // The stop tag (`else`, `endif`, `endfor`) was left unconsumed by parse_body: it takes nothing.
  void expect_end_of_tag() {
    ++tok_;
    finish();
  }

  // ---- tokens of the current tag

  void begin(const Piece& piece) {
    tokens_ = &piece.tokens;
    tok_ = 0;
    tag_line_ = piece.line;
  }

  const Token* peek() const { return tok_ < tokens_->size() ? &(*tokens_)[tok_] : nullptr; }
  int line() const { return peek() ? peek()->line : (tokens_->empty() ? tag_line_ : tokens_->back().line); }

  bool peek_op(std::string_view op) const {
    const Token* t = peek();
    return t && t->type == TokType::Op && t->text == op;
  }
  bool peek_name(std::string_view name) const {
    const Token* t = peek();
    return t && t->type == TokType::Name && t->text == name;
  }

  const Token& next(std::string_view what) {
    if (!peek()) f_.fail(line(), fmt::format("expected {} before the end of the tag", what));
    return (*tokens_)[tok_++];
  }

  void expect_op(std::string_view op) {
    const Token& t = next(fmt::format("'{}'", op));
    if (t.type != TokType::Op || t.text != op) {
      f_.fail(t.line, fmt::format("expected '{}', got '{}'", op, t.text));
    }
  }
  void expect_name(std::string_view name) {
    const Token& t = next(fmt::format("'{}'", name));
    if (t.type != TokType::Name || t.text != name) {
      f_.fail(t.line, fmt::format("expected '{}', got '{}'", name, t.text));
    }
  }

  void finish() {
    if (const Token* t = peek()) f_.fail(t->line, fmt::format("unexpected '{}' at the end of the tag", t->text));
  }

  static bool is_keyword(const std::string& s) {
    return s == "and" || s == "or" || s == "not" || s == "in" || s == "is" || s == "true" ||
           s == "false" || s == "none" || s == "True" || s == "False" || s == "None";
  }

  // ---- expressions (lowest precedence first)

  ExprPtr make(Expr::Kind kind, int line) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->line = line;
    return e;
  }

  ExprPtr seal(ExprPtr e) {
    int h = 0;
    for (const auto& a : e->args) h = std::max(h, a->height);
    for (const auto& kv : e->kwargs) h = std::max(h, kv.second->height);
    e->height = h + 1;
    if (e->height > kMaxExprHeight) f_.fail(e->line, "expression nested too deeply");
    return e;
  }

  void guard(int depth) {
    if (depth >= kMaxDepth) f_.fail(line(), "expression nested too deeply");
  }

  // `a if cond else b` (the else part optional: an empty string), Jinja's lowest precedence.
  ExprPtr expression(int depth) {
    guard(depth);
    ExprPtr value = parse_or(depth + 1);
    if (!peek_name("if")) return value;
    auto e = make(Expr::Kind::Cond, line());
    ++tok_;
    e->args.push_back(std::move(value));
    e->args.push_back(parse_or(depth + 1));
    if (peek_name("else")) {
      ++tok_;
      e->args.push_back(expression(depth + 1));
    }
    return seal(std::move(e));
  }

  ExprPtr parse_or(int depth) {
    ExprPtr left = parse_and(depth);
    while (peek_name("or")) {
      auto e = make(Expr::Kind::Or, line());
      ++tok_;
      e->args.push_back(std::move(left));
      e->args.push_back(parse_and(depth));
      left = seal(std::move(e));
    }
    return left;
  }

  ExprPtr parse_and(int depth) {
    ExprPtr left = parse_not(depth);
    while (peek_name("and")) {
      auto e = make(Expr::Kind::And, line());
      ++tok_;
      e->args.push_back(std::move(left));
      e->args.push_back(parse_not(depth));
      left = seal(std::move(e));
    }
    return left;
  }

  ExprPtr parse_not(int depth) {
    if (peek_name("not")) {
      guard(depth);
      auto e = make(Expr::Kind::Not, line());
      ++tok_;
      e->args.push_back(parse_not(depth + 1));
      return seal(std::move(e));
    }
    return parse_compare(depth);
  }

  ExprPtr parse_compare(int depth) {
    ExprPtr left = parse_concat(depth);
    while (peek_op("==") || peek_op("!=")) {
      auto e = make(peek_op("==") ? Expr::Kind::Eq : Expr::Kind::Ne, line());
      ++tok_;
      e->args.push_back(std::move(left));
      e->args.push_back(parse_concat(depth));
      left = seal(std::move(e));
    }
    return left;
  }

  ExprPtr parse_concat(int depth) {
    ExprPtr left = parse_postfix(depth);
    while (peek_op("~")) {
      auto e = make(Expr::Kind::Concat, line());
      ++tok_;
      e->args.push_back(std::move(left));
      e->args.push_back(parse_postfix(depth));
      left = seal(std::move(e));
    }
    return left;
  }

  ExprPtr parse_postfix(int depth) {
    ExprPtr e = parse_primary(depth);
    while (peek_op(".") || peek_op("[")) {
      if (peek_op(".")) {
        ++tok_;
        const Token& name = next("an attribute name after '.'");
        if (name.type != TokType::Name && name.type != TokType::Int) {
          f_.fail(name.line, fmt::format("expected an attribute name after '.', got '{}'", name.text));
        }
        auto a = make(Expr::Kind::Attr, name.line);
        a->name = name.text;
        a->args.push_back(std::move(e));
        e = seal(std::move(a));
      } else {
        auto item = make(Expr::Kind::Item, line());
        ++tok_;
        item->args.push_back(std::move(e));
        item->args.push_back(expression(depth));
        expect_op("]");
        e = seal(std::move(item));
      }
    }
    while (peek_op("|") || peek_name("is")) {
      if (peek_op("|")) {
        ++tok_;
        const Token& name = next("a filter name after '|'");
        if (name.type != TokType::Name) f_.fail(name.line, fmt::format("expected a filter name after '|', got '{}'", name.text));
        auto f = make(Expr::Kind::Filter, name.line);
        f->name = name.text;
        f->args.push_back(std::move(e));
        if (peek_op("(")) parse_call_args(*f, depth);
        e = seal(std::move(f));
      } else {
        ++tok_;
        auto t = make(Expr::Kind::Test, line());
        if (peek_name("not")) {
          t->negated = true;
          ++tok_;
        }
        const Token& name = next("a test name after 'is'");
        if (name.type != TokType::Name) f_.fail(name.line, fmt::format("expected a test name after 'is', got '{}'", name.text));
        t->name = name.text;
        t->args.push_back(std::move(e));
        e = seal(std::move(t));
      }
    }
    return e;
  }

  void parse_call_args(Expr& call, int depth) {
    expect_op("(");
    bool first = true;
    while (!peek_op(")")) {
      if (!first) expect_op(",");
      first = false;
      if (peek_op(")")) break;  // trailing comma
      const Token* t = peek();
      if (t && t->type == TokType::Name && tok_ + 1 < tokens_->size() &&
          (*tokens_)[tok_ + 1].type == TokType::Op && (*tokens_)[tok_ + 1].text == "=") {
        std::string key = t->text;
        tok_ += 2;
        call.kwargs.emplace_back(std::move(key), expression(depth));
      } else {
        if (!call.kwargs.empty()) f_.fail(line(), "positional argument after a keyword argument");
        call.args.push_back(expression(depth));
      }
    }
    expect_op(")");
  }

  ExprPtr parse_primary(int depth) {
    guard(depth);
    const Token& t = next("an expression");
    switch (t.type) {
      case TokType::String: {
        auto e = make(Expr::Kind::Literal, t.line);
        e->literal = Value::string(t.text);
        return e;
      }
      case TokType::Int: {
        auto e = make(Expr::Kind::Literal, t.line);
        e->literal = Value::integer(t.number);
        return e;
      }
      case TokType::Name: {
        auto e = make(Expr::Kind::Literal, t.line);
        if (t.text == "true" || t.text == "True") e->literal = Value::boolean(true);
        else if (t.text == "false" || t.text == "False") e->literal = Value::boolean(false);
        else if (t.text == "none" || t.text == "None") e->literal = Value::none();
        else if (is_keyword(t.text)) f_.fail(t.line, fmt::format("unexpected '{}'", t.text));
        else {
          e->kind = Expr::Kind::Name;
          e->name = t.text;
        }
        return e;
      }
      case TokType::Op:
        if (t.text == "(") {
          ExprPtr inner = expression(depth);
          expect_op(")");
          return inner;
        }
        if (t.text == "[") {
          auto e = make(Expr::Kind::List, t.line);
          bool first = true;
          while (!peek_op("]")) {
            if (!first) expect_op(",");
            first = false;
            if (peek_op("]")) break;
            e->args.push_back(expression(depth));
          }
          expect_op("]");
          return seal(std::move(e));
        }
        break;
    }
    f_.fail(t.line, fmt::format("unexpected '{}' where an expression was expected", t.text));
  }

  std::vector<Piece> pieces_;
  const Failer& f_;
  size_t at_ = 0;
  const std::vector<Token>* tokens_ = nullptr;
  size_t tok_ = 0;
  int tag_line_ = 1;
};

// ---------------------------------------------------------------------------------------------
// Evaluation

class Renderer {
 public:
  Renderer(const std::map<std::string, std::string>& env, const Failer& f, std::vector<std::string>* undefined,
           const std::map<std::string, std::string>* vars)
      : f_(f), undefined_(undefined) {
    ValueMap m;
    for (const auto& [k, v] : env) m.emplace(k, Value::string(v));
    env_ = Value::of_map(std::move(m));
    if (vars != nullptr)
      for (const auto& [k, v] : *vars) vars_.emplace(k, Value::string(v));
  }

  std::string render(const Body& body) {
    run(body);
    return std::move(out_);
  }

 private:
  void step(int line) {
    if (++steps_ > kMaxSteps) f_.fail(line, "template is too expensive to render (too many loop iterations)");
  }

  void append(const std::string& s, int line) {
    if (out_.size() + s.size() > kMaxOutput) f_.fail(line, "rendered output is larger than 64 MiB");
    out_ += s;
  }

  void check_size(const std::string& s, int line) const {
    if (s.size() > kMaxOutput) f_.fail(line, "string value is larger than 64 MiB");
  }

  void run(const Body& body) {
    for (const Node& n : body) {
      step(n.line);
      switch (n.kind) {
        case Node::Kind::Text: append(n.text, n.line); break;
        case Node::Kind::Output: append(to_text(eval(*n.expr), n.line), n.line); break;
        case Node::Kind::If: {
          bool taken = false;
          for (const auto& [cond, branch] : n.branches) {
            if (eval(*cond).truthy()) {
              run(branch);
              taken = true;
              break;
            }
          }
          if (!taken) run(n.else_body);
          break;
        }
        case Node::Kind::For: run_for(n); break;
      }
    }
  }

  void run_for(const Node& n) {
    Value seq = eval(*n.expr);
    if (seq.is_undefined()) undefined_error(seq);
    if (seq.kind != Value::Kind::List) {
      f_.fail(n.line, fmt::format("cannot loop over {} (only lists)", kind_name(seq)));
    }
    const ValueList& items = *seq.list;
    if (items.empty()) {
      run(n.else_body);
      return;
    }
    for (size_t k = 0; k < items.size(); ++k) {
      step(n.line);
      scopes_.push_back({&n.var, &items[k], k, items.size()});
      run(n.body);
      scopes_.pop_back();
    }
  }

  [[noreturn]] void undefined_error(const Value& v) const {
    const int line = static_cast<int>(v.i);
    if (v.s.rfind("ENV.", 0) == 0 || v.s.rfind("ENV[", 0) == 0) {
      f_.fail(line, fmt::format("variable {} is not set (export it or use | default(...))", v.s));
    }
    f_.fail(line, fmt::format("variable '{}' is undefined", v.s));
  }

  std::string to_text(const Value& v, int line) const {
    switch (v.kind) {
      case Value::Kind::Undefined:
        if (undefined_ != nullptr) {  // inspection: note it, print nothing
          std::string name = fmt::format("{} ({}:{})", v.s, f_.source(), v.i);
          if (std::find(undefined_->begin(), undefined_->end(), name) == undefined_->end()) undefined_->push_back(name);
          return "fluxboot-undefined";  // a plain word: keeps the surrounding YAML valid
        }
        undefined_error(v);
      case Value::Kind::None: return "none";
      case Value::Kind::Bool: return v.b ? "true" : "false";
      case Value::Kind::Int: return std::to_string(v.i);
      case Value::Kind::String: return v.s;
      case Value::Kind::List: {
        std::string s = "[";
        for (size_t k = 0; k < v.list->size(); ++k) {
          if (k > 0) s += ", ";
          s += repr((*v.list)[k], line);
          check_size(s, line);
        }
        return s + "]";
      }
      case Value::Kind::Map: {
        std::string s = "{";
        bool first = true;
        for (const auto& [k, item] : *v.map) {
          if (!first) s += ", ";
          first = false;
          s += fmt::format("\"{}\": {}", k, repr(item, line));
          check_size(s, line);
        }
        return s + "}";
      }
    }
    return {};
  }

  std::string repr(const Value& v, int line) const {
    return v.kind == Value::Kind::String ? fmt::format("\"{}\"", v.s) : to_text(v, line);
  }

  // A string input for a filter or `~`: undefined is the "not set" error, scalars their text.
  std::string text_of(const Value& v, int line) const {
    if (v.kind == Value::Kind::List || v.kind == Value::Kind::Map) {
      f_.fail(line, fmt::format("expected a string, got {}", kind_name(v)));
    }
    return to_text(v, line);
  }

  std::optional<Value> lookup(const std::string& name) const {
    for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
      if (name == *it->var) return *it->item;
      if (name == "loop") {
        // Built only when a template asks for it: most loops never do.
        ValueMap loop;
        loop["index"] = Value::integer(static_cast<std::int64_t>(it->index + 1));
        loop["index0"] = Value::integer(static_cast<std::int64_t>(it->index));
        loop["first"] = Value::boolean(it->index == 0);
        loop["last"] = Value::boolean(it->index + 1 == it->length);
        loop["length"] = Value::integer(static_cast<std::int64_t>(it->length));
        return Value::of_map(std::move(loop));
      }
    }
    if (name == "ENV") return env_;
    if (auto it = vars_.find(name); it != vars_.end()) return it->second;
    return std::nullopt;
  }

  Value eval(const Expr& e) {
    step(e.line);
    switch (e.kind) {
      case Expr::Kind::Literal: return e.literal;
      case Expr::Kind::List: {
        ValueList items;
        for (const auto& a : e.args) items.push_back(eval(*a));
        return Value::of_list(std::move(items));
      }
      case Expr::Kind::Name: {
        if (auto v = lookup(e.name)) return std::move(*v);
        return Value::undefined(e.name, e.line);
      }
      case Expr::Kind::Attr:
      case Expr::Kind::Item: {
        Value base = eval(*e.args[0]);
        if (base.is_undefined()) return base;  // ENV.X.Y: the message names ENV.X
        if (e.kind == Expr::Kind::Attr) return member(base, e.name, e);
        Value key = eval(*e.args[1]);
        if (key.kind == Value::Kind::String) return member(base, key.s, e);
        if (key.kind == Value::Kind::Int && base.kind == Value::Kind::List) {
          std::int64_t idx = key.i;
          const auto size = static_cast<std::int64_t>(base.list->size());
          if (idx < 0) idx += size;
          if (idx >= 0 && idx < size) return (*base.list)[static_cast<size_t>(idx)];
          return Value::undefined(describe(e), e.line);
        }
        if (key.is_undefined()) undefined_error(key);
        return Value::undefined(describe(e), e.line);
      }
      case Expr::Kind::Not: return Value::boolean(!eval(*e.args[0]).truthy());
      case Expr::Kind::And: {
        Value left = eval(*e.args[0]);
        return left.truthy() ? eval(*e.args[1]) : left;
      }
      case Expr::Kind::Or: {
        Value left = eval(*e.args[0]);
        return left.truthy() ? left : eval(*e.args[1]);
      }
      case Expr::Kind::Cond:
        if (eval(*e.args[1]).truthy()) return eval(*e.args[0]);
        return e.args.size() > 2 ? eval(*e.args[2]) : Value::string("");
      case Expr::Kind::Eq: return Value::boolean(equal(eval(*e.args[0]), eval(*e.args[1])));
      case Expr::Kind::Ne: return Value::boolean(!equal(eval(*e.args[0]), eval(*e.args[1])));
      case Expr::Kind::Concat: {
        std::string s = text_of(eval(*e.args[0]), e.line);
        s += text_of(eval(*e.args[1]), e.line);
        check_size(s, e.line);
        return Value::string(std::move(s));
      }
      case Expr::Kind::Test: return test(e);
      case Expr::Kind::Filter: return filter(e);
    }
    return {};
  }

  Value member(const Value& base, const std::string& key, const Expr& e) const {
    if (base.kind == Value::Kind::Map) {
      auto it = base.map->find(key);
      if (it != base.map->end()) return it->second;
    }
    return Value::undefined(describe(e), e.line);
  }

  Value test(const Expr& e) {
    Value v = eval(*e.args[0]);
    bool result = false;
    if (e.name == "defined") result = !v.is_undefined();
    else if (e.name == "undefined") result = v.is_undefined();
    else if (e.name == "none") result = v.kind == Value::Kind::None;
    else if (e.name == "string") result = v.kind == Value::Kind::String;
    else if (e.name == "number") result = v.kind == Value::Kind::Int;
    else {
      f_.fail(e.line, fmt::format("unknown test '{}' (known: defined, undefined, none, string, number)",
                                  e.name));
    }
    return Value::boolean(result != e.negated);
  }

  // Positional and keyword arguments of a filter call, bound by name.
  struct Args {
    std::vector<std::pair<std::string, Value>> bound;
    const Value* get(std::string_view name) const {
      for (const auto& [k, v] : bound) {
        if (k == name) return &v;
      }
      return nullptr;
    }
  };

  Args bind(const Expr& e, std::initializer_list<std::string_view> params) {
    Args a;
    const size_t positional = e.args.size() - 1;
    if (positional > params.size()) {
      f_.fail(e.line, fmt::format("filter '{}' takes at most {} argument{}", e.name, params.size(),
                                  params.size() == 1 ? "" : "s"));
    }
    auto p = params.begin();
    for (size_t k = 1; k < e.args.size(); ++k, ++p) a.bound.emplace_back(std::string(*p), eval(*e.args[k]));
    for (const auto& [key, expr] : e.kwargs) {
      if (std::find(params.begin(), params.end(), key) == params.end()) {
        f_.fail(e.line, fmt::format("filter '{}' has no argument '{}'", e.name, key));
      }
      if (a.get(key)) f_.fail(e.line, fmt::format("filter '{}': argument '{}' given twice", e.name, key));
      a.bound.emplace_back(key, eval(*expr));
    }
    return a;
  }

  bool bool_arg(const Args& a, std::string_view name, const Expr& e) const {
    const Value* v = a.get(name);
    if (!v) return false;
    if (v->kind != Value::Kind::Bool) {
      f_.fail(e.line, fmt::format("filter '{}': '{}' must be true or false", e.name, name));
    }
    return v->b;
  }

  std::string string_arg(const Args& a, std::string_view name, const Expr& e, std::string fallback) const {
    const Value* v = a.get(name);
    if (!v) return fallback;
    if (v->kind != Value::Kind::String) {
      if (v->is_undefined()) undefined_error(*v);
      f_.fail(e.line, fmt::format("filter '{}': '{}' must be a string", e.name, name));
    }
    return v->s;
  }

  Value filter(const Expr& e) {
    const std::string& name = e.name;
    if (name == "default" || name == "d") {
      Value input = eval(*e.args[0]);
      Args a = bind(e, {"default_value", "boolean"});
      const bool use_default = input.is_undefined() || (bool_arg(a, "boolean", e) && !input.truthy());
      if (!use_default) return input;
      const Value* fallback = a.get("default_value");
      return fallback ? *fallback : Value::string("");
    }
    static const std::vector<std::string> known = {"default", "d",     "indent", "b64encode",
                                                   "b64decode", "trim", "upper", "lower",
                                                   "replace",  "split", "join",  "length",
                                                   "string"};
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      f_.fail(e.line, detail::unknown_key_message("filter", name, "", known));
    }
    Value input = eval(*e.args[0]);
    if (input.is_undefined()) undefined_error(input);
    if (name == "length") {
      bind(e, {});
      if (input.kind == Value::Kind::List) return Value::integer(static_cast<std::int64_t>(input.list->size()));
      if (input.kind == Value::Kind::Map) return Value::integer(static_cast<std::int64_t>(input.map->size()));
      return Value::integer(static_cast<std::int64_t>(text_of(input, e.line).size()));
    }
    if (name == "join") {
      Args a = bind(e, {"d"});
      if (input.kind != Value::Kind::List) f_.fail(e.line, fmt::format("filter 'join' expects a list, got {}", kind_name(input)));
      const std::string sep = string_arg(a, "d", e, "");
      std::string s;
      for (size_t k = 0; k < input.list->size(); ++k) {
        if (k > 0) s += sep;
        s += text_of((*input.list)[k], e.line);
        check_size(s, e.line);
      }
      return Value::string(std::move(s));
    }
    const std::string text = text_of(input, e.line);
    std::string result;
    if (name == "indent") {
      Args a = bind(e, {"width", "first", "blank"});
      std::string pad = "    ";
      if (const Value* w = a.get("width")) {
        if (w->kind == Value::Kind::Int && w->i >= 0 && w->i <= 1024) pad.assign(static_cast<size_t>(w->i), ' ');
        else if (w->kind == Value::Kind::String && w->s.size() <= 1024) pad = w->s;
        else f_.fail(e.line, "filter 'indent': width must be a number from 0 to 1024 or a string");
      }
      result = indent(text, pad, bool_arg(a, "first", e), bool_arg(a, "blank", e), e.line);
    } else if (name == "b64encode") {
      bind(e, {});
      result = base64_encode(text);
    } else if (name == "b64decode") {
      bind(e, {});
      if (!base64_decode(text, result)) f_.fail(e.line, "filter 'b64decode': input is not valid base64");
    } else if (name == "trim") {
      Args a = bind(e, {"chars"});
      const std::string chars = string_arg(a, "chars", e, " \t\r\n\f\v");
      size_t b = text.find_first_not_of(chars);
      result = b == std::string::npos ? std::string() : text.substr(b, text.find_last_not_of(chars) - b + 1);
    } else if (name == "upper" || name == "lower") {
      bind(e, {});
      result = text;
      for (char& c : result) {
        c = static_cast<char>(name == "upper" ? std::toupper(static_cast<unsigned char>(c))
                                              : std::tolower(static_cast<unsigned char>(c)));
      }
    } else if (name == "replace") {
      Args a = bind(e, {"old", "new"});
      if (!a.get("old") || !a.get("new")) f_.fail(e.line, "filter 'replace' needs two arguments: old and new");
      const std::string from = string_arg(a, "old", e, "");
      const std::string to = string_arg(a, "new", e, "");
      if (from.empty()) {
        result = text;
      } else {
        for (size_t at = 0;;) {
          size_t hit = text.find(from, at);
          if (hit == std::string::npos) {
            result.append(text, at, std::string::npos);
            break;
          }
          result.append(text, at, hit - at).append(to);
          check_size(result, e.line);
          at = hit + from.size();
        }
      }
    } else if (name == "split") {
      Args a = bind(e, {"split"});
      const Value* sep_v = a.get("split");
      ValueList parts;
      if (!sep_v || sep_v->kind == Value::Kind::None) {
        size_t at = 0;
        while (true) {
          size_t b = text.find_first_not_of(" \t\r\n\f\v", at);
          if (b == std::string::npos) break;
          size_t end = text.find_first_of(" \t\r\n\f\v", b);
          parts.push_back(Value::string(text.substr(b, end == std::string::npos ? std::string::npos : end - b)));
          if (end == std::string::npos) break;
          at = end;
        }
      } else {
        const std::string sep = string_arg(a, "split", e, "");
        if (sep.empty()) f_.fail(e.line, "filter 'split': empty separator");
        for (size_t at = 0;;) {
          step(e.line);
          size_t hit = text.find(sep, at);
          parts.push_back(Value::string(text.substr(at, hit == std::string::npos ? std::string::npos : hit - at)));
          if (hit == std::string::npos) break;
          at = hit + sep.size();
        }
      }
      return Value::of_list(std::move(parts));
    } else {  // string
      bind(e, {});
      result = text;
    }
    check_size(result, e.line);
    return Value::string(std::move(result));
  }

  // minijinja's indent: one trailing newline is dropped, the first line is left alone unless
  // `first`, empty lines stay empty unless `blank`.
  std::string indent(std::string value, const std::string& pad, bool first, bool blank, int line) const {
    auto strip_newline = [](std::string& s) {
      if (!s.empty() && s.back() == '\n') s.pop_back();
      if (!s.empty() && s.back() == '\r') s.pop_back();
    };
    strip_newline(value);
    std::string out;
    size_t start = 0;
    bool is_first = true;
    while (true) {
      size_t nl = value.find('\n', start);
      std::string_view l(value.data() + start, (nl == std::string::npos ? value.size() : nl) - start);
      if (is_first && !first) {
        out += l;
      } else if (!l.empty() || blank) {
        out += pad;
        out += l;
      }
      check_size(out, line);
      is_first = false;
      if (nl == std::string::npos) break;
      out += '\n';
      start = nl + 1;
    }
    return out;
  }

  const Failer& f_;
  std::vector<std::string>* undefined_ = nullptr;
  Value env_;
  ValueMap vars_;  // top-level variables (minijinja -D)
  struct LoopScope {
    const std::string* var;
    const Value* item;
    size_t index;
    size_t length;
  };
  std::vector<LoopScope> scopes_;
  std::string out_;
  std::uint64_t steps_ = 0;
};

}  // namespace

std::string render_template(const std::string& text, const std::map<std::string, std::string>& env,
                            const std::string& source, std::vector<std::string>* undefined,
                            const std::map<std::string, std::string>* vars) {
  const Failer failer(source);
  try {
    Lexer lexer(text, failer);
    Parser parser(lexer.run(), failer);
    Body body = parser.parse();
    Renderer renderer(env, failer, undefined, vars);
    return renderer.render(body);
  } catch (const InputError&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw InputError(fmt::format("{}: template needs too much memory to render", source));
  } catch (const std::exception& e) {
    throw InputError(fmt::format("{}: cannot render template: {}", source, e.what()));
  }
}

std::set<std::string> template_env_names(const std::filesystem::path& root) {
  static const std::regex ref(R"re(\bENV\s*(?:\.\s*([A-Za-z_][A-Za-z0-9_]*)|\[\s*["']([^"'\]]+)["']\s*\]))re");
  std::set<std::string> names;
  std::error_code ec;
  std::size_t files = 0;
  auto it = std::filesystem::recursive_directory_iterator(
      root, std::filesystem::directory_options::skip_permission_denied, ec);
  for (; !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    const auto& p = it->path();
    const std::string name = p.filename().string();
    if (it->is_directory(ec) && (name == ".git" || name == "node_modules" || name == ".fluxboot")) {
      it.disable_recursion_pending();
      continue;
    }
    if (p.extension() != ".j2" || !it->is_regular_file(ec) || it->file_size(ec) > (1u << 20)) continue;
    if (++files > 2000) break;
    std::ifstream in(p, std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (auto m = std::sregex_iterator(text.begin(), text.end(), ref); m != std::sregex_iterator(); ++m)
      names.insert((*m)[1].matched ? (*m)[1].str() : (*m)[2].str());
  }
  return names;
}

}  // namespace fluxboot::gitops
