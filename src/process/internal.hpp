#pragma once
// Shared between the files of the process module; not part of the public contract.
#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string_view>

namespace fluxboot::process::detail {

// Read end of the signal self-pipe, or -1 before install_signal_handlers(). Never drained while
// a signal is pending, so it stays readable and wakes every concurrent poll loop.
int signal_pipe_fd() noexcept;

// Children that kill_all_children() must reach, as the argument kill(2) takes: -pgid for a child
// leading its own process group, its pid for one left in fluxboot's group. Async-signal-safe.
void register_child(pid_t kill_target) noexcept;
void unregister_child(pid_t kill_target) noexcept;

// find_executable with an explicit PATH value (nullptr: the compiled-in default search path).
std::optional<std::filesystem::path> find_executable_in(std::string_view name, const char* path_env);

}  // namespace fluxboot::process::detail
