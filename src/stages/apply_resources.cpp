// Stage 6, resources: the bootstrap secrets and config, from whichever source the repository uses
// (gitops::resources_source): bootstrap/resources.yaml.j2 rendered in-process; a kustomization
// built with `kubectl kustomize` (rendered when it holds {{ }}, then `op inject` when it holds
// op:// references, as the recipes pipe it); or *.sops.yaml files, each `sops decrypt`ed. sops-age
// is added from the age key when the source does not define it, and everything goes to the API
// in one server-side apply.
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

using Kind = gitops::ResourcesSource::Kind;

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Does any file under `dir` (the kustomization's own tree) hold an op:// reference?
bool tree_mentions_op(const std::filesystem::path& dir) {
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code e2;
    if (!it->is_regular_file(e2) || it->file_size(e2) > (4u << 20)) continue;
    if (slurp(it->path()).find("op://") != std::string::npos) return true;
  }
  return false;
}

class ApplyResources final : public Stage {
 public:
  std::string_view name() const override { return "resources"; }
  std::string_view title() const override { return "apply the bootstrap secrets and config"; }
  std::vector<std::string> tools() const override { return {"kubectl"}; }
  Millis default_timeout() const override { return std::chrono::minutes(2); }

  void prepare(Context& ctx) override {
    source_ = gitops::resources_source(ctx.config);
    rendered_.clear();
    docs_.clear();
    switch (source_.kind) {
      case Kind::None:
        throw InputError(fmt::format(
            "no bootstrap resources: looked for a template ({}) and for a kustomization or "
            "*.sops.yaml files ({}); set paths.resourcesTemplate or paths.resources in fluxboot.yaml",
            gitops::layout_candidates(ctx.config, "paths.resourcesTemplate"),
            gitops::layout_candidates(ctx.config, "paths.resources")));
      case Kind::Template: {
        const std::string src = std::filesystem::relative(source_.path, ctx.config.root).string();
        rendered_ = gitops::render_template(slurp(source_.path), ctx.options.env, src);
        docs_ = gitops::split_documents(rendered_, src + " (rendered)");
        for (const auto& secret : gitops::secret_values(docs_)) ctx.redactor.add(secret);
        break;
      }
      case Kind::Kustomize:
        for (const auto& dir : source_.items)
          if (tree_mentions_op(dir)) {
            ctx.require_tool("op", fmt::format("{} holds op:// references (op inject)",
                                               std::filesystem::relative(dir, ctx.config.root).string()));
            break;
          }
        break;
      case Kind::Sops:
        ctx.require_tool("sops", fmt::format("the resources are {}", source_.describe()));
        break;
    }

    age_key_path_.clear();
    age_key_.clear();
    bool template_has_sops_age = false;
    for (const auto& d : docs_)
      template_has_sops_age = template_has_sops_age || (d.kind == "Secret" && d.name == "sops-age");
    const gitops::AgeKey key = gitops::age_key(ctx.config, ctx.options.env);
    if (!template_has_sops_age && std::filesystem::is_regular_file(key.path)) {
      std::string content = slurp(key.path);
      if (content.find("AGE-SECRET-KEY-") == std::string::npos)
        throw InputError(fmt::format("{}: not an age identity (no AGE-SECRET-KEY- line)", key.path.string()));
      ctx.redactor.add(content);
      for (size_t pos = 0; (pos = content.find("AGE-SECRET-KEY-", pos)) != std::string::npos; ++pos) {
        size_t end = content.find_first_of(" \r\n", pos);
        ctx.redactor.add(content.substr(pos, end == std::string::npos ? std::string::npos : end - pos));
      }
      age_key_path_ = key.path;
      age_key_ = content;
    }
  }

