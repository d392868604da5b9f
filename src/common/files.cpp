#include "fluxboot/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "fluxboot/error.hpp"

namespace fluxboot {

namespace {

std::string why(int err) {
  switch (err) {
    case ENOENT: return "no such file";
    case ELOOP: return "a symlink loop (too many levels of symbolic links)";
    case EACCES: return "permission denied";
    case EISDIR: return "a directory, not a file";
    default: return std::strerror(err);
  }
}

}  // namespace

std::string read_input_file(const std::filesystem::path& file, const std::string& display, std::size_t max) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);  // O_NONBLOCK: a FIFO must not hang
  if (fd < 0) throw InputError(fmt::format("{}: cannot read: {}", display, why(errno)));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st{};
  if (::fstat(fd, &st) != 0) throw InputError(fmt::format("{}: cannot read: {}", display, why(errno)));
  if (S_ISDIR(st.st_mode)) throw InputError(fmt::format("{}: cannot read: {}", display, why(EISDIR)));
  if (!S_ISREG(st.st_mode)) throw InputError(fmt::format("{}: not a regular file", display));
  if (static_cast<std::size_t>(st.st_size) > max)
    throw InputError(fmt::format("{}: {:.1f} MiB is more than fluxboot reads ({} MiB)", display,
                                 static_cast<double>(st.st_size) / (1 << 20), max >> 20));
  std::string text;
  text.resize(static_cast<std::size_t>(st.st_size));
  std::size_t got = 0;
  while (got < text.size()) {
    const ssize_t n = ::read(fd, text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw InputError(fmt::format("{}: cannot read: {}", display, why(errno)));
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  text.resize(got);
  if (const auto nul = text.find('\0'); nul != std::string::npos) {
    const auto line = 1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(nul), '\n');
    throw InputError(fmt::format("{}:{}: holds a NUL byte: not a text file", display, line));
  }
  return text;
}

}  // namespace fluxboot
