#!/usr/bin/env bash
# Interleaved pairs: the same scenario on two builds, one after the other (A B, B A,
# A B, ...), each run on a fresh server and database, under the machine's bench lock. One
# JSON line per run in $OUT (bench-pairs.jsonl), then each figure's medians per build.
#
#   scripts/pairs.sh OLD_BIN_DIR NEW_BIN_DIR orders 6        # 6 pairs of the orders run
#   scripts/pairs.sh /tmp/base/target/release target/release idle 3
# Scenarios are those of scripts/bench.sh, plus http (orders placed over HTTP).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v jq >/dev/null || { echo "scripts/pairs.sh needs jq (apt-get install jq)" >&2; exit 2; }
[ $# -ge 3 ] || { echo "usage: scripts/pairs.sh OLD_BIN_DIR NEW_BIN_DIR SCENARIO [PAIRS]" >&2; exit 2; }
OLD=$1 NEW=$2 SCEN=$3 PAIRS=${4:-5}
OUT=${OUT:-bench-pairs.jsonl}
DATA_DIR=${DATA_DIR:-$(mktemp -d)}
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
case $SCEN in
  orders) args="--kitchens 10 --clients 8 --in-flight 16 --orders 20000 --updates 2000" ;;
  unloaded) args="--kitchens 10 --clients 1 --in-flight 1 --orders 2000 --updates 200" ;;
  idle) args="--idle 10000" ;;
  fanout) args="--fanout 10000 --fanout-events 20" ;;
  http) args="--http --kitchens 10 --clients 8 --in-flight 16 --orders 20000 --updates 2000" ;;
  *) echo "unknown scenario '$SCEN'" >&2; exit 2 ;;
esac
SPID=""
stop_server() { if [ -n "$SPID" ]; then kill -TERM "$SPID" 2>/dev/null || true; wait "$SPID" 2>/dev/null || true; SPID=""; fi; }
trap stop_server EXIT

run() { # build-label bin-dir pair
  local label=$1 bin=$2 pair=$3 dir="$DATA_DIR/$1-$3"
  rm -rf "$dir"; mkdir -p "$dir"; : >"$dir/server.log"
  "$bin/chit-server" --db "$dir/chit.db" --listen 127.0.0.1:0 --rate-limit 0 \
    --max-connections 20000 2>"$dir/server.log" &
  SPID=$!
  local url=""
  for _ in $(seq 100); do
    url=$(sed -n 's/^chit-server: listening on //p' "$dir/server.log")
    [ -n "$url" ] && [ -s "$dir/admin.token" ] && break
    sleep 0.1
  done
  [ -n "$url" ] || { echo "the server did not start:"; cat "$dir/server.log"; exit 1; }
  # The load generator is always the new build's, so only the server differs.
  # shellcheck disable=SC2086
  CHIT_DB="$dir/chit.db" timeout 600 "$NEW/chit" --server "$url" bench $args --json \
    | jq -c --arg b "$label" --argjson p "$pair" '{build: $b, pair: $p} + .' >>"$OUT" || true
  stop_server
}

for pair in $(seq "$PAIRS"); do
  # Each pair holds the machine's bench lock, so nobody else measures meanwhile.
  exec 9>/tmp/chit-bench.lock
  flock 9
  # Which goes first alternates, so that a machine getting busier or quieter over the
  # sitting does not favour one build.
  if [ $((pair % 2)) -eq 1 ]; then
    run old "$OLD" "$pair"; run new "$NEW" "$pair"
  else
    run new "$NEW" "$pair"; run old "$OLD" "$pair"
  fi
  flock -u 9
  echo "# pair $pair done"
done

median() { jq -s --arg b "$1" "[.[] | select(.build == \$b) | $2 | select(. != null)] | sort | if length == 0 then null else .[(length - 1) / 2 | floor] end" "$OUT"; }
for fig in .orders.orders_per_sec .orders.notify_latency.p99_ms .orders.notify_latency.p50_ms \
  .orders.ack_latency.p99_ms .orders.server.cpu_us_per_op .orders.other_cpu_secs \
  .idle.bytes_per_idle_connection .fanout.delivery_latency.p99_ms; do
  o=$(median old "$fig"); n=$(median new "$fig")
  [ "$o" = null ] && [ "$n" = null ] && continue
  echo "$SCEN $fig old $o new $n"
done
