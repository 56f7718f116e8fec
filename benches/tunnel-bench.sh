#!/usr/bin/env bash
# Tunnel benchmark: stunnel4, tls-tunnel, HAProxy and hitch side by side, in
# one run, with the same settings (the same ECDSA P-256 certificate, TLS 1.3 only,
# TLS_AES_128_GCM_SHA256, X25519, the client verifying the server's
# certificate and name), on loopback only:
#
#   1. throughput through a client+server pair:
#        iperf3 -c -> tunnel client -> TLS -> tunnel server -> iperf3 -s
#   2. new-connection handshakes per second through server mode:
#        wrk (2 threads, TLS, "Connection: close": one handshake per request)
#        -> tunnel server -> nginx; once with session resumption off in both
#        tunnels (full handshakes), once with their defaults (wrk resumes)
#   3. RSS per idle TLS connection: N TLS connections (python3 ssl) opened
#        through a fresh tunnel server to nginx and held; (RSS after - RSS
#        before) / N of the tunnel process.
#   4. memory after a burst: BURST TLS connections opened at once through a
#        fresh tunnel server, held 3 s and closed; the tunnel's RSS before,
#        at its peak (VmHWM) and 60 s after they closed, and after/before.
#
# Each figure is printed for each, with the ratio tls-tunnel/stunnel. Rounds
# alternate the peers and the best round counts (the machine may be busy).
# HAProxy runs TLS on both sides of the pair (a frontend with `ssl crt`, a
# backend server with `ssl verify required`); hitch only terminates TLS, so
# its pair is the tls-tunnel client in front of hitch, and it has no
# full-handshake row (it has no option to turn session tickets off). A
# manual benchmark, not part of CI: it installs stunnel4, iperf3, wrk, nginx,
# haproxy and hitch with apt-get if they are missing (as root). Bounded: fixed
# durations, every wait has a timeout, and every process it starts is killed
# on exit (trap).
#
#   benches/tunnel-bench.sh [--quick]
#
# Environment: DURATION (s, default 8), ROUNDS (default 2), IDLE_CONNS
# (default 2000), BURST (default 10000, fewer when the descriptor limit,
# two per connection, does not allow them), CARGO_TARGET_DIR (where tls-tunnel is built), TUNNEL (a
# tls-tunnel binary to use instead of building the release one: for a smoke
# run of the script, not for figures).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-8}
ROUNDS=${ROUNDS:-2}
IDLE_CONNS=${IDLE_CONNS:-2000}
BURST=${BURST:-10000}
if [ "${1:-}" = "--quick" ]; then DURATION=3; ROUNDS=1; IDLE_CONNS=500; BURST=1000; fi
BASE_PORT=${BASE_PORT:-27100}

PIDS=()
WORK=$(mktemp -d /tmp/tunnel-bench.XXXXXX)
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    sleep 0.3
    for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

need() { # need TOOL PACKAGE
    if ! command -v "$1" >/dev/null 2>&1; then
        if [ "$(id -u)" -ne 0 ]; then echo "missing $1: apt-get install $2" >&2; exit 1; fi
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$2" </dev/null >/dev/null \
            || { apt-get update -q </dev/null >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$2" </dev/null >/dev/null; }
    fi
}
need stunnel4 stunnel4
need iperf3 iperf3
need wrk wrk
need nginx nginx-light
need openssl openssl
need python3 python3
need haproxy haproxy
need hitch hitch
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
# A tunnel server holds two descriptors per connection.
MAX_BURST=$(( ($(ulimit -n) - 200) / 2 ))
[ "$BURST" -le "$MAX_BURST" ] || BURST=$MAX_BURST

if [ -z "${TUNNEL:-}" ]; then
    cargo build --release -q -p tls-tunnel
    TUNNEL=${CARGO_TARGET_DIR:-target}/release/tls-tunnel
fi
[ -x "$TUNNEL" ] || { echo "no $TUNNEL" >&2; exit 1; }

