#pragma once
// Small file helpers shared by the simulator's commands.
#include <filesystem>
#include <string>

namespace fluxboot::sim {

std::string read_text(const std::filesystem::path& path);  // throws std::runtime_error
// Writes to a temporary file in the same directory, then renames (readers never see half a file).
void write_text_atomic(const std::filesystem::path& path, const std::string& text, int mode = 0644);
// Replaces `link` with a symlink to `target`.
void replace_symlink(const std::filesystem::path& target, const std::filesystem::path& link);
// True when `pid` is a live (non-zombie) fluxboot-sim server for `dir`.
bool is_sim_server(int pid, const std::filesystem::path& dir);
// The pid in DIR/sim.pid, or 0.
int read_pid_file(const std::filesystem::path& path);

}  // namespace fluxboot::sim
