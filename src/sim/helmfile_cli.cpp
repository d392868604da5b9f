#include "sim/helmfile_cli.hpp"

#include <set>
#include <sstream>

#include <fmt/format.h>

#include "fluxboot/error.hpp"
#include "sim/simple_flags.hpp"

namespace fluxboot::sim {

namespace {
const std::set<std::string> kGlobalValueFlags = {"-f", "--file", "-n", "--namespace", "--kube-context", "-e",
                                                 "--environment", "-l", "--selector", "--log-level", "-b",
                                                 "--helm-binary", "--state-values-set", "--state-values-file"};
}

HelmfileArgs parse_helmfile_args(const std::vector<std::string>& args) {
  HelmfileArgs out;
  size_t cmd_index = args.size();
  for (size_t i = 0; i < args.size(); ++i) {
    const auto& a = args[i];
    if (a == "--version" || a == "-v") {
      out.command = "version";
      return out;
    }
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
  if (cmd_index == args.size()) throw UsageError("a command is required (template, sync, list, version)");
  std::string cmd = args[cmd_index];
  std::vector<std::string> rest;
  for (size_t i = 0; i < args.size(); ++i)
    if (i != cmd_index) rest.push_back(args[i]);

  FlagSpec spec;
  spec.with_value = {"file", "namespace", "kube-context", "environment", "selector", "log-level", "helm-binary",
                     "state-values-set", "state-values-file"};
  spec.booleans = {"quiet", "debug", "color", "no-color", "skip-deps", "skip-refresh", "skip-needs", "include-needs",
                   "include-transitive-needs", "allow-no-matching-release"};
  spec.short_alias = {{"f", "file"}, {"n", "namespace"}, {"e", "environment"}, {"l", "selector"}, {"q", "quiet"},
                      {"b", "helm-binary"}};
  spec.repeatable = {"file", "selector"};
  if (cmd == "template") {
    spec.booleans.insert({"include-crds", "skip-tests", "validate", "skip-cleanup", "skip-schema-validation"});
    spec.with_value.insert({"args", "concurrency", "set", "values", "output-dir"});
  } else if (cmd == "sync") {
    spec.booleans.insert({"hide-notes", "wait", "wait-for-jobs", "skip-crds", "reset-values", "reuse-values",
                          "skip-cleanup", "skip-schema-validation"});
    spec.with_value.insert({"args", "concurrency", "set", "values"});
  } else if (cmd == "list") {
    spec.booleans.insert({"skip-charts"});
    spec.with_value.insert({"output"});
  } else if (cmd == "version") {
    spec.with_value.insert({"output"});
    spec.short_alias.insert({"o", "output"});
  } else {
    throw UsageError(fmt::format("unknown command \"{}\" for \"helmfile\" (the fake supports template, sync, list, version)", cmd));
  }
  auto f = parse_flags(rest, spec);
  if (!f.positional.empty()) throw UsageError(fmt::format("unexpected argument \"{}\"", f.positional.front()));
  if (f.has("output-dir")) throw UsageError("the fake helmfile does not support --output-dir");
  if (f.has("set") || f.has("values")) throw UsageError("the fake helmfile does not support --set/--values on the command line");
  out.command = cmd;
  std::stringstream files(f.get("file"));
  for (std::string item; std::getline(files, item, ',');)
    if (!item.empty()) out.files.push_back(item);
  std::stringstream sel(f.get("selector"));
  for (std::string item; std::getline(sel, item, ',');)
    if (!item.empty()) out.selectors.push_back(item);
  out.ns = f.get("namespace");
  out.kube_context = f.get("kube-context");
  out.quiet = f.flag("quiet");
  out.include_crds = f.flag("include-crds");
  out.hide_notes = f.flag("hide-notes");
  out.wait = f.flag("wait");
  out.wait_for_jobs = f.flag("wait-for-jobs");
  std::stringstream extra(f.get("args"));
  for (std::string w; extra >> w;) out.extra_args.push_back(w);
  return out;
}

}  // namespace fluxboot::sim
