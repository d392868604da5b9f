#pragma once
// Label selectors (=, ==, !=, in, notin, exists, !key) and field selectors (=, ==, != on any
// dotted path, e.g. metadata.name, metadata.namespace, status.phase, type), as in list and watch.
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace fluxboot::sim::api {

class SelectorError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class LabelSelector {
 public:
  enum class Op { Equals, NotEquals, In, NotIn, Exists, DoesNotExist };
  struct Requirement {
    std::string key;
    Op op = Op::Exists;
    std::vector<std::string> values;
  };

  // Throws SelectorError on a malformed selector. An empty string selects everything.
  static LabelSelector parse(const std::string& text);
  // `labels` is metadata.labels (may be null).
  bool matches(const nlohmann::json& labels) const;
  bool empty() const { return requirements_.empty(); }
  const std::vector<Requirement>& requirements() const { return requirements_; }

 private:
  std::vector<Requirement> requirements_;
};

class FieldSelector {
 public:
  struct Requirement {
    std::string path;  // "metadata.name"
    bool negated = false;
    std::string value;
  };
  static FieldSelector parse(const std::string& text);
  // Matches against the whole object; a missing field compares as "".
  bool matches(const nlohmann::json& object) const;
  bool empty() const { return requirements_.empty(); }
  // The value of an equality requirement on `path`, or "" when there is none.
  std::string equals_value(const std::string& path) const;

 private:
  std::vector<Requirement> requirements_;
};

}  // namespace fluxboot::sim::api
