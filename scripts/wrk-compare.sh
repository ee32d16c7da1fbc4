#!/usr/bin/env bash
# The same wrk load (scripts/wrk/orders.lua: new orders POSTed over kept-alive
# connections) against chit's POST /v1/orders and the Socket.IO baseline's POST /orders,
# interleaved (chit, baseline, baseline, chit, ...), each run on a fresh server and
# database with synchronous=FULL, under the machine's bench lock. After each run the
# orders in the database are counted: every 2xx must be there.
#
#   scripts/wrk-compare.sh /path/to/socketio-baseline [RUNS] [CONNECTIONS] [SECONDS]
# The baseline directory needs `npm ci` once. Needs wrk (apt-get install wrk) and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
SIO=${1:?usage: scripts/wrk-compare.sh SOCKETIO_BASELINE_DIR [RUNS] [CONNECTIONS] [SECONDS]}
RUNS=${2:-3} CONNS=${3:-128} SECS=${4:-10}
BIN=${BIN:-target/release}
command -v wrk >/dev/null || { echo "wrk-compare: needs wrk (apt-get install wrk)" >&2; exit 2; }
[ -x "$BIN/chit-server" ] || cargo build --release -p chit-server
DATA=$(mktemp -d)
SPID=""
stop() { if [ -n "$SPID" ]; then kill -TERM "$SPID" 2>/dev/null || true; wait "$SPID" 2>/dev/null || true; SPID=""; fi; }
trap 'stop; rm -rf "$DATA"' EXIT
count() { python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT COUNT(*) FROM orders').fetchone()[0])" "$1"; }

# One line per run: target, orders/s (2xx), p50, p99 (ms), requests, non-2xx, orders stored.
report() { # target wrk-output db
  local rps p50 p99 total bad stored ok
  total=$(sed -n 's/^ *\([0-9]*\) requests in .*/\1/p' "$2")
  bad=$(sed -n 's/^ *Non-2xx or 3xx responses: *\([0-9]*\)/\1/p' "$2"); bad=${bad:-0}
  # wrk writes 812.00us, 6.23ms or 1.02s: in ms.
  ms='{v = $2; if (v ~ /us$/) v = v / 1000; else if (v ~ /ms$/) v = v + 0; else if (v ~ /s$/) v = v * 1000; printf "%.2f", v}'
  p50=$(awk "\$1 == \"50%\" $ms" "$2"); p99=$(awk "\$1 == \"99%\" $ms" "$2")
  ok=$((total - bad))
  rps=$(awk -v ok="$ok" -v s="$SECS" 'BEGIN {printf "%.0f", ok / s}')
  stored=$(count "$3")
  echo "$1 orders/s $rps p50 $p50 p99 $p99 requests $total non-2xx $bad stored $stored"
  [ "$stored" -ge "$ok" ] || { echo "$1: $ok orders answered 2xx but only $stored are in the database" >&2; exit 1; }
}

chit() { # run
  local dir="$DATA/chit-$1"; mkdir -p "$dir"; : >"$dir/log"
  "$BIN/chit-server" --db "$dir/chit.db" --listen 127.0.0.1:0 --rate-limit 0 2>"$dir/log" &
  SPID=$!
  local url=""
  for _ in $(seq 100); do
    url=$(sed -n 's/^chit-server: HTTP on //p' "$dir/log" | cut -d' ' -f1)
    [ -n "$url" ] && [ -s "$dir/admin.token" ] && break; sleep 0.1
  done
  WRK_TARGET=chit CHIT_TOKEN=$(cat "$dir/admin.token") wrk -t1 -c"$CONNS" -d"${SECS}s" --latency \
    -s scripts/wrk/orders.lua "$url/v1/orders" >"$dir/wrk.txt"
  stop
  report chit "$dir/wrk.txt" "$dir/chit.db"
}

socketio() { # run
  local dir="$DATA/sio-$1"; mkdir -p "$dir"
  (cd "$SIO" && exec node server.js --host 127.0.0.1 --port 0 --db "$dir/orders.db" --sync FULL \
    --ready-file "$dir/port") >"$dir/log" 2>&1 &
  SPID=$!
  for _ in $(seq 100); do [ -s "$dir/port" ] && break; sleep 0.1; done
  WRK_TARGET=socketio wrk -t1 -c"$CONNS" -d"${SECS}s" --latency -s scripts/wrk/orders.lua \
    "http://127.0.0.1:$(cat "$dir/port")/orders" >"$dir/wrk.txt"
  stop
  report socketio "$dir/wrk.txt" "$dir/orders.db"
}

exec 9>/tmp/chit-bench.lock
for run in $(seq "$RUNS"); do
  flock 9
  if [ $((run % 2)) -eq 1 ]; then chit "$run"; socketio "$run"; else socketio "$run"; chit "$run"; fi
  flock -u 9
done
