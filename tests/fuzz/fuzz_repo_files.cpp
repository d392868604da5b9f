// Fuzz target: the repository files fluxboot validates before any stage runs. The first byte picks
// the file the rest of the input becomes:
//  0: kubernetes/apps/media/namespace.yaml          → gitops::collect_namespaces
//  1: fluxboot.yaml                                  → gitops::load_config
//  2: bootstrap/helmfile.d/01-apps.yaml (a helmfile) → values::derive_helmfile
// Alias and size bombs, duplicate keys, invalid UTF-8 and NUL bytes must end as a
// fluxboot::InputError (exit 3), never another exception, a crash, a sanitizer report or a hang
// (libFuzzer's -timeout catches the last).
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>

#include "fluxboot/gitops.hpp"
#include "fluxboot/values.hpp"

namespace {

namespace fs = std::filesystem;
fs::path g_root;

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary | std::ios::trunc) << text;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  char tmpl[] = "/tmp/fluxboot-fuzz-repo-XXXXXX";
  g_root = ::mkdtemp(tmpl);
  write(g_root / "kubernetes/apps/media/app/ks.yaml",
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: app\n"
        "  namespace: flux-system\nspec:\n  path: ./kubernetes/apps/media/app/app\n");
  write(g_root / "kubernetes/apps/media/app/app/helmrelease.yaml",
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: app\nspec:\n"
        "  chart:\n    spec:\n      chart: app\n      version: 1.0.0\n  values:\n    a: 1\n");
  write(g_root / "bootstrap/helmfile.d/templates/values.yaml.gotmpl",
        "{{ (fromYaml (readFile (printf \"../../../kubernetes/apps/%s/%s/app/helmrelease.yaml\" "
        ".Release.Namespace .Release.Name))).spec.values | toYaml }}\n");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0 || size > 256 * 1024) return 0;
  const int mode = data[0] % 3;
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  const fs::path ns_file = g_root / "kubernetes/apps/media/namespace.yaml";
  const fs::path config_file = g_root / "fluxboot.yaml";
  const fs::path helmfile = g_root / "bootstrap/helmfile.d/01-apps.yaml";
  std::error_code ec;
  fs::remove(ns_file, ec);
  fs::remove(config_file, ec);
  try {
    if (mode == 0) {
      write(ns_file, text);
      fluxboot::Config config;
      config.root = g_root;
      (void)fluxboot::gitops::collect_namespaces(config);
    } else if (mode == 1) {
      write(config_file, text);
      (void)fluxboot::gitops::load_config(g_root, "");
    } else {
      write(helmfile, text);
      fluxboot::Config config;
      config.root = g_root;
      auto h = fluxboot::values::derive_helmfile(config, "bootstrap/helmfile.d/01-apps.yaml", {});
      h.reset();  // the hand-off files go with it
    }
  } catch (const fluxboot::InputError&) {
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mode %d: an exception other than InputError escaped: %s\n", mode, e.what());
    std::abort();
  }
  return 0;
}
