#!/usr/bin/env bash
# make demo: a server on a temporary database with the example menu loaded for thai-1
# (assets/menus/thai-1.toml: its stations and prep minutes), a stream of sample orders,
# and thai-1's kitchen display in the foreground. The arguments after the binaries'
# directory go to chit-kitchen: `make demo` gives `--expo` (whole orders with each
# station's progress); `--station wok` (or curry, grill, fry, salad, bar) opens a
# station; none, whole tickets. Quitting the display stops everything.
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
"$bin/chit-server" --db "$dir/chit.db" menu load --restaurant thai-1 "$here/../assets/menus/thai-1.toml" >"$dir/menu.log"
# The running server takes the menu up within a second; the first orders wait for it.
for _ in $(seq 50); do
  "$bin/chit" menu show --restaurant thai-1 --json 2>/dev/null | grep -q '"menu":{' && break
  sleep 0.1
done
"$here/demo-orders.sh" | "$bin/chit" order place --file - >"$dir/orders.log" 2>&1 &
feeder=$!
"$bin/chit-kitchen" --restaurant thai-1 --log "$dir/kitchen.log" "${@:2}"
