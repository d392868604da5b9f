#include "cli/app.hpp"

int main(int argc, char** argv) { return fluxboot::cli::main(argc, argv); }