start() { # start LOGNAME CMD...: runs CMD in the background, records its pid
    local log=$WORK/$1.log; shift
    "$@" >"$log" 2>&1 &
    PIDS+=($!)
    LAST_PID=$!
}
stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
wait_port() {
    for _ in $(seq 1 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    echo "port $1 did not open" >&2; exit 1
}

# --- certificate: ECDSA P-256, self-signed for localhost -----------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -keyout "$WORK/key.pem" -out "$WORK/cert.pem" -subj /CN=localhost \
    -addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>/dev/null

P_IPERF=$((BASE_PORT)); P_HTTP=$((BASE_PORT + 1))
P_ST_CLI=$((BASE_PORT + 10)); P_ST_SRV=$((BASE_PORT + 11))
P_TT_CLI=$((BASE_PORT + 20)); P_TT_SRV=$((BASE_PORT + 21))
P_ST_WEB=$((BASE_PORT + 12)); P_TT_WEB=$((BASE_PORT + 22))
P_ST_RES=$((BASE_PORT + 13)); P_TT_RES=$((BASE_PORT + 23))
P_HA_CLI=$((BASE_PORT + 30)); P_HA_SRV=$((BASE_PORT + 31))
P_HA_WEB=$((BASE_PORT + 32)); P_HA_RES=$((BASE_PORT + 33))
P_HI_CLI=$((BASE_PORT + 40)); P_HI_SRV=$((BASE_PORT + 41))
P_HI_RES=$((BASE_PORT + 43))
cat "$WORK/cert.pem" "$WORK/key.pem" >"$WORK/combined.pem"

# --- backends ------------------------------------------------------------
mkdir -p "$WORK/nginx"
cat >"$WORK/nginx.conf" <<EOF
worker_processes 1;
worker_rlimit_nofile 65536;
daemon off;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log crit;
events { worker_connections 16384; }
http {
    access_log off;
    client_body_temp_path $WORK/nginx; proxy_temp_path $WORK/nginx;
    fastcgi_temp_path $WORK/nginx; uwsgi_temp_path $WORK/nginx; scgi_temp_path $WORK/nginx;
    client_header_timeout 600s;
    keepalive_timeout 600s;
    server { listen 127.0.0.1:$P_HTTP; location / { return 200 "ok\n"; } }
}
EOF
start nginx nginx -c "$WORK/nginx.conf" -p "$WORK/nginx"
start iperf3-server iperf3 -s -B 127.0.0.1 -p "$P_IPERF"
wait_port "$P_HTTP"; wait_port "$P_IPERF"

# --- the tunnels ---------------------------------------------------------
stunnel_conf() { # stunnel_conf NAME client|server ACCEPT CONNECT [noresume]
    local f=$WORK/stunnel-$1.conf
    {
        echo "foreground = yes"
        echo "pid ="
        echo "debug = 3"
        echo "[$1]"
        echo "accept = 127.0.0.1:$3"
        echo "connect = 127.0.0.1:$4"
        echo "sslVersionMin = TLSv1.3"
        echo "ciphersuites = TLS_AES_128_GCM_SHA256"
        echo "curves = X25519"
        if [ "$2" = client ]; then
            echo "client = yes"
            echo "sni = localhost"
            echo "CAfile = $WORK/cert.pem"
            echo "verifyChain = yes"
            echo "checkHost = localhost"
        else
            echo "cert = $WORK/cert.pem"
            echo "key = $WORK/key.pem"
        fi
        if [ "${5:-}" = noresume ]; then
            # No tickets and no session cache: full handshakes. (NO_TICKET with
            # sessionCacheTimeout = 0 still resumed within the same second,
            # and its cache upkeep cost stunnel ~40% more CPU per connection.)
            echo "sessionResume = no"
        fi
    } >"$f"
    echo "$f"
}
start_stunnel_server() { # PORT TARGET [noresume] -> LAST_PID
    start "stunnel-server-$1" stunnel4 "$(stunnel_conf "srv$1" server "$1" "$2" "${3:-}")"
    wait_port "$1"
}
start_stunnel_client() {
    start "stunnel-client-$1" stunnel4 "$(stunnel_conf "cli$1" client "$1" "$2")"
    wait_port "$1"
}
start_tt_server() { # PORT TARGET [EXTRA FLAGS...] -> LAST_PID
    local port=$1 target=$2; shift 2
    start "tt-server-$port" "$TUNNEL" server --listen "127.0.0.1:$port" --target "127.0.0.1:$target" \
        --cert "$WORK/cert.pem" --key "$WORK/key.pem" --log-level error --max-connections 60000 "$@"
    wait_port "$port"
}
start_tt_client() {
    start "tt-client-$1" "$TUNNEL" client --listen "127.0.0.1:$1" --target "127.0.0.1:$2" \
        --cacert "$WORK/cert.pem" --server-name localhost --log-level error --max-connections 60000
    wait_port "$1"
}

# HAProxy: one process per role, its default threads (one per core); the
# client side cannot restrict its groups in 2.6 (no server `curves`), the
# server side allows X25519 alone, so X25519 is what is negotiated. Its
# maxconn needs two descriptors per connection.
HA_MAXCONN=$(( $(ulimit -n) / 2 - 64 ))
[ "$HA_MAXCONN" -le 60000 ] || HA_MAXCONN=60000
haproxy_conf() { # haproxy_conf NAME client|server ACCEPT CONNECT [noresume]
    local f=$WORK/haproxy-$1.cfg
    {
        echo "global"
        echo "    maxconn $HA_MAXCONN"
        echo "    ssl-default-bind-options ssl-min-ver TLSv1.3"
        echo "    ssl-default-bind-ciphersuites TLS_AES_128_GCM_SHA256"
        echo "    ssl-default-server-options ssl-min-ver TLSv1.3"
        echo "    ssl-default-server-ciphersuites TLS_AES_128_GCM_SHA256"
        [ "${5:-}" != noresume ] || echo "    tune.ssl.cachesize 0"
        echo "defaults"
        echo "    mode tcp"
        echo "    maxconn $HA_MAXCONN"
        echo "    timeout connect 5s"
        echo "    timeout client 600s"
        echo "    timeout server 600s"
        echo "frontend fe"
        if [ "$2" = client ]; then
            echo "    bind 127.0.0.1:$3"
        else
            echo "    bind 127.0.0.1:$3 ssl crt $WORK/combined.pem curves X25519${5:+ no-tls-tickets}"
        fi
        echo "    default_backend be"
        echo "backend be"
        if [ "$2" = client ]; then
            echo "    server s 127.0.0.1:$4 ssl verify required ca-file $WORK/cert.pem sni str(localhost) verifyhost localhost"
        else
            echo "    server s 127.0.0.1:$4"
        fi
    } >"$f"
    echo "$f"
}
start_haproxy() { # start_haproxy client|server PORT TARGET [noresume] -> LAST_PID
    start "haproxy-$2" haproxy -db -f "$(haproxy_conf "$2" "$1" "$2" "$3" "${4:-}")"
    wait_port "$2"
}
# hitch: TLS termination only; one worker per core.
start_hitch() { # start_hitch PORT TARGET -> LAST_PID
    local f=$WORK/hitch-$1.conf
    {
        echo "frontend = \"[127.0.0.1]:$1\""
        echo "backend = \"[127.0.0.1]:$2\""
        echo "pem-file = \"$WORK/combined.pem\""
        echo "tls-protos = TLSv1.3"
        echo "ciphersuites = \"TLS_AES_128_GCM_SHA256\""
        echo "ecdh-curve = \"X25519\""
        echo "workers = $(nproc)"
        echo "daemon = off"
        echo "log-level = 1"
        # It refuses to run its workers as root.
        [ "$(id -u)" -ne 0 ] || echo "user = \"nobody\""
    } >"$f"
    start "hitch-$1" hitch --config="$f"
    wait_port "$1"
}
# A process and its children (hitch's workers).
tree_pids() { echo "$1"; pgrep -P "$1" || true; }

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -r)"
echo "versions: $(stunnel4 -version 2>&1 | grep -m1 '^stunnel'); $(stunnel4 -version 2>&1 | grep -m1 'Compiled with'); $($TUNNEL --version 2>/dev/null || echo tls-tunnel); $(haproxy -v 2>&1 | head -n 1); $(hitch --version 2>&1 | head -n 1)"
echo "settings: TLS 1.3, TLS_AES_128_GCM_SHA256, X25519, ECDSA P-256 self-signed cert, loopback; duration ${DURATION}s, rounds $ROUNDS"
echo

