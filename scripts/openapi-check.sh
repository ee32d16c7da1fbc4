#!/usr/bin/env bash
# Points schemathesis (a property-based API tester, from PyPI) at a real chit-server on
# a throwaway database: thousands of generated requests, valid and not, against every
# operation of /v1/openapi.json; then generates a Python client from the document
# (openapi-python-client) and drives the same server with it
# (scripts/openapi/generated_client.py). It fails on any 5xx, any status or header the document
# does not list, any answer that does not match its schema, an invalid request that is
# accepted, a missing token that is not refused. One check is left out:
# positive_data_acceptance, which expects every schema-valid request to succeed; chit
# has rules no JSON Schema can say (a seed order's totalAmount must equal its items'
# total), so some schema-valid requests are rightly 400.
#
#   scripts/openapi-check.sh               # 100 examples an operation
#   EXAMPLES=500 scripts/openapi-check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
EXAMPLES=${EXAMPLES:-100}
TOOLS=${CHIT_TOOLS:-target/tools}
VERSION=4.32.5
GENERATOR=0.29.1

# schemathesis needs Python 3.12 or later here: 3.11's parser trips over its generated
# code ("AST constructor recursion depth mismatch") on this API's patterns.
python=""
for candidate in python3.13 python3.12 "$HOME"/.pyenv/versions/3.13*/bin/python "$HOME"/.pyenv/versions/3.12*/bin/python python3; do
  if command -v "$candidate" >/dev/null 2>&1 &&
    "$candidate" -c 'import sys, venv; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
    python=$candidate
    break
  fi
done
[ -n "$python" ] || { echo "openapi-check: needs Python 3.12 or later (with venv)" >&2; exit 2; }
# --probe: only say (by the exit status) whether this machine can run the check.
[ "${1:-}" = "--probe" ] && exit 0
venv="$TOOLS/schemathesis-$VERSION"
if [ ! -x "$venv/bin/st" ]; then
  echo "openapi-check: installing schemathesis $VERSION into $venv"
  "$python" -m venv "$venv"
  "$venv/bin/pip" install -q "schemathesis==$VERSION"
fi

cargo build -q -p chit-server
BIN=${BIN:-target/debug}
dir=$(mktemp -d)
SPID=""
cleanup() { if [ -n "$SPID" ]; then kill -TERM "$SPID" 2>/dev/null || true; wait "$SPID" 2>/dev/null || true; fi; rm -rf "$dir"; }
trap cleanup EXIT
: >"$dir/server.log"
"$BIN/chit-server" --db "$dir/chit.db" --listen 127.0.0.1:0 --rate-limit 0 2>"$dir/server.log" &
SPID=$!
url=""
for _ in $(seq 100); do
  url=$(sed -n 's/^chit-server: HTTP on //p' "$dir/server.log" | cut -d' ' -f1)
  [ -n "$url" ] && [ -s "$dir/admin.token" ] && break
  sleep 0.1
done
[ -n "$url" ] || { echo "the server did not start:"; cat "$dir/server.log"; exit 1; }
# A hook to send signed orders to (the tester cannot sign them: it sees 401s there).
"$BIN/chit-server" --db "$dir/chit.db" hook add shop --restaurant r1 >/dev/null 2>&1
token=$(cat "$dir/admin.token")
cat >"$dir/schemathesis.toml" <<TOML
# The hook that exists; the event stream's long-poll form (the stream itself never
# ends, so it is tested by tests/events.rs instead).
[[operations]]
include-operation-id = "receiveHook"
parameters = { name = "shop" }

[[operations]]
include-operation-id = "followEvents"
parameters = { wait = 0 }
TOML
# Run from the throwaway directory, where schemathesis leaves its cache.
st="$(cd "$venv" && pwd)/bin/st"
(cd "$dir" && "$st" --config-file "$dir/schemathesis.toml" run "$url/v1/openapi.json" \
  -H "Authorization: Bearer $token" \
  --checks all --exclude-checks positive_data_acceptance \
  --max-examples "$EXAMPLES" --request-timeout 10 --workers 2 --no-color)

# A client generated from the document works against the same server.
gen="$TOOLS/openapi-python-client-$GENERATOR"
if [ ! -x "$gen/bin/openapi-python-client" ]; then
  echo "openapi-check: installing openapi-python-client $GENERATOR into $gen"
  "$python" -m venv "$gen"
  "$gen/bin/pip" install -q "openapi-python-client==$GENERATOR"
fi
curl -sf "$url/v1/openapi.json" >"$dir/openapi.json"
# Its one warning: it has no model for /metrics' OpenMetrics text, which it leaves out.
"$gen/bin/openapi-python-client" generate --path "$dir/openapi.json" --output-path "$dir/client" \
  --overwrite >"$dir/generate.log" 2>&1 || { cat "$dir/generate.log"; exit 1; }
# Its dependencies (httpx, attrs, python-dateutil) are the generator's own.
"$gen/bin/pip" install -q --force-reinstall --no-deps "$dir/client"
"$gen/bin/python" scripts/openapi/generated_client.py "$url" "$token"
