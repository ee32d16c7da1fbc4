# Sourced by the scripts: start_server DIR BIN starts chit-server from BIN on a fresh
# database in DIR, on a free loopback port, sets $server (its pid) and exports
# CHIT_SERVER and CHIT_TOKEN (the admin token) for the chit commands that follow.
start_server() {
  local dir=$1 bin=$2 url=""
  # Made before the server starts, so that the wait below never reads a missing file.
  : >"$dir/server.log"
  "$bin/chit-server" --db "$dir/chit.db" --listen 127.0.0.1:0 2>"$dir/server.log" &
  server=$!
  for _ in $(seq 100); do
    url=$(sed -n 's/^chit-server: listening on //p' "$dir/server.log")
    [ -n "$url" ] && break
    sleep 0.1
  done
  if [ -z "$url" ]; then
    echo "chit-server did not start:" >&2
    cat "$dir/server.log" >&2
    return 1
  fi
  export CHIT_SERVER="$url" CHIT_TOKEN
  CHIT_TOKEN="$(cat "$dir/admin.token")"
}
