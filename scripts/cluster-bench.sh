#!/usr/bin/env bash
# BENCHMARKS.md's "More than one node" figures: chit on SQLite, on one PostgreSQL node
# and on three, fanned out over NATS, all on 127.0.0.1. Each run gets a throwaway
# PostgreSQL database (createdb/dropdb, a random name), its own nats-server on a port it
# picks, and fresh release chit-server nodes; everything is stopped and dropped on exit.
# JSON per run goes to $RESULTS (cluster-results/), medians at the end.
#
#   scripts/cluster-bench.sh                        # every scenario, RUNS=3, TRIALS=5
#   scripts/cluster-bench.sh pg3 cross              # some of them
#   RUNS=5 scripts/cluster-bench.sh failover
#
# Scenarios:
#   sqlite     chit bench's orders run on the default SQLite server, for reference
#   pg1        the same on one PostgreSQL node
#   pg3        the same on three nodes, placing clients and kitchens spread (--spread)
#   lone1      a lone order (1 client, 1 in flight) on one PostgreSQL node
#   cross      a lone order placed on node A, kitchens on node B (--kitchen-server)
#   crossload  the orders run placed on A, kitchens on B
#   failover   kill -9 of node A while `chit order place` runs in a loop with
#              CHIT_SERVER=A,B,C: time to the first order acknowledged afterwards
#
# SYNCHRONOUS_COMMIT=off sets it on the throwaway database (ALTER DATABASE), to see what
# the commit's flush costs: not durable, not how chit is meant to run. SAMPLE_WAITS=1
# samples pg_stat_activity every 0.1 s during each run and counts what the database's
# busy backends were waiting for (to $RESULTS/$scen.waits).
#
# Needs PostgreSQL on /var/run/postgresql (peer auth as this user) and nats-server
# (scripts/deps.sh), and jq. BIN=DIR uses binaries already built (default: builds
# target/release). Holds /tmp/chit-bench.lock per run, as scripts/pairs.sh does.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in jq createdb dropdb nats-server; do
  command -v "$tool" >/dev/null || { echo "scripts/cluster-bench.sh needs $tool (scripts/deps.sh)" >&2; exit 2; }
