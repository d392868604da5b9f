#pragma once
// Helpers shared by unit, integration and e2e tests.
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace fluxboot::testing {

// A private temporary directory, removed on destruction unless the current test failed (then
// its path is printed so the failure can be inspected).
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& rel) const { return path_ / rel; }

 private:
  std::filesystem::path path_;
};

void write_file(const std::filesystem::path& path, const std::string& content, int mode = 0644);
std::string read_file(const std::filesystem::path& path);
// Recursive copy of a directory tree (used to copy the example repository into a TempDir).
void copy_tree(const std::filesystem::path& from, const std::filesystem::path& to);

// The layout-variant fixtures under tests/fixtures/ (tests/fixtures/README.md), by name.
std::vector<std::string> fixture_names();
// Builds fixture `name` into `to`: the example repository, minus the paths listed in
// <fixture>/remove, plus <fixture>/tree/.
void materialize_fixture(const std::string& name, const std::filesystem::path& to);
// The arguments every fluxboot command takes on fixture `name` (<fixture>/args, one per line):
// `--cluster home` for the multi-cluster fixture. Empty for most.
std::vector<std::string> fixture_args(const std::string& name);

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
// Runs argv (no shell) with `env` added to the current environment, optional stdin, in `cwd`.
// Kills the child after `timeout_s` seconds.
RunResult run(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env = {},
              const std::filesystem::path& cwd = {}, const std::string& input = {},
              int timeout_s = 120);

}  // namespace fluxboot::testing
