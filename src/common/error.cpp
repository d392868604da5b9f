#include "fluxboot/error.hpp"

#include <unordered_map>

namespace fluxboot {

// Identical problems (one template rendered for every node, one bad key in every document) are
// folded into one line with a count, in the order first seen; past kMaxListed distinct problems
// the rest are counted, not listed, so a huge bad input never prints megabytes of errors.
void Problems::throw_if_any(const std::string& heading) const {
  if (items_.empty()) return;
  constexpr std::size_t kMaxListed = 50;
  std::vector<std::pair<const std::string*, std::size_t>> distinct;
  std::unordered_map<std::string_view, std::size_t> index;
  for (const auto& item : items_) {
    auto [it, fresh] = index.emplace(item, distinct.size());
    if (fresh) distinct.emplace_back(&item, 1);
    else ++distinct[it->second].second;
  }
  auto line = [](const std::pair<const std::string*, std::size_t>& d) {
    return *d.first + (d.second > 1 ? " (" + std::to_string(d.second) + " times)" : std::string());
  };
  std::string msg = heading;
  if (distinct.size() == 1) {
    msg += ": " + line(distinct.front());
  } else {
    msg += " (" + std::to_string(items_.size()) + " problems):";
    for (std::size_t i = 0; i < distinct.size() && i < kMaxListed; ++i) msg += "\n  - " + line(distinct[i]);
    if (distinct.size() > kMaxListed)
      msg += "\n  - … and " + std::to_string(distinct.size() - kMaxListed) + " more";
  }
  throw InputError(msg);
}

}  // namespace fluxboot