# --- 1. throughput through a client+server pair --------------------------
# Besides the rate, the CPU time the two tunnel processes spent per GB moved
# (utime + stime of all their threads, from /proc): the rate is shared with
# iperf3 and the kernel on the same 2 cores, the CPU per GB is the tunnel's own.
ticks() { # ticks PID...: utime + stime, in clock ticks, summed
    local t=0 pid
    for pid in "$@"; do t=$((t + $(awk '{ print $14 + $15 }' "/proc/$pid/stat"))); done
    echo "$t"
}
HZ=$(getconf CLK_TCK)
iperf_run() { # iperf_run PORT PID... -> "Gbit/s cpu-seconds-per-GB"
    local port=$1; shift
    local t0; t0=$(ticks "$@")
    local out
    out=$(timeout $((DURATION + 30)) iperf3 -c 127.0.0.1 -p "$port" -t "$DURATION" -J 2>/dev/null \
        | python3 -c 'import json,sys; d=json.load(sys.stdin); e=d["end"]["sum_received"]; print("%.3f %d" % (e["bits_per_second"]/1e9, e["bytes"]))' \
        || echo "0 0")
    local t1; t1=$(ticks "$@")
    awk -v o="$out" -v t=$((t1 - t0)) -v hz="$HZ" 'BEGIN { split(o, a, " ");
        printf "%s %.2f", a[1], (a[2] > 0 ? t / hz / (a[2] / 1e9) : 0) }'
}
start_stunnel_server "$P_ST_SRV" "$P_IPERF"; st_srv=$LAST_PID
start_stunnel_client "$P_ST_CLI" "$P_ST_SRV"; st_cli=$LAST_PID
start_tt_server "$P_TT_SRV" "$P_IPERF"; tt_srv=$LAST_PID
start_tt_client "$P_TT_CLI" "$P_TT_SRV"; tt_cli=$LAST_PID
start_haproxy server "$P_HA_SRV" "$P_IPERF"; ha_srv=$LAST_PID
start_haproxy client "$P_HA_CLI" "$P_HA_SRV"; ha_cli=$LAST_PID
start_hitch "$P_HI_SRV" "$P_IPERF"; hi_srv=$LAST_PID
start_tt_client "$P_HI_CLI" "$P_HI_SRV"; hi_cli=$LAST_PID
st_tp=0; tt_tp=0; st_tp_cpu=0; tt_tp_cpu=0; ha_tp=0; ha_tp_cpu=0; hi_tp=0; hi_tp_cpu=0
for r in $(seq 1 "$ROUNDS"); do
    read -r s s_cpu <<<"$(iperf_run "$P_ST_CLI" "$st_srv" "$st_cli")"
    read -r t t_cpu <<<"$(iperf_run "$P_TT_CLI" "$tt_srv" "$tt_cli")"
    read -r h h_cpu <<<"$(iperf_run "$P_HA_CLI" "$ha_srv" "$ha_cli")"
    # hitch's CPU: its processes and the tls-tunnel client in front.
    # shellcheck disable=SC2046
    read -r i i_cpu <<<"$(iperf_run "$P_HI_CLI" $(tree_pids "$hi_srv") "$hi_cli")"
    echo "throughput round $r: stunnel $s Gbit/s ($s_cpu CPU-s/GB), tls-tunnel $t Gbit/s ($t_cpu CPU-s/GB), HAProxy $h Gbit/s ($h_cpu CPU-s/GB), hitch $i Gbit/s ($i_cpu CPU-s/GB)"
    if awk -v a="$s" -v b="$st_tp" 'BEGIN { exit !(a > b) }'; then st_tp=$s; st_tp_cpu=$s_cpu; fi
    if awk -v a="$t" -v b="$tt_tp" 'BEGIN { exit !(a > b) }'; then tt_tp=$t; tt_tp_cpu=$t_cpu; fi
    if awk -v a="$h" -v b="$ha_tp" 'BEGIN { exit !(a > b) }'; then ha_tp=$h; ha_tp_cpu=$h_cpu; fi
    if awk -v a="$i" -v b="$hi_tp" 'BEGIN { exit !(a > b) }'; then hi_tp=$i; hi_tp_cpu=$i_cpu; fi
