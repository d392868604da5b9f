# Shared by the fake tools: record the call, honour injected delays. Not product code: these are
# test doubles that integration tests put first on PATH.
: "${FAKE_DIR:?FAKE_DIR must be set by the test}"
mkdir -p "$FAKE_DIR"
fake_tool=$(basename "$0")
fake_n=$(( $(cat "$FAKE_DIR/.count" 2>/dev/null || echo 0) + 1 ))
echo "$fake_n" > "$FAKE_DIR/.count"
# One write per call, so parallel calls (talos applies configs concurrently) never interleave.
fake_line="$fake_tool"; for a in "$@"; do fake_line="$fake_line	$a"; done
printf '%s\n' "$fake_line" >> "$FAKE_DIR/calls.log"
if [ -f "$FAKE_DIR/slow-$fake_tool" ]; then
  # The pids let tests check that nothing outlives fluxboot after Ctrl-C or a timeout.
  sleep "$(cat "$FAKE_DIR/slow-$fake_tool")" &
  echo "$$ $!" >> "$FAKE_DIR/pids"
  wait $!
fi
if [ -f "$FAKE_DIR/orphan-$fake_tool" ]; then
  # A helper that leaves the tool's process group (setpgid, as a helm started by a helmfile in a
  # group of its own) and outlives the tool: fluxboot, its subreaper, must still kill it.
  # The tool exits only once the helper has left its group (else the runner's group kill gets it).
  ready="$FAKE_DIR/orphan-ready.$$"
  perl -e 'setpgrp(0, 0); open(my $f, ">", shift) and close($f); exec @ARGV or exit 127' "$ready" sleep 300 \
    </dev/null >/dev/null 2>&1 &
  echo "$!" >> "$FAKE_DIR/orphans"
  while [ ! -e "$ready" ]; do sleep 0.01; done
fi
# The environment the tool was given (tests check that template-only secrets are not in it).
[ -f "$FAKE_DIR/dump-env" ] && env > "$FAKE_DIR/env-$fake_tool-$fake_n"
# Saves stdin for the test when the tool reads it ("-f -").
save_stdin() { cat > "$FAKE_DIR/stdin-$fake_n"; cp "$FAKE_DIR/stdin-$fake_n" "$FAKE_DIR/stdin-last-$fake_tool"; }
# Decrements a counter file; succeeds (returns 0) while it was positive.
take() { c=$(cat "$1" 2>/dev/null || echo 0); if [ "$c" -gt 0 ]; then echo $((c - 1)) > "$1"; return 0; fi; return 1; }
