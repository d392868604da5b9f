#include "cli/app.hpp"

namespace fluxboot::cli {
int main(int, char**) { return 0; }
}  // namespace fluxboot::cli