done

# --- 2. handshakes per second through server mode ------------------------
# wrk runs two threads: one wrk thread (OpenSSL client handshakes) saturates a
# core before tls-tunnel does. Besides the rate, the tunnel's own CPU time
# per connection (from /proc, all threads), which does not depend on how the
# 2 cores are shared with wrk and nginx.
#
# Two settings. Full handshakes: both tunnels with session resumption off
# (stunnel: sessionResume = no; tls-tunnel: --no-session-resumption).
# Defaults: both resume, and so does wrk, which keeps each connection's
# session for its next connection (SSL_clear), so these are mostly resumed
# handshakes.
wrk_run() { # wrk_run PORT PID... -> "requests/s cpu-microseconds-per-connection"
    local port=$1; shift
    local t0; t0=$(ticks "$@")
    local out
    out=$(timeout $((DURATION + 30)) wrk -t 2 -c 64 -d "${DURATION}s" -H "Connection: close" \
        "https://127.0.0.1:$port/" 2>/dev/null || true)
    local t1; t1=$(ticks "$@")
    local rps; rps=$(awk '/Requests\/sec/ { print $2 }' <<<"$out")
    local n; n=$(awk '/requests in/ { print $1 }' <<<"$out")
    awk -v r="${rps:-0}" -v n="${n:-0}" -v t=$((t1 - t0)) -v hz="$HZ" 'BEGIN {
        printf "%s %.0f", r, (n > 0 ? t / hz / n * 1e6 : 0) }'
}
handshakes() { # handshakes LABEL ST_PORT ST_PID TT_PORT TT_PID -> "st st_cpu tt tt_cpu" (best round)
    local best_s=0 best_s_cpu=0 best_t=0 best_t_cpu=0 r s s_cpu t t_cpu
    for r in $(seq 1 "$ROUNDS"); do
        read -r s s_cpu <<<"$(wrk_run "$2" "$3")"
        read -r t t_cpu <<<"$(wrk_run "$4" "$5")"
        echo "handshakes ($1) round $r: stunnel $s/s ($s_cpu us CPU/conn), tls-tunnel $t/s ($t_cpu us CPU/conn)" >&2
        if awk -v a="$s" -v b="$best_s" 'BEGIN { exit !(a > b) }'; then best_s=$s; best_s_cpu=$s_cpu; fi
        if awk -v a="$t" -v b="$best_t" 'BEGIN { exit !(a > b) }'; then best_t=$t; best_t_cpu=$t_cpu; fi
    done
    echo "$best_s $best_s_cpu $best_t $best_t_cpu"
}
start_stunnel_server "$P_ST_WEB" "$P_HTTP" noresume; st_web=$LAST_PID
start_tt_server "$P_TT_WEB" "$P_HTTP" --no-session-resumption; tt_web=$LAST_PID
read -r st_hs st_hs_cpu tt_hs tt_hs_cpu <<<"$(handshakes full "$P_ST_WEB" "$st_web" "$P_TT_WEB" "$tt_web")"
start_stunnel_server "$P_ST_RES" "$P_HTTP"; st_res=$LAST_PID
start_tt_server "$P_TT_RES" "$P_HTTP"; tt_res=$LAST_PID
read -r st_rs st_rs_cpu tt_rs tt_rs_cpu <<<"$(handshakes defaults "$P_ST_RES" "$st_res" "$P_TT_RES" "$tt_res")"
best_wrk() { # best_wrk LABEL PORT PID... -> "rate cpu" (best of ROUNDS)
    local label=$1 best=0 best_cpu=0 r x x_cpu; shift
    for r in $(seq 1 "$ROUNDS"); do
        read -r x x_cpu <<<"$(wrk_run "$@")"
        echo "handshakes ($label) round $r: $x/s ($x_cpu us CPU/conn)" >&2
        if awk -v a="$x" -v b="$best" 'BEGIN { exit !(a > b) }'; then best=$x; best_cpu=$x_cpu; fi
    done
    echo "$best $best_cpu"
}
start_haproxy server "$P_HA_WEB" "$P_HTTP" noresume; ha_web=$LAST_PID
read -r ha_hs ha_hs_cpu <<<"$(best_wrk "HAProxy, full" "$P_HA_WEB" "$ha_web")"
start_haproxy server "$P_HA_RES" "$P_HTTP"; ha_res=$LAST_PID
read -r ha_rs ha_rs_cpu <<<"$(best_wrk "HAProxy, defaults" "$P_HA_RES" "$ha_res")"
start_hitch "$P_HI_RES" "$P_HTTP"; hi_res=$LAST_PID
# shellcheck disable=SC2046
read -r hi_rs hi_rs_cpu <<<"$(best_wrk "hitch, defaults" "$P_HI_RES" $(tree_pids "$hi_res"))"
for pid in "${PIDS[@]:2}"; do stop "$pid"; done
PIDS=("${PIDS[@]:0:2}")

