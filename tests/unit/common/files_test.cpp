// Reading an input file: each way it can be wrong gets its own message (issue 12, items 11–13).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fluxboot/error.hpp"
#include "fluxboot/files.hpp"
#include "support/test_support.hpp"

namespace {

using fluxboot::testing::TempDir;
using fluxboot::testing::write_file;
using ::testing::HasSubstr;

std::string error_of(const std::filesystem::path& p, std::size_t max = fluxboot::kMaxInputFile) {
  try {
    fluxboot::read_input_file(p, "f.yaml", max);
  } catch (const fluxboot::InputError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(ReadInputFile, SaysWhyItCannotBeRead) {
  TempDir dir;
  EXPECT_EQ(error_of(dir / "missing"), "f.yaml: cannot read: no such file");
  std::filesystem::create_symlink(dir / "b", dir / "a");
  std::filesystem::create_symlink(dir / "a", dir / "b");
  EXPECT_THAT(error_of(dir / "a"), HasSubstr("a symlink loop"));
  EXPECT_THAT(error_of(dir.path()), HasSubstr("a directory, not a file"));
  write_file(dir / "nul.yaml", std::string("a: 1\nb: x\0y\n", 12));
  EXPECT_EQ(error_of(dir / "nul.yaml"), "f.yaml:2: holds a NUL byte: not a text file");
  write_file(dir / "big.yaml", std::string(3u << 20, 'a'));
  EXPECT_THAT(error_of(dir / "big.yaml", 1u << 20), HasSubstr("3.0 MiB is more than fluxboot reads (1 MiB)"));
  write_file(dir / "ok.yaml", "a: 1\n");
  EXPECT_EQ(fluxboot::read_input_file(dir / "ok.yaml", "ok.yaml"), "a: 1\n");
}

}  // namespace
