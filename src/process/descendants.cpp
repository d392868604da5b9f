// The net under every exit path: fluxboot is the subreaper of what it starts, and before it
// exits nothing it started (directly or not) is left running. The runner already kills each
// child's process group; this catches what left the group (a helm that helmfile put in a group of
// its own, a `setpgid` helper) and was orphaned when its parent died.
#include <dirent.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "fluxboot/process.hpp"

namespace fluxboot::process {

namespace {

struct ProcEntry {
  pid_t pid = 0;
  pid_t ppid = 0;
  pid_t session = 0;
  char state = '?';
  std::string comm;
};

// /proc/PID/stat: "pid (comm) state ppid pgrp session ...". comm may hold spaces and ')'; the
// last ')' ends it.
bool read_stat(pid_t pid, ProcEntry& e) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!std::getline(in, text)) return false;
  const auto open = text.find('(');
  const auto close = text.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open) return false;
  e.pid = pid;
  e.comm = text.substr(open + 1, close - open - 1);
  std::istringstream rest(text.substr(close + 1));
  pid_t pgrp = 0;
  if (!(rest >> e.state >> e.ppid >> pgrp >> e.session)) return false;
  return true;
}

std::vector<ProcEntry> all_processes() {
  std::vector<ProcEntry> out;
  DIR* d = ::opendir("/proc");
  if (d == nullptr) return out;
  while (dirent* ent = ::readdir(d)) {
    char* end = nullptr;
    const long pid = std::strtol(ent->d_name, &end, 10);
    if (end == ent->d_name || *end != '\0' || pid <= 0) continue;
    ProcEntry e;
    if (read_stat(static_cast<pid_t>(pid), e)) out.push_back(std::move(e));
  }
  ::closedir(d);
  return out;
}

// Reaps every exited child of ours without blocking. Only called once no run is in progress (the
// runner reaps its own children by pid), so it cannot take another run's exit status.
void reap_exited() {
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(-1, &status, WNOHANG);
    if (r > 0 || (r < 0 && errno == EINTR)) continue;
    return;  // 0: none has exited; ECHILD: no child at all
  }
}

// No child at all (alive or zombie) means no descendant: the common case at exit, answered
// without reading /proc (a scan of every process costs milliseconds on a busy host).
bool has_children() {
  siginfo_t info{};
  return !(::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) == -1 && errno == ECHILD);
}

}  // namespace

bool become_subreaper() noexcept {
#ifdef PR_SET_CHILD_SUBREAPER
  return ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0;
#else
  return false;
#endif
}

std::vector<Descendant> list_descendants() {
  if (!has_children()) return {};
  const pid_t self = ::getpid();
  ProcEntry me;
  if (!read_stat(self, me)) return {};
  std::multimap<pid_t, const ProcEntry*> children;
  const auto procs = all_processes();
  for (const auto& p : procs) children.emplace(p.ppid, &p);
  std::vector<Descendant> out;
  std::vector<pid_t> frontier{self};
  while (!frontier.empty()) {
    const pid_t parent = frontier.back();
    frontier.pop_back();
    auto [lo, hi] = children.equal_range(parent);
    for (auto it = lo; it != hi; ++it) {
      const ProcEntry& p = *it->second;
      // A process that made a session of its own detached on purpose; it and what it started
      // are not fluxboot's to kill.
      if (p.session != me.session) continue;
      out.push_back(Descendant{p.pid, p.comm, p.state == 'Z'});
      frontier.push_back(p.pid);
    }
  }
  return out;
}

std::vector<std::string> kill_descendants(std::chrono::milliseconds wait) {
  std::vector<std::string> killed;
  std::set<pid_t> signalled;
  const auto until = std::chrono::steady_clock::now() + wait;
  for (;;) {
    reap_exited();
    bool alive = false;
    for (const auto& d : list_descendants()) {
      if (d.zombie) continue;
      alive = true;
      if (!signalled.insert(d.pid).second) continue;
      if (::kill(d.pid, SIGKILL) == 0) killed.push_back(d.command);
    }
    if (!alive || std::chrono::steady_clock::now() >= until) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  reap_exited();
  return killed;
}

}  // namespace fluxboot::process