  // The manifest stream of a kustomize or sops source; nullopt when a dry run only planned it.
  std::optional<std::string> build(Context& ctx) {
    std::string stream;
    for (const auto& item : source_.items) {
      const std::string src = std::filesystem::relative(item, ctx.config.root).generic_string();
      std::optional<std::string> part;
      if (source_.kind == Kind::Kustomize) {
        process::Command k;
        k.argv = {ctx.tool("kubectl"), "kustomize", item.string()};
        k.mutating = false;  // a local build: a dry run runs it too
        k.label = "kubectl kustomize " + src;
        part = ctx.run_secret_output(k, "kubectl kustomize " + src);
        if (part && (part->find("{{") != std::string::npos || part->find("{%") != std::string::npos))
          part = gitops::render_template(*part, ctx.options.env, src + " (kustomize output)");
        if (part && part->find("op://") != std::string::npos) {
          process::Command inject;
          inject.argv = {ctx.tool("op"), "inject"};
          inject.input = *part;
          inject.input_is_secret = true;
          inject.mutating = true;  // reads secrets from 1Password: a dry run only plans it
          inject.label = "op inject " + src;
          part = ctx.run_secret_output(inject, "op inject " + src);
        }
      } else {
        process::Command d = gitops::sops_decrypt_command(ctx.tool("sops"), item, ctx.config, ctx.options.env);
        d.mutating = true;  // the plaintext is needed only to apply it: a dry run plans it
        part = ctx.run_secret_output(d, "sops decrypt " + src);
      }
      if (!part) return std::nullopt;
      auto docs = gitops::split_documents(*part, src);
      for (const auto& secret : gitops::secret_values(docs)) ctx.redactor.add(secret);
      docs_.insert(docs_.end(), docs.begin(), docs.end());
      if (!stream.empty() && stream.back() != '\n') stream += '\n';
      if (!stream.empty()) stream += "---\n";
      stream += *part;
    }
    return stream;
  }

  std::string run(Context& ctx) override {
    const std::string& ns = ctx.config.flux_namespace;
    std::string stream = rendered_;
    if (source_.kind == Kind::Kustomize || source_.kind == Kind::Sops) {
      auto built = build(ctx);
      if (!built) {
        // A dry run: the decrypted or injected objects are not known, the apply is planned.
        ctx.run(kubectl_apply(ctx, "", true, "kubectl apply resources"));
        return fmt::format("{} planned", source_.describe());
      }
      stream = *built;
    }
    if (!stream.empty() && stream.back() != '\n') stream += '\n';
    size_t objects = docs_.size();
    bool has_sops_age = false;
    for (const auto& d : docs_) has_sops_age = has_sops_age || (d.kind == "Secret" && d.name == "sops-age");
    if (!has_sops_age && !age_key_path_.empty()) {
      nlohmann::json secret = {
          {"apiVersion", "v1"},
          {"kind", "Secret"},
          {"metadata", {{"name", "sops-age"}, {"namespace", ns}}},
          {"type", "Opaque"},
          {"data", {{"age.agekey", base64_encode(age_key_)}}}};
      stream += "---\n" + secret.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
      ++objects;
      ctx.reporter.info(name(), fmt::format("sops-age created from {}", age_key_path_.string()));
    }
    if (objects == 0) {
      ctx.reporter.warn(name(), fmt::format("the resources ({}) hold no objects", source_.describe()));
      return "nothing to apply";
    }
    auto r = run_apply(ctx, kubectl_apply(ctx, stream, true, "kubectl apply resources"),
                             "applying bootstrap resources");
    std::string detail = r.dry_run ? fmt::format("{} objects planned", objects) : summarize_apply_output(r.out);

    // The design document's prerequisites: Flux cannot sync or decrypt without these. What this
    // apply just created needs no second look; only what it did not hold is asked of the cluster.
    std::vector<std::string> unknown;
    for (const char* want : {"github-deploy-key", "sops-age"}) {
      bool applied = std::string(want) == "sops-age" && !has_sops_age && !age_key_path_.empty();
      for (const auto& d : docs_)
        applied = applied || (d.kind == "Secret" && d.name == want && (d.ns.empty() || d.ns == ns));
      if (!applied) unknown.push_back(want);
    }
    process::Command probe;
    probe.argv = {ctx.tool("kubectl"), "get", "secret", "-n", ns, "-o", "name", "--ignore-not-found"};
    probe.argv.insert(probe.argv.end(), unknown.begin(), unknown.end());
    probe.mutating = false;
    probe.label = "kubectl get secret (prerequisites)";
    if (!r.dry_run && !unknown.empty()) {
      auto p = ctx.run(probe);
      if (p.ok()) {
        for (const auto& want : unknown)
          if (p.out.find("secret/" + want) == std::string::npos)
            ctx.reporter.warn(name(), fmt::format("{} has no Secret {}: Flux {} until it exists", ns, want,
                                                  want == "sops-age"
                                                      ? "cannot decrypt *.sops.yaml files"
                                                      : "cannot pull an ssh:// repository"));
      }
    }
    return detail;
  }

 private:
  gitops::ResourcesSource source_;
  std::string rendered_;
  std::vector<gitops::YamlDocument> docs_;
  std::filesystem::path age_key_path_;
  std::string age_key_;
};

}  // namespace

std::unique_ptr<Stage> make_resources_stage() { return std::make_unique<ApplyResources>(); }

}  // namespace fluxboot::stages