done
RUNS=${RUNS:-3}
TRIALS=${TRIALS:-5}
RESULTS=${RESULTS:-cluster-results}
PGHOST=${PGHOST:-/var/run/postgresql}
export PGHOST
SCENARIOS=("$@")
[ ${#SCENARIOS[@]} -gt 0 ] || SCENARIOS=(sqlite pg1 pg3 lone1 cross crossload failover)
mkdir -p "$RESULTS"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ -z "${BIN:-}" ]; then
  cargo build --release --workspace --bins
  BIN=${CARGO_TARGET_DIR:-target}/release
fi
WORK=$(mktemp -d /tmp/chit-cluster.XXXXXX)

ORDERS="--kitchens 10 --clients 8 --in-flight 16 --orders 20000 --updates 2000"
LONE="--kitchens 10 --clients 1 --in-flight 1 --orders 2000 --updates 200"

# What is running, so that the trap can stop it: node pids, nats-server's, the database.
NODE_PIDS=()
NATS_PID=""
DB=""
LOOP_PID=""
cleanup() {
  [ -z "$LOOP_PID" ] || { kill "$LOOP_PID" 2>/dev/null || true; wait "$LOOP_PID" 2>/dev/null || true; LOOP_PID=""; }
  for pid in "${NODE_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${NODE_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  NODE_PIDS=()
  [ -z "$NATS_PID" ] || { kill -TERM "$NATS_PID" 2>/dev/null || true; wait "$NATS_PID" 2>/dev/null || true; NATS_PID=""; }
  [ -z "$DB" ] || { dropdb --if-exists --force "$DB" 2>/dev/null || true; DB=""; }
}
trap 'cleanup; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM

# Waits (10 s at most) until FILE has a line matching the sed expression; prints it.
wait_for_line() { # file sed-expression what
  local got=""
  for _ in $(seq 100); do
    got=$(sed -n "$2" "$1" | head -n1)
    [ -n "$got" ] && { echo "$got"; return 0; }
    sleep 0.1
  done
  echo "$3 did not start:" >&2; cat "$1" >&2; return 1
}

# A throwaway database and a nats-server on a port it picks (-p -1: no race for one).
start_services() {
  DB="chit_bench_$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')"
  createdb "$DB"
  if [ -n "${SYNCHRONOUS_COMMIT:-}" ]; then
    psql -qd "$DB" -c "ALTER DATABASE $DB SET synchronous_commit = '$SYNCHRONOUS_COMMIT'"
  fi
  STORE="postgres:///$DB?host=$PGHOST"
  mkdir -p "$WORK/nats"
  : >"$WORK/nats/log"
  nats-server -a 127.0.0.1 -p -1 --store_dir "$WORK/nats/store" 2>"$WORK/nats/log" &
  NATS_PID=$!
  local port
  port=$(wait_for_line "$WORK/nats/log" 's/.*Listening for client connections on 127.0.0.1:\([0-9]*\).*/\1/p' nats-server)
  PEERS="nats://127.0.0.1:$port"
}

# Node number $1 on the database and nats-server of start_services; sets URLS[$1].
URLS=()
start_node() { # n
  local dir="$WORK/node$1"
  rm -rf "$dir"; mkdir -p "$dir"; : >"$dir/server.log"
  "$BIN/chit-server" --db "$dir/chit.db" --store "$STORE" --peers "$PEERS" \
    --listen 127.0.0.1:0 --rate-limit 0 --max-connections 20000 2>"$dir/server.log" &
  NODE_PIDS[$1]=$!
  URLS[$1]=$(wait_for_line "$dir/server.log" 's/^chit-server: listening on //p' "node $1")
  for _ in $(seq 100); do [ -s "$dir/admin.token" ] && break; sleep 0.1; done
}

start_sqlite() {
  local dir="$WORK/sqlite"
  rm -rf "$dir"; mkdir -p "$dir"; : >"$dir/server.log"
  "$BIN/chit-server" --db "$dir/chit.db" --listen 127.0.0.1:0 --rate-limit 0 \
    --max-connections 20000 2>"$dir/server.log" &
  NODE_PIDS[0]=$!
  URLS[0]=$(wait_for_line "$dir/server.log" 's/^chit-server: listening on //p' "the server")
  for _ in $(seq 100); do [ -s "$dir/admin.token" ] && break; sleep 0.1; done
  TOKEN=$(cat "$dir/admin.token")
}

cluster() { # nodes
  start_services
  for n in $(seq 0 $(($1 - 1))); do start_node "$n"; done
  TOKEN=$(cat "$WORK/node0/admin.token")
}

# CPU ticks (user + system, 1/100 s) of the processes given, and of the PostgreSQL
# backends serving $DB (their titles name it): what the nodes cost PostgreSQL and NATS.
ticks() { # pids...
  local sum=0 pid rest
  for pid in "$@"; do
    rest=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null) || continue
    # After the command: state is field 1, utime field 12, stime field 13.
    sum=$((sum + $(echo "$rest" | awk '{print $12 + $13}')))
  done
  echo "$sum"
}
backends() {
  [ -n "$DB" ] || return 0
  local p
  for p in /proc/[0-9]*; do
    tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -qF " $DB [" && echo "${p#/proc/}"
  done
  return 0
}

# One chit bench run on what is running; one JSON line, with PostgreSQL's and NATS's
# CPU added, to $RESULTS/$scen.jsonl.
bench() { # scen run bench-args...
  local scen=$1 run=$2; shift 2
  local pg0 nats0 pg1 nats1
  # shellcheck disable=SC2046
  pg0=$(ticks $(backends)); nats0=$([ -n "$NATS_PID" ] && ticks "$NATS_PID" || echo 0)
  echo "# $scen run $run: chit bench $*"
  local sampler=""
  if [ -n "${SAMPLE_WAITS:-}" ] && [ -n "$DB" ]; then
    # One psql session, asked every 0.1 s (3,000 times at most) until the run ends.
    (for _ in $(seq 3000); do
      echo "SELECT '(samples)';"
      echo "SELECT COALESCE(wait_event_type, 'CPU') || ':' || COALESCE(wait_event, '-') || ' ' || left(regexp_replace(query, '\s+', ' ', 'g'), 40)
            FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid();"
      sleep 0.1
    done) | psql -Atqd "$DB" >"$WORK/waits" 2>/dev/null &
    sampler=$!
  fi
  CHIT_TOKEN=$TOKEN timeout 600 "$BIN/chit" bench "$@" --max-secs 300 --json \
    >"$WORK/out.json" || true
  if [ -n "$sampler" ]; then
    kill "$sampler" 2>/dev/null || true; wait "$sampler" 2>/dev/null || true
    { echo "# $scen run $run"; sort "$WORK/waits" | uniq -c | sort -rn | head -n 15; } \
      | tee -a "$RESULTS/$scen.waits"
  fi
  # shellcheck disable=SC2046
  pg1=$(ticks $(backends)); nats1=$([ -n "$NATS_PID" ] && ticks "$NATS_PID" || echo 0)
  if ! jq -e . "$WORK/out.json" >/dev/null 2>&1; then
    echo "  no report from chit bench"; return 0
  fi
  jq -c --arg s "$scen" --argjson r "$run" --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" \
    --argjson pg "$(((pg1 - pg0)))" --argjson nats "$(((nats1 - nats0)))" \
    '{scenario: $s, run: $r, loadavg: $load, pg_cpu_secs: ($pg / 100), nats_cpu_secs: ($nats / 100)} + .
     | .orders.pg_nats_cpu_us_per_op = (if .orders then ((.pg_cpu_secs + .nats_cpu_secs) * 1e6
         / ([.orders.orders_acked + .orders.updates_acked, 1] | max)) else null end)' \
    "$WORK/out.json" | tee -a "$RESULTS/$scen.jsonl" \
    | jq -r '"  \(.orders.orders_per_sec | floor) orders/s, notify p50 \(.orders.notify_latency.p50_ms) p99 \(.orders.notify_latency.p99_ms) ms, \(.orders.server.cpu_us_per_op) µs chit-server + \(.orders.pg_nats_cpu_us_per_op | floor) µs PostgreSQL/NATS CPU per op, complete \(.complete)"'
}

