#include "process/real_runner.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "fluxboot/error.hpp"
#include "process/internal.hpp"

extern char** environ;

namespace fluxboot::process {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kDrainAfterExit{2000};  // for output of processes that left the group
constexpr milliseconds kSignalRecheck{100};    // see the poll set below
constexpr milliseconds kExitRecheck{50};       // only without pidfd support
constexpr std::size_t kChunk = 64 * 1024;

std::string errno_text(int err) { return std::generic_category().message(err); }

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  int get() const noexcept { return fd_; }
  bool valid() const noexcept { return fd_ >= 0; }
  void reset() noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

// Our ends must never be 0/1/2: dup2(fd, fd) in the child would keep FD_CLOEXEC on some libcs.
int above_stdio(int fd) {
  if (fd > 2) return fd;
  const int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
  const int err = errno;
  ::close(fd);
  if (moved < 0) throw std::system_error(err, std::generic_category(), "fcntl(F_DUPFD_CLOEXEC)");
  return moved;
}

struct Pipe {
  Fd read;
  Fd write;
};

// O_CLOEXEC so that concurrent spawns from other threads never inherit (and hold open) these.
Pipe make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe2");
  Pipe p;
  p.read = Fd(above_stdio(fds[0]));
  p.write = Fd(above_stdio(fds[1]));
  return p;
}

void set_nonblocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0)
    throw std::system_error(errno, std::generic_category(), "fcntl(O_NONBLOCK)");
}

void check(int rc, const char* what) {
  if (rc != 0) throw std::system_error(rc, std::generic_category(), what);
}

struct FileActions {
  posix_spawn_file_actions_t fa{};
  FileActions() { check(::posix_spawn_file_actions_init(&fa), "posix_spawn_file_actions_init"); }
  ~FileActions() { ::posix_spawn_file_actions_destroy(&fa); }
  FileActions(const FileActions&) = delete;
  FileActions& operator=(const FileActions&) = delete;
};

struct SpawnAttr {
  posix_spawnattr_t attr{};
  SpawnAttr() { check(::posix_spawnattr_init(&attr), "posix_spawnattr_init"); }
  ~SpawnAttr() { ::posix_spawnattr_destroy(&attr); }
  SpawnAttr(const SpawnAttr&) = delete;
  SpawnAttr& operator=(const SpawnAttr&) = delete;
};

// SIGPIPE blocked on this thread for the run: a child that stops reading its stdin turns our
// write into EPIPE even when install_signal_handlers() (which ignores SIGPIPE) never ran.
class SigpipeBlocked {
 public:
  SigpipeBlocked() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    ::pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~SigpipeBlocked() {
    if (!sigismember(&old_, SIGPIPE)) {
      const timespec zero{};
      while (::sigtimedwait(&pipe_, nullptr, &zero) > 0) {
      }
    }
    ::pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeBlocked(const SigpipeBlocked&) = delete;
  SigpipeBlocked& operator=(const SigpipeBlocked&) = delete;

 private:
  sigset_t pipe_{};
  sigset_t old_{};
};

// Owns a started child: whatever happens (even a throwing LineSink), its group is killed and
// the child reaped before run() returns.
class Child {
 public:
  // `own_group`: the child leads a process group of its own (pgid == pid), and signals go to
  // that whole group; otherwise to the child alone.
  Child(pid_t pid, bool own_group) : pid_(pid), target_(own_group ? -pid : pid) {
    detail::register_child(target_);
  }
  ~Child() {
    if (reaped_) return;
    ::kill(target_, SIGKILL);
    reap();
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const noexcept { return pid_; }
  // Signals the child's process group when it leads one, else the child alone.
  void signal_group(int sig) const noexcept { ::kill(target_, sig); }

  // Exited but not reaped: the zombie keeps the group id reserved, so signalling the group
  // afterwards can never hit an unrelated process.
  bool has_exited() const noexcept {
    siginfo_t info{};
    if (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) != 0)
      return errno == ECHILD;
    return info.si_pid != 0;
  }

