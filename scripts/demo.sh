#!/usr/bin/env bash
# make demo: a server on a temporary database, a stream of sample orders, and the
# kitchen display for thai-1 in the foreground. Quitting the display stops everything.
set -euo pipefail
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

"$bin/chit-server" --db "$dir/chit.db" --listen 127.0.0.1:0 2>"$dir/server.log" &
server=$!
url=""
for _ in $(seq 100); do
  url=$(sed -n 's/^chit-server: listening on //p' "$dir/server.log")
  [ -n "$url" ] && break
  sleep 0.1
done
if [ -z "$url" ]; then
  echo "chit-server did not start:" >&2
  cat "$dir/server.log" >&2
  exit 1
fi
export CHIT_SERVER="$url" CHIT_TOKEN="$(cat "$dir/admin.token")"
"$here/demo-orders.sh" | "$bin/chit" order place --file - >"$dir/orders.log" 2>&1 &
feeder=$!
"$bin/chit-kitchen" --restaurant thai-1 --log "$dir/kitchen.log" "${@:2}"
