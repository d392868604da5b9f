#!/usr/bin/env bash
# critical_path.sh BUILD_DIR [LATENCY_SECONDS...] — how close `fluxboot all` comes to its critical
# path: the 8 tool calls no bootstrap avoids, one after another (all talos applies at once, etcd
# bootstrap, kubeconfig, one namespaces apply, one resources apply, helmfile template, one CRD
# apply, helmfile sync).
#
# For each latency L (default: 0 and 0.2), a fresh fluxboot-sim cluster (3 nodes, the real kubectl
# and helm from .tools) and a fresh copy of the example repository; every tool fluxboot starts
# goes through a shim that sleeps L seconds first (fluxboot.yaml `tools:` points at the shims, so
# helmfile's own helm calls are not slowed). `fluxboot all` runs twice. Printed per run: wall
# time, tool calls per stage (JSON command_started events), and the sequential rounds the latency
# implies, (wall(L) - wall(0)) / L: 8 is the floor. A benchmark, not a test: it asserts nothing.
# Loopback only (the sim listens on 127.0.0.1).
set -euo pipefail
build=$(realpath "${1:?usage: critical_path.sh BUILD_DIR [LATENCY...]}")
shift
latencies=("$@")
[ ${#latencies[@]} -gt 0 ] || latencies=(0 0.2)
here=$(cd "$(dirname "$0")/../.." && pwd)
fb=$build/fluxboot
sim=$build/src/sim/fluxboot-sim
tools=$here/.tools/bin
[ -x "$fb" ] && [ -x "$sim" ] || { echo "build fluxboot and fluxboot-sim in $build first" >&2; exit 2; }
[ -x "$tools/kubectl" ] || { echo "no $tools/kubectl: run .ci/install-deps" >&2; exit 2; }
work=$(mktemp -d -t fluxboot-critical-path.XXXXXX)
trap '"$sim" down --dir "$work/sim" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

now() { date +%s.%N; }
declare -A wall
printf '%-8s %-6s %8s  %-60s\n' latency run wall "tool calls per stage (total)"
for lat in "${latencies[@]}"; do
  "$sim" down --dir "$work/sim" >/dev/null 2>&1 || true
  rm -rf "$work/sim" "$work/repo" "$work/shim"
  # No simulated delays (nodes registering, Flux reconciling): what remains is fluxboot and its
  # tools, so the latency's effect is not hidden behind the sim's own timers.
  printf 'nodes: {registerDelay: 0s, readyDelay: 0s}\nfluxInstance: {readyDelay: 0s}\n' >"$work/scenario.yaml"
  "$sim" up --dir "$work/sim" --nodes 3 --kubectl "$tools/kubectl" --helm "$tools/helm" --max-lifetime 15m \
    --scenario "$work/scenario.yaml" >/dev/null 2>&1
  mkdir -p "$work/shim"
  for t in talosctl kubectl helmfile helm sops op; do
    printf '#!/bin/sh\nsleep %s\nexec %s "$@"\n' "$lat" "$work/sim/bin/$t" >"$work/shim/$t"
    chmod +x "$work/shim/$t"
  done
  cp -r "$here/docs/examples/flux-talos" "$work/repo"
  cat >"$work/repo/fluxboot.yaml" <<EOF
tools: {talosctl: $work/shim/talosctl, kubectl: $work/shim/kubectl, helmfile: $work/shim/helmfile,
        helm: $work/shim/helm, sops: $work/shim/sops, op: $work/shim/op}
EOF
  for run in first second; do
    start=$(now)
    (
      # shellcheck disable=SC1091
      source "$work/sim/env"
      cd "$work/repo"
      KUBECONFIG= TALOSCONFIG= FLUXBOOT_NO_DEBUG_LOG=1 "$fb" all --root . --log-format json 2>/dev/null
    ) >"$work/events.json"
    end=$(now)
    w=$(echo "$end - $start" | bc)
    wall[$lat.$run]=$w
    calls=$(python3 - "$work/events.json" <<'EOF'
import json, sys, collections
c = collections.OrderedDict()
for line in open(sys.argv[1]):
    try: e = json.loads(line)
    except ValueError: continue
    if e.get("event") == "command_started": c[e.get("stage", "?")] = c.get(e.get("stage", "?"), 0) + 1
print(" ".join(f"{k} {v}" for k, v in c.items()), f"({sum(c.values())})")
EOF
)
    printf '%-8s %-6s %7.2fs  %s\n' "$lat" "$run" "$w" "$calls"
  done
done
base=${latencies[0]}
for lat in "${latencies[@]}"; do
  [ "$lat" = "$base" ] && continue
  for run in first second; do
    rounds=$(echo "scale=2; (${wall[$lat.$run]} - ${wall[$base.$run]}) / ($lat - $base)" | bc)
    ratio=$(echo "scale=3; ${wall[$lat.$run]} / (${wall[$base.$run]} + 8 * ($lat - $base))" | bc)
    echo "latency $lat, $run run: $rounds sequential rounds of tool calls (floor 8); wall / (wall at $base + 8 x $lat) = $ratio"
  done
done
