#!/usr/bin/env bash
# The long fault runs: 10 crash trials in a row (load, SIGKILL at a random moment,
# restart, check every acknowledged order is stored once and reached the kitchen once)
# and a flood of 10,000 connections opened and dropped abruptly, three times. The short
# versions run with every `make test`. Loopback only; every loop is bounded.
#
#   scripts/faults.sh            # both
#   scripts/faults.sh crash      # the crash trials only
#   scripts/faults.sh flood      # the flood only
set -euo pipefail
cd "$(dirname "$0")/.."
# Each connection is a descriptor on both ends; the test and the server raise their own
# soft limits as far as the hard limit allows.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
what=${1:-all}
tests=()
case $what in
  crash) tests=(crash:ten_crash_trials_in_a_row) ;;
  flood) tests=(faults:a_flood_of_ten_thousand_connections_three_times) ;;
  all) tests=(crash:ten_crash_trials_in_a_row faults:a_flood_of_ten_thousand_connections_three_times) ;;
  *) echo "usage: $0 [crash|flood|all]" >&2; exit 2 ;;
esac
cargo build --release --workspace --bins
for t in "${tests[@]}"; do
  timeout 900 cargo test --release --test "${t%%:*}" -- --ignored --exact "${t#*:}" --nocapture
done
