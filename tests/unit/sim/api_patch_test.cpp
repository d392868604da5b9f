#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "sim/api/patch.hpp"

namespace fluxboot::sim::api {
namespace {

using json = nlohmann::json;

const json kDeployment = json::parse(R"({
  "metadata": {"name": "web", "labels": {"app": "web", "tier": "fe"}},
  "spec": {"replicas": 1, "template": {"spec": {
    "containers": [
      {"name": "manager", "image": "v1", "ports": [{"containerPort": 8080, "name": "http"}],
       "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]},
      {"name": "sidecar", "image": "s1"}],
    "volumes": [{"name": "data", "emptyDir": {}}]}}}})");

TEST(StrategicMergePatch, MergesContainersByNameAndKeepsTheirPorts) {
  // What helm sends on upgrade when only the image changed.
  json patch = json::parse(R"({"spec":{"template":{"spec":{
    "$setElementOrder/containers":[{"name":"manager"},{"name":"sidecar"}],
    "containers":[{"image":"v2","name":"manager"}]}}}})");
  json out = strategic_merge_patch(kDeployment, patch);
  const json& c = out["spec"]["template"]["spec"]["containers"];
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0]["image"], "v2");
  EXPECT_EQ(c[0]["ports"][0]["containerPort"], 8080);
  EXPECT_EQ(c[1]["image"], "s1");
}

TEST(StrategicMergePatch, MergesEnvByNameAndDeletesWithDirectives) {
  json patch = json::parse(R"({"spec":{"template":{"spec":{"containers":[
    {"name":"manager","env":[{"name":"B","value":"20"},{"name":"C","value":"3"},{"name":"A","$patch":"delete"}]},
    {"name":"sidecar","$patch":"delete"}]}}}})");
  json out = strategic_merge_patch(kDeployment, patch);
  const json& c = out["spec"]["template"]["spec"]["containers"];
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0]["env"], json::parse(R"([{"name":"B","value":"20"},{"name":"C","value":"3"}])"));
}

TEST(StrategicMergePatch, NullDeletesAndPlainListsReplace) {
  json patch = json::parse(R"({"metadata":{"labels":{"tier":null}},
    "spec":{"template":{"spec":{"containers":[{"name":"manager","args":["--x"]}]}}}})");
  json out = strategic_merge_patch(kDeployment, patch);
  EXPECT_FALSE(out["metadata"]["labels"].contains("tier"));
  EXPECT_EQ(out["spec"]["template"]["spec"]["containers"][0]["args"], json::array({"--x"}));
  json replace = json::parse(R"({"spec":{"template":{"spec":{"volumes":[{"$patch":"replace"},{"name":"cfg"}]}}}})");
  EXPECT_EQ(strategic_merge_patch(kDeployment, replace)["spec"]["template"]["spec"]["volumes"],
            json::parse(R"([{"name":"cfg"}])"));
}

TEST(StrategicMergePatch, ServicePortsMergeByPortAndSetElementOrderReorders) {
  json svc = json::parse(R"({"spec":{"ports":[{"port":80,"name":"http"},{"port":443,"name":"https"}]}})");
  json patch = json::parse(R"({"spec":{"$setElementOrder/ports":[{"port":443},{"port":80}],
    "ports":[{"port":443,"targetPort":8443}]}})");
  json out = strategic_merge_patch(svc, patch);
  EXPECT_EQ(out["spec"]["ports"], json::parse(
      R"([{"port":443,"name":"https","targetPort":8443},{"port":80,"name":"http"}])"));
}

TEST(StrategicMergePatch, RetainKeysAndDeleteFromPrimitiveList) {
  json obj = json::parse(R"({"spec":{"strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":1}}},
    "metadata":{"finalizers":["a","b","c"]}})");
  json patch = json::parse(R"({"spec":{"strategy":{"$retainKeys":["type"],"type":"Recreate"}},
    "metadata":{"$deleteFromPrimitiveList/finalizers":["b"]}})");
  json out = strategic_merge_patch(obj, patch);
  EXPECT_EQ(out["spec"]["strategy"], json::parse(R"({"type":"Recreate"})"));
  EXPECT_EQ(out["metadata"]["finalizers"], json::parse(R"(["a","c"])"));
}

TEST(MergePatch, FollowsRfc7386) {
  json target = json::parse(R"({"a":"b","c":{"d":"e","f":"g"},"l":[1,2]})");
  json out = merge_patch(target, json::parse(R"({"a":"z","c":{"f":null},"l":[3]})"));
  EXPECT_EQ(out, json::parse(R"({"a":"z","c":{"d":"e"},"l":[3]})"));
}

TEST(JsonPatch, AppliesOperationsAndFailsOnTest) {
  json target = json::parse(R"({"spec":{"replicas":1,"list":[1]}})");
  json out = json_patch(target, json::parse(R"([{"op":"replace","path":"/spec/replicas","value":3},
    {"op":"add","path":"/spec/list/-","value":2},{"op":"test","path":"/spec/replicas","value":3}])"));
  EXPECT_EQ(out, json::parse(R"({"spec":{"replicas":3,"list":[1,2]}})"));
  EXPECT_THROW(json_patch(target, json::parse(R"([{"op":"test","path":"/spec/replicas","value":9}])")),
               PatchError);
  EXPECT_THROW(json_patch(target, json::parse(R"({"op":"add"})")), PatchError);
}

}  // namespace
}  // namespace fluxboot::sim::api
