#!/usr/bin/env bash
# make demo: a server on a temporary database, a stream of sample orders, and the
# kitchen display for thai-1 in the foreground. Quitting the display stops everything.
set -euo pipefail
. "$(dirname "$0")/server.sh"
bin=${1:-target/release}
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d -t chit-demo.XXXXXX)
server="" feeder=""
cleanup() {
  [ -n "$feeder" ] && kill "$feeder" 2>/dev/null || true
  [ -n "$server" ] && kill "$server" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT INT TERM

start_server "$dir" "$bin"
"$here/demo-orders.sh" | "$bin/chit" order place --file - >"$dir/orders.log" 2>&1 &
feeder=$!
"$bin/chit-kitchen" --restaurant thai-1 --log "$dir/kitchen.log" "${@:2}"