  // The wait status; nullopt if someone else reaped the child (its status is then unknown).
  std::optional<int> reap() noexcept {
    // Unregister first: once reaped, the pid (and group id) may be reused by anyone.
    detail::unregister_child(target_);
    reaped_ = true;
    int status = 0;
    for (;;) {
      if (::waitpid(pid_, &status, 0) == pid_) return status;
      if (errno != EINTR) return std::nullopt;
    }
  }

 private:
  pid_t pid_;
  pid_t target_;
  bool reaped_ = false;
};

// Collects one output stream: the text kept in the Result, and lines for the sink.
class OutputStream {
 public:
  OutputStream(bool is_stderr, const LineSink& sink, const RealRunnerLimits& limits)
      : is_stderr_(is_stderr), sink_(sink), limits_(limits) {
    limits_.max_line = std::max<std::size_t>(limits_.max_line, 1);
  }

  void feed(std::string_view data) {
    store(data);
    if (!sink_) return;
    size_t pos = 0;
    while (pos < data.size()) {
      const size_t nl = data.find('\n', pos);
      if (nl == std::string_view::npos) {
        partial_.append(data.substr(pos));
        if (partial_.size() >= limits_.max_line) {
          // No newline in sight (binary data, a progress bar): hand over whole pieces only.
          const size_t whole = partial_.size() - partial_.size() % limits_.max_line;
          emit(std::string_view(partial_).substr(0, whole), false);
          partial_.erase(0, whole);
        }
        return;
      }
      if (partial_.empty()) {
        emit(data.substr(pos, nl - pos));
      } else {
        partial_.append(data.substr(pos, nl - pos));
        flush_partial();
      }
      pos = nl + 1;
    }
  }

  // End of stream: the last line may lack its newline.
  void finish() {
    if (!partial_.empty()) flush_partial();
  }

  std::string take() {
    if (is_stderr_ && text_.size() > limits_.max_stderr) {
      text_.erase(0, text_.size() - limits_.max_stderr);
      dropped_ = true;
    }
    if (dropped_) {
      const size_t nl = text_.find('\n');  // start at a whole line
      if (nl != std::string::npos && nl + 1 < text_.size()) text_.erase(0, nl + 1);
    }
    return std::move(text_);
  }

 private:
  void store(std::string_view data) {
    if (is_stderr_) {
      text_.append(data);
      // Trim in batches so keeping the tail stays linear in the amount of output.
      if (text_.size() > 2 * limits_.max_stderr) {
        text_.erase(0, text_.size() - limits_.max_stderr);
        dropped_ = true;
      }
      return;
    }
    if (truncated_) return;
    if (text_.size() + data.size() <= limits_.max_stdout) {
      text_.append(data);
      return;
    }
    text_.append(data.substr(0, limits_.max_stdout - text_.size()));
    text_.append(fmt::format("\n[fluxboot: output truncated after {} bytes]\n", limits_.max_stdout));
    truncated_ = true;
  }

  // Lines longer than max_line reach the sink in pieces of max_line bytes.
  void emit(std::string_view line, bool line_end = true) {
    if (line_end && !line.empty() && line.back() == '\r') line.remove_suffix(1);
    while (line.size() > limits_.max_line) {
      sink_(is_stderr_, line.substr(0, limits_.max_line));
      line.remove_prefix(limits_.max_line);
    }
    sink_(is_stderr_, line);
  }

  void flush_partial() {
    std::string line = std::move(partial_);
    partial_.clear();
    emit(line);
  }

  bool is_stderr_;
  const LineSink& sink_;
  RealRunnerLimits limits_;
  std::string text_;
  std::string partial_;
  bool truncated_ = false;
  bool dropped_ = false;
};

// glibc 2.36's <sys/pidfd.h> lacks extern "C", so C++ cannot link its pidfd_open.
int pidfd_open(pid_t pid) {
#ifdef SYS_pidfd_open
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
#else
  (void)pid;
  return -1;
#endif
}

template <class T>
void earliest(std::optional<T>& slot, T value) {
  if (!slot || value < *slot) slot = value;
}

class RealRunner final : public Runner {
 public:
  explicit RealRunner(const RealRunnerLimits& limits) : limits_(limits) {}

