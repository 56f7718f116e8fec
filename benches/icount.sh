#!/usr/bin/env bash
# Instruction counts of tls-core and rustls (benches/src/bin/icount.rs), each
# scenario under callgrind, counting only the measured side's calls
# (--toggle-collect=icount::measured). Deterministic enough for CI: a rerun
# moves a count by far less than the 2% the check allows.
#
#   benches/icount.sh [FILTER]          table: ours and rustls, total and non-crypto
#   benches/icount.sh --check [FILTER]  ours only; fails if a scenario costs more
#                                       than 2% over benches/icount-baseline.txt
#   benches/icount.sh --bless [FILTER]  ours only; rewrites the baseline's rows
#
# FILTER keeps the scenarios whose name contains it. "crypto" is the
# exclusive (self) cost of the crypto libraries' code: ring, libcrux
# (tls-core's ML-KEM), aws-lc (rustls's provider in the X25519MLKEM768
# rows), recognised by function name (`ring::`, `ring_core_*`, ...) or, for
# their static C and assembly functions and their code inlined elsewhere,
# by the source file's crate directory (aws-lc's C files are named
# /aws-lc/...); "non-crypto" is the rest: the TLS
# stack itself, and what it calls in std and libc (allocation, copies).
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."

mode=table
case "${1:-}" in
    --check) mode=check; shift ;;
    --bless) mode=bless; shift ;;
esac
filter=${1:-}
baseline=benches/icount-baseline.txt
limit_pct=2

command -v valgrind >/dev/null || { echo "icount.sh: valgrind missing (apt package valgrind)" >&2; exit 1; }
cargo build -q --profile bench -p tls-benches --bin icount
bin=target/release/icount
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# count SCENARIO STACK: prints "TOTAL CRYPTO" (instructions, measured part).
count() {
    local out=$tmp/$1.$2.cg
    valgrind -q --tool=callgrind --callgrind-out-file="$out" \
        --toggle-collect='icount::measured' "$bin" "$1" "$2" >/dev/null
    callgrind_annotate --auto=no --inclusive=no --threshold=100 "$out" 2>/dev/null | awk '
        function num(s) { gsub(/,/, "", s); return s + 0 }
        /PROGRAM TOTALS/ { total = num($1); next }
        # per-function rows: "  1,234 (12.34%)  file:function [object]"
        $1 ~ /^[0-9,]+$/ && $2 ~ /^\(/ {
            f = $0
            sub(/^ *[0-9,]+ +\([^)]*\) +/, "", f)
            sub(/ \[[^]]*\]$/, "", f)
            file = f
            sub(/:.*$/, "", file)
            sub(/^[^:]*:/, "", f)
            if (f ~ /^<*(ring|aws_lc_rs|aws_lc_sys|libcrux[a-z_0-9]*)::/ ||
                f ~ /^(ring_core_|aws_lc_|libcrux_)/ ||
                file ~ /\/(ring-0\.|aws-lc-|libcrux-)/ || file ~ /^\/aws-lc\//)
                crypto += num($1)
        }
        END { printf "%d %d\n", total, crypto }'
    rm -f "$out"
}

list=$("$bin" list | grep -F -- "$filter" || true)
scenarios=$(printf '%s\n' "$list" | cut -d' ' -f1)
[ -n "$scenarios" ] || { echo "icount.sh: no scenario matches '$filter'" >&2; exit 1; }

case $mode in
table)
    # Handshake rows: instructions per handshake; bulk rows: per byte.
    printf '| scenario | ours | rustls | ratio | ours non-crypto | rustls non-crypto | ratio |\n'
    printf '| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n'
    printf '%s\n' "$list" | while read -r s units; do
        ours=$(count "$s" ours)
        theirs=$(count "$s" rustls)
        read -r ot oc <<<"$ours"
        read -r rt rc <<<"$theirs"
        awk -v s="$s" -v u="$units" -v ot="$ot" -v oc="$oc" -v rt="$rt" -v rc="$rc" 'BEGIN {
            on = ot - oc; rn = rt - rc
            f = u > 1000 ? "%.2f" : "%d"
            printf "| %s | " f " | " f " | %.2f | " f " | " f " | %.2f |\n",
                s, ot / u, rt / u, ot / rt, on / u, rn / u, on / rn }'
    done
    ;;
bless)
    [ -f "$baseline" ] || printf '# scenario  tls-core instructions (benches/icount.sh --bless)\n' >"$baseline"
    for s in $scenarios; do
        ours=$(count "$s" ours)
        ot=${ours%% *}
        grep -v "^$s " "$baseline" >"$tmp/b" || true
        printf '%s %s\n' "$s" "$ot" >>"$tmp/b"
        { grep '^#' "$tmp/b"; grep -v '^#' "$tmp/b" | sort; } >"$baseline"
        echo "$s $ot"
    done
    ;;
check)
    status=0
    for s in $scenarios; do
        want=$(awk -v s="$s" '$1 == s { print $2 }' "$baseline")
        if [ -z "$want" ]; then
            echo "FAIL $s: no baseline row in $baseline (benches/icount.sh --bless $s)"
            status=1
            continue
        fi
        ours=$(count "$s" ours)
        ot=${ours%% *}
        if awk -v o="$ot" -v w="$want" -v l="$limit_pct" 'BEGIN { exit !(o > w * (1 + l / 100)) }'; then
            verdict=FAIL; status=1
        else
            verdict=ok
        fi
        awk -v v="$verdict" -v s="$s" -v o="$ot" -v w="$want" 'BEGIN {
            printf "%-4s %s: %d instructions, baseline %d (%+.2f%%)\n", v, s, o, w, (o / w - 1) * 100 }'
    done
    exit "$status"
    ;;
esac
