// The exit-path net: a subreaper finds and kills what its children left behind in other process
// groups, and leaves alone what detached into a session of its own.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "fluxboot/process.hpp"

namespace fluxboot::process {
namespace {

using namespace std::chrono_literals;

bool listed(pid_t pid) {
  auto all = list_descendants();
  return std::any_of(all.begin(), all.end(), [&](const Descendant& d) { return d.pid == pid && !d.zombie; });
}

TEST(Descendants, OrphansInOtherGroupsAreKilledAndDetachedDaemonsAreLeftAlone) {
  ASSERT_TRUE(become_subreaper());
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t parent = ::fork();
  ASSERT_GE(parent, 0);
  if (parent == 0) {
    // The "tool": starts a helper in a group of its own and a daemon in a session of its own,
    // reports both, and exits, orphaning them.
    ::close(fds[0]);
    // Each grandchild says when it has left the group / session, so the test never races it.
    int ready[2];
    if (::pipe(ready) != 0) _exit(1);
    pid_t kids[2];
    const char byte = 1;
    kids[0] = ::fork();
    if (kids[0] == 0) {
      ::setpgid(0, 0);
      [[maybe_unused]] auto w = ::write(ready[1], &byte, 1);
      for (;;) ::pause();
    }
    kids[1] = ::fork();
    if (kids[1] == 0) {
      ::setsid();
      [[maybe_unused]] auto w = ::write(ready[1], &byte, 1);
      for (;;) ::pause();
    }
    char got[2];
    for (int have = 0; have < 2;) {
      const auto r = ::read(ready[0], got, sizeof got - static_cast<std::size_t>(have));
      if (r <= 0) _exit(1);
      have += static_cast<int>(r);
    }
    [[maybe_unused]] auto n = ::write(fds[1], kids, sizeof kids);
    _exit(0);
  }
  ::close(fds[1]);
  pid_t kids[2] = {0, 0};
  ASSERT_EQ(::read(fds[0], kids, sizeof kids), static_cast<ssize_t>(sizeof kids));
  ::close(fds[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(parent, &status, 0), parent);
  const pid_t helper = kids[0], daemon = kids[1];
  // Re-parented to us (the subreaper), not to init.
  for (int i = 0; i < 100 && !listed(helper); ++i) std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(listed(helper));
  EXPECT_FALSE(listed(daemon));  // its own session: not ours to kill

  auto killed = kill_descendants(2s);
  EXPECT_EQ(killed.size(), 1u);
  errno = 0;
  EXPECT_EQ(::kill(helper, 0), -1);  // killed and reaped
  EXPECT_EQ(errno, ESRCH);
  EXPECT_EQ(::kill(daemon, 0), 0);  // still running
  ::kill(daemon, SIGKILL);
  ::waitpid(daemon, &status, 0);
  EXPECT_TRUE(kill_descendants(100ms).empty());
}

}  // namespace
}  // namespace fluxboot::process
