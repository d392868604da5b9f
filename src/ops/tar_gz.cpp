#include "ops/tar_gz.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <array>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "fluxboot/error.hpp"

namespace fluxboot::ops {

namespace {

constexpr size_t kBlock = 512;

// Octal, zero-padded, NUL-terminated, in a field of `width` bytes.
void octal(char* field, size_t width, unsigned long long value) {
  std::string s = fmt::format("{:0{}o}", value, width - 1);
  std::memcpy(field, s.data(), std::min(s.size(), width - 1));
  field[width - 1] = '\0';
}

}  // namespace

TarGzWriter::TarGzWriter(const std::filesystem::path& path) : path_(path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw StageError(fmt::format("cannot create {}: {}", path.string(), std::strerror(errno)));
  gzFile gz = ::gzdopen(fd, "wb6");
  if (gz == nullptr) {
    ::close(fd);
    throw StageError(fmt::format("cannot start gzip output to {}", path.string()));
  }
  gz_ = gz;
}

TarGzWriter::~TarGzWriter() {
  if (gz_ != nullptr) ::gzclose(static_cast<gzFile>(gz_));
}

void TarGzWriter::write(const void* data, size_t size) {
  if (size == 0) return;
  if (gz_ == nullptr) throw StageError("tar writer used after close");
  int n = ::gzwrite(static_cast<gzFile>(gz_), data, static_cast<unsigned>(size));
  if (n <= 0 || static_cast<size_t>(n) != size)
    throw StageError(fmt::format("cannot write {}: compression failed", path_.string()));
}

void TarGzWriter::header(const std::string& name, size_t size, std::time_t mtime, int mode, char type) {
  std::array<char, kBlock> h{};
  std::string n = name, prefix;
  if (n.size() > 100) {
    // ustar: split at a '/' into prefix (≤155) and name (≤100).
    auto cut = n.rfind('/', 155);
    while (cut != std::string::npos && n.size() - cut - 1 > 100) cut = cut == 0 ? std::string::npos : n.rfind('/', cut - 1);
    if (cut == std::string::npos) throw StageError("archive member name too long: " + name);
    prefix = n.substr(0, cut);
    n = n.substr(cut + 1);
  }
  std::memcpy(h.data(), n.data(), n.size());
  octal(h.data() + 100, 8, static_cast<unsigned>(mode));
  octal(h.data() + 108, 8, 0);
  octal(h.data() + 116, 8, 0);
  octal(h.data() + 124, 12, size);
  octal(h.data() + 136, 12, static_cast<unsigned long long>(mtime < 0 ? 0 : mtime));
  std::memset(h.data() + 148, ' ', 8);
  h[156] = type;
  std::memcpy(h.data() + 257, "ustar", 6);
  std::memcpy(h.data() + 263, "00", 2);
  std::memcpy(h.data() + 265, "root", 4);
  std::memcpy(h.data() + 297, "root", 4);
  std::memcpy(h.data() + 345, prefix.data(), prefix.size());
  unsigned sum = 0;
  for (char c : h) sum += static_cast<unsigned char>(c);
  std::string chk = fmt::format("{:06o}", sum);
  std::memcpy(h.data() + 148, chk.data(), 6);
  h[154] = '\0';
  h[155] = ' ';
  write(h.data(), h.size());
}

void TarGzWriter::add_file(const std::string& name, std::string_view content, std::time_t mtime, int mode) {
  header(name, content.size(), mtime, mode, '0');
  write(content.data(), content.size());
  static const std::array<char, kBlock> zeros{};
  size_t pad = (kBlock - content.size() % kBlock) % kBlock;
  write(zeros.data(), pad);
}

void TarGzWriter::add_dir(const std::string& name, std::time_t mtime) {
  header(name.back() == '/' ? name : name + "/", 0, mtime, 0755, '5');
}

void TarGzWriter::close() {
  if (gz_ == nullptr) return;
  static const std::array<char, 2 * kBlock> zeros{};
  write(zeros.data(), zeros.size());
  int rc = ::gzclose(static_cast<gzFile>(gz_));
  gz_ = nullptr;
  if (rc != Z_OK) throw StageError(fmt::format("cannot finish {}: gzip error {}", path_.string(), rc));
}

}  // namespace fluxboot::ops
