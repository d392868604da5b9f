#include "fluxboot/retry.hpp"

#include <algorithm>
#include <random>

#include <fmt/format.h>

#include "fluxboot/error.hpp"

namespace fluxboot {

void retry_until(Context& ctx, const std::string& what, const Backoff& backoff,
                 const std::function<Attempt(int)>& fn) {
  auto start = std::chrono::steady_clock::now();
  Millis delay = backoff.initial;
  std::minstd_rand rng(std::random_device{}());
  std::string last;
  for (int attempt = 1;; ++attempt) {
    if (process::interrupted()) throw InterruptedError(process::pending_signal());
    Attempt a = fn(attempt);
    if (a.done) return;
    last = a.reason;
    auto give_up = [&]() {
      auto waited = std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - start);
      return DeadlineError(fmt::format("timed out after {} waiting for {} ({} attempt{}); last: {}",
                                       format_duration(waited), what, attempt,
                                       attempt == 1 ? "" : "s", last.empty() ? "no detail" : last));
    };
    Millis left = ctx.remaining();
    if (left.count() <= 0) throw give_up();
    // ±20% jitter so parallel retries do not march in step.
    std::uniform_real_distribution<double> jitter(0.8, 1.2);
    Millis sleep(static_cast<long long>(static_cast<double>(delay.count()) * jitter(rng)));
    sleep = std::min(sleep, left);
    if (!process::interruptible_sleep(sleep)) throw InterruptedError(process::pending_signal());
    if (ctx.remaining().count() <= 0) throw give_up();
    delay = std::min(backoff.max, Millis(static_cast<long long>(static_cast<double>(delay.count()) * backoff.factor)));
  }
}

}  // namespace fluxboot
