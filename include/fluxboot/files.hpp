#pragma once
// Reading a repository file whole, with the checks every input gets: a message that says why it
// cannot be read (a symlink loop is not "not found"), a size limit, and no NUL bytes.
#include <cstddef>
#include <filesystem>
#include <string>

namespace fluxboot {

constexpr std::size_t kMaxInputFile = 32u << 20;  // 32 MiB: large CRD bundles fit, bombs do not

// The file's bytes. InputError "<display>: <why>" when it cannot be opened (no such file, a
// symlink loop, permission denied, a directory), is larger than `max` bytes, or holds a NUL byte
// (with its line): YAML and templates are text.
std::string read_input_file(const std::filesystem::path& file, const std::string& display,
                            std::size_t max = kMaxInputFile);

}  // namespace fluxboot
