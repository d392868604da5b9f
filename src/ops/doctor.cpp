// `fluxboot doctor`: the framework (shared inputs, report, rendering, the command). The checks
// themselves are in doctor_tools.cpp, doctor_repo.cpp and doctor_network.cpp.
#include "fluxboot/doctor.hpp"

#include <algorithm>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>

#include <fmt/format.h>

#include "fluxboot/diagnose.hpp"
#include "fluxboot/error.hpp"
#include "fluxboot/gitops.hpp"
#include "ops/doctor_checks.hpp"

extern char** environ;

namespace fluxboot::ops {

namespace fs = std::filesystem;
using nlohmann::json;

std::string_view to_string(CheckStatus s) {
  switch (s) {
    case CheckStatus::Pass: return "pass";
    case CheckStatus::Warn: return "warn";
    case CheckStatus::Fail: return "fail";
    case CheckStatus::Skip: return "skip";
  }
  return "?";
}

bool DoctorReport::ok() const { return count(CheckStatus::Fail) == 0; }

size_t DoctorReport::count(CheckStatus s) const {
  size_t n = 0;
  for (const auto& c : checks) n += c.status == s ? 1 : 0;
  return n;
}

const Check* DoctorReport::find(std::string_view id) const {
  for (const auto& c : checks)
    if (c.id == id) return &c;
  return nullptr;
}

ToolVersion parse_tool_version(std::string_view output) {
  static const std::regex re(R"((?:^|[^0-9A-Za-z.])(v?(\d+)\.(\d+)(?:\.(\d+))?))");
  std::string text(output);
  // kubectl prints the client line first, helm/talosctl the version alone; "Client" lines win.
  auto client = text.find("Client");
  std::smatch m;
  std::string hay = client != std::string::npos ? text.substr(client) : text;
  ToolVersion v;
  if (std::regex_search(hay, m, re) || std::regex_search(text, m, re)) {
    v.text = m[1].str();
    v.major = std::stoi(m[2].str());
    v.minor = std::stoi(m[3].str());
    v.patch = m[4].matched ? std::stoi(m[4].str()) : 0;
  }
  return v;
}

namespace doctor {

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

const json* at(const json& j, std::initializer_list<const char*> keys) {
  const json* cur = &j;
  for (const char* k : keys) {
    if (!cur->is_object()) return nullptr;
    auto it = cur->find(k);
    if (it == cur->end()) return nullptr;
    cur = &*it;
  }
  return cur;
}

bool truthy(const json* v) {
  if (v == nullptr) return false;
  if (v->is_boolean()) return v->get<bool>();
  if (v->is_string()) {
    auto s = v->get<std::string>();
    return s == "true" || s == "strict";
  }
  return false;
}

std::string DoctorRun::rel(const fs::path& p) const {
  auto r = p.lexically_relative(ctx.config.root);
  if (r.empty() || r.string().rfind("..", 0) == 0) return p.string();
  return r.string();
}

Check& DoctorRun::add(std::string id, std::string title) {
  checks.push_back({});
  checks.back().id = std::move(id);
  checks.back().title = std::move(title);
  return checks.back();
}

const ToolInfo& DoctorRun::tool(const std::string& name) {
  auto it = tools_.find(name);
  if (it != tools_.end()) return it->second;
  ToolInfo info;
  info.name = name;
  std::string configured = ctx.tool(name);
  if (auto found = process::find_executable(configured)) {
    info.path = found->string();
    process::Command cmd;
    if (name == "talosctl") cmd.argv = {info.path, "version", "--client", "--short"};
    else if (name == "kubectl") cmd.argv = {info.path, "version", "--client"};
    else if (name == "helmfile") cmd.argv = {info.path, "--version"};
    else if (name == "helm") cmd.argv = {info.path, "version", "--short"};
    else if (name == "sops") cmd.argv = {info.path, "--version", "--disable-version-check"};
    else cmd.argv = {info.path, "--version"};
    cmd.mutating = false;
    cmd.timeout = options.tool_timeout;
    cmd.label = name + " version";
    try {
      auto r = ctx.runner.run(cmd);
      info.version = parse_tool_version(r.out + "\n" + r.err);
      if (!r.ok() && !info.version.known())
        info.error = fmt::format("`{}` {}: {}", process::format_argv(cmd.argv),
                                 r.timed_out ? "timed out" : fmt::format("exited {}", r.exit_code), r.tail(2));
    } catch (const Error& e) {
      info.error = e.what();
    }
  }
  return tools_.emplace(name, std::move(info)).first->second;
}

const std::optional<HelmfileState>& DoctorRun::state(bool apps) {
  int i = apps ? 1 : 0;
  if (!states_read_[i]) {
    states_read_[i] = true;
    const auto& c = ctx.config;
    const fs::path& file = apps ? c.paths.apps_helmfile : c.paths.crds_helmfile;
    if (file.empty()) return states_[i];  // no CRD helmfile by design: nothing to read, no error
    try {
      states_[i] = read_helmfile_state(c.abs(file));
    } catch (const std::exception& e) {
      state_errors_[i] = e.what();
    }
  }
  return states_[i];
}

const std::string& DoctorRun::state_error(bool apps) {
  (void)state(apps);
  return state_errors_[apps ? 1 : 0];
}

std::vector<ReleaseInfo>& DoctorRun::releases() {
  if (releases_) return *releases_;
  releases_.emplace();
  values::Options vo;
  vo.strict = ctx.options.strict;
  fs::path key = age_key_path();
  // sops through the runner, its output never logged; files decrypted here are checked again by
  // the sops-decrypt check.
  if (!tool("sops").path.empty()) {
    vo.decrypt = [this, key](const fs::path& file) {
      decrypted_.insert(file);
      auto cmd = gitops::sops_decrypt_command(tool("sops").path, file, ctx.config, ctx.options.env);
      cmd.timeout = options.tool_timeout;
      auto r = ctx.runner.run(cmd);
      if (!r.ok()) throw InputError(fmt::format("{}: sops decrypt failed: {}", rel(file), r.tail(3)));
      return r.out;
    };
  }
  values::Reader reader(ctx.config, vo);
  std::set<std::string> seen;
  for (bool apps : {false, true}) {
    const auto& st = state(apps);
    if (!st) continue;
    for (const auto& r : st->releases) {
      ReleaseInfo info;
      info.ref = {r.ns, r.name};
      info.in_state = &r;
      info.state_name = st->file.filename().string();
      info.apps = apps;
      std::string key_name = info.ref.str() + (apps ? "#apps" : "#crds");
      if (!seen.insert(key_name).second) continue;
      std::error_code ec;
      if (!std::filesystem::exists(reader.helmrelease_file(info.ref), ec)) {
        info.helmfile_only = true;
        releases_->push_back(std::move(info));
        continue;
      }
      try {
        info.values = reader.compute(info.ref);
        for (const auto& s : info.values->secrets) ctx.redactor.add(s);
      } catch (const std::exception& e) {
        info.values_error = e.what();
      }
      try {
        info.chart = reader.chart(info.ref);
      } catch (const std::exception& e) {
        info.chart_error = e.what();
      }
      releases_->push_back(std::move(info));
    }
  }
  return *releases_;
}

ReleaseInfo* DoctorRun::release_with_chart(const std::string& base) {
  for (auto& r : releases()) {
    if (!r.apps) continue;
    std::string chart = r.in_state != nullptr ? chart_basename(r.in_state->chart) : "";
    if (chart.empty() && r.chart) chart = chart_basename(r.chart->url + (r.chart->name.empty() ? "" : "/" + r.chart->name));
    if (chart == base || (chart.empty() && r.ref.name == base)) return &r;
  }
  return nullptr;
}

ReleaseInfo* DoctorRun::flux_instance() { return release_with_chart("flux-instance"); }

const std::vector<NodeSpec>* DoctorRun::inventory(std::string* error) {
  if (!inventory_read_) {
    inventory_read_ = true;
    try {
      inventory_ = gitops::load_inventory(ctx.config, ctx.options.talosconfig);
    } catch (const std::exception& e) {
      inventory_error_ = e.what();
    }
  }
  if (error != nullptr) *error = inventory_error_;
  return inventory_ ? &*inventory_ : nullptr;
}

const std::vector<gitops::YamlDocument>* DoctorRun::resources(std::string* error) {
  if (!resources_read_) {
    resources_read_ = true;
    const auto src = gitops::resources_source(ctx.config);
    try {
      using Kind = gitops::ResourcesSource::Kind;
      if (src.kind == Kind::None)
        throw InputError(fmt::format("no bootstrap resources (looked for {} and {})",
                                     gitops::layout_candidates(ctx.config, "paths.resourcesTemplate"),
                                     gitops::layout_candidates(ctx.config, "paths.resources")));
      if (src.kind == Kind::Template) {
        auto rendered = gitops::render_template(slurp(src.path), ctx.options.env, rel(src.path));
        resources_ = gitops::split_documents(rendered, rel(src.path) + " (rendered)");
      } else {
        resources_.emplace();
        for (const auto& item : src.items) {
          process::Command cmd;
          if (src.kind == Kind::Kustomize) {
            // A local build (no cluster); op:// references stay references: nothing secret is read.
            cmd.argv = {tool("kubectl").path.empty() ? ctx.config.tools.kubectl : tool("kubectl").path,
                        "kustomize", item.string()};
            cmd.mutating = false;
          } else {
            if (tool("sops").path.empty()) throw InputError("sops is not installed: the *.sops.yaml resources cannot be read");
            cmd = gitops::sops_decrypt_command(tool("sops").path, item, ctx.config, ctx.options.env);
            decrypted_.insert(item);
          }
          cmd.timeout = options.tool_timeout;
          auto r = ctx.runner.run(cmd);  // output never logged (sops plaintext)
          if (!r.ok())
            throw InputError(fmt::format("{}: {} failed: {}", rel(item), src.kind == Kind::Kustomize ? "kubectl kustomize" : "sops decrypt",
                                         ctx.redactor.apply(r.err.substr(r.err.size() > 1500 ? r.err.size() - 1500 : 0))));
          std::string text = r.out;
          if (src.kind == Kind::Kustomize && (text.find("{{") != std::string::npos || text.find("{%") != std::string::npos))
            text = gitops::render_template(text, ctx.options.env, rel(item) + " (kustomize output)");
          auto docs = gitops::split_documents(text, rel(item));
          resources_->insert(resources_->end(), docs.begin(), docs.end());
        }
      }
      for (const auto& s : gitops::secret_values(*resources_)) ctx.redactor.add(s);
    } catch (const std::exception& e) {
      resources_.reset();
      resources_error_ = e.what();
    }
  }
  if (error != nullptr) *error = resources_error_;
  return resources_ ? &*resources_ : nullptr;
}

fs::path DoctorRun::age_key_path() const { return gitops::age_key(ctx.config, ctx.options.env).path; }

std::vector<fs::path> DoctorRun::sops_files() {
  if (sops_files_) return *sops_files_;
  sops_files_.emplace();
  std::error_code ec;
  fs::recursive_directory_iterator it(ctx.config.root, fs::directory_options::skip_permission_denied, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (it->is_directory(ec)) {
      if (!name.empty() && name[0] == '.') it.disable_recursion_pending();
      continue;
    }
    if (name.size() > 10 && (name.ends_with(".sops.yaml") || name.ends_with(".sops.yml")) && name != ".sops.yaml")
      sops_files_->push_back(it->path());
  }
  std::sort(sops_files_->begin(), sops_files_->end());
  return *sops_files_;
}

}  // namespace doctor

DoctorReport run_doctor_checks(Context& ctx, const DoctorOptions& options, const std::string& config_error) {
  doctor::DoctorRun run(ctx, options);
  register_local_secrets(ctx);
  using namespace doctor;
  check_config(run, config_error);
  check_tools(run);
  check_helm_features(run);
  check_layout(run);
  check_yaml(run);
  check_inventory(run);
  check_resources(run);
  check_releases(run);
  check_release_names(run);
  check_drift(run);
  check_talos_cni(run);
  check_schematic_pins(run);
  check_flux_sync(run);
  check_age_key(run);
  check_sops_decrypt(run);
  check_talosconfig(run);
  check_kubeconfig(run);
  check_api_server(run);
  check_git_url(run);
  DoctorReport report;
  report.root = ctx.config.root;
  report.checks = std::move(run.checks);
  // Whatever a check quoted (file content, tool output) leaves through the redactor.
  for (auto& c : report.checks) {
    c.summary = ctx.redactor.apply(c.summary);
    c.advice = ctx.redactor.apply(c.advice);
    // One line per problem: the same detail found several times (one per node, say) is folded.
    std::vector<std::string> folded;
    std::vector<size_t> counts;
    for (auto& d : c.details) {
      std::string line = ctx.redactor.apply(d);
      auto it = std::find(folded.begin(), folded.end(), line);
      if (it == folded.end()) {
        folded.push_back(std::move(line));
        counts.push_back(1);
      } else {
        ++counts[static_cast<size_t>(it - folded.begin())];
      }
    }
    for (size_t i = 0; i < folded.size(); ++i)
      if (counts[i] > 1) folded[i] += fmt::format(" (×{})", counts[i]);
    c.details = std::move(folded);
  }
  return report;
}

std::string render_doctor_text(const DoctorReport& report, bool color) {
  auto paint = [&](const char* code, const std::string& s) {
    return color ? fmt::format("\x1b[{}m{}\x1b[0m", code, s) : s;
  };
  size_t width = 0;
  for (const auto& c : report.checks) width = std::max(width, c.title.size());
  std::string out = fmt::format("fluxboot doctor: {}\n", report.root.string());
  for (const auto& c : report.checks) {
    std::string mark;
    switch (c.status) {
      case CheckStatus::Pass: mark = paint("32", "✓"); break;
      case CheckStatus::Warn: mark = paint("33", "!"); break;
      case CheckStatus::Fail: mark = paint("31", "✗"); break;
      case CheckStatus::Skip: mark = paint("2", "-"); break;
    }
    out += fmt::format("{} {:<{}}  {}\n", mark, c.title, width, c.summary);
    for (const auto& d : c.details) {
      // Multi-line messages (a list of problems) stay indented under their check.
      std::string indented = d;
      for (size_t pos = 0; (pos = indented.find('\n', pos)) != std::string::npos; pos += 5) indented.replace(pos, 1, "\n    ");
      out += fmt::format("    {}\n", indented);
    }
    if (!c.advice.empty() && (c.status == CheckStatus::Fail || c.status == CheckStatus::Warn))
      out += fmt::format("    {} {}\n", paint("36", "→"), c.advice);
  }
  size_t pass = report.count(CheckStatus::Pass), fail = report.count(CheckStatus::Fail),
         warn = report.count(CheckStatus::Warn), skip = report.count(CheckStatus::Skip);
  out += fmt::format("\n{} checks: {} passed, {} failed, {} warning{}, {} skipped\n", report.checks.size(), pass, fail,
                     warn, warn == 1 ? "" : "s", skip);
  return out;
}

json doctor_json(const DoctorReport& report) {
  json checks = json::array();
  for (const auto& c : report.checks)
    checks.push_back({{"id", c.id},
                      {"title", c.title},
                      {"status", to_string(c.status)},
                      {"summary", c.summary},
                      {"details", c.details},
                      {"advice", c.advice}});
  return {{"root", report.root.string()},
          {"ok", report.ok()},
          {"summary",
           {{"pass", report.count(CheckStatus::Pass)},
            {"warn", report.count(CheckStatus::Warn)},
            {"fail", report.count(CheckStatus::Fail)},
            {"skip", report.count(CheckStatus::Skip)}}},
          {"checks", checks}};
}

int run_doctor(const GlobalOptions& global, const DoctorOptions& options, std::FILE* out) {
  auto emit = [&](const DoctorReport& report) {
    bool color = options.output == "text" && ::isatty(fileno(out)) != 0 && std::getenv("NO_COLOR") == nullptr;
    std::string text = options.output == "json" ? doctor_json(report).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n" : render_doctor_text(report, color);
    std::fputs(text.c_str(), out);
    std::fflush(out);
    return report.ok() ? 0 : static_cast<int>(ExitCode::InvalidInput);
  };
  GlobalOptions g = global;
  g.no_debug_log = true;  // doctor changes nothing; no log file per check run
  try {
    Session s(g);
    Context ctx(s.config, s.options, s.real_runner(), *s.reporter, s.redactor);
    return emit(run_doctor_checks(ctx, options));
  } catch (const UsageError&) {
    throw;
  } catch (const Error& e) {
    // fluxboot.yaml (or --timeout) is broken: report it as the first failed check and run every
    // other check against the defaults, so the user sees all problems at once.
    Config config;
    config.root = resolve_root(global.root);
    RunOptions opts;
    opts.strict = global.strict;
    auto pick = [&](const std::string& flag, const char* env, const fs::path& def, std::string& source) -> fs::path {
      if (!flag.empty()) {
        source = "flag";
        return fs::absolute(flag);
      }
      if (const char* v = std::getenv(env); v != nullptr && *v != '\0') {
        source = env;
        std::string first(v);
        return fs::absolute(first.substr(0, first.find(':')));
      }
      source = "default";
      return config.abs(def);
    };
    opts.kubeconfig = pick(global.kubeconfig, "KUBECONFIG", config.paths.kubeconfig, opts.kubeconfig_source);
    opts.talosconfig = pick(global.talosconfig, "TALOSCONFIG", config.paths.talosconfig, opts.talosconfig_source);
    for (char** ev = environ; *ev != nullptr; ++ev) {
      std::string kv = *ev;
      auto eq = kv.find('=');
      if (eq != std::string::npos) opts.env[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    Redactor redactor;
    ReporterOptions ro;
    ro.human = nullptr;
    ro.json = nullptr;
    Reporter reporter(ro, redactor);
    auto runner = process::make_real_runner();
    Context ctx(config, opts, *runner, reporter, redactor);
    return emit(run_doctor_checks(ctx, options, e.what()));
  }
}

}  // namespace fluxboot::ops
