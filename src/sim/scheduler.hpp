#pragma once
// One background thread that runs delayed tasks in time order: the simulated cluster's
// "controllers" (node registration, FluxInstance readiness, API outage windows) run here, never
// on the API server's request threads.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

namespace fluxboot::sim {

class Scheduler {
 public:
  Scheduler();
  ~Scheduler();  // stops, dropping tasks not yet due
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Runs fn once `delay` has passed (0: as soon as possible), after every earlier-due task.
  void after(std::chrono::milliseconds delay, std::function<void()> fn);
  void stop();

 private:
  void loop();
  std::mutex mu_;
  std::condition_variable cv_;
  std::multimap<std::pair<std::chrono::steady_clock::time_point, std::uint64_t>, std::function<void()>> tasks_;
  std::uint64_t seq_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace fluxboot::sim