# --- 3. RSS per idle TLS connection ---------------------------------------
cat >"$WORK/hold.py" <<'EOF'
import socket, ssl, sys, time
port, n, hold, ca = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
ctx = ssl.create_default_context(cafile=ca)
ctx.minimum_version = ssl.TLSVersion.TLSv1_3
conns = []
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    conns.append(ctx.wrap_socket(s, server_hostname="localhost"))
print("open", len(conns), flush=True)
time.sleep(hold)
EOF
rss_kib() { # the RSS of PID and its children (hitch's workers)
    local t=0 p
    for p in $(tree_pids "$1"); do t=$((t + $(awk '/^VmRSS/ { print $2 }' "/proc/$p/status"))); done
    echo "$t"
}
idle_rss() { # idle_rss PORT PID -> KiB per connection
    local port=$1 pid=$2
    timeout 60 python3 "$WORK/hold.py" "$port" 20 0 "$WORK/cert.pem" >/dev/null # warm-up
    sleep 1
    local before; before=$(rss_kib "$pid")
    local fifo=$WORK/hold.$port
    timeout 300 python3 "$WORK/hold.py" "$port" "$IDLE_CONNS" 120 "$WORK/cert.pem" >"$fifo" 2>&1 &
    local holder=$!
    PIDS+=("$holder")
    for _ in $(seq 1 600); do grep -q '^open' "$fifo" 2>/dev/null && break; sleep 0.1; done
    grep -q '^open' "$fifo" || { echo "holder failed: $(cat "$fifo")" >&2; exit 1; }
    sleep 2 # idle: buffers released
    local after; after=$(rss_kib "$pid")
    stop "$holder"
    awk -v a="$after" -v b="$before" -v n="$IDLE_CONNS" 'BEGIN { printf "%.2f", (a - b) / n }'
}
start_stunnel_server "$P_ST_SRV" "$P_HTTP"; st_pid=$LAST_PID
st_rss=$(idle_rss "$P_ST_SRV" "$st_pid"); stop "$st_pid"
start_tt_server "$P_TT_SRV" "$P_HTTP"; tt_pid=$LAST_PID
tt_rss=$(idle_rss "$P_TT_SRV" "$tt_pid"); stop "$tt_pid"
start_haproxy server "$P_HA_SRV" "$P_HTTP"; ha_pid=$LAST_PID
ha_rss=$(idle_rss "$P_HA_SRV" "$ha_pid"); stop "$ha_pid"
start_hitch "$P_HI_SRV" "$P_HTTP"; hi_pid=$LAST_PID
hi_rss=$(idle_rss "$P_HI_SRV" "$hi_pid"); stop "$hi_pid"
echo "idle RSS: stunnel $st_rss KiB/conn, tls-tunnel $tt_rss KiB/conn, HAProxy $ha_rss KiB/conn, hitch $hi_rss KiB/conn ($IDLE_CONNS connections held)"

