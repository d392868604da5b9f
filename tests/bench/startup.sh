#!/usr/bin/env bash
# startup.sh BUILD_DIR [RUNS] — wall time of `fluxboot --version`, `--help` and `stages` (median,
# p90, max of RUNS runs, default 200), each a fresh process, from a directory that is not a
# repository (`stages` must not touch one). A benchmark, not a test: it asserts nothing.
set -euo pipefail
fb=$(realpath "${1:?usage: startup.sh BUILD_DIR [RUNS]}")/fluxboot
runs=${2:-200}
cd "$(mktemp -d -t fluxboot-startup.XXXXXX)"
python3 - "$fb" "$runs" <<'PY'
import subprocess, sys, time, statistics
fb, runs = sys.argv[1], int(sys.argv[2])
for args in (["--version"], ["--help"], ["stages"]):
    t = []
    for _ in range(runs):
        s = time.perf_counter()
        subprocess.run([fb] + args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        t.append((time.perf_counter() - s) * 1000)
    t.sort()
    print(f"fluxboot {' '.join(args):<10} median {statistics.median(t):5.2f} ms  p90 {t[int(len(t) * 0.9)]:5.2f} ms  max {t[-1]:5.2f} ms  (n={runs})")
PY
