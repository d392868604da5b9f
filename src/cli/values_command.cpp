// `fluxboot values <namespace>/<name>`: the values (or chart) Helm receives for a release, as Flux
// would compute them (docs/values.md).
#include <fmt/format.h>

#include <memory>
#include <set>

#include "cli/app.hpp"
#include "fluxboot/error.hpp"
#include "fluxboot/helmfile_state.hpp"
#include "fluxboot/values.hpp"

namespace fluxboot::cli {

namespace {

struct ValuesFlags {
  std::string release;
  std::string output = "yaml";
  bool chart = false;
  bool all = false;
  bool show_secrets = false;
};

values::Options reader_options(Session& s) {
  values::Options o;
  o.strict = s.options.strict;
  o.decrypt = [&s](const std::filesystem::path& file) {
    process::Command cmd;
    cmd.argv = {s.config.tools.sops, "decrypt", file.string()};
    cmd.mutating = false;  // read-only: --dry-run still decrypts
    cmd.label = "sops decrypt " + file.filename().string();
    auto r = s.runner().run(cmd);
    if (!r.ok())
      throw InputError(fmt::format("{}: sops decrypt failed: {}", file.string(), r.tail(3)));
    return r.out;
  };
  o.warn = [&s](const std::string& message) { s.reporter->warn("values", message); };
  return o;
}

nlohmann::json chart_json(const std::optional<values::Chart>& c) {
  if (!c) return nullptr;
  nlohmann::json j = {{"url", c->url}, {"version", c->version}, {"source", c->source}};
  if (!c->name.empty()) j["name"] = c->name;
  if (!c->digest.empty()) j["digest"] = c->digest;
  return j;
}

// One release of `values --all`: computed as Flux would (fluxboot generates its values file), or,
// for a release whose helmfile entry does not go through the HelmRelease lookup (a CRD-only chart
// with no HelmRelease, plain values files), exactly what helmfile passes to Helm.
struct Listed {
  values::ReleaseRef ref;
  bool flux = true;                           // compute with the Reader
  std::optional<nlohmann::json> helmfile;     // !flux: the state's own values (nullopt: unknown)
  std::string chart, version, state;          // !flux: as the state pins them
};

std::vector<Listed> all_releases(Session& s) {
  std::vector<Listed> out;
  std::set<std::string> seen;
  values::Reader probe(s.config, reader_options(s));
  for (const auto& file : {s.config.paths.crds_helmfile, s.config.paths.apps_helmfile}) {
    if (file.empty()) continue;  // the layout has no such helmfile (fluxboot layout says so)
    auto path = s.config.abs(file);
    if (!std::filesystem::is_regular_file(path)) {
      s.reporter->warn("values",
                       fmt::format("{}: helmfile state not found; skipped", file.string()));
      continue;
    }
    // The derived state is what helmfile would be given; its files are removed with `handoff`.
    auto handoff = values::derive_helmfile(s.config, path, reader_options(s));
    for (const auto& secret : handoff->secrets()) s.redactor.add(secret);
    for (const auto& w : handoff->warnings()) s.reporter->warn("values", w);
    std::set<std::string> generated;
    for (const auto& r : handoff->releases()) generated.insert(r.str());
    for (const auto& spec : values::read_release_specs(handoff->state_file())) {
      if (spec.ns.empty()) {
        s.reporter->warn("values", fmt::format("{}: release {} has no namespace; skipped",
                                               file.string(), spec.name));
        continue;
      }
      Listed l;
      l.ref = values::ReleaseRef{spec.ns, spec.name};
      if (!seen.insert(l.ref.str()).second) continue;
      // A Go-template state is handed to helmfile unchanged: its lookup still reads the
      // HelmRelease, so the Flux view is the best answer there is when that file exists.
      l.flux = generated.count(l.ref.str()) > 0 ||
               (!handoff->derived() && std::filesystem::is_regular_file(probe.helmrelease_file(l.ref)));
      if (!l.flux) {
        l.helmfile = spec.values;
        l.chart = spec.chart;
        l.version = spec.version;
        l.state = file.string();
        if (!l.helmfile)
          s.reporter->warn("values", fmt::format("{}: the values of {} are only known to helmfile "
                                                 "(Go-template or set: entries); shown as null",
                                                 file.string(), l.ref.str()));
      }
      out.push_back(std::move(l));
    }
  }
  return out;
}

int run_values(Session& s, const ValuesFlags& f) {
  values::Reader reader(s.config, reader_options(s));
  std::vector<Listed> refs =
      f.all ? all_releases(s) : std::vector<Listed>(1);
  if (!f.all) refs.front().ref = values::ReleaseRef::parse(f.release);
  const bool json_out = f.output == "json";
  nlohmann::json combined = nlohmann::json::object();
  std::string text;
  std::size_t secrets = 0;
  for (const auto& listed : refs) {
    const values::ReleaseRef& ref = listed.ref;
    nlohmann::json result;
    if (!listed.flux && f.chart) {
      result = {{"url", listed.chart}, {"version", listed.version},
                {"source", "helmfile " + listed.state}};
    } else if (!listed.flux) {
      result = listed.helmfile ? *listed.helmfile : nlohmann::json(nullptr);
    } else if (f.chart) {
      result = chart_json(reader.chart(ref));
    } else {
      auto cv = reader.compute(ref);
      for (const auto& secret : cv.secrets) s.redactor.add(secret);
      secrets += cv.secrets.size();
      result = std::move(cv.values);
    }
    if (f.all) {
      combined[ref.str()] = result;
      if (!json_out) text += fmt::format("---\n# {}\n{}", ref.str(), values::to_yaml(result));
    } else {
      combined = std::move(result);
      if (!json_out) text = values::to_yaml(combined);
    }
  }
  if (json_out)
    text = combined.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  if (secrets > 0 && !f.show_secrets) {
    text = s.redactor.apply(text);
    s.reporter->info("values",
                     "values from Secrets are shown as <redacted>; --show-secrets prints them");
  }
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
  return 0;
}

}  // namespace

void add_values_command(CLI::App& app, GlobalOptions& global, Action& action) {
  auto flags = std::make_shared<ValuesFlags>();
  auto* sub = app.add_subcommand(
      "values",
      "Print the values Helm receives for a release (<namespace>/<name>), computed as Flux would");
  sub->add_option("release", flags->release, "The release, as <namespace>/<name>")
      ->type_name("NAMESPACE/NAME");
  sub->add_option("-o,--output", flags->output, "yaml (default) or json")
      ->check(CLI::IsMember({"yaml", "json"}))
      ->type_name("FORMAT");
  sub->add_flag("--chart", flags->chart, "Print the chart URL and version instead of the values");
  sub->add_flag("--all", flags->all, "Every release of both bootstrap helmfiles (crds and apps)");
  sub->add_flag("--show-secrets", flags->show_secrets,
                "Print values that come from Secrets instead of masking them");
  sub->callback([&global, &action, flags]() {
    action = [&global, flags]() -> int {
      if (flags->all == !flags->release.empty()) {
        fmt::print(stderr, "error: fluxboot values: give either <namespace>/<name> or --all\n");
        return static_cast<int>(ExitCode::Usage);
      }
      return with_session(global, [&](Session& s) { return run_values(s, *flags); });
    };
  });
}

}  // namespace fluxboot::cli
