#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <mutex>
#include <system_error>
#include <thread>

#include "fluxboot/process.hpp"
#include "process/internal.hpp"

namespace fluxboot::process {

namespace {

static_assert(std::atomic<int>::is_always_lock_free, "the signal handler relies on lock-free atomics");

// The only mutable globals of fluxboot (house style): what the handler records.
std::atomic<int> g_first_signal{0};
std::atomic<int> g_signal_count{0};
std::atomic<int> g_pipe_read{-1};
std::atomic<int> g_pipe_write{-1};

extern "C" void on_signal(int sig) {
  const int saved_errno = errno;
  int expected = 0;
  g_first_signal.compare_exchange_strong(expected, sig);
  g_signal_count.fetch_add(1);
  const int fd = g_pipe_write.load();
  if (fd >= 0) {
    const char byte = 1;
    // The pipe is non-blocking: once it is full it is readable anyway, so a lost byte is fine.
    [[maybe_unused]] ssize_t n = ::write(fd, &byte, 1);
  }
  errno = saved_errno;
}

void kill_children_at_exit() {
  kill_all_children();
  try {
    (void)kill_descendants(std::chrono::milliseconds(200));
  } catch (...) {  // exiting anyway; /proc unreadable or out of memory
  }
}

}  // namespace

void install_signal_handlers() {
  static std::once_flag once;
  std::call_once(once, [] {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0)
      throw std::system_error(errno, std::generic_category(), "signal self-pipe");
    g_pipe_read.store(fds[0]);
    g_pipe_write.store(fds[1]);

    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    ::sigaction(SIGINT, &sa, nullptr);
    ::sigaction(SIGTERM, &sa, nullptr);

    // A child that closes its stdin early must not kill fluxboot; writes see EPIPE instead.
    // Children get SIGPIPE back at its default (the runner's POSIX_SPAWN_SETSIGDEF).
    struct sigaction ign {};
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    ::sigaction(SIGPIPE, &ign, nullptr);

    std::atexit(kill_children_at_exit);
    // Orphaned grandchildren (helm after its helmfile died) come back to us, not to init.
    (void)become_subreaper();
  });
}

int pending_signal() noexcept { return g_first_signal.load(); }

bool interrupted() noexcept { return pending_signal() != 0; }

int signal_count() noexcept { return g_signal_count.load(); }

void reset_signal_state_for_tests() noexcept {
  const int fd = g_pipe_read.load();
  if (fd >= 0) {
    char buf[64];
    while (::read(fd, buf, sizeof buf) > 0) {
    }
  }
  g_first_signal.store(0);
  g_signal_count.store(0);
}

bool interruptible_sleep(std::chrono::milliseconds d) {
  using clock = std::chrono::steady_clock;
  if (interrupted()) return false;
  const auto until = clock::now() + d;
  const int fd = g_pipe_read.load();
  for (;;) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(until - clock::now());
    if (left.count() <= 0) return !interrupted();
    if (fd < 0) {
      std::this_thread::sleep_for(left);  // no handlers installed: nothing can interrupt us
    } else {
      pollfd p{fd, POLLIN, 0};
      const int timeout = static_cast<int>(std::min<long long>(left.count(), 60'000));
      ::poll(&p, 1, timeout);
    }
    if (interrupted()) return false;
  }
}

namespace detail {
int signal_pipe_fd() noexcept { return g_pipe_read.load(); }
}  // namespace detail

}  // namespace fluxboot::process
