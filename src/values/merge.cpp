// How Flux combines values: helm's transform.MergeMaps for valuesFrom and spec.values, and Helm's
// strvals (the `--set` parser) for valuesFrom targetPath, as helm-controller's ReplacePathValue
// uses it. Also Kubernetes label selectors for kustomize patch targets.
#include <fmt/format.h>

#include <cstdint>
#include <limits>

#include "values/internal.hpp"

namespace fluxboot::values::detail {

void merge_maps(json& into, const json& from) {
  if (!into.is_object()) into = json::object();
  if (!from.is_object()) return;
  for (auto it = from.begin(); it != from.end(); ++it) {
    auto existing = into.find(it.key());
    if (it.value().is_object() && existing != into.end() && existing->is_object()) {
      merge_maps(*existing, it.value());
    } else {
      into[it.key()] = it.value();
    }
  }
}

namespace {

constexpr int kMaxIndex = 65536;
constexpr int kMaxNestedNameLevel = 30;
// Helm caps each index at 65536 but not their product over nested lists ("a[65536][65536]…");
// fluxboot stops at a million list slots per targetPath.
constexpr std::size_t kMaxSlots = 1'000'000;

struct StrvalsError {
  std::string message;
};

// helm.sh/helm/v3/pkg/strvals parser, for ParseInto (typed) and ParseIntoString.
class Strvals {
 public:
  Strvals(std::string_view text, bool strings_only) : in_(text), st_(strings_only) {}

  void parse(json& data) {
    for (;;) {
      if (!key(data, 0)) return;
    }
  }

 private:
  // io.RuneReader over bytes: stop characters are ASCII, so multi-byte runes pass through intact.
  bool read(char& c) {
    if (pos_ >= in_.size()) return false;
    c = in_[pos_++];
    return true;
  }
  void unread() { --pos_; }

  // runesUntil: returns false at EOF (text read so far in `v`).
  bool until(std::string_view stop, std::string& v, char& last) {
    v.clear();
    char c = 0;
    for (;;) {
      if (!read(c)) return false;
      if (stop.find(c) != std::string_view::npos) {
        last = c;
        return true;
      }
      if (c == '\\') {
        char next = 0;
        if (!read(next)) return false;
        v.push_back(next);
        continue;
      }
      v.push_back(c);
    }
  }

  json typed(const std::string& val) const {
    if (st_) return json(val);
    const std::string l = lower(val);
    if (l == "true") return json(true);
    if (l == "false") return json(false);
    if (l == "null") return json(nullptr);
    if (val == "0") return json(std::int64_t{0});
    if (!val.empty() && val[0] != '0') {
      std::size_t i = 0;
      bool neg = false;
      if (val[0] == '+' || val[0] == '-') {
        neg = val[0] == '-';
        ++i;
      }
      if (i < val.size()) {
        std::uint64_t n = 0;
        bool ok = true;
        for (std::size_t k = i; k < val.size() && ok; ++k) {
          if (val[k] < '0' || val[k] > '9')
            ok = false;
          else if (n > (std::numeric_limits<std::uint64_t>::max() -
                        static_cast<std::uint64_t>(val[k] - '0')) /
                           10)
            ok = false;
          else
            n = n * 10 + static_cast<std::uint64_t>(val[k] - '0');
        }
        constexpr std::uint64_t cutoff = std::uint64_t{1} << 63;
        if (ok && ((!neg && n < cutoff) || (neg && n <= cutoff)))
          return json(neg ? static_cast<std::int64_t>(0 - n) : static_cast<std::int64_t>(n));
      }
    }
    return json(val);
  }

  static void set(json& data, const std::string& key, json value) {
    if (key.empty()) return;
    data[key] = std::move(value);
  }

  // valList: nullopt when the value is not a {a,b} list; EOF with nothing read yields "".
  enum class ListResult { List, NotList, Eof };
  ListResult val_list(json& list) {
    char c = 0;
    if (!read(c)) return ListResult::Eof;
    if (c != '{') {
      unread();
      return ListResult::NotList;
    }
    list = json::array();
    std::string rs;
    char last = 0;
    for (;;) {
      if (!until(",}", rs, last)) throw StrvalsError{"list must terminate with '}'"};
      if (last == '}') {
        char n = 0;
        if (read(n) && n != ',') unread();
        list.push_back(typed(rs));
        return ListResult::List;
      }
      list.push_back(typed(rs));
    }
  }

