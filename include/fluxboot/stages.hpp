#pragma once
#include "fluxboot/stage.hpp"

namespace fluxboot::stages {
// The eight stages, in bootstrap order. The one place that order is written down.
StageList all();
}  // namespace fluxboot::stages