# A client with the server list placing orders one process at a time, as a till would
# (bounded: 600 orders or 30 s); node A is killed with SIGKILL after 20 of them. The
# time from the kill to the first order acknowledged by another node (the client logged
# that it skipped A), the same for the first process started after the kill, and how
# the one in flight at the kill ended. One JSON line per trial.
failover_trial() { # trial
  local trial=$1 log="$WORK/failover.log"
  : >"$log"
  cluster 3
  local list="${URLS[0]},${URLS[1]},${URLS[2]}"
  (
    end=$(($(date +%s%N) + 30000000000))
    for i in $(seq 600); do
      [ "$(date +%s%N)" -lt "$end" ] || break
      t0=$(date +%s%N)
      rc=0
      # chit-client logs "...; used URL instead" when it skipped a server of the list.
      CHIT_LOG=chit_client=warn CHIT_SERVER=$list CHIT_TOKEN=$TOKEN "$BIN/chit" order place \
        --restaurant r1 --name "f$i" --phone 555-0100 --address "1 Loop Rd" \
        --item "1 x Tea @ 1.00" >/dev/null 2>"$WORK/failover.err" || rc=$?
      t1=$(date +%s%N)
      echo "$t0 $t1 $rc $(grep -c ' instead' "$WORK/failover.err") f$i"
    done >>"$log"
  ) &
  LOOP_PID=$!
  for _ in $(seq 300); do [ "$(wc -l <"$log")" -ge 20 ] && break; sleep 0.05; done
  local killed_at
  killed_at=$(date +%s%N)
  kill -KILL "${NODE_PIDS[0]}"
  wait "${NODE_PIDS[0]}" 2>/dev/null || true
  unset 'NODE_PIDS[0]'
  # Until one placed after the kill is acknowledged, or 20 s.
  for _ in $(seq 400); do
    awk -v k="$killed_at" '$1 > k && $3 == 0 {found=1} END {exit !found}' "$log" && break
    sleep 0.05
  done
  kill "$LOOP_PID" 2>/dev/null || true; wait "$LOOP_PID" 2>/dev/null || true; LOOP_PID=""
  # What one `chit order place` took before the kill (median), for comparison.
  local usual
  usual=$(awk -v k="$killed_at" '$2 <= k && $3 == 0 {print ($2 - $1) / 1e6}' "$log" | sort -n \
    | awk '{a[NR] = $1} END {print (NR ? a[int((NR + 1) / 2)] : "null")}')
  awk -v k="$killed_at" -v t="$trial" '
    $2 <= k && $3 == 0 { before++ }
    $1 <= k && $2 > k { inflight = $3; inflight_ms = ($2 - k) / 1e6 }
    $2 > k && $3 == 0 && $4 > 0 && !other { other = ($2 - k) / 1e6 }
    $1 > k && $3 == 0 && !first { first = ($2 - k) / 1e6; start = ($1 - k) / 1e6 }
    $1 > k && $3 == 0 { n++ ; if (!last || $2 > last) last = $2; if (!from || $1 < from) from = $1 }
    $1 > k && $3 != 0 { failed++ }
    END {
      printf "{\"scenario\":\"failover\",\"trial\":%d,\"acked_before_kill\":%d,", t, before
      printf "\"in_flight_exit\":%s,\"in_flight_ended_ms\":%s,", (inflight == "" ? "null" : inflight), (inflight_ms == "" ? "null" : inflight_ms)
      printf "\"first_ack_elsewhere_ms\":%s,", (other ? other : "null")
      printf "\"first_ack_started_after_kill_ms\":%s,\"its_process_started_ms\":%s,", (first ? first : "null"), (start ? start : "null")
      printf "\"acked_after_kill\":%d,\"failed_after_kill\":%d}\n", n, failed
    }' "$log" | jq -c --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" --argjson usual "$usual" \
      '. + {usual_place_ms: $usual, loadavg: $load}' \
    | tee -a "$RESULTS/failover.jsonl"
  # Every acknowledged order is in the database once (a process still running when the
  # loop was stopped, or the one cut off by the kill, may have committed one more).
  psql -d "$DB" -Atc "SELECT customer_name FROM orders WHERE restaurant = 'r1'" | sort >"$WORK/in_pg"
  awk '$3 == 0 {print $5}' "$log" | sort >"$WORK/acked"
  echo "  acknowledged $(wc -l <"$WORK/acked"), in PostgreSQL $(wc -l <"$WORK/in_pg"):" \
    "$(comm -23 "$WORK/acked" "$WORK/in_pg" | wc -l) acknowledged but missing," \
    "$(uniq -d "$WORK/in_pg" | wc -l) twice, $(comm -13 "$WORK/acked" "$WORK/in_pg" | wc -l) not acknowledged" \
    | tee -a "$RESULTS/failover.check"
  cleanup
}

