#include "log/debug_log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>
#include <string>
#include <system_error>

#include <fmt/format.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/base_sink.h>

namespace fluxboot {

namespace fs = std::filesystem;

namespace {

int create_exclusive(const fs::path& path) {
  return ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
}

bool write_all(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

// A file sink that rotates once at `cap` bytes into <stem>.1.log, writing unbuffered (each line
// reaches the file at once: the log is read after crashes).
class CappedFileSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  CappedFileSink(fs::path path, int fd, std::size_t cap) : path_(std::move(path)), fd_(fd), cap_(cap) {}
  ~CappedFileSink() override {
    if (fd_ >= 0) ::close(fd_);
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t buf;
    formatter_->format(msg, buf);
    if (fd_ < 0) return;
    if (written_ + buf.size() > cap_ && written_ > 0) rotate();
    if (fd_ >= 0 && write_all(fd_, buf.data(), buf.size())) written_ += buf.size();
  }
  void flush_() override {}

 private:
  void rotate() {
    const fs::path old = path_.parent_path() / (path_.stem().string() + ".1.log");
    std::error_code ec;
    const auto previous = fs::file_size(old, ec);
    if (!ec) dropped_ += previous;
    ::close(fd_);
    fd_ = -1;
    fs::rename(path_, old, ec);
    if (ec) return;  // the log stops rather than grow without bound
    fd_ = create_exclusive(path_);
    if (fd_ < 0) return;
    ++rotations_;
    const std::string head = fmt::format(
        "debug log continued ({} rotation{}): the previous {} MiB are in {}{}\n", rotations_,
        rotations_ == 1 ? "" : "s", cap_ >> 20, old.filename().string(),
        dropped_ > 0 ? fmt::format("; {} MiB before them were dropped", (dropped_ + (1 << 19)) >> 20) : "");
    written_ = write_all(fd_, head.data(), head.size()) ? head.size() : 0;
  }

  fs::path path_;
  int fd_;
  std::size_t cap_;
  std::size_t written_ = 0;
  std::size_t dropped_ = 0;
  int rotations_ = 0;
};

}  // namespace

std::unique_ptr<DebugLog> DebugLog::open(const fs::path& path, std::size_t cap) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  // Our directory only: not a symlink, 0700 whatever the umask.
  struct stat st{};
  if (::lstat(path.parent_path().c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != ::geteuid())
    return nullptr;
  if ((st.st_mode & 0777) != 0700) ::chmod(path.parent_path().c_str(), 0700);
  const int fd = create_exclusive(path);
  if (fd < 0) return nullptr;
  auto sink = std::make_shared<CappedFileSink>(path, fd, cap < 4096 ? 4096 : cap);
  sink->set_pattern("%v");
  std::unique_ptr<DebugLog> log(new DebugLog());
  log->logger_ = std::make_shared<spdlog::logger>("fluxboot-debug", std::move(sink));
  log->logger_->set_level(spdlog::level::trace);
  return log;
}

DebugLog::~DebugLog() = default;

void DebugLog::write(std::string_view line) {
  logger_->log(spdlog::level::info, spdlog::string_view_t(line.data(), line.size()));
}

}  // namespace fluxboot
