// The repository lock. flock(2) decides who holds it (the kernel releases it when the holder dies,
// whatever killed it); the file's content only names the holder for the message.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "fluxboot/journal.hpp"

namespace fluxboot::ops {

namespace fs = std::filesystem;

namespace {

std::string read_fd(int fd) {
  std::string s;
  char buf[4096];
  ::lseek(fd, 0, SEEK_SET);
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    s.append(buf, static_cast<size_t>(n));
  }
  return s;
}

std::optional<LockOwner> parse_owner(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  LockOwner o;
  o.pid = j.value("pid", 0);
  o.host = j.value("host", "");
  o.started = j.value("started", "");
  o.command = j.value("command", "");
  return o;
}

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

}  // namespace

std::string LockOwner::describe() const {
  std::string s = fmt::format("pid {} on host {}", pid, host.empty() ? "?" : host);
  std::string extra;
  if (!command.empty()) extra = "fluxboot " + command;
  if (!started.empty()) extra += (extra.empty() ? "" : ", ") + std::string("started ") + started;
  return extra.empty() ? s : s + " (" + extra + ")";
}

std::unique_ptr<RunLock> RunLock::acquire(const fs::path& root, const std::string& command,
                                          std::optional<LockOwner>* stale) {
  ensure_state_dir(root);
  const fs::path path = lock_path(root);
  // Open, lock, then check the file is still the one at `path`: a previous holder unlinks the
  // file on release, and a lock on an unlinked inode protects nothing.
  for (int attempt = 0; attempt < 20; ++attempt) {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
      throw StageError(fmt::format("cannot create the lock file {}: {}", path.string(), std::strerror(errno)));
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      int err = errno;
      std::string text = read_fd(fd);
      ::close(fd);
      if (err != EWOULDBLOCK)
        throw StageError(fmt::format("cannot lock {}: {}", path.string(), std::strerror(err)));
      auto owner = parse_owner(text);
      throw LockedError(fmt::format(
          "another fluxboot run is in progress on this repository: {}.\n"
          "Wait for it to finish (or stop it) and run again. Lock file: {}",
          owner ? owner->describe() : std::string("holder unknown"), path.string()));
    }
    struct stat by_fd{}, by_path{};
    if (::fstat(fd, &by_fd) != 0 || ::stat(path.c_str(), &by_path) != 0 || by_fd.st_ino != by_path.st_ino ||
        by_fd.st_dev != by_path.st_dev) {
      ::close(fd);
      continue;
    }
    std::string previous = read_fd(fd);
    if (stale != nullptr) {
      stale->reset();
      if (auto owner = parse_owner(previous); owner && owner->pid != 0) *stale = owner;
      else if (!previous.empty()) *stale = LockOwner{};
    }
    nlohmann::json me = {{"pid", static_cast<int>(::getpid())},
                         {"host", host_name()},
                         {"started", now_rfc3339()},
                         {"command", command}};
    std::string text = me.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())) {
      int err = errno;
      ::close(fd);
      throw StageError(fmt::format("cannot write the lock file {}: {}", path.string(), std::strerror(err)));
    }
    return std::unique_ptr<RunLock>(new RunLock(path, fd));
  }
  throw StageError(fmt::format("could not take the lock {}: it keeps being replaced", path.string()));
}

RunLock::~RunLock() {
  if (fd_ < 0) return;
  // Unlink while still holding the flock, so nobody can lock the old inode and believe they own it
  // after the check in acquire().
  ::unlink(path_.c_str());
  ::close(fd_);
}

std::unique_ptr<RunLock> lock_repository(const fs::path& root, const std::string& command, Reporter& reporter,
                                         bool allow_unlocked) {
  std::optional<LockOwner> stale;
  std::unique_ptr<RunLock> lock;
  try {
    lock = RunLock::acquire(root, command, &stale);
  } catch (const LockedError&) {
    throw;
  } catch (const StageError& e) {
    // Without the lock nothing stops a second run from changing the cluster at the same time.
    if (!allow_unlocked)
      throw LockedError(std::string(e.what()) + ": no run starts without the repository lock (make .fluxboot "
                                                "writable, or pass --no-lock if no other run can start)");
    reporter.warn("", std::string(e.what()) + "; continuing without the repository lock (--no-lock)");
    return nullptr;
  }
  if (stale)
    reporter.warn("", fmt::format("took over a stale lock left by {}: that process is gone",
                                  stale->pid != 0 ? stale->describe() : std::string("an unknown process")));
  return lock;
}

}  // namespace fluxboot::ops
