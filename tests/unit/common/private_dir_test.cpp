#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "fluxboot/error.hpp"
#include "fluxboot/private_dir.hpp"
#include "support/test_support.hpp"

namespace fluxboot {
namespace {

mode_t mode_of(const std::filesystem::path& p) {
  struct stat st {};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return st.st_mode & 0777;
}

class PrivateDirTest : public ::testing::Test {
 protected:
  void SetUp() override { ::setenv("XDG_RUNTIME_DIR", tmp_.path().c_str(), 1); }
  void TearDown() override { ::unsetenv("XDG_RUNTIME_DIR"); }
  testing::TempDir tmp_;
};

TEST_F(PrivateDirTest, IsPrivateOutsideTheRepositoryAndGoneAfterwards) {
  std::filesystem::path where, file;
  {
    PrivateDir d;
    where = d.path();
    EXPECT_EQ(where.parent_path().parent_path(), tmp_.path());
    EXPECT_EQ(mode_of(where), 0700u);
    EXPECT_EQ(mode_of(where.parent_path()), 0700u);
    file = d.write("config.yaml", "token: secret\n");
    EXPECT_EQ(mode_of(file), 0600u);
    EXPECT_EQ(testing::read_file(file), "token: secret\n");
    EXPECT_THROW(d.write("config.yaml", "again"), Error);  // O_EXCL: never overwrites
  }
  EXPECT_FALSE(std::filesystem::exists(where));
}

TEST_F(PrivateDirTest, ADirectoryLeftByADeadRunIsSweptAndALiveOneKept) {
  std::filesystem::path root = PrivateDir::user_root();
  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ::waitpid(child, nullptr, 0);  // a pid that no longer runs
  auto dead = root / ("run-" + std::to_string(child) + "-abcdef");
  auto live = root / ("run-" + std::to_string(::getpid()) + "-ghijkl");
  std::filesystem::create_directories(dead);
  std::filesystem::create_directories(live);
  testing::write_file(dead / "machineconfig.yaml", "left by SIGKILL\n");
  EXPECT_GE(PrivateDir::sweep_stale(), 1);
  EXPECT_FALSE(std::filesystem::exists(dead));
  EXPECT_TRUE(std::filesystem::exists(live));
}

TEST_F(PrivateDirTest, AUserRootOpenToOthersIsMadePrivate) {
  std::filesystem::path root = tmp_.path() / ("fluxboot-" + std::to_string(::getuid()));
  std::filesystem::create_directories(root);
  ::chmod(root.c_str(), 0777);
  PrivateDir d;
  EXPECT_EQ(mode_of(root), 0700u);
}

TEST_F(PrivateDirTest, ASymlinkedUserRootIsRefused) {
  std::filesystem::path root = tmp_.path() / ("fluxboot-" + std::to_string(::getuid()));
  std::filesystem::create_directories(tmp_.path() / "elsewhere");
  std::filesystem::create_directory_symlink(tmp_.path() / "elsewhere", root);
  EXPECT_THROW(PrivateDir d, Error);
}

}  // namespace
}  // namespace fluxboot
