#pragma once
// CLI11 lives only in src/cli. Each subcommand is one file that binds its flags and calls one
// library function; this header is how app.cpp finds them.
#include <functional>
#include <string>

#include <CLI/CLI.hpp>

#include "fluxboot/session.hpp"

namespace fluxboot::cli {

// Set by the chosen subcommand's callback; app.cpp runs it under run_guarded.
using Action = std::function<int()>;

// Each add_* registers one subcommand on `app`; `global` holds the flags shared by all; when the
// subcommand is selected its callback stores the body to run in `action`.
void add_stage_commands(CLI::App& app, GlobalOptions& global, Action& action);   // all, <stage>, stages
void add_values_command(CLI::App& app, GlobalOptions& global, Action& action);   // values
void add_status_command(CLI::App& app, GlobalOptions& global, Action& action);   // status
void add_layout_command(CLI::App& app, GlobalOptions& global, Action& action);   // layout
void add_ops_commands(CLI::App& app, GlobalOptions& global, Action& action);     // doctor, history, diagnose, rollback, completion

// Builds the Session for `global` and runs `body` with it; every fluxboot::Error (also one thrown
// while reading the configuration) becomes its documented exit code and a one-line message.
int with_session(const GlobalOptions& global, const std::function<int(Session&)>& body);

int main(int argc, char** argv);

}  // namespace fluxboot::cli
