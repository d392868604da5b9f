#include "sim/yaml_json.hpp"

#include <regex>
#include <stdexcept>

#include <yaml-cpp/yaml.h>

namespace fluxboot::sim {

namespace {

nlohmann::json plain_scalar(const std::string& s) {
  static const std::regex int_re(R"(^[-+]?[0-9]+$)");
  static const std::regex float_re(R"(^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$)");
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  if (std::regex_match(s, int_re)) {
    try {
      return std::stoll(s);
    } catch (...) {
      return s;
    }
  }
  if (std::regex_match(s, float_re)) {
    try {
      return std::stod(s);
    } catch (...) {
      return s;
    }
  }
  return s;
}

void emit(YAML::Emitter& out, const nlohmann::json& v) {
  if (v.is_object() && v.empty()) {
    out << YAML::Flow << YAML::BeginMap << YAML::EndMap;
  } else if (v.is_array() && v.empty()) {
    out << YAML::Flow << YAML::BeginSeq << YAML::EndSeq;
  } else if (v.is_object()) {
    out << YAML::BeginMap;
    for (auto it = v.begin(); it != v.end(); ++it) {
      out << YAML::Key << it.key() << YAML::Value;
      emit(out, it.value());
    }
    out << YAML::EndMap;
  } else if (v.is_array()) {
    out << YAML::BeginSeq;
    for (const auto& e : v) emit(out, e);
    out << YAML::EndSeq;
  } else if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    // Strings that would read back as another type are quoted.
    if (!plain_scalar(s).is_string() || s.empty()) out << YAML::DoubleQuoted << s;
    else out << s;
  } else if (v.is_null()) {
    out << YAML::Null;
  } else if (v.is_boolean()) {
    out << (v.get<bool>() ? "true" : "false");
  } else {
    out << v.dump();
  }
}

}  // namespace

nlohmann::json yaml_to_json(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      nlohmann::json obj = nlohmann::json::object();
      for (const auto& kv : node) obj[kv.first.as<std::string>()] = yaml_to_json(kv.second);
      return obj;
    }
    case YAML::NodeType::Sequence: {
      nlohmann::json arr = nlohmann::json::array();
      for (const auto& e : node) arr.push_back(yaml_to_json(e));
      return arr;
    }
    case YAML::NodeType::Scalar:
      if (node.Tag() == "!") return node.Scalar();  // quoted
      return plain_scalar(node.Scalar());
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
  }
  return nullptr;
}

std::vector<nlohmann::json> parse_yaml_documents(const std::string& text) {
  std::vector<nlohmann::json> docs;
  try {
    for (const auto& node : YAML::LoadAll(text)) {
      auto j = yaml_to_json(node);
      if (!j.is_null()) docs.push_back(std::move(j));
    }
  } catch (const YAML::Exception& e) {
    throw std::runtime_error(e.what());
  }
  return docs;
}

nlohmann::json parse_yaml(const std::string& text) {
  auto docs = parse_yaml_documents(text);
  return docs.empty() ? nlohmann::json() : docs.front();
}

std::string json_to_yaml(const nlohmann::json& value) {
  YAML::Emitter out;
  emit(out, value);
  return std::string(out.c_str()) + "\n";
}

void deep_merge(nlohmann::json& into, const nlohmann::json& from) {
  if (!into.is_object() || !from.is_object()) {
    into = from;
    return;
  }
  for (auto it = from.begin(); it != from.end(); ++it) {
    if (into.contains(it.key()) && into[it.key()].is_object() && it.value().is_object())
      deep_merge(into[it.key()], it.value());
    else
      into[it.key()] = it.value();
  }
}

}  // namespace fluxboot::sim
