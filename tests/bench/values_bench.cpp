// Benchmark (not a test) for the HelmRelease value reader.
//   values_bench generate <dir> [releases=1000]   writes a flux-talos style repository
//   values_bench run <dir>                        computes values and chart of every release of
//                                                 both bootstrap helmfiles (= `fluxboot values
//                                                 --all`)
//   values_bench derive <dir>                     derive_helmfile on both helmfiles (crds/apps
//   stages)
// tests/bench/run_values_bench.sh drives it and `fluxboot values --all` under /usr/bin/time -v.
#include <fmt/format.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <string>

#include "fluxboot/values.hpp"

namespace fs = std::filesystem;
using fluxboot::values::ReleaseRef;

namespace {

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary | std::ios::trunc) << text;
}

std::string app_name(int i) { return fmt::format("app-{:04d}", i); }
std::string ns_name(int i) { return fmt::format("ns-{:02d}", i % 20); }

void generate(const fs::path& root, int count) {
  write(root / "kubernetes/components/common/cluster-settings.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cluster-settings\ndata:\n  "
        "CLUSTER_NAME: bench\n"
        "  CLUSTER_DOMAIN: bench.example.internal\n  TIMEZONE: Etc/UTC\n  STORAGE_CLASS: "
        "local-path\n");
  write(root / "kubernetes/flux/cluster/ks.yaml",
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: "
        "cluster-apps\n"
        "  namespace: flux-system\nspec:\n  interval: 1h\n  path: ./kubernetes/apps\n  prune: "
        "true\n  sourceRef:\n"
        "    kind: GitRepository\n    name: flux-system\n  patches:\n    - patch: |-\n"
        "        apiVersion: kustomize.toolkit.fluxcd.io/v1\n        kind: Kustomization\n        "
        "metadata:\n"
        "          name: _\n        spec:\n          postBuild:\n            substituteFrom:\n"
        "              - kind: ConfigMap\n                name: cluster-settings\n              - "
        "kind: Secret\n"
        "                name: cluster-secrets\n                optional: true\n      target:\n"
        "        group: kustomize.toolkit.fluxcd.io\n        kind: Kustomization\n"
        "        labelSelector: substitution.flux.home.arpa/disabled notin (true)\n");
  std::string crds = "helmDefaults:\n  args: ['--include-crds', '--no-hooks']\nreleases:\n";
  std::string apps =
      "helmDefaults:\n  cleanupOnFail: true\n  wait: true\n  waitForJobs: true\nreleases:\n";
  write(root / "bootstrap/helmfile.d/templates/values.yaml.gotmpl",
        "{{ (fromYaml (readFile (printf \"../../../kubernetes/apps/%s/%s/app/helmrelease.yaml\" "
        ".Release.Namespace "
        ".Release.Name))).spec.values | toYaml }}\n");
  for (int i = 0; i < count; ++i) {
    const std::string ns = ns_name(i), name = app_name(i);
    const fs::path dir = root / "kubernetes/apps" / ns / name;
    write(dir / "ks.yaml", fmt::format("---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: "
                                       "Kustomization\nmetadata:\n  name: {1}\n"
                                       "  namespace: flux-system\nspec:\n  path: "
                                       "./kubernetes/apps/{0}/{1}/app\n  interval: 1h\n"
                                       "  targetNamespace: {0}\n  postBuild:\n    substitute:\n    "
                                       "  APP: {1}\n      PORT: \"{2}\"\n",
                                       ns, name, 8000 + i));
    std::string oci = fmt::format(
        "---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata:\n  name: "
        "{0}\nspec:\n"
        "  interval: 15m\n  layerSelector:\n    mediaType: "
        "application/vnd.cncf.helm.chart.content.v1.tar+gzip\n"
        "    operation: copy\n  ref:\n    tag: 1.{1}.0\n  url: oci://ghcr.io/bench/charts/{0}\n",
        name, i % 30);
    std::string values_from;
    std::string kustomization = "resources:\n  - ./helmrelease.yaml\n";
    if (i % 5 == 0) {
      values_from =
          fmt::format("  valuesFrom:\n    - kind: ConfigMap\n      name: {}-values\n", name);
      kustomization += fmt::format(
          "configMapGenerator:\n  - name: {}-values\n    files:\n      - "
          "values.yaml=./helm/values.yaml\n",
          name);
      write(dir / "app/helm/values.yaml",
            "podAnnotations:\n  reloader.stakater.com/auto: \"true\"\nextraEnv:\n  - name: TZ\n    "
            "value: ${TIMEZONE}\n");
    }
    std::string hr = fmt::format(
        "---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: "
        "{0}\nspec:\n  interval: 1h\n"
        "  chartRef:\n    kind: OCIRepository\n    name: {0}\n  install:\n    remediation:\n      "
        "retries: -1\n"
        "  upgrade:\n    cleanupOnFail: true\n    remediation:\n      retries: 3\n{1}  values:\n"
        "    fullnameOverride: ${{APP}}\n    replicaCount: {2}\n    image:\n      repository: "
        "ghcr.io/bench/{0}\n"
        "      tag: \"1.{3}\"\n      pullPolicy: IfNotPresent\n    service:\n      main:\n        "
        "ports:\n"
        "          http:\n            port: ${{PORT}}\n    ingress:\n      main:\n        enabled: "
        "true\n"
        "        hosts:\n          - host: {0}.${{CLUSTER_DOMAIN}}\n            paths:\n           "
        "   - path: /\n"
        "        tls:\n          - hosts: [\"{0}.${{CLUSTER_DOMAIN}}\"]\n    resources: "
        "&resources\n      requests:\n"
        "        cpu: 10m\n        memory: 64Mi\n      limits:\n        memory: 256Mi\n    "
        "sidecar:\n"
        "      resources: *resources\n    persistence:\n      config:\n        enabled: true\n"
        "        storageClass: ${{STORAGE_CLASS}}\n        size: 1Gi\n    probes:\n      liveness: "
        "&probe\n"
        "        enabled: true\n        periodSeconds: 10\n      readiness:\n        <<: *probe\n"
        "        periodSeconds: 5\n    config: |\n      # generated\n      cluster = "
        "\"${{CLUSTER_NAME}}\"\n"
        "      port = ${{PORT}}\n    env:\n      TZ: ${{TIMEZONE}}\n      LOG_LEVEL: info\n      "
        "ENABLED: \"true\"\n",
        name, values_from, 1 + i % 3, i % 10);
    if (i % 7 == 0) {
      write(dir / "app/helmrelease.yaml", oci + hr);
    } else {
      write(dir / "app/helmrelease.yaml", hr);
      write(dir / "app/ocirepository.yaml", oci);
      kustomization += "  - ./ocirepository.yaml\n";
    }
    write(dir / "app/kustomization.yaml", kustomization);
    const std::string rel = fmt::format(
        "  - name: {0}\n    namespace: {1}\n    chart: oci://ghcr.io/bench/charts/{0}\n    "
        "version: 1.{2}.0\n"
        "    values: ['./templates/values.yaml.gotmpl']\n",
        name, ns, i % 30);
    apps += rel;
    if (i % 10 == 0) crds += rel;
  }
  for (int n = 0; n < 20 && n < count; ++n) {
    write(root / "kubernetes/apps" / ns_name(n) / "namespace.yaml",
          fmt::format("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {}\n", ns_name(n)));
  }
  write(root / "bootstrap/helmfile.d/00-crds.yaml", crds);
  write(root / "bootstrap/helmfile.d/01-apps.yaml", apps);
}

