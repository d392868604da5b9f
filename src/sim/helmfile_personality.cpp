// The fake helmfile: reads a plain state file, renders each release with the REAL `helm
// template` from the simulator's local charts, and on `sync` installs them with the real
// `helm upgrade --install` (or `kubectl apply` with FLUXBOOT_SIM_HELMFILE_APPLY=kubectl) in
// `needs` order, runs hooks, and records each release with the simulation.
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <optional>
#include <regex>

#include <fmt/format.h>

#include "fluxboot/duration.hpp"
#include "fluxboot/error.hpp"
#include "fluxboot/process.hpp"
#include "sim/commands.hpp"
#include "sim/control_client.hpp"
#include "sim/file_util.hpp"
#include "sim/helmfile_cli.hpp"
#include "sim/helmfile_state.hpp"
#include "sim/sim_paths.hpp"
#include "sim/yaml_json.hpp"

namespace fluxboot::sim {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kHelmfileVersion = "v1.1.0";

// A private scratch directory (chart copies, inline values), removed on exit.
class Scratch {
 public:
  Scratch() {
    std::string tmpl = (fs::temp_directory_path() / "fluxboot-sim-helmfile-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw StageError("mkdtemp failed");
    path_ = tmpl;
  }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// A failed release, reported helmfile-style.
struct ReleaseFailure : StageError {
  ReleaseFailure(const std::string& m, std::string rel) : StageError(m), release(std::move(rel)) {}
  std::string release;
};

std::string indent(const std::string& text) {
  std::string out;
  size_t start = 0;
  while (start < text.size()) {
    auto nl = text.find('\n', start);
    std::string line = text.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    out += "  " + line + "\n";
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return out;
}

std::string failure_text(const std::string& state_file, const std::string& release,
                         const std::vector<std::string>& argv, int code, const std::string& err,
                         const std::string& combined) {
  std::string args;
  for (size_t i = 0; i < argv.size(); ++i) {
    std::string word = i == 0 ? fs::path(argv[i]).filename().string() : argv[i];
    args += fmt::format("  {}: {} ({} bytes)\n", i, word, word.size());
  }
  return fmt::format(
      "in {}: failed processing release {}: command \"{}\" exited with non-zero status:\n\nPATH:\n  {}\n\nARGS:\n{}\n"
      "ERROR:\n  exit status {}\n\nEXITCODE:\n  {}\n\nSTDERR:\n{}\nCOMBINED OUTPUT:\n{}",
      state_file, release, argv.empty() ? "" : argv[0], argv.empty() ? "" : argv[0], args, code, code, indent(err),
      indent(combined));
}

class Helmfile {
 public:
  Helmfile(std::string argv0, HelmfileArgs args) : argv0_(std::move(argv0)), args_(std::move(args)) {
    sim_dir_ = locate_sim_dir(argv0_);
    runner_ = process::make_real_runner();
    charts_ = charts_dir();
  }

  int run() {
    std::vector<std::string> files = args_.files;
    if (files.empty()) files.push_back("helmfile.yaml");
    std::vector<std::pair<std::string, fs::path>> states;  // (as given, path)
    for (const auto& f : files) {
      std::error_code ec;
      if (fs::is_directory(f, ec)) {
        std::vector<fs::path> parts;
        for (const auto& e : fs::directory_iterator(f))
          if (e.path().extension() == ".yaml" || e.path().extension() == ".yml") parts.push_back(e.path());
        std::sort(parts.begin(), parts.end());
        for (const auto& p : parts) states.emplace_back(p.string(), p);
      } else {
        states.emplace_back(f, fs::path(f));
      }
    }
    for (const auto& [given, path] : states) {
      HelmfileState state = load_helmfile_state(path);
      auto ordered = order_by_needs(state.releases);
      std::vector<HelmfileRelease> selected;
      for (const auto& r : ordered)
        if (r.installed && selected_by_labels(r)) selected.push_back(r);
      for (auto& r : selected)
        if (r.ns.empty()) r.ns = args_.ns.empty() ? "default" : args_.ns;
      if (args_.command == "template") template_all(given, state, selected);
      else if (args_.command == "sync") sync_all(given, state, selected);
      else if (args_.command == "list") list_all(selected);
    }
    return 0;
  }

 private:
  bool selected_by_labels(const HelmfileRelease& r) const {
    for (const auto& s : args_.selectors) {
      auto eq = s.find('=');
      bool negate = eq != std::string::npos && eq > 0 && s[eq - 1] == '!';
      std::string key = s.substr(0, negate ? eq - 1 : eq);
      std::string value = eq == std::string::npos ? "" : s.substr(eq + 1);
      std::string actual;
      if (key == "name") actual = r.name;
      else if (key == "namespace") actual = r.ns;
      else throw UsageError(fmt::format("the fake helmfile selects only by name and namespace, not \"{}\"", key));
      if ((actual == value) == negate) return false;
    }
    return true;
  }

  void info(const std::string& line) const {
    if (!args_.quiet) std::cerr << line << "\n";
  }

  std::vector<std::pair<std::string, std::string>> tool_env() const {
    std::vector<std::pair<std::string, std::string>> env;
    if (sim_dir_.empty()) return env;
    SimDir d(sim_dir_);
    auto set_default = [&](const char* name, const fs::path& value) {
      if (env_or_empty(name).empty()) env.emplace_back(name, value.string());
    };
    set_default("KUBECACHEDIR", d.kube_cache());
    set_default("HELM_CACHE_HOME", d.helm_home() / "cache");
    set_default("HELM_CONFIG_HOME", d.helm_home() / "config");
    set_default("HELM_DATA_HOME", d.helm_home() / "data");
    return env;
  }

  fs::path tool(const std::string& name) const {
    if (!sim_dir_.empty()) {
      if (auto info = read_sim_info(SimDir(sim_dir_)); info && !info->value(name, "").empty()) return info->value(name, "");
      return find_real_tool(name, "", SimDir(sim_dir_).bin());
    }
    return find_real_tool(name, "");
  }

  // A copy of the local chart whose version is the release's, so helm records what the state says.
  fs::path chart_copy(const HelmfileRelease& r) {
    fs::path src = local_chart_for(r, charts_);
    if (!fs::exists(src / "Chart.yaml"))
      throw StageError(fmt::format("fake helmfile: no local chart at {} (set FLUXBOOT_SIM_CHARTS)", src.string()));
    fs::path dst = scratch_.path() / "charts" / (r.ns + "_" + r.name) / src.filename();
    if (fs::exists(dst)) return dst;
    fs::create_directories(dst.parent_path());
    fs::copy(src, dst, fs::copy_options::recursive);
    static const std::regex semver(R"(^v?[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]*)?$)");
    if (std::regex_match(r.version, semver)) {
      std::string chart = read_text(dst / "Chart.yaml");
      chart = std::regex_replace(chart, std::regex(R"((^|\n)version:[^\n]*)"), "$1version: " + r.version);
      chart = std::regex_replace(chart, std::regex(R"((^|\n)appVersion:[^\n]*)"), "$1appVersion: \"" + r.version + "\"");
      write_text_atomic(dst / "Chart.yaml", chart);
    }
    return dst;
  }

  std::vector<std::string> values_args(const HelmfileRelease& r) {
    std::vector<std::string> out;
    int n = 0;
    for (const auto& v : r.values) {
      fs::path file = v.file;
      if (!v.is_file()) {
        file = scratch_.path() / fmt::format("{}_{}_values{}.yaml", r.ns, r.name, n++);
        write_text_atomic(file, json_to_yaml(v.inline_values));
      } else if (file.string().size() > 7 && file.string().substr(file.string().size() - 7) == ".gotmpl") {
        throw InputError(fmt::format("release \"{}\": fake helmfile cannot render Go templates: {} (give it a plain values file)",
                                     r.name, file.string()));
      } else if (!fs::exists(file)) {
        throw InputError(fmt::format("release \"{}\": values file matching \"{}\" does not exist", r.name, file.string()));
      }
      out.insert(out.end(), {"--values", file.string()});
    }
    for (const auto& [k, val] : r.set) out.insert(out.end(), {"--set", k + "=" + val});
    return out;
  }

  process::Result run_tool(const std::vector<std::string>& argv, const fs::path& cwd,
                           const std::optional<std::string>& input = std::nullopt,
                           const process::LineSink& sink = {}) {
    process::Command cmd;
    cmd.argv = argv;
    cmd.cwd = cwd;
    cmd.env = tool_env();
    cmd.input = input;
    cmd.label = fs::path(argv[0]).filename().string();
    // The real helmfile starts helm with Go's exec.Command, no Setpgid: helm stays in helmfile's
    // process group, and a signal to that group reaches both.
    cmd.new_group = false;
    return runner_->run(cmd, sink);
  }

  std::vector<std::string> template_argv(const HelmfileState& state, const HelmfileRelease& r, bool include_crds) {
    auto settings = effective_settings(state, r);
    std::vector<std::string> argv = {tool("helm").string(), "template", r.name, chart_copy(r).string(), "--namespace", r.ns};
    auto values = values_args(r);
    argv.insert(argv.end(), values.begin(), values.end());
    argv.insert(argv.end(), settings.args.begin(), settings.args.end());
    argv.insert(argv.end(), args_.extra_args.begin(), args_.extra_args.end());
    if (include_crds && std::find(argv.begin(), argv.end(), "--include-crds") == argv.end()) argv.push_back("--include-crds");
    return argv;
  }

  void template_all(const std::string& given, const HelmfileState& state, const std::vector<HelmfileRelease>& releases) {
    for (const auto& r : releases) {
      info(fmt::format("Templating release={}, chart={}", r.name, r.chart));
      auto argv = template_argv(state, r, args_.include_crds);
      auto res = run_tool(argv, state.dir);
      if (!res.ok())
        throw ReleaseFailure(failure_text(given, r.name, argv, res.exit_code, res.err, res.err + res.out), r.name);
      std::cout << res.out;
      std::cout.flush();
    }
  }

  void list_all(const std::vector<HelmfileRelease>& releases) {
    std::cout << fmt::format("{:<20}\t{:<16}\t{:<7}\t{:<9}\t{:<6}\t{:<50}\t{}\n", "NAME", "NAMESPACE", "ENABLED",
                             "INSTALLED", "LABELS", "CHART", "VERSION");
    for (const auto& r : releases)
      std::cout << fmt::format("{:<20}\t{:<16}\t{:<7}\t{:<9}\t{:<6}\t{:<50}\t{}\n", r.name, r.ns, "true",
                               r.installed ? "true" : "false", "", r.chart, r.version);
  }

  void run_hooks(const std::string& given, const HelmfileState& state, const HelmfileRelease& r, const std::string& event) {
    for (const auto& h : r.hooks) {
      if (std::find(h.events.begin(), h.events.end(), event) == h.events.end()) continue;
      std::vector<std::string> argv = {h.command};
      argv.insert(argv.end(), h.args.begin(), h.args.end());
      info(fmt::format("hook[{}]: running {}", event, process::format_argv(argv)));
      process::LineSink sink;
      if (h.showlogs)
        sink = [event](bool, std::string_view line) {
          std::cout << "hook[" << event << "] logs | " << line << "\n";
          std::cout.flush();
        };
      process::Result res;
      try {
        res = run_tool(argv, state.dir, std::nullopt, sink);
      } catch (const Error& e) {
        throw ReleaseFailure(fmt::format("in {}: release \"{}\": hook[{}]: {}", given, r.name, event, e.what()), r.name);
      }
      if (!res.ok())
        throw ReleaseFailure(failure_text(given, r.name, argv, res.exit_code, res.err, res.err + res.out), r.name);
    }
  }

  void record(const HelmfileRelease& r, const json& values, const std::string& status) {
    if (!client_) return;
    try {
      client_->post("/_sim/releases", {{"name", r.name}, {"namespace", r.ns}, {"chart", r.chart}, {"version", r.version},
                                       {"values", values}, {"status", status}});
    } catch (const Error& e) {
      std::cerr << "fake helmfile: could not record release " << r.name << ": " << e.what() << "\n";
    }
  }

  std::vector<std::string> upgrade_argv(const HelmfileState& state, const HelmfileRelease& r) {
    auto s = effective_settings(state, r);
    std::vector<std::string> argv = {tool("helm").string(), "upgrade", "--install", r.name, chart_copy(r).string(),
                                     "--namespace", r.ns};
    if (s.create_namespace.value_or(true)) argv.push_back("--create-namespace");
    auto values = values_args(r);
    argv.insert(argv.end(), values.begin(), values.end());
    if (s.wait.value_or(false) || args_.wait) argv.push_back("--wait");
    if (s.wait_for_jobs.value_or(false) || args_.wait_for_jobs) argv.push_back("--wait-for-jobs");
    if (s.timeout_s) argv.insert(argv.end(), {"--timeout", fmt::format("{}s", *s.timeout_s)});
    if (s.cleanup_on_fail.value_or(false)) argv.push_back("--cleanup-on-fail");
    if (s.atomic.value_or(false)) argv.push_back("--atomic");
    if (args_.hide_notes) argv.push_back("--hide-notes");
    if (!args_.kube_context.empty()) argv.insert(argv.end(), {"--kube-context", args_.kube_context});
    argv.insert(argv.end(), {"--reset-values", "--history-max", "10"});
    argv.insert(argv.end(), s.args.begin(), s.args.end());
    argv.insert(argv.end(), args_.extra_args.begin(), args_.extra_args.end());
    return argv;
  }

  // FLUXBOOT_SIM_HELMFILE_APPLY=kubectl: render (CRDs included) and server-side apply.
  void apply_with_kubectl(const std::string& given, const HelmfileState& state, const HelmfileRelease& r) {
    auto targv = template_argv(state, r, true);
    auto rendered = run_tool(targv, state.dir);
    if (!rendered.ok())
      throw ReleaseFailure(failure_text(given, r.name, targv, rendered.exit_code, rendered.err, rendered.err), r.name);
    std::string ns_doc = fmt::format("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {}\n---\n", r.ns);
    std::vector<std::string> argv = {tool("kubectl").string(), "apply", "--server-side", "--force-conflicts",
                                     "--field-manager=helm", "--namespace", r.ns, "-f", "-"};
    if (!args_.kube_context.empty()) argv.insert(argv.end(), {"--context", args_.kube_context});
    auto res = run_tool(argv, state.dir, ns_doc + rendered.out);
    if (!res.ok()) throw ReleaseFailure(failure_text(given, r.name, argv, res.exit_code, res.err, res.err + res.out), r.name);
    std::cout << res.out;
  }

  void sync_all(const std::string& given, const HelmfileState& state, const std::vector<HelmfileRelease>& releases) {
    if (!sim_dir_.empty()) {
      try {
        client_.emplace(SimDir(sim_dir_));
      } catch (const Error& e) {
        std::cerr << "fake helmfile: " << e.what() << " (releases will not be recorded)\n";
      }
    }
    const bool use_kubectl = env_or_empty("FLUXBOOT_SIM_HELMFILE_APPLY") == "kubectl";
    std::vector<std::vector<std::string>> done;
    for (const auto& r : releases) {
      const auto start = Clock::now();
      auto row = [&](const HelmfileRelease& rel) {
        return std::vector<std::string>{
            rel.name, rel.ns, rel.chart, rel.version,
            format_duration(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start))};
      };
      json values;
      try {
        values = merged_values(r);
        info(fmt::format("Upgrading release={}, chart={}, namespace={}", r.name, r.chart, r.ns));
        json begin = client_ ? client_->post("/_sim/releases/begin", {{"name", r.name}, {"namespace", r.ns}})
                             : json{{"fail", false}};
        if (begin.value("fail", false)) {
          auto argv = upgrade_argv(state, r);
          std::string err = fmt::format("Error: {} FAILED: {}", begin.value("installed", false) ? "UPGRADE" : "INSTALLATION",
                                        begin.value("message", ""));
          record(r, values, "failed");
          throw ReleaseFailure(failure_text(given, r.name, argv, 1, err, err), r.name);
        }
        run_hooks(given, state, r, "presync");
        if (use_kubectl) {
          apply_with_kubectl(given, state, r);
        } else {
          auto argv = upgrade_argv(state, r);
          auto res = run_tool(argv, state.dir);
          if (!res.ok()) {
            record(r, values, "failed");
            throw ReleaseFailure(failure_text(given, r.name, argv, res.exit_code, res.err, res.err + res.out), r.name);
          }
          std::cout << res.out;
          std::cout.flush();
        }
        record(r, values, "deployed");
        run_hooks(given, state, r, "postsync");
        done.push_back(row(r));
      } catch (const ReleaseFailure&) {
        print_summary(done, {row(r)});
        throw;
      }
    }
    print_summary(done, {});
  }

  static void print_rows(const char* title, const std::vector<std::vector<std::string>>& rows, std::ostream& out) {
    if (rows.empty()) return;
    std::vector<std::vector<std::string>> all = {{"NAME", "NAMESPACE", "CHART", "VERSION", "DURATION"}};
    all.insert(all.end(), rows.begin(), rows.end());
    std::vector<size_t> w(5, 0);
    for (const auto& r : all)
      for (size_t i = 0; i < 5; ++i) w[i] = std::max(w[i], r[i].size());
    out << "\n" << title << "\n";
    for (const auto& r : all)
      out << fmt::format("{:<{}}   {:<{}}   {:<{}}   {:<{}}   {:>{}}\n", r[0], w[0], r[1], w[1], r[2], w[2], r[3], w[3], r[4], w[4]);
  }

  static void print_summary(const std::vector<std::vector<std::string>>& done, const std::vector<std::vector<std::string>>& failed) {
    print_rows("UPDATED RELEASES:", done, std::cout);
    std::cout.flush();
    print_rows("FAILED RELEASES:", failed, std::cerr);
  }

  std::string argv0_;
  HelmfileArgs args_;
  fs::path sim_dir_;
  fs::path charts_;
  std::unique_ptr<process::Runner> runner_;
  std::optional<ControlClient> client_;
  Scratch scratch_;
};

}  // namespace

int helmfile_main(const std::string& argv0, const std::vector<std::string>& args) {
  HelmfileArgs a;
  try {
    a = parse_helmfile_args(args);
  } catch (const UsageError& e) {
    std::cerr << "Error: " << e.what() << "\n";
    return 1;
  }
  if (a.command == "version") {
    std::cout << "helmfile version " << kHelmfileVersion << "\n";
    return 0;
  }
  if (a.command == "help") {
    std::cout << "helmfile (fluxboot-sim fake): helmfile [-f FILE] [-q] template [--include-crds] | sync [--hide-notes] | list | version\n";
    return 0;
  }
  process::install_signal_handlers();
  try {
    return Helmfile(argv0, a).run();
  } catch (const ReleaseFailure& e) {
    std::cerr << e.what();
    return 1;
  } catch (const Error& e) {
    std::cerr << "err: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace fluxboot::sim
