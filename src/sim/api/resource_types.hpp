#pragma once
// The registry of served resource types: the built-in ones a bootstrap needs, plus those that
// CustomResourceDefinitions add. Not thread-safe; the Store guards it.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/api/api_server.hpp"

namespace fluxboot::sim::api {

// "apps/v1" -> {"apps","v1"}; "v1" -> {"","v1"}.
std::pair<std::string, std::string> split_api_version(const std::string& api_version);

// Objects are stored per group and plural, whatever version they were written with.
std::string store_key(const ResourceType& t);

// The resource types a CustomResourceDefinition serves (one per served version).
std::vector<ResourceType> types_from_crd(const nlohmann::json& crd);

class TypeRegistry {
 public:
  TypeRegistry();  // the built-in types

  // Adds or replaces (same group, version, plural). `owner` names the CRD, "" for built-ins.
  void add(const ResourceType& t, const std::string& owner = "");
  void remove_owned_by(const std::string& owner);

  const ResourceType* by_resource(const std::string& group, const std::string& version,
                                  const std::string& plural) const;
  const ResourceType* by_kind(const std::string& group, const std::string& version,
                              const std::string& kind) const;
  // The first served version of group/kind, for objects given with an unknown version.
  const ResourceType* by_group_kind(const std::string& group, const std::string& kind) const;
  const std::vector<ResourceType>& all() const { return types_; }
  // Groups in registration order, each with its versions in registration order.
  std::vector<std::pair<std::string, std::vector<std::string>>> groups() const;

 private:
  std::vector<ResourceType> types_;
  std::vector<std::string> owners_;  // parallel to types_
};

}  // namespace fluxboot::sim::api