  Result run(const Command& cmd, const LineSink& sink) override {
    if (cmd.argv.empty()) throw std::invalid_argument("process: Command::argv is empty");
    const std::filesystem::path exe = resolve(cmd);
    if (!cmd.cwd.empty()) {
      // Checked here because posix_spawn reports a failed chdir as ENOENT, like a missing program.
      std::error_code ec;
      if (!std::filesystem::is_directory(cmd.cwd, ec))
        throw StageError(fmt::format("{}: working directory {} does not exist",
                                     cmd.label.empty() ? cmd.argv[0] : cmd.label, cmd.cwd.string()));
    }

    SigpipeBlocked sigpipe_blocked;
    const auto start = Clock::now();
    const int start_count = signal_count();

    std::optional<Pipe> in;
    if (cmd.input) in = make_pipe();
    Pipe out = make_pipe();
    Pipe err = make_pipe();

    const pid_t pid = spawn(cmd, exe, in ? &*in : nullptr, out, err);
    Child child(pid, cmd.new_group);
    if (in) in->read.reset();
    out.write.reset();
    err.write.reset();

    Result result;
    OutputStream out_stream(false, sink, limits_);
    OutputStream err_stream(true, sink, limits_);
    Fd pidfd(pidfd_open(pid));  // -1 on old kernels: exit is then polled for
    Fd in_fd;
    if (in) in_fd = std::move(in->write);
    std::string_view input = cmd.input ? std::string_view(*cmd.input) : std::string_view{};
    if (in_fd.valid()) {
      if (input.empty()) in_fd.reset();
      else set_nonblocking(in_fd.get());
    }
    set_nonblocking(out.read.get());
    set_nonblocking(err.read.get());
    bool out_eof = false;
    bool err_eof = false;

    const int sigfd = detail::signal_pipe_fd();
    std::optional<Clock::time_point> deadline;
    if (cmd.timeout.count() > 0) deadline = start + cmd.timeout;
    std::optional<Clock::time_point> kill_at;
    std::optional<Clock::time_point> drain_until;
    bool forwarded = false;
    bool killed = false;
    bool exited = false;
    std::vector<char> buf(kChunk);

    auto kill_now = [&] {
      if (!killed) child.signal_group(SIGKILL);
      killed = true;
    };

    for (;;) {
      const auto now = Clock::now();
      if (!exited) {
        const int count = signal_count();
        if (count > start_count) {
          result.cancelled = true;
          if (count >= 2) {
            kill_now();
          } else if (!forwarded) {
            forwarded = true;
            const int sig = pending_signal();
            child.signal_group(sig != 0 ? sig : SIGTERM);
            earliest(kill_at, now + cmd.grace);
          }
        }
        if (deadline && now >= *deadline && !result.timed_out) {
          result.timed_out = true;
          child.signal_group(SIGTERM);
          earliest(kill_at, now + cmd.grace);
        }
        if (kill_at && now >= *kill_at) kill_now();
        if (child.has_exited()) {
          exited = true;
          // Leftovers (`tool &`, helpers) die with the run; they would also hold our pipes.
          child.signal_group(SIGKILL);
          in_fd.reset();
          drain_until = now + kDrainAfterExit;
        }
      }
      if (exited && ((out_eof && err_eof) || now >= *drain_until)) break;

      std::array<pollfd, 5> fds{};
      nfds_t n = 0;
      int out_i = -1, err_i = -1, in_i = -1;
      if (!out_eof) {
        out_i = static_cast<int>(n);
        fds[n++] = {out.read.get(), POLLIN, 0};
      }
      if (!err_eof) {
        err_i = static_cast<int>(n);
        fds[n++] = {err.read.get(), POLLIN, 0};
      }
      if (in_fd.valid()) {
        in_i = static_cast<int>(n);
        fds[n++] = {in_fd.get(), POLLOUT, 0};
      }
      std::optional<Clock::time_point> wake;
      if (!exited) {
        if (pidfd.valid()) fds[n++] = {pidfd.get(), POLLIN, 0};
        else earliest(wake, now + kExitRecheck);
        // The self-pipe is never drained, so after the first signal it stays readable: poll it
        // only while no signal has arrived, then look at the counter periodically.
        if (sigfd >= 0) {
          if (signal_count() == 0) fds[n++] = {sigfd, POLLIN, 0};
          else earliest(wake, now + kSignalRecheck);
        }
        if (deadline && !result.timed_out) earliest(wake, *deadline);
        if (kill_at && !killed) earliest(wake, *kill_at);
      } else {
        earliest(wake, *drain_until);
      }
      int timeout_ms = -1;
      if (wake) {
        const auto left = std::chrono::ceil<milliseconds>(*wake - now).count();
        timeout_ms = static_cast<int>(std::clamp<long long>(left, 0, 60'000));
      }

      if (::poll(fds.data(), n, timeout_ms) < 0) {
        if (errno == EINTR) continue;
        throw std::system_error(errno, std::generic_category(), "poll");
      }
      if (out_i >= 0 && fds[static_cast<size_t>(out_i)].revents != 0)
        out_eof = read_some(out.read, out_stream, buf);
      if (err_i >= 0 && fds[static_cast<size_t>(err_i)].revents != 0)
        err_eof = read_some(err.read, err_stream, buf);
      if (in_i >= 0 && fds[static_cast<size_t>(in_i)].revents != 0) {
        const size_t len = std::min(input.size(), kChunk);
        const ssize_t w = ::write(in_fd.get(), input.data(), len);
        if (w > 0) {
          input.remove_prefix(static_cast<size_t>(w));
          if (input.empty()) in_fd.reset();
        } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
          in_fd.reset();  // EPIPE: the child does not want (more) input; its exit code tells
        }
      }
    }

    out_stream.finish();
    err_stream.finish();
    if (const auto status = child.reap()) {
      if (WIFEXITED(*status)) result.exit_code = WEXITSTATUS(*status);
      else if (WIFSIGNALED(*status)) result.term_signal = WTERMSIG(*status);
    }
    result.out = out_stream.take();
    result.err = err_stream.take();
    result.elapsed = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
    return result;
  }

 private:
  // posix_spawn with the child's stdio on our pipes, in its own process group, with a clean
  // signal state and the environment overrides applied.
  static pid_t spawn(const Command& cmd, const std::filesystem::path& exe, const Pipe* in,
                     const Pipe& out, const Pipe& err) {
    FileActions fa;
    if (in != nullptr)
      check(::posix_spawn_file_actions_adddup2(&fa.fa, in->read.get(), 0), "adddup2");
    else
      check(::posix_spawn_file_actions_addopen(&fa.fa, 0, "/dev/null", O_RDONLY, 0), "addopen");
    check(::posix_spawn_file_actions_adddup2(&fa.fa, out.write.get(), 1), "adddup2");
    check(::posix_spawn_file_actions_adddup2(&fa.fa, err.write.get(), 2), "adddup2");
    if (!cmd.cwd.empty())
      check(::posix_spawn_file_actions_addchdir_np(&fa.fa, cmd.cwd.c_str()), "addchdir");

    SpawnAttr attr;
    short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
    if (cmd.new_group) flags |= POSIX_SPAWN_SETPGROUP;
    check(::posix_spawnattr_setflags(&attr.attr, flags), "posix_spawnattr_setflags");
    if (cmd.new_group) check(::posix_spawnattr_setpgroup(&attr.attr, 0), "posix_spawnattr_setpgroup");
    sigset_t mask;
    sigemptyset(&mask);
    check(::posix_spawnattr_setsigmask(&attr.attr, &mask), "posix_spawnattr_setsigmask");
    // Ignored dispositions survive exec: reset what we (or a background shell) may ignore, so
    // forwarded SIGINT/SIGTERM and a closed pipe act on the child as they normally would.
    sigset_t defaults;
    sigemptyset(&defaults);
    for (int sig : {SIGINT, SIGTERM, SIGQUIT, SIGPIPE, SIGCHLD, SIGALRM, SIGUSR1, SIGUSR2, SIGTSTP,
                    SIGTTIN, SIGTTOU})
      sigaddset(&defaults, sig);
    check(::posix_spawnattr_setsigdefault(&attr.attr, &defaults), "posix_spawnattr_setsigdefault");

    std::vector<std::string> env = environment(cmd);
    std::vector<char*> envp;
    envp.reserve(env.size() + 1);
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    std::vector<std::string> args(cmd.argv.begin(), cmd.argv.end());
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);

    pid_t pid = -1;
    const int rc = ::posix_spawn(&pid, exe.c_str(), &fa.fa, &attr.attr, argv.data(), envp.data());
    if (rc == 0) return pid;
    const std::string& tool = cmd.argv[0];
    if (rc == ENOENT || rc == EACCES || rc == ENOEXEC || rc == ENOTDIR || rc == ELOOP)
      throw ToolMissingError(fmt::format("{}: cannot execute {}: {}", tool, exe.string(), errno_text(rc)));
    throw StageError(fmt::format("{}: cannot start {}: {}", cmd.label.empty() ? tool : cmd.label,
                                 exe.string(), errno_text(rc)));
  }

