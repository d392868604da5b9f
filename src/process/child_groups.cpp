#include <signal.h>

#include <array>
#include <atomic>

#include "fluxboot/process.hpp"
#include "process/internal.hpp"

namespace fluxboot::process {

namespace {
// A fixed table of atomics rather than a mutex-guarded set, so kill_all_children() may run
// from an atexit handler, std::terminate or a fatal-signal handler while another thread is
// in the middle of registering. 512 concurrent children is far beyond what fluxboot starts.
std::array<std::atomic<pid_t>, 512> g_groups{};
static_assert(std::atomic<pid_t>::is_always_lock_free);
}  // namespace

namespace detail {

void register_child(pid_t kill_target) noexcept {
  for (auto& slot : g_groups) {
    pid_t expected = 0;
    if (slot.compare_exchange_strong(expected, kill_target)) return;
  }
  // Table full: the child is still killed by its own run, only the exit-path net misses it.
}

void unregister_child(pid_t kill_target) noexcept {
  for (auto& slot : g_groups) {
    pid_t expected = kill_target;
    if (slot.compare_exchange_strong(expected, 0)) return;
  }
}

}  // namespace detail

void kill_all_children() noexcept {
  for (auto& slot : g_groups) {
    const pid_t target = slot.load();
    if (target != 0) ::kill(target, SIGKILL);
  }
}

}  // namespace fluxboot::process
