// Fuzz target: Flux's post-build substitution engine. Input: "<vars>\0<text>", vars as NAME=value
// lines. Properties: only InputError may escape; text without '$' (and without NUL, which ends
// the text for Go's scanner as it does for fluxcd/pkg/envsubst) comes back unchanged; strict
// mode succeeds only when non-strict reported no undefined variable.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include "fluxboot/values.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;
  const std::string in(reinterpret_cast<const char*>(data), size);
  std::map<std::string, std::string> vars = {{"A", "a"}, {"PORT", "8080"}, {"EMPTY", ""}};
  std::string text = in;
  if (auto nul = in.find('\0'); nul != std::string::npos) {
    text = in.substr(nul + 1);
    std::string head = in.substr(0, nul);
    std::size_t start = 0;
    while (start < head.size()) {
      std::size_t nl = head.find('\n', start);
      std::string line =
          head.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
      if (auto eq = line.find('='); eq != std::string::npos)
        vars[line.substr(0, eq)] = line.substr(eq + 1);
      start = nl == std::string::npos ? head.size() : nl + 1;
    }
  }
  std::vector<std::string> undefined;
  std::string out;
  bool ok = false;
  try {
    out = fluxboot::values::substitute(text, vars, false, "fuzz", &undefined);
    ok = true;
  } catch (const fluxboot::InputError&) {
  }
  if (ok && text.find('$') == std::string::npos && text.find('\0') == std::string::npos &&
      out != text) {
    std::fprintf(stderr, "text without $ changed\n");
    std::abort();
  }
  try {
    fluxboot::values::substitute(text, vars, true, "fuzz");
    if (ok && !undefined.empty()) {
      std::fprintf(stderr, "strict mode accepted an undefined variable\n");
      std::abort();
    }
  } catch (const fluxboot::InputError&) {
  }
  return 0;
}
