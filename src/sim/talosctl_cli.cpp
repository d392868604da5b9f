#include "sim/talosctl_cli.hpp"

#include <set>
#include <sstream>

#include <fmt/format.h>

#include "fluxboot/error.hpp"
#include "sim/simple_flags.hpp"

namespace fluxboot::sim {

namespace {

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

const std::set<std::string> kGlobalValueFlags = {"-n", "--nodes", "-e", "--endpoints", "--talosconfig", "--context", "--cluster"};

}  // namespace

TalosctlArgs parse_talosctl_args(const std::vector<std::string>& args) {
  TalosctlArgs out;
  // The subcommand is the first word that isn't a flag or a global flag's value.
  size_t cmd_index = args.size();
  for (size_t i = 0; i < args.size(); ++i) {
    const auto& a = args[i];
    if (a == "--help" || a == "-h") {
      out.command = "help";
      return out;
    }
    if (kGlobalValueFlags.count(a)) {
      ++i;
      continue;
    }
    if (!a.empty() && a[0] == '-') continue;
    cmd_index = i;
    break;
  }
  if (cmd_index == args.size()) throw UsageError("a subcommand is required (apply-config, bootstrap, kubeconfig, version, config info)");
  std::string cmd = args[cmd_index];
  std::vector<std::string> rest;
  for (size_t i = 0; i < args.size(); ++i)
    if (i != cmd_index) rest.push_back(args[i]);

  FlagSpec spec;
  spec.with_value = {"nodes", "endpoints", "talosconfig", "context", "cluster"};
  spec.short_alias = {{"n", "nodes"}, {"e", "endpoints"}};
  spec.repeatable = {"nodes", "endpoints", "config-patch"};
  if (cmd == "apply-config" || cmd == "apply") {
    cmd = "apply-config";
    spec.with_value.insert({"file", "mode", "config-patch", "timeout", "cert-fingerprint"});
    spec.booleans = {"insecure", "dry-run"};
    spec.short_alias.insert({{"f", "file"}, {"m", "mode"}, {"p", "config-patch"}, {"i", "insecure"}});
  } else if (cmd == "bootstrap") {
    spec.with_value.insert("recover-from");
    spec.booleans = {"recover-skip-hash-check"};
  } else if (cmd == "kubeconfig") {
    spec.with_value.insert("force-context-name");
    spec.booleans = {"force", "merge"};
    spec.short_alias.insert({{"f", "force"}, {"m", "merge"}});
  } else if (cmd == "version") {
    spec.booleans = {"client", "short", "insecure", "json"};
    spec.short_alias.insert({"i", "insecure"});
  } else if (cmd == "machineconfig" || cmd == "mc") {
    cmd = "machineconfig";
    spec.with_value.insert({"patch", "output"});
    spec.repeatable.insert("patch");
    spec.short_alias.insert({{"p", "patch"}, {"o", "output"}});
  } else if (cmd == "config") {
    spec.with_value.insert("output");
    spec.short_alias.insert({"o", "output"});
  } else {
    throw UsageError(fmt::format("unknown command \"{}\" for \"talosctl\"", cmd));
  }
  auto f = parse_flags(rest, spec);
  out.command = cmd;
  out.nodes = split_commas(f.get("nodes"));
  out.endpoints = split_commas(f.get("endpoints"));
  out.talosconfig = f.get("talosconfig");
  out.context = f.get("context");
  out.positional = f.positional;
  if (cmd == "machineconfig") {
    if (out.positional.size() != 2 || out.positional[0] != "patch")
      throw UsageError("the fake talosctl supports only `talosctl machineconfig patch FILE --patch @PATCH... [--output FILE]`");
    out.command = "machineconfig patch";
    out.positional.erase(out.positional.begin());
    out.patches = split_commas(f.get("patch"));
    out.output = f.get("output");
  }
  if (cmd == "config") {
    if (out.positional.empty() || out.positional[0] != "info")
      throw UsageError("the fake talosctl supports only `talosctl config info`");
    out.command = "config info";
    out.positional.erase(out.positional.begin());
  }
  out.file = f.get("file");
  out.mode = f.get("mode");
  out.insecure = f.flag("insecure");
  out.dry_run = f.flag("dry-run");
  out.has_config_patch = f.has("config-patch");
  out.force = f.flag("force");
  out.merge = f.get("merge", "true") == "true";
  out.force_context_name = f.get("force-context-name");
  out.client_only = f.flag("client");
  out.short_output = f.flag("short");
  if (cmd == "bootstrap" && f.has("recover-from"))
    throw UsageError("the fake talosctl does not support --recover-from");
  if (out.command != "kubeconfig" && out.command != "config info" && out.command != "machineconfig patch" &&
      !out.positional.empty())
    throw UsageError(fmt::format("unexpected argument \"{}\" for \"talosctl {}\"", out.positional.front(), out.command));
  if (out.positional.size() > 1) throw UsageError("accepts at most 1 arg(s)");
  return out;
}

}  // namespace fluxboot::sim