  // Returns true at end of stream.
  static bool read_some(Fd& fd, OutputStream& stream, std::vector<char>& buf) {
    const ssize_t r = ::read(fd.get(), buf.data(), buf.size());
    if (r > 0) {
      stream.feed(std::string_view(buf.data(), static_cast<size_t>(r)));
      return false;
    }
    if (r < 0 && (errno == EAGAIN || errno == EINTR)) return false;
    stream.finish();
    fd.reset();
    return true;
  }

  static const char* path_for(const Command& cmd) {
    const char* path = std::getenv("PATH");
    for (const auto& [key, value] : cmd.env)
      if (key == "PATH") path = value.c_str();
    return path;
  }

  static std::filesystem::path resolve(const Command& cmd) {
    const std::string& tool = cmd.argv[0];
    auto exe = detail::find_executable_in(tool, path_for(cmd));
    if (!exe) {
      if (tool.find('/') != std::string::npos)
        throw ToolMissingError(fmt::format("{}: not found or not executable", tool));
      throw ToolMissingError(fmt::format("{}: not found on PATH", tool));
    }
    // Absolute, so that Command::cwd does not change which program runs.
    std::error_code ec;
    auto abs = std::filesystem::absolute(*exe, ec);
    return ec ? *exe : abs;
  }

