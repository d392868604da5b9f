#include "sim/api/selectors.hpp"

#include <algorithm>
#include <cctype>

namespace fluxboot::sim::api {

using json = nlohmann::json;

namespace {

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  auto e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

// Splits on commas outside parentheses.
std::vector<std::string> split_top_level(const std::string& text) {
  std::vector<std::string> parts;
  std::string cur;
  int depth = 0;
  for (char c : text) {
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (depth < 0) throw SelectorError("unbalanced parentheses in selector: " + text);
    if (c == ',' && depth == 0) {
      parts.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (depth != 0) throw SelectorError("unbalanced parentheses in selector: " + text);
  parts.push_back(cur);
  return parts;
}

bool valid_key(const std::string& key) {
  if (key.empty()) return false;
  return std::all_of(key.begin(), key.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' || c == '.' ||
           c == '/';
  });
}

// "key in (a, b)" / "key notin (a,b)": returns true and fills `req` when `part` has that form.
bool parse_set(const std::string& part, LabelSelector::Requirement& req) {
  auto open = part.find('(');
  if (open == std::string::npos) return false;
  std::string head = trim(part.substr(0, open));
  auto space = head.find_last_of(" \t");
  if (space == std::string::npos) return false;
  std::string op = head.substr(space + 1);
  if (op != "in" && op != "notin") return false;
  req.key = trim(head.substr(0, space));
  req.op = op == "in" ? LabelSelector::Op::In : LabelSelector::Op::NotIn;
  auto close = part.rfind(')');
  if (close == std::string::npos || close < open || !trim(part.substr(close + 1)).empty()) {
    throw SelectorError("malformed set in selector: " + part);
  }
  std::string inner = part.substr(open + 1, close - open - 1);
  std::string cur;
  for (char c : inner + ",") {
    if (c == ',') {
      std::string v = trim(cur);
      if (!v.empty()) req.values.push_back(v);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  return true;
}

}  // namespace

LabelSelector LabelSelector::parse(const std::string& text) {
  LabelSelector sel;
  if (trim(text).empty()) return sel;
  for (const auto& raw : split_top_level(text)) {
    std::string part = trim(raw);
    if (part.empty()) throw SelectorError("empty requirement in selector: " + text);
    Requirement req;
    if (parse_set(part, req)) {
      // filled by parse_set
    } else if (part[0] == '!') {
      req.key = trim(part.substr(1));
      req.op = Op::DoesNotExist;
    } else if (auto ne = part.find("!="); ne != std::string::npos) {
      req.key = trim(part.substr(0, ne));
      req.op = Op::NotEquals;
      req.values.push_back(trim(part.substr(ne + 2)));
    } else if (auto eq2 = part.find("=="); eq2 != std::string::npos) {
      req.key = trim(part.substr(0, eq2));
      req.op = Op::Equals;
      req.values.push_back(trim(part.substr(eq2 + 2)));
    } else if (auto eq = part.find('='); eq != std::string::npos) {
      req.key = trim(part.substr(0, eq));
      req.op = Op::Equals;
      req.values.push_back(trim(part.substr(eq + 1)));
    } else {
      req.key = part;
      req.op = Op::Exists;
    }
    if (!valid_key(req.key)) throw SelectorError("invalid label key in selector: " + part);
    sel.requirements_.push_back(std::move(req));
  }
  return sel;
}

bool LabelSelector::matches(const json& labels) const {
  for (const auto& r : requirements_) {
    bool has = labels.is_object() && labels.contains(r.key);
    std::string value = has && labels[r.key].is_string() ? labels[r.key].get<std::string>() : "";
    bool in_values = std::find(r.values.begin(), r.values.end(), value) != r.values.end();
    bool ok = false;
    switch (r.op) {
      case Op::Equals: ok = has && in_values; break;
      case Op::NotEquals: ok = !has || !in_values; break;
      case Op::In: ok = has && in_values; break;
      case Op::NotIn: ok = !has || !in_values; break;
      case Op::Exists: ok = has; break;
      case Op::DoesNotExist: ok = !has; break;
    }
    if (!ok) return false;
  }
  return true;
}

FieldSelector FieldSelector::parse(const std::string& text) {
  FieldSelector sel;
  if (trim(text).empty()) return sel;
  for (const auto& raw : split_top_level(text)) {
    std::string part = trim(raw);
    Requirement req;
    std::size_t value_at = 0;
    if (auto ne = part.find("!="); ne != std::string::npos) {
      req.path = trim(part.substr(0, ne));
      req.negated = true;
      value_at = ne + 2;
    } else if (auto eq2 = part.find("=="); eq2 != std::string::npos) {
      req.path = trim(part.substr(0, eq2));
      value_at = eq2 + 2;
    } else if (auto eq = part.find('='); eq != std::string::npos) {
      req.path = trim(part.substr(0, eq));
      value_at = eq + 1;
    } else {
      throw SelectorError("invalid field selector requirement: " + part);
    }
    req.value = trim(part.substr(value_at));
    if (req.path.empty()) throw SelectorError("invalid field selector requirement: " + part);
    sel.requirements_.push_back(std::move(req));
  }
  return sel;
}

bool FieldSelector::matches(const json& object) const {
  for (const auto& r : requirements_) {
    const json* cur = &object;
    std::size_t start = 0;
    while (cur != nullptr && start <= r.path.size()) {
      auto dot = r.path.find('.', start);
      std::string key = r.path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
      cur = cur->is_object() && cur->contains(key) ? &(*cur)[key] : nullptr;
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    std::string value;
    if (cur != nullptr) {
      if (cur->is_string()) {
        value = cur->get<std::string>();
      } else if (!cur->is_null()) {
        value = cur->dump();
      }
    }
    if ((value == r.value) == r.negated) return false;
  }
  return true;
}

std::string FieldSelector::equals_value(const std::string& path) const {
  for (const auto& r : requirements_) {
    if (r.path == path && !r.negated) return r.value;
  }
  return "";
}

}  // namespace fluxboot::sim::api