# --- 4. memory after a burst of connections ---------------------------------
peak_kib() { # the peak RSS (VmHWM) of PID and its children
    local t=0 p
    for p in $(tree_pids "$1"); do t=$((t + $(awk '/^VmHWM/ { print $2 }' "/proc/$p/status"))); done
    echo "$t"
}
burst_rss() { # burst_rss PORT PID -> "before peak after after/before" (KiB)
    local port=$1 pid=$2
    timeout 60 python3 "$WORK/hold.py" "$port" 20 0 "$WORK/cert.pem" >/dev/null # warm-up
    sleep 1
    local before; before=$(rss_kib "$pid")
    timeout 600 python3 "$WORK/hold.py" "$port" "$BURST" 3 "$WORK/cert.pem" >/dev/null 2>&1 \
        || echo "burst through port $port: the holder failed" >&2
    sleep 60
    local after; after=$(rss_kib "$pid")
    awk -v b="$before" -v p="$(peak_kib "$pid")" -v a="$after" \
        'BEGIN { printf "%d %d %d %.2f", b, p, a, (b > 0 ? a / b : 0) }'
}
start_stunnel_server "$P_ST_SRV" "$P_HTTP"; st_pid=$LAST_PID
read -r st_b0 st_bp st_b1 st_br <<<"$(burst_rss "$P_ST_SRV" "$st_pid")"; stop "$st_pid"
start_tt_server "$P_TT_SRV" "$P_HTTP"; tt_pid=$LAST_PID
read -r tt_b0 tt_bp tt_b1 tt_br <<<"$(burst_rss "$P_TT_SRV" "$tt_pid")"; stop "$tt_pid"
start_haproxy server "$P_HA_SRV" "$P_HTTP"; ha_pid=$LAST_PID
read -r ha_b0 ha_bp ha_b1 ha_br <<<"$(burst_rss "$P_HA_SRV" "$ha_pid")"; stop "$ha_pid"
start_hitch "$P_HI_SRV" "$P_HTTP"; hi_pid=$LAST_PID
read -r hi_b0 hi_bp hi_b1 hi_br <<<"$(burst_rss "$P_HI_SRV" "$hi_pid")"; stop "$hi_pid"
for x in "stunnel $st_b0 $st_bp $st_b1" "tls-tunnel $tt_b0 $tt_bp $tt_b1" "HAProxy $ha_b0 $ha_bp $ha_b1" "hitch $hi_b0 $hi_bp $hi_b1"; do
    read -r name b p a <<<"$x"
    echo "burst of $BURST: $name RSS before $b KiB, peak $p KiB, 60 s after close $a KiB"
