// Stage 6, resources: render bootstrap/resources.yaml.j2 in-process, add sops-age from the age
// key when the template does not define it, and apply everything in one server-side apply.
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "fluxboot/error.hpp"
#include "fluxboot/gitops.hpp"
#include "stages/kubectl.hpp"
#include "stages/stage_factories.hpp"

namespace fluxboot::stages {

namespace {

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class ApplyResources final : public Stage {
 public:
  std::string_view name() const override { return "resources"; }
  std::string_view title() const override { return "apply the bootstrap secrets and config"; }
  std::vector<std::string> tools() const override { return {"kubectl"}; }
  Millis default_timeout() const override { return std::chrono::minutes(2); }

  void prepare(Context& ctx) override {
    const auto path = ctx.config.abs(ctx.config.paths.resources_template);
    if (!std::filesystem::is_regular_file(path))
      throw InputError(fmt::format("{}: resources template not found (looked for {}; set "
                                   "paths.resourcesTemplate in fluxboot.yaml)", path.string(),
                                   gitops::layout_candidates(ctx.config, "paths.resourcesTemplate")));
    const std::string source = std::filesystem::relative(path, ctx.config.root).string();
    rendered_ = gitops::render_template(slurp(path), ctx.options.env, source);
    docs_ = gitops::split_documents(rendered_, source + " (rendered)");
    for (const auto& secret : gitops::secret_values(docs_)) ctx.redactor.add(secret);

    bool has_sops_age = false;
    for (const auto& d : docs_)
      has_sops_age = has_sops_age || (d.kind == "Secret" && d.name == "sops-age");
    age_key_path_.clear();
    if (!has_sops_age) {
      auto it = ctx.options.env.find("SOPS_AGE_KEY_FILE");
      std::filesystem::path key = (it != ctx.options.env.end() && !it->second.empty())
                                      ? std::filesystem::path(it->second)
                                      : ctx.config.abs(ctx.config.paths.age_key);
      if (std::filesystem::is_regular_file(key)) {
        age_key_path_ = key;
        std::string content = slurp(key);
        if (content.find("AGE-SECRET-KEY-") == std::string::npos)
          throw InputError(fmt::format("{}: not an age identity (no AGE-SECRET-KEY- line)", key.string()));
        ctx.redactor.add(content);
        for (size_t pos = 0; (pos = content.find("AGE-SECRET-KEY-", pos)) != std::string::npos; ++pos) {
          size_t end = content.find_first_of(" \r\n", pos);
          ctx.redactor.add(content.substr(pos, end == std::string::npos ? std::string::npos : end - pos));
        }
        age_key_ = content;
      }
    }
  }

  std::string run(Context& ctx) override {
    const std::string& ns = ctx.config.flux_namespace;
    std::string stream = rendered_;
    if (!stream.empty() && stream.back() != '\n') stream += '\n';
    size_t objects = docs_.size();
    if (!age_key_path_.empty()) {
      nlohmann::json secret = {
          {"apiVersion", "v1"},
          {"kind", "Secret"},
          {"metadata", {{"name", "sops-age"}, {"namespace", ns}}},
          {"type", "Opaque"},
          {"data", {{"age.agekey", base64_encode(age_key_)}}}};
      stream += "---\n" + secret.dump() + "\n";
      ++objects;
      ctx.reporter.info(name(), fmt::format("sops-age created from {}", age_key_path_.string()));
    }
    if (objects == 0) {
      ctx.reporter.warn(name(), "the resources template rendered no objects");
      return "nothing to apply";
    }
    auto r = ctx.run_checked(kubectl_apply(ctx, stream, true, "kubectl apply resources"),
                             "applying bootstrap resources");
    std::string detail = r.dry_run ? fmt::format("{} objects planned", objects) : summarize_apply_output(r.out);

    // The design document's prerequisites: Flux cannot sync or decrypt without these.
    process::Command probe;
    probe.argv = {ctx.tool("kubectl"), "get", "secret", "-n", ns, "-o", "name", "--ignore-not-found",
                  "github-deploy-key", "sops-age"};
    probe.mutating = false;
    probe.label = "kubectl get secret (prerequisites)";
    if (!r.dry_run) {
      auto p = ctx.run(probe);
      if (p.ok()) {
        for (const char* want : {"github-deploy-key", "sops-age"})
          if (p.out.find(std::string("secret/") + want) == std::string::npos)
            ctx.reporter.warn(name(), fmt::format("{} has no Secret {}: Flux {} until it exists", ns, want,
                                                  std::string(want) == "sops-age"
                                                      ? "cannot decrypt *.sops.yaml files"
                                                      : "cannot pull an ssh:// repository"));
      }
    }
    return detail;
  }

 private:
  std::string rendered_;
  std::vector<gitops::YamlDocument> docs_;
  std::filesystem::path age_key_path_;
  std::string age_key_;
};

}  // namespace

std::unique_ptr<Stage> make_resources_stage() { return std::make_unique<ApplyResources>(); }

}  // namespace fluxboot::stages
