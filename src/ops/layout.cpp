#include "fluxboot/layout.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "fluxboot/gitops.hpp"

namespace fluxboot::ops {

namespace {

// Items whose absence is a finding. The CRD helmfile may be absent by design: detection then
// leaves its value empty and the crds stage has nothing to do.
// talconfig.yaml is one inventory source among several (fluxboot.yaml nodes:, the talosconfig
// context): its absence is reported, not failed; load_inventory says what it finally used.
bool required(const LayoutItem& i) {
  if (i.key == "paths.talconfig" || i.key == "paths.clusterconfig") return false;
  return i.key != "paths.crdsHelmfile" || !i.value.empty();
}

}  // namespace

int run_layout(Session& session, const LayoutOptions& options, std::FILE* out) {
  const Config& c = session.config;
  int missing = 0;
  for (const auto& i : c.layout) missing += (required(i) && !i.present) ? 1 : 0;

  if (options.output == "json") {
    nlohmann::json items = nlohmann::json::array();
    for (const auto& i : c.layout)
      items.push_back({{"key", i.key},
                       {"value", i.value.empty() ? nlohmann::json(nullptr) : nlohmann::json(i.value)},
                       {"origin", i.origin},
                       {"present", i.present},
                       {"lookedFor", i.looked_for}});
    nlohmann::json doc = {{"root", c.root.string()},
                          {"config", c.file ? nlohmann::json(c.file->string()) : nlohmann::json(nullptr)},
                          {"items", items},
                          {"missing", missing}};
    fmt::print(out, "{}\n", doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
    return missing == 0 ? 0 : static_cast<int>(ExitCode::InvalidInput);
  }

  fmt::print(out, "repository  {}\n", c.root.string());
  fmt::print(out, "settings    {}\n\n", c.file ? c.file->filename().string() : "none (fluxboot.yaml absent: all detected)");
  for (const auto& i : c.layout) {
    std::string mark = !required(i) ? "-" : i.present ? "✓" : "✗";
    std::string value = i.value.empty() ? "(none)" : i.value;
    fmt::print(out, "{} {:<28} {:<48} {}\n", mark, i.key, value, i.origin);
    if (!required(i) && !i.value.empty() && !i.present)
      fmt::print(out, "    not found (looked for {}); nodes then come from fluxboot.yaml nodes: or the "
                      "talosconfig context\n", gitops::layout_candidates(c, i.key));
    else if (!i.value.empty() && !i.present)
      fmt::print(out, "    missing; looked for {}; set {} in fluxboot.yaml\n",
                 gitops::layout_candidates(c, i.key), i.key);
    else if (i.value.empty())
      fmt::print(out, "    not in this repository (looked for {}): the stage that reads it has nothing to do\n",
                 gitops::layout_candidates(c, i.key));
  }
  if (missing > 0)
    fmt::print(out, "\n{} item{} not found\n", missing, missing == 1 ? "" : "s");
  return missing == 0 ? 0 : static_cast<int>(ExitCode::InvalidInput);
}

}  // namespace fluxboot::ops