done

echo
echo "| figure | stunnel4 | HAProxy | hitch | tls-tunnel | tls-tunnel/stunnel |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
echo "| throughput, client+server pair (iperf3; hitch: tls-tunnel client + hitch) | $st_tp Gbit/s | $ha_tp Gbit/s | $hi_tp Gbit/s | $tt_tp Gbit/s | $(ratio "$tt_tp" "$st_tp") |"
echo "| tunnel CPU per GB moved (both tunnel processes) | $st_tp_cpu s | $ha_tp_cpu s | $hi_tp_cpu s | $tt_tp_cpu s | $(ratio "$st_tp_cpu" "$tt_tp_cpu") (stunnel/ours) |"
echo "| new TLS connections/s, server mode, full handshakes (wrk -t 2 -c 64, Connection: close) | $st_hs | $ha_hs | n/a | $tt_hs | $(ratio "$tt_hs" "$st_hs") |"
echo "| tunnel CPU per new connection, full handshakes | $st_hs_cpu us | $ha_hs_cpu us | n/a | $tt_hs_cpu us | $(ratio "$st_hs_cpu" "$tt_hs_cpu") (stunnel/ours) |"
echo "| new TLS connections/s, server mode, default settings (wrk resumes) | $st_rs | $ha_rs | $hi_rs | $tt_rs | $(ratio "$tt_rs" "$st_rs") |"
echo "| tunnel CPU per new connection, default settings | $st_rs_cpu us | $ha_rs_cpu us | $hi_rs_cpu us | $tt_rs_cpu us | $(ratio "$st_rs_cpu" "$tt_rs_cpu") (stunnel/ours) |"
echo "| RSS per idle TLS connection ($IDLE_CONNS held) | $st_rss KiB | $ha_rss KiB | $hi_rss KiB | $tt_rss KiB | $(ratio "$tt_rss" "$st_rss") |"
echo "| RSS 60 s after a $BURST-connection burst / before | $st_br | $ha_br | $hi_br | $tt_br | $(ratio "$tt_br" "$st_br") |"