for scen in "${SCENARIOS[@]}"; do
  [ "$scen" = failover ] && { : >"$RESULTS/failover.jsonl"; continue; }
  : >"$RESULTS/$scen.jsonl"
done
exec 9>/tmp/chit-bench.lock
for scen in "${SCENARIOS[@]}"; do
  n=$RUNS; [ "$scen" = failover ] && n=$TRIALS
  for run in $(seq "$n"); do
    flock 9
    # shellcheck disable=SC2086
    case $scen in
      sqlite) start_sqlite; CHIT_SERVER=${URLS[0]} bench "$scen" "$run" $ORDERS ;;
      pg1) cluster 1; CHIT_SERVER=${URLS[0]} bench "$scen" "$run" $ORDERS ;;
      pg3) cluster 3; CHIT_SERVER="${URLS[0]},${URLS[1]},${URLS[2]}" bench "$scen" "$run" $ORDERS --spread ;;
      lone1) cluster 1; CHIT_SERVER=${URLS[0]} bench "$scen" "$run" $LONE ;;
      cross) cluster 2; CHIT_SERVER=${URLS[0]} bench "$scen" "$run" $LONE --kitchen-server "${URLS[1]}" ;;
      crossload) cluster 2; CHIT_SERVER=${URLS[0]} bench "$scen" "$run" $ORDERS --kitchen-server "${URLS[1]}" ;;
      failover) failover_trial "$run" ;;
      *) echo "unknown scenario '$scen'" >&2; exit 2 ;;
    esac
    cleanup
    flock -u 9
  done
done

median() { jq -s "[.[] | $1 | select(. != null)] | sort | if length == 0 then null else .[(length - 1) / 2 | floor] end" "$2"; }
echo "# medians ($RESULTS)"
for scen in "${SCENARIOS[@]}"; do
  f="$RESULTS/$scen.jsonl"
  if [ "$scen" = failover ]; then
    for fig in first_ack_elsewhere_ms first_ack_started_after_kill_ms its_process_started_ms in_flight_ended_ms usual_place_ms acked_after_kill failed_after_kill; do
      echo "$scen $fig $(median ".$fig" "$f")"
    done
    continue
  fi
  for fig in orders.orders_per_sec orders.ack_latency.p50_ms orders.ack_latency.p99_ms \
    orders.notify_latency.p50_ms orders.notify_latency.p99_ms orders.updates_per_sec \
    orders.update_notify_latency.p99_ms orders.server.cpu_us_per_op orders.pg_nats_cpu_us_per_op \
    pg_cpu_secs nats_cpu_secs orders.loadgen_cpu_secs orders.other_cpu_secs; do
    echo "$scen $fig $(median ".$fig" "$f")"
  done
done
