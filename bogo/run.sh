#!/bin/bash
# Runs BoGo, BoringSSL's TLS conformance suite, against tls-core through bogo-shim.
#
#   bogo/run.sh [RUNNER-FLAGS...]      e.g. bogo/run.sh -test 'Resume-*;ALPN*'
#
# Builds the runner (from $BOGO_SRC with its build-runner.sh, into $BOGO_RUNNER, once) and the shim
# (debug profile), runs the suite with bogo/config.json, writes the runner's JSON results to
# $BOGO_OUT/results.json and the failing tests to $BOGO_OUT/failures.txt, and prints the counts:
#   passed, failed, disabled (by config.json, each with its policy reason), unimplemented (the shim
#   exited 89: a flag it does not implement).
# Exits non-zero if any test that is not disabled failed.
#
# Environment: BOGO_SRC (default ../shared/bogo next to the repository), BOGO_RUNNER (default
# ../bogo-runner next to the repository), BOGO_OUT (default target/bogo), BOGO_WORKERS (default 2).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
SRC=${BOGO_SRC:-$REPO/../shared/bogo}
RUNNER=${BOGO_RUNNER:-$REPO/../bogo-runner}
OUT=${BOGO_OUT:-$REPO/target/bogo}
WORKERS=${BOGO_WORKERS:-2}
mkdir -p "$OUT"

if [ ! -x "$RUNNER/runner.test" ]; then
  [ -x "$SRC/build-runner.sh" ] || { echo "run.sh: no BoGo runner source at $SRC (set BOGO_SRC)" >&2; exit 2; }
  "$SRC/build-runner.sh" "$RUNNER"
fi
(cd "$REPO" && cargo build -q -p bogo)
SHIM=$REPO/target/debug/bogo-shim
CONFIG=$REPO/bogo/config.json
RUNDIR=$RUNNER/src/ssl/test/runner   # the runner reads its PEM files from here

# The total: every test, disabled or not, run against a stub that implements nothing.
STUB=$OUT/unimplemented-stub
printf '#!/bin/sh\nfor a; do [ "$a" = -is-handshaker-supported ] && { echo No; exit 0; }; done\nexit 89\n' > "$STUB"
chmod +x "$STUB"
(cd "$RUNDIR" && "$RUNNER/runner.test" -shim-path "$STUB" -num-workers "$WORKERS" -allow-unimplemented \
  -include-disabled -pipe -json-output "$OUT/all.json" "$@" >/dev/null 2>&1) || true

status=0
(cd "$RUNDIR" && "$RUNNER/runner.test" -shim-path "$SHIM" -shim-config "$CONFIG" -num-workers "$WORKERS" \
  -allow-unimplemented -pipe -json-output "$OUT/results.json" "$@" >"$OUT/runner.log" 2>&1) || status=$?

python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
tests = json.load(open(f"{out}/results.json"))["tests"]
try:
    total = len(json.load(open(f"{out}/all.json"))["tests"])
except (OSError, ValueError):
    total = None
count = lambda kind: sum(1 for t in tests.values() if t["actual"] == kind)
failed = sorted(name for name, t in tests.items() if t["actual"] == "FAIL")
with open(f"{out}/failures.txt", "w") as f:
    f.write("".join(name + "\n" for name in failed))
disabled = "?" if total is None else total - len(tests)
print(f"BoGo: {count('PASS')} passed, {len(failed)} failed, {disabled} disabled, "
      f"{count('SKIP')} unimplemented ({total} tests)")
print(f"results: {out}/results.json, failing tests: {out}/failures.txt, log: {out}/runner.log")
PY
if [ "$status" -ne 0 ]; then
  echo "BoGo: the runner reported failures (exit $status)" >&2
  exit 1
fi
