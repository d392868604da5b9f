// Fuzz target: the bootstrap/resources.yaml.j2 renderer (fluxboot::gitops::render_template).
// Only fluxboot::Error (InputError for bad templates or unset variables) may escape.
#include <cstdint>
#include <map>
#include <string>

#include "fluxboot/gitops.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;
  const std::string text(reinterpret_cast<const char*>(data), size);
  static const std::map<std::string, std::string> env = {
      {"GITHUB_DEPLOY_KEY", "-----BEGIN KEY-----\nabc\n-----END KEY-----"},
      {"EMPTY", ""},
      {"NAME", "home"}};
  try {
    fluxboot::gitops::render_template(text, env, "fuzz.yaml.j2");
  } catch (const fluxboot::Error&) {
  }
  return 0;
}
