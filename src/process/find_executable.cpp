#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <system_error>

#include "fluxboot/process.hpp"
#include "process/internal.hpp"

namespace fluxboot::process {

namespace {

bool is_executable_file(const std::filesystem::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0 || S_ISDIR(st.st_mode)) return false;
  return ::access(p.c_str(), X_OK) == 0;
}

}  // namespace

namespace detail {

std::optional<std::filesystem::path> find_executable_in(std::string_view name, const char* path_env) {
  if (name.empty()) return std::nullopt;
  if (name.find('/') != std::string_view::npos) {
    std::filesystem::path p(name);
    if (is_executable_file(p)) return p;
    return std::nullopt;
  }
  // POSIX leaves an unset PATH implementation-defined; glibc's execvp uses this default.
  const std::string_view path = path_env != nullptr ? path_env : "/bin:/usr/bin";
  size_t start = 0;
  for (;;) {
    const size_t colon = path.find(':', start);
    const std::string_view dir =
        path.substr(start, colon == std::string_view::npos ? std::string_view::npos : colon - start);
    std::filesystem::path candidate;
    if (dir.empty()) {  // an empty entry means the current directory
      std::error_code ec;
      candidate = std::filesystem::current_path(ec) / name;
      if (ec) candidate = std::filesystem::path(".") / name;
    } else {
      candidate = std::filesystem::path(dir) / name;
    }
    if (is_executable_file(candidate)) return candidate;
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  return std::nullopt;
}

}  // namespace detail

std::optional<std::filesystem::path> find_executable(std::string_view name) {
  return detail::find_executable_in(name, std::getenv("PATH"));
}

}  // namespace fluxboot::process