  json value() {
    json list;
    switch (val_list(list)) {
      case ListResult::List:
        return list;
      case ListResult::Eof:
        return json("");
      case ListResult::NotList:
        break;
    }
    std::string rs;
    char last = 0;
    until(",", rs, last);
    return typed(rs);
  }

  int key_index() {
    std::string v;
    char last = 0;
    if (!until("]", v, last)) throw StrvalsError{"error parsing index: unexpected end"};
    std::int64_t n = 0;
    std::size_t i = 0;
    bool neg = false;
    if (!v.empty() && (v[0] == '+' || v[0] == '-')) neg = v[i++] == '-';
    if (i == v.size())
      throw StrvalsError{fmt::format("error parsing index: invalid index \"{}\"", v)};
    for (; i < v.size(); ++i) {
      if (v[i] < '0' || v[i] > '9')
        throw StrvalsError{fmt::format("error parsing index: invalid index \"{}\"", v)};
      n = n * 10 + (v[i] - '0');
      if (n > 1'000'000'000)
        throw StrvalsError{
            fmt::format("index of {} is greater than maximum supported index of {}", v, kMaxIndex)};
    }
    return static_cast<int>(neg ? -n : n);
  }

  void set_index(json& list, int index, json value) {
    if (index < 0) throw StrvalsError{fmt::format("negative {} index not allowed", index)};
    if (index > kMaxIndex)
      throw StrvalsError{fmt::format("index of {} is greater than maximum supported index of {}",
                                     index, kMaxIndex)};
    if (!list.is_array()) list = json::array();
    if (list.size() <= static_cast<std::size_t>(index)) {
      slots_ += static_cast<std::size_t>(index) + 1 - list.size();
      if (slots_ > kMaxSlots) throw StrvalsError{"the lists it creates exceed a million elements"};
    }
    while (list.size() <= static_cast<std::size_t>(index)) list.push_back(nullptr);
    list[static_cast<std::size_t>(index)] = std::move(value);
  }

  void list_item(json& list, int i, int level) {
    if (i < 0) throw StrvalsError{fmt::format("negative {} index not allowed", i)};
    std::string k;
    char last = 0;
    bool ok = until("[.=", k, last);
    if (!k.empty())
      throw StrvalsError{fmt::format("unexpected data at end of array index: \"{}\"", k)};
    if (!ok) throw StrvalsError{"unexpected end of key"};
    if (last == '=') {
      set_index(list, i, value());
    } else if (last == '[') {
      int next = key_index();
      json current = json::array();
      if (list.is_array() && list.size() > static_cast<std::size_t>(i) &&
          !list[static_cast<std::size_t>(i)].is_null()) {
        if (!list[static_cast<std::size_t>(i)].is_array())
          throw StrvalsError{"unable to parse key: existing value is not a list"};
        current = list[static_cast<std::size_t>(i)];
      }
      list_item(current, next, level);
      set_index(list, i, std::move(current));
    } else {  // '.'
      json inner = json::object();
      if (list.is_array() && list.size() > static_cast<std::size_t>(i) &&
          list[static_cast<std::size_t>(i)].is_object())
        inner = list[static_cast<std::size_t>(i)];
      key(inner, level);
      set_index(list, i, std::move(inner));
    }
  }

  // false at the end of input.
  bool key(json& data, int level) {
    std::string k;
    char last = 0;
    if (!until("=[,.", k, last)) {
      if (k.empty()) return false;
      throw StrvalsError{fmt::format("key \"{}\" has no value", k)};
    }
    switch (last) {
      case '[': {
        int i = key_index();
        json list = json::array();
        if (data.contains(k)) {
          if (!data[k].is_array())
            throw StrvalsError{fmt::format("unable to parse key: \"{}\" is not a list", k)};
          list = data[k];
        }
        list_item(list, i, level);
        set(data, k, std::move(list));
        return true;
      }
      case '=':
        set(data, k, value());
        return true;
      case ',':
        throw StrvalsError{fmt::format("key \"{}\" has no value (cannot end with ,)", k)};
      default: {  // '.'
        if (++level > kMaxNestedNameLevel)
          throw StrvalsError{fmt::format(
              "value name nested level is greater than maximum supported nested level of {}",
              kMaxNestedNameLevel)};
        json inner = json::object();
        if (data.contains(k)) {
          if (!data[k].is_object())
            throw StrvalsError{fmt::format("unable to parse key: \"{}\" is not a map", k)};
          inner = data[k];
        }
        bool more = key(inner, level);
        if (more && inner.empty())
          throw StrvalsError{fmt::format("key map \"{}\" has no value", k)};
        if (!inner.empty()) set(data, k, std::move(inner));
        return more;
      }
    }
  }

  std::string in_;
  std::size_t pos_ = 0;
  bool st_;
  std::size_t slots_ = 0;
};

}  // namespace

void replace_path_value(json& values, const std::string& path, const std::string& value,
                        const std::string& source) {
  bool quoted = value.size() >= 1 && ((value.front() == '\'' && value.back() == '\'') ||
                                      (value.front() == '"' && value.back() == '"'));
  std::string v = value;
  if (quoted) {
    // strings.Trim(value, `'"`): every leading and trailing quote character.
    std::size_t b = v.find_first_not_of("'\"");
    std::size_t e = v.find_last_not_of("'\"");
    v = b == std::string::npos ? std::string() : v.substr(b, e - b + 1);
  }
  try {
    Strvals parser(path + "=" + v, quoted);
    if (!values.is_object()) values = json::object();
    parser.parse(values);
  } catch (const StrvalsError& e) {
    throw InputError(fmt::format("{}: targetPath \"{}\": {}", source, path, e.message));
  }
}

namespace {

std::string trim(std::string_view s) {
  std::size_t b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  std::size_t e = s.find_last_not_of(" \t");
  return std::string(s.substr(b, e - b + 1));
}

std::vector<std::string> split_top(std::string_view s) {
  std::vector<std::string> parts;
  int depth = 0;
  std::string cur;
  for (char c : s) {
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (c == ',' && depth == 0) {
      parts.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  parts.push_back(cur);
  return parts;
}

std::string label(const json& labels, const std::string& key, bool& present) {
  present = labels.is_object() && labels.contains(key);
  if (!present) return {};
  const json& v = labels[key];
  return v.is_string() ? v.get<std::string>() : v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

bool selector_matches(const std::string& selector, const json& labels) {
  for (const std::string& raw : split_top(selector)) {
    std::string req = trim(raw);
    if (req.empty()) continue;
    bool present = false;
    if (req[0] == '!') {
      label(labels, trim(req.substr(1)), present);
      if (present) return false;
      continue;
    }
    auto set_op = [&](const std::string& word)
        -> std::optional<std::pair<std::string, std::vector<std::string>>> {
      std::size_t at = req.find(" " + word + " ");
      if (at == std::string::npos) at = req.find(" " + word + "(");
      if (at == std::string::npos) return std::nullopt;
      std::string key = trim(req.substr(0, at));
      std::size_t open = req.find('(', at);
      std::size_t close = req.rfind(')');
      if (open == std::string::npos || close == std::string::npos || close < open)
        return std::nullopt;
      std::vector<std::string> vals;
      for (const auto& v : split_top(req.substr(open + 1, close - open - 1)))
        vals.push_back(trim(v));
      return std::make_pair(key, vals);
    };
    if (auto in = set_op("notin")) {
      std::string v = label(labels, in->first, present);
      if (present && std::find(in->second.begin(), in->second.end(), v) != in->second.end())
        return false;
      continue;
    }
    if (auto in = set_op("in")) {
      std::string v = label(labels, in->first, present);
      if (!present || std::find(in->second.begin(), in->second.end(), v) == in->second.end())
        return false;
      continue;
    }
    std::size_t ne = req.find("!=");
    if (ne != std::string::npos) {
      std::string v = label(labels, trim(req.substr(0, ne)), present);
      if (present && v == trim(req.substr(ne + 2))) return false;
      continue;
    }
    std::size_t eq = req.find('=');
    if (eq != std::string::npos) {
      std::size_t vstart = (eq + 1 < req.size() && req[eq + 1] == '=') ? eq + 2 : eq + 1;
      std::string v = label(labels, trim(req.substr(0, eq)), present);
      if (!present || v != trim(req.substr(vstart))) return false;
      continue;
    }
    std::size_t cmp = req.find_first_of("<>");
    if (cmp != std::string::npos) {
      std::string v = label(labels, trim(req.substr(0, cmp)), present);
      if (!present) return false;
      try {
        long long have = std::stoll(v);
        long long want = std::stoll(trim(req.substr(cmp + 1)));
        if (req[cmp] == '>' ? !(have > want) : !(have < want)) return false;
      } catch (...) {
        return false;
      }
      continue;
    }
    label(labels, req, present);
    if (!present) return false;
  }
  return true;
}

}  // namespace fluxboot::values::detail
