#include "sim/api/table.hpp"

#include <fmt/format.h>

#include "sim/api/util.hpp"

namespace fluxboot::sim::api {

using json = nlohmann::json;

namespace {

struct Column {
  std::string name;
  std::string type = "string";
  std::string format;
};

std::string age_of(const json& obj) {
  return human_age(age_seconds(string_at(obj, {"metadata", "creationTimestamp"})));
}

std::string condition(const json& obj, const std::string& type) {
  const json* conds = find_path(obj, {"status", "conditions"});
  if (conds == nullptr || !conds->is_array()) return "";
  for (const auto& c : *conds) {
    if (c.is_object() && c.value("type", "") == type) return c.value("status", "");
  }
  return "";
}

int int_or(const json& obj, std::initializer_list<std::string_view> path, int fallback) {
  const json* v = find_path(obj, path);
  return v != nullptr && v->is_number_integer() ? v->get<int>() : fallback;
}

std::size_t map_size(const json& obj, const char* key) {
  return obj.contains(key) && obj[key].is_object() ? obj[key].size() : 0;
}

std::string cell_text(const json& v) {
  if (v.is_null()) return "";
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

void rows_for(const ResourceType& t, const json& crd, std::vector<Column>& cols,
              std::vector<std::function<json(const json&)>>& cells) {
  auto add = [&](std::string name, std::function<json(const json&)> fn, std::string type = "string",
                 std::string format = "") {
    cols.push_back({std::move(name), std::move(type), std::move(format)});
    cells.push_back(std::move(fn));
  };
  add("Name", [](const json& o) { return json(string_at(o, {"metadata", "name"})); }, "string",
      "name");
  const std::string id = t.group + "/" + t.kind;
  if (id == "/Namespace") {
    add("Status", [](const json& o) { return json(string_at(o, {"status", "phase"})); });
  } else if (id == "/Node") {
    add("Status", [](const json& o) {
      return json(condition(o, "Ready") == "True" ? "Ready" : "NotReady");
    });
    add("Roles", [](const json& o) {
      std::string roles;
      if (const json* labels = find_path(o, {"metadata", "labels"}); labels != nullptr) {
        for (auto it = labels->begin(); it != labels->end(); ++it) {
          const std::string prefix = "node-role.kubernetes.io/";
          if (it.key().rfind(prefix, 0) == 0) {
            roles += (roles.empty() ? "" : ",") + it.key().substr(prefix.size());
          }
        }
      }
      return json(roles.empty() ? "<none>" : roles);
    });
  } else if (id == "/Pod") {
    add("Ready", [](const json& o) {
      int total = 0;
      int ready = 0;
      if (const json* cs = find_path(o, {"status", "containerStatuses"}); cs != nullptr && cs->is_array()) {
        for (const auto& c : *cs) {
          ++total;
          if (c.value("ready", false)) ++ready;
        }
      }
      return json(fmt::format("{}/{}", ready, total));
    });
    add("Status", [](const json& o) { return json(string_at(o, {"status", "phase"}, "Pending")); });
    add("Restarts", [](const json&) { return json(0); }, "integer");
  } else if (id == "apps/Deployment" || id == "apps/StatefulSet") {
    add("Ready", [](const json& o) {
      return json(fmt::format("{}/{}", int_or(o, {"status", "readyReplicas"}, 0),
                              int_or(o, {"spec", "replicas"}, 1)));
    });
    if (id == "apps/Deployment") {
      add("Up-to-date", [](const json& o) { return json(int_or(o, {"status", "updatedReplicas"}, 0)); },
          "integer");
      add("Available", [](const json& o) { return json(int_or(o, {"status", "availableReplicas"}, 0)); },
          "integer");
    }
  } else if (id == "/Service") {
    add("Type", [](const json& o) { return json(string_at(o, {"spec", "type"})); });
    add("Cluster-IP", [](const json& o) { return json(string_at(o, {"spec", "clusterIP"}, "<none>")); });
    add("External-IP", [](const json&) { return json("<none>"); });
    add("Port(s)", [](const json& o) {
      std::string ports;
      if (const json* ps = find_path(o, {"spec", "ports"}); ps != nullptr && ps->is_array()) {
        for (const auto& p : *ps) {
          ports += fmt::format("{}{}/{}", ports.empty() ? "" : ",", cell_text(p.value("port", json())),
                               p.value("protocol", "TCP"));
        }
      }
      return json(ports.empty() ? "<none>" : ports);
    });
  } else if (id == "/Secret") {
    add("Type", [](const json& o) { return json(o.value("type", "Opaque")); });
    add("Data", [](const json& o) { return json(map_size(o, "data")); }, "integer");
  } else if (id == "/ConfigMap") {
    add("Data", [](const json& o) { return json(map_size(o, "data") + map_size(o, "binaryData")); },
        "integer");
  } else if (id == "apiextensions.k8s.io/CustomResourceDefinition") {
    add("Created At", [](const json& o) { return json(string_at(o, {"metadata", "creationTimestamp"})); },
        "date");
    return;
  } else if (crd.is_object()) {
    const json* versions = find_path(crd, {"spec", "versions"});
    if (versions != nullptr && versions->is_array()) {
      for (const auto& v : *versions) {
        if (!v.is_object() || v.value("name", "") != t.version) continue;
        const json* pcs = find_path(v, {"additionalPrinterColumns"});
        if (pcs == nullptr || !pcs->is_array()) continue;
        for (const auto& pc : *pcs) {
          std::string path = pc.value("jsonPath", "");
          std::string type = pc.value("type", "string");
          if (pc.value("priority", 0) != 0) continue;
          add(pc.value("name", path), [path, type](const json& o) -> json {
            json value = eval_simple_jsonpath(o, path);
            if (type == "date" && value.is_string()) {
              return human_age(age_seconds(value.get<std::string>()));
            }
            return value.is_null() ? json("") : value;
          }, type == "date" ? "string" : type);
        }
        return;
      }
    }
  }
  add("Age", [](const json& o) { return json(age_of(o)); });
}

}  // namespace

json eval_simple_jsonpath(const json& obj, const std::string& path) {
  const json* cur = &obj;
  std::size_t i = 0;
  if (!path.empty() && path[0] == '{') i = 1;
  auto stop = path.size() - (!path.empty() && path.back() == '}' ? 1 : 0);
  while (i < stop && cur != nullptr) {
    if (path[i] == '.') {
      ++i;
      std::size_t end = path.find_first_of(".[", i);
      if (end == std::string::npos || end > stop) end = stop;
      std::string key = path.substr(i, end - i);
      cur = cur->is_object() && cur->contains(key) ? &(*cur)[key] : nullptr;
      i = end;
    } else if (path[i] == '[') {
      std::size_t end = path.find(']', i);
      if (end == std::string::npos) return nullptr;
      std::string inner = path.substr(i + 1, end - i - 1);
      i = end + 1;
      if (!cur->is_array()) return nullptr;
      if (inner.rfind("?(@.", 0) == 0) {
        // ?(@.key=="value")
        auto eq = inner.find("==");
        if (eq == std::string::npos) return nullptr;
        std::string key = inner.substr(4, eq - 4);
        std::string value = inner.substr(eq + 2);
        if (!value.empty() && value.back() == ')') value.pop_back();
        if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'')) {
          value = value.substr(1, value.size() - 2);
        }
        const json* match = nullptr;
        for (const auto& item : *cur) {
          if (item.is_object() && item.contains(key) && cell_text(item[key]) == value) {
            match = &item;
            break;
          }
        }
        cur = match;
      } else {
        std::size_t idx = static_cast<std::size_t>(std::atoi(inner.c_str()));
        cur = idx < cur->size() ? &(*cur)[idx] : nullptr;
      }
    } else {
      return nullptr;
    }
  }
  return cur != nullptr ? *cur : json();
}

json to_table(const ResourceType& t, const std::vector<json>& items, std::uint64_t rv,
              const json& crd) {
  std::vector<Column> cols;
  std::vector<std::function<json(const json&)>> cells;
  rows_for(t, crd, cols, cells);
  json defs = json::array();
  for (const auto& c : cols) {
    defs.push_back({{"name", c.name},
                    {"type", c.type},
                    {"format", c.format},
                    {"description", ""},
                    {"priority", 0}});
  }
  json rows = json::array();
  for (const auto& item : items) {
    json row_cells = json::array();
    for (const auto& fn : cells) row_cells.push_back(fn(item));
    json meta = item.contains("metadata") ? item["metadata"] : json::object();
    meta.erase("managedFields");
    rows.push_back({{"cells", row_cells},
                    {"object",
                     {{"kind", "PartialObjectMetadata"},
                      {"apiVersion", "meta.k8s.io/v1"},
                      {"metadata", meta}}}});
  }
  return {{"kind", "Table"},
          {"apiVersion", "meta.k8s.io/v1"},
          {"metadata", {{"resourceVersion", std::to_string(rv)}}},
          {"columnDefinitions", defs},
          {"rows", rows}};
}

}  // namespace fluxboot::sim::api