long peak_rss_kib() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s generate <dir> [count] | run <dir> | derive <dir>\n", argv[0]);
    return 2;
  }
  const std::string mode = argv[1];
  const fs::path root = fs::absolute(argv[2]);
  if (mode == "generate") {
    generate(root, argc > 3 ? std::atoi(argv[3]) : 1000);
    return 0;
  }
  fluxboot::Config config;
  config.root = root;
  const auto start = std::chrono::steady_clock::now();
  std::size_t count = 0, bytes = 0, warnings = 0;
  try {
    if (mode == "run") {
      fluxboot::values::Reader reader(config, fluxboot::values::Options{});
      std::set<std::string> seen;
      for (const auto& file : {config.paths.crds_helmfile, config.paths.apps_helmfile}) {
        for (const auto& ref : fluxboot::values::releases_in(config.abs(file))) {
          if (!seen.insert(ref.str()).second) continue;
          auto cv = reader.compute(ref);
          auto chart = reader.chart(ref);
          bytes += cv.yaml.size() + (chart ? chart->url.size() : 0);
          warnings += cv.warnings.size();
          ++count;
        }
      }
    } else if (mode == "derive") {
      for (const auto& file : {config.paths.crds_helmfile, config.paths.apps_helmfile}) {
        auto h = fluxboot::values::derive_helmfile(config, file, fluxboot::values::Options{});
        count += h->releases().size();
        warnings += h->warnings().size();
      }
    } else {
      std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
      return 2;
    }
  } catch (const fluxboot::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 3;
  }
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::printf(
      "%s: %zu releases in %.1f ms = %.3f ms/release; %zu bytes of YAML; %zu warnings; peak RSS "
      "%.1f MiB\n",
      mode.c_str(), count, ms, count ? ms / static_cast<double>(count) : 0.0, bytes, warnings,
      static_cast<double>(peak_rss_kib()) / 1024.0);
  return 0;
}
