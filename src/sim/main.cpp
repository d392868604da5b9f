// fluxboot-sim: one binary, several personalities (fluxboot-sim, talosctl, helmfile) chosen by
// the name it is started under.
#include "sim/commands.hpp"

int main(int argc, char** argv) { return fluxboot::sim::multicall_main(argc, argv); }