# --- 5. tls-tunnel's relay loop against the tokio adapter -----------------
# The tunnel's own loop (tls-tunnel/src/tls_io.rs: 64 KiB reads into a
# per-thread buffer) against the same job on tls-tokio: adapter_relay
# (benches/src/bin/adapter_relay.rs), TlsAcceptor/TlsConnector and
# tokio::io::copy_bidirectional, once with tokio's default 8 KiB copy buffers
# and once with 64 KiB ones (copy_bidirectional_with_sizes). Same settings;
# the measurements of 1. (iperf3 through a client+server pair, Gbit/s and
# CPU-s/GB of both processes) and 3. (RSS per idle connection). Rounds
# alternate the three; every round is printed; the summary gives each one's
# best rate and the median and lowest of its CPU-s/GB (on a busy machine the
# CPU per GB is the figure to compare: it counts only the relay's own work).
# ADAPTER=0 skips this section; RELAY is an adapter_relay binary to use
# instead of building the release one.
if [ "${ADAPTER:-1}" != 0 ]; then
    if [ -z "${RELAY:-}" ]; then
        cargo build --release -q -p tls-benches --bin adapter_relay
        RELAY=${CARGO_TARGET_DIR:-target}/release/adapter_relay
    fi
    P_AD_CLI=$((BASE_PORT + 50)); P_AD_SRV=$((BASE_PORT + 51))
    P_AB_CLI=$((BASE_PORT + 52)); P_AB_SRV=$((BASE_PORT + 53))
    start_relay() { # start_relay server|client PORT TARGET [--buffer N] -> LAST_PID
        local mode=$1 port=$2 target=$3; shift 3
        local a=$WORK/cert.pem b=$WORK/key.pem
        [ "$mode" = server ] || b=localhost
        start "relay-$port" "$RELAY" "$mode" "127.0.0.1:$port" "127.0.0.1:$target" "$a" "$b" "$@"
        wait_port "$port"
    }
    median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
    better() { awk -v a="$1" -v b="$2" -v lt="${3:-}" 'BEGIN { exit !(lt ? (a < b || b == 0) : a > b) }'; }
    start_tt_server "$P_TT_SRV" "$P_IPERF"; rt_srv=$LAST_PID
    start_tt_client "$P_TT_CLI" "$P_TT_SRV"; rt_cli=$LAST_PID
    start_relay server "$P_AD_SRV" "$P_IPERF"; ad_srv=$LAST_PID
    start_relay client "$P_AD_CLI" "$P_AD_SRV"; ad_cli=$LAST_PID
    start_relay server "$P_AB_SRV" "$P_IPERF" --buffer 65536; ab_srv=$LAST_PID
    start_relay client "$P_AB_CLI" "$P_AB_SRV" --buffer 65536; ab_cli=$LAST_PID
    rt_g=0; rt_c=0; ad_g=0; ad_c=0; ab_g=0; ab_c=0; rt_all=; ad_all=; ab_all=
    for r in $(seq 1 "$ROUNDS"); do
        read -r t t_cpu <<<"$(iperf_run "$P_TT_CLI" "$rt_srv" "$rt_cli")"
        read -r a a_cpu <<<"$(iperf_run "$P_AD_CLI" "$ad_srv" "$ad_cli")"
        read -r b b_cpu <<<"$(iperf_run "$P_AB_CLI" "$ab_srv" "$ab_cli")"
        echo "relay round $r: tls-tunnel $t Gbit/s ($t_cpu CPU-s/GB), adapter $a Gbit/s ($a_cpu CPU-s/GB), adapter 64 KiB $b Gbit/s ($b_cpu CPU-s/GB)"
        rt_all="$rt_all $t_cpu"; ad_all="$ad_all $a_cpu"; ab_all="$ab_all $b_cpu"
        if better "$t" "$rt_g"; then rt_g=$t; fi
        if better "$t_cpu" "$rt_c" lt; then rt_c=$t_cpu; fi
        if better "$a" "$ad_g"; then ad_g=$a; fi
        if better "$a_cpu" "$ad_c" lt; then ad_c=$a_cpu; fi
        if better "$b" "$ab_g"; then ab_g=$b; fi
        if better "$b_cpu" "$ab_c" lt; then ab_c=$b_cpu; fi
    done
    for pid in "$rt_srv" "$rt_cli" "$ad_srv" "$ad_cli" "$ab_srv" "$ab_cli"; do stop "$pid"; done
    start_tt_server "$P_TT_SRV" "$P_HTTP"; rt_pid=$LAST_PID
    rt_rss=$(idle_rss "$P_TT_SRV" "$rt_pid"); stop "$rt_pid"
    start_relay server "$P_AD_SRV" "$P_HTTP"; ad_pid=$LAST_PID
    ad_rss=$(idle_rss "$P_AD_SRV" "$ad_pid"); stop "$ad_pid"
    start_relay server "$P_AB_SRV" "$P_HTTP" --buffer 65536; ab_pid=$LAST_PID
    ab_rss=$(idle_rss "$P_AB_SRV" "$ab_pid"); stop "$ab_pid"
    echo
    rt_m=$(median "$rt_all"); ad_m=$(median "$ad_all"); ab_m=$(median "$ab_all")
    echo "| relay | Gbit/s (best) | CPU-s/GB, both processes: median (lowest) | RSS per idle connection ($IDLE_CONNS held) |"
    echo "| --- | ---: | ---: | ---: |"
    echo "| tls-tunnel (its own loop) | $rt_g | $rt_m ($rt_c) | $rt_rss KiB |"
    echo "| tls-tokio + copy_bidirectional (8 KiB) | $ad_g | $ad_m ($ad_c) | $ad_rss KiB |"
    echo "| tls-tokio + copy_bidirectional_with_sizes (64 KiB) | $ab_g | $ab_m ($ab_c) | $ab_rss KiB |"
    echo "adapter/tunnel CPU per GB, medians: $(ratio "$ad_m" "$rt_m") (8 KiB), $(ratio "$ab_m" "$rt_m") (64 KiB)"
fi
