#pragma once
// The one waiting helper: attempts return done or again(reason); an abort is a thrown Error.
#include <chrono>
#include <functional>
#include <string>

#include "fluxboot/context.hpp"
#include "fluxboot/duration.hpp"

namespace fluxboot {

struct Backoff {
  Millis initial{1000};
  double factor = 1.5;
  Millis max{10000};
};

struct Attempt {
  bool done = false;
  std::string reason;  // why another attempt is needed (shown on progress and on timeout)
  static Attempt finished() { return {true, {}}; }
  static Attempt again(std::string why) { return {false, std::move(why)}; }
};

// Calls `fn(attempt_number)` until it returns done, sleeping with backoff in between (woken by
// Ctrl-C). At the stage deadline throws DeadlineError("<stage>: timed out after X waiting for
// <what> (N attempts); last: <reason>"). A signal throws InterruptedError.
void retry_until(Context& ctx, const std::string& what, const Backoff& backoff,
                 const std::function<Attempt(int)>& fn);

}  // namespace fluxboot
