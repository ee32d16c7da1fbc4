#!/usr/bin/env bash
# Measures the CPU time an idle kitchen display uses over N seconds (default 60): a
# server on a temporary database with 20 open orders, the display in a tmux terminal,
# nothing happening. Prints the display's and the server's CPU seconds.
# Usage: scripts/idle-cpu.sh [SECONDS] [BIN_DIR]   (needs tmux; loopback only)
set -euo pipefail
. "$(dirname "$0")/server.sh"
secs=${1:-60}
bin=${2:-target/release}
dir=$(mktemp -d -t chit-idle.XXXXXX)
sock="chit-idle-$$"
server=""
cleanup() {
  tmux -L "$sock" kill-server 2>/dev/null || true
  [ -n "$server" ] && kill "$server" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT INT TERM

start_server "$dir" "$bin"
for i in $(seq 20); do
  "$bin/chit" order place --restaurant r1 --name "Guest $i" --phone "08100000$i" --pickup \
    --item "2 x Pad Thai @ 120" --item "Iced tea @ 35" >/dev/null
done
tmux -L "$sock" new-session -d -x 120 -y 40 \
  "CHIT_SERVER=$CHIT_SERVER CHIT_TOKEN=$CHIT_TOKEN $bin/chit-kitchen --restaurant r1 --mute --log $dir/kitchen.log"
pid=""
for _ in $(seq 100); do
  pid=$(pgrep -f "^$bin/chit-kitchen --restaurant r1 --mute --log $dir" | head -1 || true)
  [ -n "$pid" ] && break
  sleep 0.1
done
sleep 2 # let it load and settle before measuring
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
k0=$(ticks "$pid"); s0=$(ticks "$server")
sleep "$secs"
k1=$(ticks "$pid"); s1=$(ticks "$server")
awk -v k=$((k1 - k0)) -v s=$((s1 - s0)) -v hz="$hz" -v secs="$secs" 'BEGIN {
  printf "idle over %d s: chit-kitchen %.2f s CPU (%.3f%%), chit-server %.2f s CPU (%.3f%%)\n",
    secs, k / hz, 100 * k / hz / secs, s / hz, 100 * s / hz / secs }'
