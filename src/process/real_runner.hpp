#pragma once
// The real runner with its output limits exposed, so tests can reach them with small numbers.
#include <cstddef>
#include <memory>

#include "fluxboot/process.hpp"

namespace fluxboot::process {

struct RealRunnerLimits {
  std::size_t max_stdout = std::size_t{256} << 20;  // then truncated with a marker
  std::size_t max_stderr = std::size_t{64} << 10;   // the last this many bytes are kept
  std::size_t max_line = std::size_t{64} << 10;     // longer "lines" reach the sink in pieces
};

std::unique_ptr<Runner> make_real_runner(const RealRunnerLimits& limits);

}  // namespace fluxboot::process
