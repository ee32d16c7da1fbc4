# chit: make demo (see it work), make test (prove it), make check (what CI runs).
.PHONY: demo run test check deps build release openapi-check

CARGO ?= cargo

deps:
	@scripts/deps.sh

build: deps
	$(CARGO) build --workspace --bins

release: deps
	$(CARGO) build --workspace --bins --release

# A server on a temporary database with a menu, sample orders flowing in, and the expo
# screen in the foreground (`make demo SCREEN="--station wok"` opens a station, and
# SCREEN= the whole-ticket display); quitting the display stops everything.
SCREEN ?= --expo
demo: deps
	$(CARGO) build --workspace --bins --release
	@scripts/demo.sh target/release $(SCREEN)

# The server on its default address and database (~/.local/share/chit/chit.db).
run: deps
	$(CARGO) run --release -p chit-server

# The behaviour tests that run again with their servers on PostgreSQL (a throwaway
# database each, on the cluster scripts/deps.sh starts), chit-server's offline commands
# (token, webhook, hook, menu, backup, export) given --store. Those left out are about
# the SQLite file itself (crash, faults, failover, signals, service: kill -9 and restarts
# on the file, its locks and WAL) or run no server of their own store (docs, config,
# kitchen, expo, tls, pg_*: those run on PostgreSQL whatever the variable says).
PG_SUITE = --test orders --test resume --test chat --test rider --test wire \
	--test compat --test epoch --test follower --test hooks --test webhooks \
	--test acl --test http --test http_limits --test http_kitchen --test events \
	--test stations --test schedule --test eighty_six --test kitchen_cli --test cli \
	--test watch_cli --test chat_cli --test backup

test: deps
	$(CARGO) test --workspace
	CHIT_TEST_STORE=postgres $(CARGO) test --workspace $(PG_SUITE)

check: deps
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) test --workspace
	CHIT_TEST_STORE=postgres $(CARGO) test --workspace $(PG_SUITE)

# schemathesis against a real server, every operation of /v1/openapi.json (needs Python
# 3.12+ and PyPI; it installs itself under target/tools).
openapi-check:
	@scripts/openapi-check.sh
