#include "gitops/yaml_support.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>

#include "fluxboot/error.hpp"
#include "fluxboot/files.hpp"

namespace fluxboot::gitops::detail {

namespace {

[[noreturn]] void rethrow_yaml(const YAML::Exception& e, const std::string& display,
                               int first_line) {
  if (e.mark.is_null()) throw InputError(fmt::format("{}: {}", display, e.msg));
  throw InputError(fmt::format("{}:{}:{}: {}", display, first_line + e.mark.line,
                               e.mark.column + 1, e.msg));
}

// One pass over a loaded document, linear in its text even when aliases make it exponential:
// - go-yaml (talhelper, Flux, kustomize) refuses a mapping key defined twice; yaml-cpp keeps both.
//   Checked here so every repository file read through this module fails as its own tools do.
// - aliases share their anchor's node in yaml-cpp, so an aliased collection is checked once
//   (memoised by its position in the text) and only its expanded size is counted. A document
//   whose expansion is large and mostly aliases (a billion-laughs prefix) is refused before any
//   caller walks it; a large plain document (no aliases) is never refused for its size here.
// - an alias inside its own anchor (`&a [*a]`) is refused as recursive.
constexpr std::size_t kMaxExpandedNodes = 250'000;

struct Walk {
  std::map<std::size_t, std::size_t> expanded_by_pos;  // collections done: their expanded size
  std::set<std::size_t> open;                          // collections being walked
  std::size_t distinct = 0;
};

std::size_t check_nodes(const YAML::Node& node, const std::string& display, int first_line, Walk& w,
                        int depth = 0) {
  if (depth > 256) return 1;  // yaml-cpp's own depth limit has already applied
  if (!node.IsMap() && !node.IsSequence()) {
    ++w.distinct;
    return 1;
  }
  const YAML::Mark mark = node.Mark();
  const bool memo = !mark.is_null() && mark.pos >= 0;
  const auto pos = static_cast<std::size_t>(mark.pos);
  if (memo) {
    if (auto it = w.expanded_by_pos.find(pos); it != w.expanded_by_pos.end()) return it->second;
    if (!w.open.insert(pos).second)
      throw InputError(fmt::format("{}:{}:{}: recursive alias (an alias inside its own anchor)", display,
                                   first_line + mark.line, mark.column + 1));
  }
  ++w.distinct;
  std::size_t expanded = 1;
  if (node.IsMap()) {
    std::set<std::string> seen;
    for (const auto& kv : node) {
      if (kv.first.IsScalar() && !seen.insert(kv.first.Scalar()).second)
        throw InputError(fmt::format("{}:{}:{}: mapping key \"{}\" already defined", display,
                                     first_line + kv.first.Mark().line, kv.first.Mark().column + 1,
                                     kv.first.Scalar()));
      expanded += check_nodes(kv.first, display, first_line, w, depth + 1);
      expanded += check_nodes(kv.second, display, first_line, w, depth + 1);
    }
  } else {
    for (const auto& item : node) expanded += check_nodes(item, display, first_line, w, depth + 1);
  }
  if (expanded > kMaxExpandedNodes && expanded > 2 * w.distinct)
    throw InputError(fmt::format("{}:{}:{}: document contains excessive aliasing (more than {} nodes after "
                                 "expanding aliases, from {} written)",
                                 display, first_line + mark.line, mark.column + 1, "250,000", w.distinct));
  if (memo) {
    w.open.erase(pos);
    w.expanded_by_pos.emplace(pos, expanded);
  }
  return expanded;
}

// yaml-cpp 0.7's Load/LoadAll never return on a stray ',' at document level: each round yields
// an empty document without consuming the token, until memory runs out (a fluxboot.yaml holding
// "," hung fluxboot; found by fuzz_repo_files). One pass over the parser's events first, which
// refuses a document that starts where the previous one did, as the values reader does.
class ProgressCheck final : public YAML::EventHandler {
 public:
  ProgressCheck(const std::string& display, int first_line) : display_(display), first_line_(first_line) {}
  void OnDocumentStart(const YAML::Mark& mark) override {
    if (started_ && mark.pos <= last_)
      throw InputError(fmt::format("{}:{}:{}: malformed YAML: unexpected character at the start of a document",
                                   display_, first_line_ + mark.line, mark.column + 1));
    started_ = true;
    last_ = mark.pos;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

 private:
  const std::string& display_;
  int first_line_;
  bool started_ = false;
  int last_ = -1;
};

void check_terminates(const std::string& text, const std::string& display, int first_line) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  ProgressCheck check(display, first_line);
  while (parser.HandleNextDocument(check)) {
  }
}

void check_duplicate_keys(const YAML::Node& node, const std::string& display, int first_line) {
  Walk w;
  (void)check_nodes(node, display, first_line, w);
}

}  // namespace

std::string read_text(const std::filesystem::path& file, const std::string& display) {
  return read_input_file(file, display);
}

YAML::Node parse_yaml(const std::string& text, const std::string& display, int first_line) {
  try {
    check_terminates(text, display, first_line);
    YAML::Node node = YAML::Load(text);
    check_duplicate_keys(node, display, first_line);
    return node;
  } catch (const YAML::Exception& e) {
    rethrow_yaml(e, display, first_line);
  }
}

std::vector<YAML::Node> parse_yaml_all(const std::string& text, const std::string& display, bool duplicates_ok) {
  try {
    check_terminates(text, display, 1);
    auto docs = YAML::LoadAll(text);
    if (!duplicates_ok)
      for (const auto& d : docs) check_duplicate_keys(d, display, 1);
    return docs;
  } catch (const YAML::Exception& e) {
    rethrow_yaml(e, display, 1);
  }
}

YAML::Node child(const YAML::Node& map, const std::string& key) {
  if (map.IsDefined() && map.IsMap()) {
    for (const auto& kv : map) {
      if (kv.first.IsScalar() && kv.first.Scalar() == key) return kv.second;
    }
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

int line_of(const YAML::Node& node) {
  if (!node.IsDefined()) return 0;
  YAML::Mark m = node.Mark();
  return m.is_null() ? 0 : m.line + 1;
}

std::string where(const std::string& display, int line) {
  return line > 0 ? fmt::format("{}:{}", display, line) : display;
}

std::string where(const std::string& display, const YAML::Node& node) {
  return where(display, line_of(node));
}

std::string type_name(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar: return "a scalar";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Null: return "null";
    case YAML::NodeType::Undefined: break;
  }
  return "nothing";
}

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

size_t edit_distance(const std::string& a, const std::string& b) {
  // Optimal string alignment: a swapped pair of letters (idnent) counts as one edit.
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

}  // namespace

std::string closest(std::string_view key, const std::vector<std::string>& known) {
  if (key.size() > 64) return {};
  const std::string k = lower(key);
  // Case is ignored (fieldmanager → fieldManager); otherwise allow about one typo per 4 chars.
  const size_t budget = std::max<size_t>(1, std::min<size_t>(3, k.size() / 4));
  std::string best;
  size_t best_d = budget + 1;
  for (const auto& cand : known) {
    size_t d = edit_distance(k, lower(cand));
    if (d < best_d) {
      best_d = d;
      best = cand;
    }
  }
  return best;
}

std::string unknown_key_message(std::string_view what, std::string_view key, std::string_view in,
                                const std::vector<std::string>& known) {
  std::string guess = closest(key, known);
  return fmt::format("unknown {} '{}'{}{}{} (known: {})", what, key, in.empty() ? "" : " ", in,
                     guess.empty() ? std::string() : fmt::format(", did you mean '{}'?", guess),
                     join(known));
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += sep;
    out += items[i];
  }
  return out;
}

std::string display_path(const std::filesystem::path& root, const std::filesystem::path& p) {
  if (root.empty() || !p.is_absolute()) return p.generic_string();
  auto rel = p.lexically_normal().lexically_relative(root.lexically_normal());
  if (rel.empty() || *rel.begin() == "..") return p.generic_string();
  return rel.generic_string();
}

}  // namespace fluxboot::gitops::detail
