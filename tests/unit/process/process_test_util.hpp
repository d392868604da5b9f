#pragma once
// Small helpers shared by the process-runner tests.
#include <sys/types.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "fluxboot/process.hpp"

namespace fluxboot::process::test {

inline Command sh(const std::string& script) {
  Command c;
  c.argv = {"/bin/sh", "-c", script};
  return c;
}

// True once `pid` no longer runs: gone, or a zombie nobody has reaped yet (in a container PID 1
// may never reap orphans). Waits up to `limit` because SIGKILL delivery is asynchronous.
inline bool process_ended(pid_t pid, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  const auto until = std::chrono::steady_clock::now() + limit;
  for (;;) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    if (!stat) return true;
    std::string text;
    std::getline(stat, text);  // one line; getline avoids a GCC 12 -Wnull-dereference false alarm
    const auto paren = text.rfind(')');
    if (paren == std::string::npos || paren + 2 >= text.size()) return true;
    const char state = text[paren + 2];
    if (state == 'Z' || state == 'X') return true;
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace fluxboot::process::test
