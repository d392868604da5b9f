#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "sim/api/selectors.hpp"

namespace fluxboot::sim::api {
namespace {

using json = nlohmann::json;

bool selects(const std::string& selector, const json& labels) {
  return LabelSelector::parse(selector).matches(labels);
}

TEST(LabelSelector, SupportsEqualityInequalityAndExistence) {
  json labels = {{"app", "web"}, {"tier", "fe"}};
  EXPECT_TRUE(selects("", labels));
  EXPECT_TRUE(selects("app=web", labels));
  EXPECT_TRUE(selects("app==web,tier=fe", labels));
  EXPECT_FALSE(selects("app=web,tier=be", labels));
  EXPECT_TRUE(selects("app!=db", labels));
  EXPECT_TRUE(selects("release!=x", labels));  // absent key satisfies !=
  EXPECT_TRUE(selects("app", labels));
  EXPECT_FALSE(selects("!app", labels));
  EXPECT_TRUE(selects("!release", labels));
  EXPECT_FALSE(selects("app", json()));
  EXPECT_TRUE(selects("name=rel,owner=helm", {{"name", "rel"}, {"owner", "helm"}, {"status", "deployed"}}));
}

TEST(LabelSelector, SupportsSetsWithSpacesAndCommasInside) {
  json labels = {{"env", "prod"}};
  EXPECT_TRUE(selects("env in (prod, staging)", labels));
  EXPECT_FALSE(selects("env notin (prod,staging)", labels));
  EXPECT_TRUE(selects("env notin (dev),app notin (x)", labels));
  EXPECT_FALSE(selects("env in (dev)", labels));
  EXPECT_FALSE(selects("missing in (a)", labels));
}

TEST(LabelSelector, RejectsMalformedSelectors) {
  EXPECT_THROW(LabelSelector::parse("env in (a"), SelectorError);
  EXPECT_THROW(LabelSelector::parse("a=b,,c=d"), SelectorError);
  EXPECT_THROW(LabelSelector::parse("bad key=v"), SelectorError);
}

TEST(FieldSelector, MatchesNameNamespaceAndNestedFields) {
  json obj = {{"metadata", {{"name", "cp-1"}, {"namespace", "default"}}},
              {"status", {{"phase", "Running"}}},
              {"type", "helm.sh/release.v1"}};
  auto matches = [&](const std::string& s) { return FieldSelector::parse(s).matches(obj); };
  EXPECT_TRUE(matches("metadata.name=cp-1"));
  EXPECT_FALSE(matches("metadata.name=cp-2"));
  EXPECT_TRUE(matches("metadata.namespace==default,status.phase!=Failed"));
  EXPECT_TRUE(matches("type=helm.sh/release.v1"));
  EXPECT_TRUE(matches("spec.nodeName="));  // missing compares as empty
  EXPECT_EQ(FieldSelector::parse("metadata.name=x").equals_value("metadata.name"), "x");
  EXPECT_THROW(FieldSelector::parse("metadata.name"), SelectorError);
}

}  // namespace
}  // namespace fluxboot::sim::api
