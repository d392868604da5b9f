#include <string>
#include <vector>

#include "fluxboot/process.hpp"

namespace fluxboot::process {

namespace {

bool is_blank(std::string_view line) {
  return line.find_first_not_of(" \t\r") == std::string_view::npos;
}

// The last `max_lines` non-blank lines of `text`, oldest first.
std::vector<std::string_view> last_lines(std::string_view text, std::size_t max_lines) {
  std::vector<std::string_view> lines;
  size_t end = text.size();
  while (lines.size() < max_lines && end > 0) {
    const size_t nl = text.rfind('\n', end - 1);
    const size_t begin = nl == std::string_view::npos ? 0 : nl + 1;
    std::string_view line = text.substr(begin, end - begin);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!is_blank(line)) lines.push_back(line);
    if (nl == std::string_view::npos) break;
    end = nl;
  }
  return {lines.rbegin(), lines.rend()};
}

}  // namespace

std::string Result::tail(std::size_t max_lines) const {
  if (max_lines == 0) return {};
  auto lines = last_lines(err, max_lines);
  if (lines.empty()) lines = last_lines(out, max_lines);
  std::string joined;
  for (const auto& l : lines) {
    if (!joined.empty()) joined += '\n';
    joined += l;
  }
  return joined;
}

}  // namespace fluxboot::process
