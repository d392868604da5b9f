#include <mutex>
#include <utility>

#include "fluxboot/process.hpp"

namespace fluxboot::process {

namespace {

class DryRunner final : public Runner {
 public:
  DryRunner(Runner& inner, std::function<void(const Command&)> record)
      : inner_(inner), record_(std::move(record)) {}

  Result run(const Command& cmd, const LineSink& sink) override {
    if (!cmd.mutating) return inner_.run(cmd, sink);
    if (record_) {
      // Parallel stages may record at once; the callback need not be thread-safe itself.
      std::lock_guard lock(mu_);
      record_(cmd);
    }
    Result r;
    r.exit_code = 0;
    r.dry_run = true;
    return r;
  }

 private:
  Runner& inner_;
  std::function<void(const Command&)> record_;
  std::mutex mu_;
};

}  // namespace

std::unique_ptr<Runner> make_dry_runner(Runner& inner, std::function<void(const Command&)> record) {
  return std::make_unique<DryRunner>(inner, std::move(record));
}

}  // namespace fluxboot::process
