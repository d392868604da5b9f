// Stage 3, kubeconfig: `talosctl kubeconfig` into a private temporary file beside the target,
// then an atomic rename, so the kubeconfig is never half-written and always 0600.
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "fluxboot/error.hpp"
#include "fluxboot/retry.hpp"
#include "stages/stage_factories.hpp"
#include "stages/talos_errors.hpp"

namespace fluxboot::stages {

namespace {

// A run killed by SIGKILL while talosctl wrote the kubeconfig leaves `.<name>.fluxboot-XXXXXX`
// (a complete admin credential) beside the target. The repository lock is held here, so no other
// run is writing one: every such file is left over, and removed.
void sweep_stale_temporaries(Context& ctx, const std::filesystem::path& target) {
  const std::string prefix = "." + target.filename().string() + ".fluxboot-";
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(target.parent_path(), ec)) {
    const std::string name = e.path().filename().string();
    if (name.size() != prefix.size() + 6 || name.compare(0, prefix.size(), prefix) != 0) continue;
    std::error_code rm;
    if (std::filesystem::remove(e.path(), rm))
      ctx.reporter.warn("kubeconfig", fmt::format("removed {} left by an interrupted run (it held a kubeconfig)",
                                                  e.path().string()));
  }
}

class FetchKubeconfig final : public Stage {
 public:
  std::string_view name() const override { return "kubeconfig"; }
  std::string_view title() const override { return "fetch the kubeconfig from Talos"; }
  std::vector<std::string> tools() const override { return {"talosctl"}; }
  Millis default_timeout() const override { return std::chrono::minutes(3); }

  void prepare(Context& ctx) override {
    (void)ctx.controller();
    auto dir = ctx.options.kubeconfig.parent_path();
    std::error_code ec;
    if (std::filesystem::is_directory(ctx.options.kubeconfig, ec))
      throw InputError(fmt::format("kubeconfig path {} (from {}) is a directory; give a file path",
                                   ctx.options.kubeconfig.string(), ctx.options.kubeconfig_source));
    if (!dir.empty() && std::filesystem::exists(dir, ec) && !std::filesystem::is_directory(dir, ec))
      throw InputError(fmt::format("kubeconfig directory {} is not a directory", dir.string()));
  }

  std::string run(Context& ctx) override {
    const NodeSpec& cp = ctx.controller();
    const auto target = ctx.options.kubeconfig;
    if (ctx.dry_run()) {
      process::Command cmd;
      cmd.argv = {ctx.tool("talosctl"), "kubeconfig", target.string(), "--nodes", cp.address,
                  "--force", "--force-context-name", ctx.config.kube_context_name};
      ctx.run(cmd);
      return "would write " + target.string();
    }
    std::filesystem::create_directories(target.parent_path());
    sweep_stale_temporaries(ctx, target);
    std::string tmpl = (target.parent_path() / ("." + target.filename().string() + ".fluxboot-XXXXXX")).string();
    int fd = ::mkstemp(tmpl.data());
    if (fd < 0) throw StageError(fmt::format("cannot create a temporary file beside {}", target.string()));
    ::fchmod(fd, 0600);
    ::close(fd);
    tmp_ = tmpl;
    bool existed = std::filesystem::exists(target);
    if (existed) {
      // Merge into a copy of the existing file so other contexts in it survive.
      std::filesystem::copy_file(target, tmp_, std::filesystem::copy_options::overwrite_existing);
      ::chmod(tmp_.c_str(), 0600);
    } else {
      std::filesystem::remove(tmp_);  // talosctl creates it; an empty file is not a kubeconfig
    }

    retry_until(ctx, "the kubeconfig from " + cp.address, Backoff{}, [&](int) -> Attempt {
      process::Command cmd;
      cmd.argv = {ctx.tool("talosctl"), "kubeconfig", tmp_.string(), "--nodes", cp.address,
                  "--force", "--force-context-name", ctx.config.kube_context_name};
      cmd.label = "talosctl kubeconfig";
      auto r = ctx.run(cmd);
      if (r.ok()) return Attempt::finished();
      std::string text = r.out + "\n" + r.err;
      std::string tail = ctx.redactor.apply(r.tail());
      if (r.timed_out || !is_transient_talos_error(text))
        throw StageError(fmt::format("talosctl kubeconfig from {} exited {}: {}", cp.address,
                                     r.exit_code, tail.empty() ? "(no output)" : tail));
      return Attempt::again(tail);
    });

    std::error_code ec;
    if (!std::filesystem::is_regular_file(tmp_, ec) || std::filesystem::file_size(tmp_, ec) == 0)
      throw StageError("talosctl kubeconfig succeeded but wrote no kubeconfig to " + tmp_.string());
    std::ifstream in(tmp_);
    std::stringstream buf;
    buf << in.rdbuf();
    const std::string content = buf.str();
    if (content.find("clusters") == std::string::npos || content.find(ctx.config.kube_context_name) == std::string::npos)
      throw StageError(fmt::format("talosctl wrote a kubeconfig without a '{}' context", ctx.config.kube_context_name));
    ::chmod(tmp_.c_str(), 0600);
    std::filesystem::rename(tmp_, target, ec);
    if (ec) throw StageError(fmt::format("cannot move the kubeconfig into place at {}: {}", target.string(), ec.message()));
    tmp_.clear();
    ctx.outputs["kubeconfig"] = target.string();
    return fmt::format("{} {} (context {}, mode 0600)", existed ? "updated" : "wrote", target.string(),
                       ctx.config.kube_context_name);
  }

  void cleanup(Context&) noexcept override {
    if (tmp_.empty()) return;
    std::error_code ec;
    std::filesystem::remove(tmp_, ec);
    tmp_.clear();
  }

 private:
  std::filesystem::path tmp_;
};

}  // namespace

std::unique_ptr<Stage> make_kubeconfig_stage() { return std::make_unique<FetchKubeconfig>(); }

}  // namespace fluxboot::stages
