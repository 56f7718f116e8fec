#!/usr/bin/env bash
# One CPU-hour per target (issue 13): fuzz/README.md "Long runs".
#   TARGETS="differential server_engine" fuzz/campaign/cpu-hour.sh
# Runs TARGETS one after the other from fuzz/ (built with `cargo +nightly fuzz
# build -O`, corpora in fuzz/corpus), libFuzzer -fork=1 -ignore_crashes=1 at
# nice NICE (19). A watchdog sums the CPU of the fuzzer's process tree
# (utime+stime+cutime+cstime of every live process under it) every 10 s and
# stops it at BUDGET seconds (3600). The CPU spent carries across restarts in
# LOGS/TARGET.cpu (seed it to carry a run over); libFuzzer's
# output goes to LOGS/TARGET.log. LOGS defaults to fuzz/campaign/logs.
set -u
BUDGET=${BUDGET:-3600}
NICE=${NICE:-19}
cd "$(dirname "$0")/.." || exit 1
LOGS=${LOGS:-$PWD/campaign/logs}
mkdir -p "$LOGS"
BIN=target/x86_64-unknown-linux-gnu/release
tree_cpu() { # sum of CPU ticks of $1 and its live descendants
  local pids="$1" all="" next
  while [ -n "$pids" ]; do
    all="$all $pids"; next=""
    for p in $pids; do next="$next $(cat /proc/$p/task/*/children 2>/dev/null)"; done
    pids=$(echo $next)
  done
  local t=0
  for p in $all; do
    s=$(cat /proc/$p/stat 2>/dev/null) || continue
    s=${s##*) }; set -- $s
    t=$((t + ${12} + ${13} + ${14} + ${15}))
  done
  echo $t
}
HZ=$(getconf CLK_TCK)
for t in $TARGETS; do
  spent=$(cat $LOGS/$t.cpu 2>/dev/null || echo 0)
  [ "$spent" -ge "$BUDGET" ] && { echo "$t done ($spent s)"; continue; }
  mkdir -p corpus/$t artifacts/$t
  echo "== $t from $spent s at $(date -u +%H:%M) ($(git rev-parse --short HEAD))" >> $LOGS/$t.log
  setsid nice -n $NICE $BIN/$t -fork=1 -ignore_crashes=1 -artifact_prefix=artifacts/$t/ corpus/$t >> $LOGS/$t.log 2>&1 &
  pid=$!
  while kill -0 $pid 2>/dev/null; do
    sleep 10
    now=$(( spent + $(tree_cpu $pid) / HZ ))
    echo $now > $LOGS/$t.cpu
    if [ $now -ge $BUDGET ]; then kill -INT -- -$pid; sleep 5; kill -KILL -- -$pid 2>/dev/null; fi
  done
  wait $pid
  echo "== $t stopped at $(cat $LOGS/$t.cpu) s cpu, $(date -u +%H:%M)" >> $LOGS/$t.log
done
