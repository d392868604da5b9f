// The node inventory: which Talos nodes exist, which are control planes, and which machine config
// file belongs to each. Sources, first match wins: fluxboot.yaml `nodes`, talhelper's
// talconfig.yaml, minijinja machine-config templates (talos/nodes/*.yaml.j2), the talosconfig's
// current context.
#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "fluxboot/gitops.hpp"
#include "gitops/yaml_support.hpp"

namespace fluxboot::gitops {

namespace fs = std::filesystem;
using detail::where;

namespace {

struct Talconfig {
  std::string display;
  YAML::Node doc;
  std::string cluster_name;
};

// talconfig.yaml parsed, or nullopt when the file does not exist.
std::optional<Talconfig> read_talconfig(const Config& config) {
  const fs::path file = config.abs(config.paths.talconfig);
  std::error_code ec;
  if (!fs::exists(file, ec)) return std::nullopt;
  Talconfig t;
  t.display = detail::display_path(config.root, file);
  t.doc = detail::parse_yaml(detail::read_text(file, t.display), t.display);
  if (t.doc.IsMap()) {
    const YAML::Node name = detail::child(t.doc, "clusterName");
    if (name.IsScalar()) t.cluster_name = name.Scalar();
  }
  return t;
}

std::string label_of(const NodeSpec& n) {
  return fmt::format("node '{}'", n.hostname.empty() ? n.address : n.hostname);
}

// "10.0.0.1:50000" → "10.0.0.1", "[fd00::1]:50000" → "fd00::1"; anything else unchanged.
std::string strip_port(const std::string& endpoint) {
  if (!endpoint.empty() && endpoint.front() == '[') {
    size_t close = endpoint.find(']');
    if (close != std::string::npos) return endpoint.substr(1, close - 1);
  }
  if (std::count(endpoint.begin(), endpoint.end(), ':') == 1) {
    return endpoint.substr(0, endpoint.find(':'));
  }
  return endpoint;
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return {};
  size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

class InventoryBuilder {
 public:
  explicit InventoryBuilder(const Config& config)
      : config_(config), clusterconfig_(config.abs(config.paths.clusterconfig)) {}

  Problems problems;
  std::vector<NodeSpec> nodes;
  // Appended to "machine config … not found" for files a tool is expected to have generated.
  std::string missing_hint;
  std::string source;  // the file the inventory came from, for inventory-wide problems

  void add(const std::string& origin, const std::string& message) {
    problems.add(origin.empty() ? message : fmt::format("{}: {}", origin, message));
  }

  std::string show(const fs::path& p) const { return detail::display_path(config_.root, p); }

  // Machine configs whose name is "<address>.yaml" or ends in "-<address>.yaml" (talhelper with
  // IP hostnames, or hand-written configs). Exactly one must match.
  std::optional<fs::path> find_by_address(const NodeSpec& node, const std::string& hint) {
    std::vector<fs::path> matches;
    std::error_code ec;
    if (fs::is_directory(clusterconfig_, ec)) {
      for (const auto& entry : fs::directory_iterator(clusterconfig_, ec)) {
        if (!entry.is_regular_file(ec)) continue;
        const std::string name = entry.path().filename().string();
        const std::string want = node.address + ".yaml";
        if (name == want || (name.size() > want.size() &&
                             name.compare(name.size() - want.size() - 1, std::string::npos,
                                          "-" + want) == 0)) {
          matches.push_back(entry.path());
        }
      }
    }
    std::sort(matches.begin(), matches.end());
    if (matches.size() == 1) return matches.front();
    if (matches.empty()) {
      add(node.origin, fmt::format("{}: no machine config for address {} in {} (looked for "
                                   "{}.yaml and *-{}.yaml){}",
                                   label_of(node), node.address, show(clusterconfig_), node.address,
                                   node.address, hint));
    } else {
      std::vector<std::string> names;
      for (const auto& m : matches) names.push_back(show(m));
      add(node.origin, fmt::format("{}: several machine configs match address {}: {}; set "
                                   "configFile in fluxboot.yaml `nodes`",
                                   label_of(node), node.address, detail::join(names)));
    }
    return std::nullopt;
  }

  void from_config(const std::vector<NodeSpec>& declared) {
    nodes = declared;
    source = "fluxboot.yaml";
    std::optional<Talconfig> talconfig;
    bool talconfig_read = false;
    for (auto& node : nodes) {
      if (!node.config_file.empty()) continue;
      if (!talconfig_read) {
        talconfig_read = true;
        try {
          talconfig = read_talconfig(config_);
        } catch (const InputError& e) {
          problems.add(e.what());
        }
      }
      const std::string cluster = talconfig ? talconfig->cluster_name : std::string();
      if (!node.hostname.empty() && !cluster.empty()) {
        node.config_file = clusterconfig_ / fmt::format("{}-{}.yaml", cluster, node.hostname);
        continue;
      }
      if (!is_valid_host(node.address)) continue;  // reported by validate()
      const std::string why =
          !node.hostname.empty()
              ? fmt::format("; the cluster name is unknown ({} has no clusterName), so "
                            "<cluster>-{}.yaml cannot be derived either; set configFile",
                            show(config_.abs(config_.paths.talconfig)), node.hostname)
              : std::string("; set configFile");
      if (auto found = find_by_address(node, why)) node.config_file = *found;
    }
  }

  void from_talconfig(const Talconfig& t) {
    missing_hint = " (run talhelper genconfig?)";
    source = t.display;
    const YAML::Node& doc = t.doc;
    if (!doc.IsMap()) {
      add(where(t.display, doc), fmt::format("expected a mapping at the top level, got {}",
                                             detail::type_name(doc)));
      return;
    }
    if (t.cluster_name.empty()) add(where(t.display, doc), "no clusterName");
    const YAML::Node list = detail::child(doc, "nodes");
    if (!list.IsSequence()) {
      add(where(t.display, list.IsDefined() ? list : doc),
          list.IsDefined() ? fmt::format("'nodes' must be a list, got {}", detail::type_name(list))
                           : std::string("no 'nodes' list"));
      return;
    }
    for (size_t i = 0; i < list.size(); ++i) {
      const YAML::Node item = list[i];
      const std::string origin = where(t.display, item);
      if (!item.IsMap()) {
        add(origin, fmt::format("nodes[{}] must be a mapping, got {}", i, detail::type_name(item)));
        continue;
      }
      NodeSpec node;
      node.origin = origin;
      const YAML::Node hostname = detail::child(item, "hostname");
      const YAML::Node ip = detail::child(item, "ipAddress");
      const YAML::Node cp = detail::child(item, "controlPlane");
      if (hostname.IsScalar() && !hostname.Scalar().empty()) {
        node.hostname = hostname.Scalar();
      } else {
        add(origin, fmt::format("nodes[{}] has no hostname", i));
      }
      if (ip.IsScalar() && !trim(ip.Scalar()).empty()) {
        // talhelper allows "10.0.0.10, 10.0.0.11"; the first address is the one to talk to.
        node.address = trim(ip.Scalar().substr(0, ip.Scalar().find(',')));
      } else {
        add(origin, fmt::format("nodes[{}] ('{}') has no ipAddress", i, node.hostname));
      }
      if (cp.IsDefined() && !cp.IsNull()) {
        bool value = false;
        if (cp.IsScalar() && YAML::convert<bool>::decode(cp, value)) {
          node.control_plane = value;
        } else {
          add(where(t.display, cp),
              fmt::format("nodes[{}].controlPlane must be true or false", i));
        }
      }
      if (is_valid_host(node.hostname) && !t.cluster_name.empty()) {
        node.config_file = clusterconfig_ / fmt::format("{}-{}.yaml", t.cluster_name, node.hostname);
      }
      nodes.push_back(std::move(node));
    }
  }

  void from_talosconfig(const fs::path& file) {
    const std::string display = show(file);
    source = display;
    const YAML::Node doc = detail::parse_yaml(detail::read_text(file, display), display);
    if (!doc.IsMap()) {
      add(where(display, doc), "expected a talosconfig (a mapping with 'context' and 'contexts')");
      return;
    }
    const YAML::Node context = detail::child(doc, "context");
    if (!context.IsScalar() || context.Scalar().empty()) {
      add(where(display, doc), "no current 'context'");
      return;
    }
    const YAML::Node ctx = detail::child(detail::child(doc, "contexts"), context.Scalar());
    if (!ctx.IsMap()) {
      add(where(display, context),
          fmt::format("context '{}' is not defined under 'contexts'", context.Scalar()));
      return;
    }
    auto scalars = [&](const YAML::Node& seq) {
      std::vector<std::pair<std::string, YAML::Node>> out;
      if (!seq.IsSequence()) return out;
      for (const auto& item : seq) {
        if (item.IsScalar() && !item.Scalar().empty()) out.emplace_back(strip_port(item.Scalar()), item);
      }
      return out;
    };
    const auto endpoints = scalars(detail::child(ctx, "endpoints"));
    auto listed = scalars(detail::child(ctx, "nodes"));
    if (listed.empty()) listed = endpoints;
    if (listed.empty()) {
      add(where(display, ctx),
          fmt::format("context '{}' lists neither nodes nor endpoints", context.Scalar()));
      return;
    }
    std::set<std::string> endpoint_set;
    for (const auto& e : endpoints) endpoint_set.insert(e.first);
    bool any_cp = false;
    for (const auto& [address, at] : listed) {
      NodeSpec node;
      node.address = address;
      node.origin = where(display, at);
      // Talos endpoints must be control-plane nodes, so those listed as endpoints are.
      node.control_plane = endpoint_set.count(address) > 0;
      any_cp = any_cp || node.control_plane;
      nodes.push_back(std::move(node));
    }
    // Endpoints that are a VIP or load balancer match no node: then the first node is taken as
    // the controller, like the `just` recipes do.
    if (!any_cp) nodes.front().control_plane = true;
    for (auto& node : nodes) {
      if (!is_valid_host(node.address)) continue;  // reported by validate()
      if (auto found = find_by_address(node, " (run talhelper genconfig, or list the nodes in "
                                             "fluxboot.yaml `nodes` with configFile)")) {
        node.config_file = *found;
      }
    }
  }

  // Minijinja machine-config templates: <dir>/machineconfig.yaml.j2 (or cluster.yaml.j2), an
  // optional <role>.yaml.j2, and one patch per node under <dir>/nodes/ or <dir>/nodes/<role>/.
  // The node is the patch's file name (an address, or a host name talosctl resolves); its role is
  // the <role> directory, else the patch's `machine.type` (read from its text, unrendered).
  void from_templates(const MachineConfigTemplates& t) {
    source = show(t.nodes_dir);
    missing_hint.clear();
    for (const auto& n : t.nodes) {
      NodeSpec node;
      node.origin = show(n.patch);
      node.address = n.name;
      if (!is_ip_address(n.name)) node.hostname = n.name;
      node.control_plane = n.control_plane;
      node.config_templates.push_back(t.base);
      const fs::path& role = n.control_plane ? t.controlplane : t.worker;
      if (!role.empty()) node.config_templates.push_back(role);
      node.config_templates.push_back(n.patch);
      nodes.push_back(std::move(node));
    }
  }

  void validate() {
    if (nodes.empty()) {
      if (problems.empty()) problems.add(fmt::format("{}: no Talos nodes in the inventory", source));
      return;
    }
    std::map<std::string, std::string> addresses, hostnames;  // value → first origin
    bool any_cp = false;
    for (const auto& node : nodes) {
      any_cp = any_cp || node.control_plane;
      if (node.address.empty()) {
        continue;  // reported where the node was read
      }
      if (!is_valid_host(node.address)) {
        add(node.origin, fmt::format("{}: '{}' is not an IPv4/IPv6 address or host name",
                                     label_of(node), node.address));
      } else if (auto [it, fresh] = addresses.emplace(node.address, node.origin); !fresh) {
        add(node.origin, fmt::format("{}: duplicate address {} (also at {})", label_of(node),
                                     node.address, it->second));
      }
      if (!node.hostname.empty() && !is_valid_host(node.hostname)) {
        add(node.origin, fmt::format("{}: '{}' is not a valid host name", label_of(node), node.hostname));
      } else if (!node.hostname.empty()) {
        if (auto [it, fresh] = hostnames.emplace(node.hostname, node.origin); !fresh) {
          add(node.origin, fmt::format("duplicate hostname '{}' (also at {})", node.hostname,
                                       it->second));
        }
      }
      if (!node.config_file.empty()) {
        std::error_code ec;
        if (!fs::is_regular_file(node.config_file, ec)) {
          add(node.origin, fmt::format("{}: machine config {} not found{}", label_of(node),
                                       show(node.config_file), missing_hint));
        }
      }
    }
    if (!any_cp) {
      problems.add(fmt::format("no control-plane node in the inventory ({}); mark at least one "
                               "node controlPlane: true",
                               source));
    }
  }

 private:
  const Config& config_;
  fs::path clusterconfig_;
};

}  // namespace

std::string cluster_name(const Config& config) {
  auto t = read_talconfig(config);
  return t ? t->cluster_name : std::string();
}

std::vector<NodeSpec> load_inventory(const Config& config, const fs::path& talosconfig) {
  InventoryBuilder b(config);
  if (config.nodes) {
    b.from_config(*config.nodes);
  } else if (auto t = read_talconfig(config)) {
    b.from_talconfig(*t);
  } else if (auto m = find_machineconfig_templates(config)) {
    b.from_templates(*m);
  } else {
    std::error_code ec;
    if (talosconfig.empty() || !fs::exists(talosconfig, ec)) {
      throw InputError(fmt::format(
          "no node inventory: fluxboot.yaml has no `nodes`, {} does not exist, {} holds no "
          "machine-config templates (machineconfig.yaml.j2 and nodes/*.yaml.j2) and {}",
          b.show(config.abs(config.paths.talconfig)), b.show(config.abs(config.paths.talos_templates)),
          talosconfig.empty() ? std::string("no talosconfig was found")
                              : fmt::format("talosconfig {} does not exist", b.show(talosconfig))));
    }
    b.from_talosconfig(talosconfig);
  }
  b.validate();
  b.problems.throw_if_any("invalid node inventory");
  return std::move(b.nodes);
}

}  // namespace fluxboot::gitops
