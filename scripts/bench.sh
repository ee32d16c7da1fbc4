#!/usr/bin/env bash
# The figures in BENCHMARKS.md: each scenario RUNS times (3), each run on a fresh
# release server with a fresh database (synchronous=FULL) on 127.0.0.1, and the median
# of every figure. JSON per run goes to $RESULTS (bench-results/ by default).
#
#   scripts/bench.sh                    # orders, unloaded, idle, fanout
#   scripts/bench.sh orders idle        # some of them
#   RUNS=5 DATA_DIR=/dev/shm/chit scripts/bench.sh orders
set -euo pipefail
cd "$(dirname "$0")/.."
command -v jq >/dev/null || { echo "scripts/bench.sh needs jq (apt-get install jq)" >&2; exit 2; }
RUNS=${RUNS:-3}
RESULTS=${RESULTS:-bench-results}
DATA_DIR=${DATA_DIR:-$(mktemp -d)}
SCENARIOS=("$@")
[ ${#SCENARIOS[@]} -gt 0 ] || SCENARIOS=(orders unloaded idle fanout)
mkdir -p "$RESULTS"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
cargo build --release --workspace --bins
BIN=target/release

args_of() {
  case $1 in
    orders) echo "--kitchens 10 --clients 8 --in-flight 16 --orders 20000 --updates 2000" ;;
    unloaded) echo "--kitchens 10 --clients 1 --in-flight 1 --orders 2000 --updates 200" ;;
    idle) echo "--idle 10000" ;;
    fanout) echo "--fanout 10000 --fanout-events 20" ;;
    *) echo "unknown scenario '$1' (orders, unloaded, idle, fanout)" >&2; exit 2 ;;
  esac
}

SPID=""
stop_server() { if [ -n "$SPID" ]; then kill -TERM "$SPID" 2>/dev/null || true; wait "$SPID" 2>/dev/null || true; SPID=""; fi; }
trap stop_server EXIT

for scen in "${SCENARIOS[@]}"; do
  args=$(args_of "$scen")
  out="$RESULTS/$scen.jsonl"
  : >"$out"
  for run in $(seq "$RUNS"); do
    dir="$DATA_DIR/$scen-$run"
    rm -rf "$dir"; mkdir -p "$dir"
    # Made before the server starts, so that the wait below never reads a missing file.
    : >"$dir/server.log"
    "$BIN/chit-server" --db "$dir/chit.db" --listen 127.0.0.1:0 --rate-limit 0 \
      --max-connections 20000 2>"$dir/server.log" &
    SPID=$!
    url=""
    for _ in $(seq 100); do
      url=$(sed -n 's/^chit-server: listening on //p' "$dir/server.log")
      [ -n "$url" ] && [ -s "$dir/admin.token" ] && break
      sleep 0.1
    done
    [ -n "$url" ] || { echo "the server did not start:"; cat "$dir/server.log"; exit 1; }
    echo "# $scen run $run: chit bench $args"
    # shellcheck disable=SC2086
    CHIT_DB="$dir/chit.db" timeout 600 "$BIN/chit" --server "$url" bench $args --json >>"$out" || true
    stop_server
  done
done

median() { jq -s "[.[] | $1 | select(. != null)] | sort | if length == 0 then null else .[(length - 1) / 2 | floor] end" "$2"; }
echo "# medians of $RUNS runs ($RESULTS)"
for scen in "${SCENARIOS[@]}"; do
  f="$RESULTS/$scen.jsonl"
  case $scen in
    orders | unloaded)
      for fig in orders_per_sec ack_latency.p50_ms ack_latency.p99_ms ack_latency.max_ms \
        notify_latency.p50_ms notify_latency.p99_ms notify_latency.max_ms updates_per_sec \
        update_notify_latency.p50_ms update_notify_latency.p99_ms server.cpu_us_per_op \
        loadgen_cpu_secs other_cpu_secs; do
        echo "$scen $fig $(median ".orders.$fig" "$f")"
      done ;;
    idle)
      for fig in bytes_per_idle_connection bytes_per_joined_connection connections_per_sec \
        server_connections; do
        echo "$scen $fig $(median ".idle.$fig" "$f")"
      done ;;
    fanout)
      for fig in delivery_latency.p50_ms delivery_latency.p99_ms delivery_latency.max_ms \
        reach_all.p50_ms reach_all.p99_ms server_cpu_secs loadgen_cpu_secs; do
        echo "$scen $fig $(median ".fanout.$fig" "$f")"
      done ;;
  esac
done
