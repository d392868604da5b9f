#pragma once
// A bootstrap stage: a stable name, a title, and hooks with no-op defaults (k0sctl's phases,
// kubeadm's addressable phases). Stage order lives only in stages/stage_list.cpp.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fluxboot/context.hpp"
#include "fluxboot/duration.hpp"

namespace fluxboot {

class Stage {
 public:
  virtual ~Stage() = default;
  virtual std::string_view name() const = 0;         // "kubeconfig"
  virtual std::string_view title() const = 0;        // "fetch the kubeconfig from Talos"
  virtual std::vector<std::string> tools() const { return {}; }  // executables it needs
  virtual Millis default_timeout() const { return std::chrono::minutes(10); }

  // Validates inputs. No side effects, no commands. All stages' prepare() run before any run().
  virtual void prepare(Context&) {}
  // Runs the stage; idempotent (a second run changes nothing). Returns a one-line summary.
  virtual std::string run(Context& ctx) = 0;
  // Best effort, never throws; called after run() on success, failure and interruption.
  virtual void cleanup(Context&) noexcept {}
};

using StageList = std::vector<std::unique_ptr<Stage>>;

}  // namespace fluxboot
