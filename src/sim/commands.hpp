#pragma once
// Entry points of the fluxboot-sim personalities (busybox style: chosen by argv[0]'s basename).
#include <string>
#include <vector>

namespace fluxboot::sim {

// Dispatches on basename(argv[0]): talosctl, helmfile, anything else = fluxboot-sim.
int multicall_main(int argc, char** argv);

// fluxboot-sim up|down|status|scenario|serve|version ... (args without the program name)
int sim_main(const std::vector<std::string>& args);
int up_command(const std::vector<std::string>& args);
int down_command(const std::vector<std::string>& args);
int status_command(const std::vector<std::string>& args);
int scenario_command(const std::vector<std::string>& args);
// The background server process `up` starts (not for humans).
int serve_command(const std::vector<std::string>& args);

int talosctl_main(const std::string& argv0, const std::vector<std::string>& args);
int helmfile_main(const std::string& argv0, const std::vector<std::string>& args);
// The fake sops (`sops decrypt FILE`) and op (`op inject`), by name.
int secret_tool_main(const std::string& name, const std::vector<std::string>& args);

}  // namespace fluxboot::sim
