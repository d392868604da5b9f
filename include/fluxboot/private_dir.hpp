#pragma once
// A private directory for files that hold secrets (rendered Talos machine configs, decrypted
// manifests): <runtime>/fluxboot-<uid>/run-<pid>-XXXXXX, mode 0700, outside the repository, removed
// by the destructor on every exit path fluxboot controls. A run killed by SIGKILL leaves its
// directory behind: the next PrivateDir removes every run-<pid>-* whose process is gone.
// <runtime> is $XDG_RUNTIME_DIR when it is a directory (tmpfs on systemd machines), else $TMPDIR,
// else /tmp.
#include <filesystem>
#include <string>

namespace fluxboot {

class PrivateDir {
 public:
  PrivateDir();  // throws StageError when no private directory can be made
  ~PrivateDir();
  PrivateDir(const PrivateDir&) = delete;
  PrivateDir& operator=(const PrivateDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // Writes `content` to <dir>/<name> (0600, O_EXCL|O_NOFOLLOW) and returns its path.
  std::filesystem::path write(const std::string& name, const std::string& content) const;

  // The per-user parent directory (created 0700 when missing; refused when it is a symlink, not
  // owned by this user, or open to others).
  static std::filesystem::path user_root();
  // Removes run-<pid>-* directories under user_root() whose process no longer exists; returns how
  // many were removed.
  static int sweep_stale();

 private:
  std::filesystem::path path_;
};

}  // namespace fluxboot
