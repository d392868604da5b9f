// Operator commands: doctor, history, diagnose, rollback, completion (issue: operator experience).
#include "cli/app.hpp"

namespace fluxboot::cli {

void add_ops_commands(CLI::App&, GlobalOptions&, Action&) {}

}  // namespace fluxboot::cli
