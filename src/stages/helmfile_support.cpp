#include "stages/helmfile_support.hpp"

#include <fmt/format.h>

#include "fluxboot/error.hpp"
#include "fluxboot/gitops.hpp"

namespace fluxboot::stages {

values::Options value_options(Context& ctx) {
  values::Options o;
  o.strict = ctx.options.strict;
  o.decrypt = [&ctx](const std::filesystem::path& file) {
    auto cmd = gitops::sops_decrypt_command(ctx.tool("sops"), file, ctx.config, ctx.options.env);
    auto r = ctx.runner.run(cmd);  // not through ctx.run: the output is secret and never logged
    if (!r.ok())
      throw InputError(fmt::format("{}: sops decrypt failed: {}", file.string(), ctx.redactor.apply(r.err)));
    return r.out;
  };
  o.warn = [&ctx](const std::string& message) { ctx.reporter.warn(ctx.stage, message); };
  return o;
}

std::unique_ptr<values::Handoff> derive(Context& ctx, const std::filesystem::path& state_file) {
  if (!std::filesystem::is_regular_file(state_file))
    throw InputError(fmt::format("{}: helmfile state file not found", state_file.string()));
  auto handoff = values::derive_helmfile(ctx.config, state_file, value_options(ctx));
  for (const auto& s : handoff->secrets()) ctx.redactor.add(s);
  for (const auto& w : handoff->warnings()) ctx.reporter.warn(ctx.stage, w);
  return handoff;
}

process::Command helmfile_command(Context& ctx, const std::filesystem::path& state_file,
                                  std::vector<std::string> args) {
  process::Command cmd;
  cmd.argv = {ctx.tool("helmfile"), "--file", state_file.string()};
  cmd.argv.insert(cmd.argv.end(), args.begin(), args.end());
  cmd.cwd = state_file.parent_path();
  cmd.label = "helmfile " + (args.empty() ? std::string() : args[0]);
  return cmd;
}

}  // namespace fluxboot::stages
