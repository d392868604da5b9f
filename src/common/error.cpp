#include "fluxboot/error.hpp"

namespace fluxboot {

void Problems::throw_if_any(const std::string& heading) const {
  if (items_.empty()) return;
  std::string msg = heading;
  if (items_.size() == 1) {
    msg += ": " + items_.front();
  } else {
    msg += " (" + std::to_string(items_.size()) + " problems):";
    for (const auto& item : items_) msg += "\n  - " + item;
  }
  throw InputError(msg);
}

}  // namespace fluxboot
