#!/bin/sh
# Benchmark of the HelmRelease value reader (docs/benchmarks.md, "HelmRelease value reader").
# Usage: tests/bench/run_values_bench.sh [build-dir] [releases]
#   build-dir: a configured fluxboot build (default build/release; built libraries are reused)
# Generates a repository with <releases> HelmReleases (default 1000) in a temporary directory and
# measures, under /usr/bin/time -v: the library (values_bench run / derive) and, when the binary
# exists, `fluxboot values --all`.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=${1:-$src/build/release}
count=${2:-1000}
[ -d "$build" ] || { echo "no build directory $build (cmake --preset release && ninja -C build/release fluxboot)" >&2; exit 2; }
ninja -C "$build" fluxboot_values fluxboot_common >/dev/null
bench="$build/values_bench"
${CXX:-c++} -std=c++20 -O2 -I"$src/include" -I"$build/generated" "$here/values_bench.cpp" \
  "$build/libfluxboot_values.a" "$build/libfluxboot_common.a" -lyaml-cpp -lfmt -o "$bench"
repo=$(mktemp -d /tmp/fluxboot-bench-XXXXXX)
trap 'rm -rf "$repo"' EXIT
"$bench" generate "$repo" "$count"
measure() {  # label, command...
  label=$1; shift
  /usr/bin/time -v "$@" >"$repo/.out" 2>"$repo/.time" || { cat "$repo/.time" >&2; exit 1; }
  wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$repo/.time")
  rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$repo/.time")
  user=$(sed -n 's/.*User time (seconds): //p' "$repo/.time")
  sys=$(sed -n 's/.*System time (seconds): //p' "$repo/.time")
  cpu_ms=$(echo "($user + $sys) * 1000" | bc -l)
  printf '%-24s wall %s  CPU %.0f ms (%.3f ms/release)  peak RSS %.1f MiB\n' "$label" "$wall" "$cpu_ms" \
    "$(echo "$cpu_ms / $count" | bc -l)" "$(echo "$rss / 1024" | bc -l)"
  grep -h 'ms/release' "$repo/.out" || true
}
measure "values_bench run" "$bench" run "$repo"
measure "values_bench derive" "$bench" derive "$repo"
if [ -x "$build/fluxboot" ]; then
  measure "fluxboot values --all" env XDG_STATE_HOME="$repo/.state" "$build/fluxboot" --root "$repo" -q values --all
  lines=$(wc -l <"$repo/.out")
  echo "  ($lines lines of YAML on stdout)"
fi