  static std::vector<std::string> environment(const Command& cmd) {
    auto overridden = [&](std::string_view key) {
      return std::any_of(cmd.env.begin(), cmd.env.end(), [&](const auto& kv) { return kv.first == key; });
    };
    auto unset = [&](std::string_view key) {
      return std::find(cmd.unset_env.begin(), cmd.unset_env.end(), key) != cmd.unset_env.end();
    };
    std::vector<std::string> env;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
      const std::string_view kv(*e);
      const std::string_view key = kv.substr(0, kv.find('='));
      if (!overridden(key) && !unset(key)) env.emplace_back(kv);
    }
    for (size_t i = 0; i < cmd.env.size(); ++i) {
      const auto& key = cmd.env[i].first;
      const bool later = std::any_of(cmd.env.begin() + static_cast<std::ptrdiff_t>(i) + 1, cmd.env.end(),
                                     [&](const auto& kv) { return kv.first == key; });
      if (!later) env.push_back(key + "=" + cmd.env[i].second);  // the last override wins
    }
    return env;
  }

  RealRunnerLimits limits_;
};

}  // namespace

std::unique_ptr<Runner> make_real_runner(const RealRunnerLimits& limits) {
  return std::make_unique<RealRunner>(limits);
}

std::unique_ptr<Runner> make_real_runner() { return make_real_runner(RealRunnerLimits{}); }

}  // namespace fluxboot::process
