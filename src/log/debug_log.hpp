#pragma once
// The debug log file (module-private): every line the Reporter writes, already redacted, through
// spdlog into a file that is created safely and capped in size.
#include <cstddef>
#include <filesystem>
#include <memory>
#include <string_view>

namespace spdlog {
class logger;
}

namespace fluxboot {

class DebugLog {
 public:
  // Creates `path` (O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600: a planted file or symlink is never
  // followed or truncated) in its directory, made 0700. When the file would pass `cap` bytes it
  // is moved to <stem>.1.log (replacing an older one) and a new file starts with a line saying so
  // and how much was dropped: the newest output is always kept, at most 2 × cap bytes in all.
  // nullptr when the file cannot be created (the debug log is best effort).
  static std::unique_ptr<DebugLog> open(const std::filesystem::path& path, std::size_t cap);
  ~DebugLog();
  void write(std::string_view line);  // one line, without the newline

 private:
  DebugLog() = default;
  std::shared_ptr<spdlog::logger> logger_;
};

}  // namespace fluxboot
