#include "fluxboot/private_dir.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <system_error>

#include <fmt/format.h>

#include "fluxboot/error.hpp"

namespace fluxboot {

namespace fs = std::filesystem;

namespace {

fs::path runtime_base() {
  for (const char* var : {"XDG_RUNTIME_DIR", "TMPDIR"}) {
    const char* v = std::getenv(var);
    std::error_code ec;
    if (v != nullptr && *v == '/' && fs::is_directory(v, ec)) return v;
  }
  return "/tmp";
}

}  // namespace

fs::path PrivateDir::user_root() {
  const fs::path root = runtime_base() / fmt::format("fluxboot-{}", ::getuid());
  if (::mkdir(root.c_str(), 0700) != 0 && errno != EEXIST)
    throw StageError(fmt::format("cannot create the private directory {}: {}", root.string(), std::strerror(errno)));
  struct stat st {};
  if (::lstat(root.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw StageError(fmt::format("{} is not a directory (a symlink?): refusing to keep secrets there", root.string()));
  if (st.st_uid != ::getuid())
    throw StageError(fmt::format("{} belongs to another user: refusing to keep secrets there", root.string()));
  if ((st.st_mode & 077) != 0 && ::chmod(root.c_str(), 0700) != 0)
    throw StageError(fmt::format("{} is open to other users and cannot be made private", root.string()));
  return root;
}

int PrivateDir::sweep_stale() {
  int removed = 0;
  std::error_code ec;
  fs::path root;
  try {
    root = user_root();
  } catch (const Error&) {
    return 0;
  }
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("run-", 0) != 0) continue;
    const pid_t pid = static_cast<pid_t>(std::atol(name.c_str() + 4));
    if (pid <= 0 || (::kill(pid, 0) != 0 && errno == ESRCH)) {
      std::error_code rm;
      fs::remove_all(entry.path(), rm);
      if (!rm) ++removed;
    }
  }
  return removed;
}

PrivateDir::PrivateDir() {
  sweep_stale();
  std::string tmpl = (user_root() / fmt::format("run-{}-XXXXXX", ::getpid())).string();
  if (::mkdtemp(tmpl.data()) == nullptr)
    throw StageError(fmt::format("cannot create a private directory ({}): {}", tmpl, std::strerror(errno)));
  path_ = tmpl;
}

PrivateDir::~PrivateDir() {
  std::error_code ec;
  if (!path_.empty()) fs::remove_all(path_, ec);
}

fs::path PrivateDir::write(const std::string& name, const std::string& content) const {
  const fs::path file = path_ / name;
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) throw StageError(fmt::format("cannot create {}: {}", file.string(), std::strerror(errno)));
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      throw StageError(fmt::format("cannot write {}: {}", file.string(), std::strerror(err)));
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  return file;
}

}  // namespace fluxboot
