#!/usr/bin/env bash
# Installs the system packages chit needs to build and test on Debian/Ubuntu: a C
# compiler and linker (build-essential: Rust links with `cc`, and SQLite and mimalloc
# are built from C), ALSA headers and pkg-config (sound in the kitchen display), tmux
# (terminal tests), systemd (systemd-analyze checks contrib/chit-server.service), nginx
# (the TLS terminator the wss:// tests put in front of a server; they start their own
# on a 127.0.0.1 port and never use the package's service), PostgreSQL (the database of
# chit-server nodes that share one; the tests make a throwaway database each) and
# nats-server (the fan-out between nodes; each test starts its own as a child).
#
# Then makes PostgreSQL run: its cluster is started with pg_ctlcluster when none is
# online (not through the service, which a container's policy-rc.d may refuse), and the
# current user gets a superuser role of the same name, so that tests connect over the
# Unix socket in /var/run/postgresql with peer authentication. Quick when all is there.
set -euo pipefail
packages=(build-essential libasound2-dev pkg-config tmux systemd nginx postgresql nats-server)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
if [ ${#missing[@]} -ne 0 ]; then
  echo "installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi

# As the postgres user: runuser when root, sudo otherwise.
as_postgres() {
  (
    cd /
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres -- "$@"; fi
  )
}

# The newest installed PostgreSQL's cluster (a package upgrade can leave an older one).
version=$(pg_lsclusters --no-header 2>/dev/null | awk '{print $1}' | sort -V | tail -n 1)
if [ -z "$version" ]; then
  version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
  echo "creating the PostgreSQL $version cluster"
  $sudo pg_createcluster "$version" main >/dev/null
fi
if ! pg_lsclusters --no-header | awk -v v="$version" '$1 == v && $4 ~ /^online/' | grep -q .; then
  echo "starting PostgreSQL $version"
  $sudo pg_ctlcluster "$version" main start
fi
user=$(id -un)
if [ "$(as_postgres psql -XtAc "SELECT 1 FROM pg_roles WHERE rolname = '$user'")" != "1" ]; then
  echo "creating the PostgreSQL role '$user'"
  as_postgres createuser -s "$user"
fi
