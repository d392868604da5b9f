#pragma once
// A minimal ustar writer behind gzip (zlib), for diagnose bundles. zlib is confined to tar_gz.cpp.
#include <ctime>
#include <filesystem>
#include <string>
#include <string_view>

namespace fluxboot::ops {

class TarGzWriter {
 public:
  // Creates `path` (mode 0600, truncated). Throws StageError when it cannot.
  explicit TarGzWriter(const std::filesystem::path& path);
  ~TarGzWriter();
  TarGzWriter(const TarGzWriter&) = delete;
  TarGzWriter& operator=(const TarGzWriter&) = delete;

  // `name` is a relative path inside the archive ('/'-separated, at most 255 bytes).
  void add_file(const std::string& name, std::string_view content, std::time_t mtime, int mode = 0644);
  void add_dir(const std::string& name, std::time_t mtime);
  // Writes the end-of-archive blocks and closes the gzip stream. Throws StageError on failure.
  void close();

 private:
  void header(const std::string& name, size_t size, std::time_t mtime, int mode, char type);
  void write(const void* data, size_t size);
  std::filesystem::path path_;
  void* gz_ = nullptr;  // gzFile
};

}  // namespace fluxboot::ops
