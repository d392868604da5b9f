// Fuzz target: the HelmRelease value reader. The first byte picks the mode:
//  even: the input is a YAML document; parse it in both go-yaml dialects, and whatever parses must
//        survive to_yaml → parse unchanged (type fidelity) and to_goyaml → substitute → parse.
//  odd:  the input is a helmrelease.yaml in a small repository (ks.yaml with substitute and
//        substituteFrom, a ConfigMap, an OCIRepository); compute() and chart() run on it.
// Any exception other than fluxboot::InputError, any crash or sanitizer report is a finding.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "fluxboot/values.hpp"
#include "values/internal.hpp"

namespace {

namespace fs = std::filesystem;
using fluxboot::values::Dialect;

fs::path g_root;

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary | std::ios::trunc) << text;
}

// Documents that expand to many nodes (aliases) are only converted: re-emitting and re-parsing
// them several times under ASan would measure the sanitizer's memory, not the code.
bool small(const nlohmann::json& v, std::size_t& budget) {
  if (budget == 0) return false;
  --budget;
  if (v.is_structured())
    for (const auto& item : v)
      if (!small(item, budget)) return false;
  return true;
}

bool small(const nlohmann::json& v) {
  std::size_t budget = 20000;
  return small(v, budget);
}

void check_round_trip(const nlohmann::json& value, Dialect dialect) {
  if (!small(value)) return;
  const std::string y = fluxboot::values::to_yaml(value);
  nlohmann::json back;
  try {
    back = fluxboot::values::parse_yaml(y, dialect, "round-trip");
  } catch (const fluxboot::InputError& e) {
    std::fprintf(stderr, "to_yaml output does not parse: %s\n---\n%s\n", e.what(), y.c_str());
    std::abort();
  }
  if (back != value) {
    std::fprintf(stderr,
                 "to_yaml round trip changed the value\n--- in\n%s\n--- yaml\n%s\n--- out\n%s\n",
                 value.dump().c_str(), y.c_str(), back.dump().c_str());
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  char tmpl[] = "/tmp/fluxboot-fuzz-values-XXXXXX";
  g_root = ::mkdtemp(tmpl);
  write(g_root / "kubernetes/apps/ns/app/ks.yaml",
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: app\n"
        "  namespace: flux-system\nspec:\n  path: ./kubernetes/apps/ns/app/app\n  postBuild:\n"
        "    substitute:\n      PORT: \"8080\"\n      FLAG: \"yes\"\n    substituteFrom:\n"
        "      - kind: ConfigMap\n        name: settings\n");
  write(g_root / "kubernetes/components/settings.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  NAME: home\n  "
        "EMPTY: \"\"\n");
  write(g_root / "kubernetes/apps/ns/app/app/ocirepository.yaml",
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata:\n  name: "
        "app\nspec:\n"
        "  url: oci://example.invalid/charts/app\n  ref:\n    tag: 1.0.0\n");
  write(g_root / "kubernetes/apps/ns/app/app/kustomization.yaml",
        "resources: [helmrelease.yaml]\nconfigMapGenerator:\n  - name: app-values\n    literals:\n"
        "      - values.yaml=a: 1\n");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0 || size > 64 * 1024) return 0;
  const bool repo_mode = (data[0] & 1) != 0;
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  if (!repo_mode) {
    for (Dialect d : {Dialect::GoYamlV3, Dialect::GoYamlV2}) {
      nlohmann::json value;
      try {
        value = fluxboot::values::parse_yaml(text, d, "fuzz.yaml");
      } catch (const fluxboot::InputError&) {
        continue;
      }
      if (!small(value)) continue;
      check_round_trip(value, Dialect::GoYamlV2);
      check_round_trip(value, Dialect::GoYamlV3);
      // Substitution: the in-place fast path must agree with Flux's whole-document round trip.
      const std::map<std::string, std::string> vars = {
          {"PORT", "8080"}, {"A", "a: b"}, {"Y", "yes"}, {"E", ""}};
      std::vector<std::string> u1, u2;
      nlohmann::json exact, fast;
      bool exact_ok = true, fast_ok = true;
      try {
        exact =
            fluxboot::values::detail::substitute_document(value, vars, false, "fuzz", u1, false);
      } catch (const fluxboot::InputError&) {
        exact_ok = false;
      }
      try {
        fast = fluxboot::values::detail::substitute_document(value, vars, false, "fuzz", u2, true);
      } catch (const fluxboot::InputError&) {
        fast_ok = false;
      }
      if (exact_ok != fast_ok || (exact_ok && exact != fast)) {
        std::fprintf(
            stderr,
            "fast substitution differs\n--- in\n%s\n--- exact (%d)\n%s\n--- fast (%d)\n%s\n",
            value.dump().c_str(), exact_ok, exact.dump().c_str(), fast_ok, fast.dump().c_str());
        std::abort();
      }
    }
    return 0;
  }
  write(g_root / "kubernetes/apps/ns/app/app/helmrelease.yaml", text);
  fluxboot::Config config;
  config.root = g_root;
  fluxboot::values::Options options;
  options.strict = (data[0] & 2) != 0;
  options.decrypt = [](const fs::path&) -> std::string {
    throw fluxboot::InputError("no sops in the fuzzer");
  };
  fluxboot::values::Reader reader(config, options);
  try {
    auto cv = reader.compute({"ns", "app"});
    check_round_trip(cv.values, Dialect::GoYamlV2);
  } catch (const fluxboot::InputError&) {
  }
  try {
    reader.chart({"ns", "app"});
  } catch (const fluxboot::InputError&) {
  }
  return 0;
}
