#include <unistd.h>

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "fluxboot/process.hpp"
#include "process/internal.hpp"
#include "support/test_support.hpp"

namespace fluxboot::process {
namespace {

namespace fs = std::filesystem;
using fluxboot::testing::TempDir;
using fluxboot::testing::write_file;

// Changes the working directory for one test and restores it.
class InDirectory {
 public:
  explicit InDirectory(const fs::path& dir) : old_(fs::current_path()) { fs::current_path(dir); }
  ~InDirectory() { fs::current_path(old_); }
  InDirectory(const InDirectory&) = delete;
  InDirectory& operator=(const InDirectory&) = delete;

 private:
  fs::path old_;
};

TEST(FindExecutable, FindsProgramOnPath) {
  auto sh = find_executable("sh");
  ASSERT_TRUE(sh.has_value());
  EXPECT_TRUE(sh->is_absolute());
  EXPECT_EQ(sh->filename(), "sh");
  EXPECT_EQ(::access(sh->c_str(), X_OK), 0);
}

TEST(FindExecutable, ReturnsNothingForUnknownOrEmptyName) {
  EXPECT_FALSE(find_executable("fluxboot-no-such-program").has_value());
  EXPECT_FALSE(find_executable("").has_value());
}

TEST(FindExecutable, ChecksPathsContainingSlashDirectly) {
  EXPECT_EQ(find_executable("/bin/sh"), fs::path("/bin/sh"));
  EXPECT_FALSE(find_executable("/nonexistent/sh").has_value());
  EXPECT_FALSE(find_executable("/tmp").has_value());  // a directory is not executable
}

TEST(FindExecutable, SkipsNonExecutableFilesAndDirectories) {
  TempDir a;
  TempDir b;
  write_file(a / "tool", "#!/bin/sh\n", 0644);
  std::filesystem::create_directory(a / "dirtool");
  write_file(b / "tool", "#!/bin/sh\n", 0755);
  write_file(b / "dirtool", "#!/bin/sh\n", 0755);
  const std::string path = a.path().string() + ":" + b.path().string();
  EXPECT_EQ(detail::find_executable_in("tool", path.c_str()), b / "tool");
  EXPECT_EQ(detail::find_executable_in("dirtool", path.c_str()), b / "dirtool");
}

TEST(FindExecutable, EarlierPathEntryWins) {
  TempDir a;
  TempDir b;
  write_file(a / "tool", "#!/bin/sh\n", 0755);
  write_file(b / "tool", "#!/bin/sh\n", 0755);
  const std::string path = a.path().string() + ":" + b.path().string();
  EXPECT_EQ(detail::find_executable_in("tool", path.c_str()), a / "tool");
}

TEST(FindExecutable, EmptyPathEntryMeansCurrentDirectory) {
  TempDir dir;
  write_file(dir / "here-tool", "#!/bin/sh\n", 0755);
  InDirectory in(dir.path());
  const auto expected = fs::current_path() / "here-tool";
  EXPECT_EQ(detail::find_executable_in("here-tool", "/nonexistent:"), expected);
  EXPECT_EQ(detail::find_executable_in("here-tool", ":/nonexistent"), expected);
  EXPECT_EQ(detail::find_executable_in("here-tool", "/nonexistent::/nonexistent2"), expected);
  EXPECT_FALSE(detail::find_executable_in("here-tool", "/nonexistent").has_value());
}

}  // namespace
}  // namespace fluxboot::process
