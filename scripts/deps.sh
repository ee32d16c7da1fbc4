#!/usr/bin/env bash
# Installs the system packages chit needs to build and test on Debian/Ubuntu: a C
# compiler and linker (build-essential: Rust links with `cc`, and SQLite and mimalloc
# are built from C), ALSA headers and pkg-config (sound in the kitchen display), tmux
# (terminal tests), systemd (systemd-analyze checks contrib/chit-server.service), nginx
# (the TLS terminator the wss:// tests put in front of a server; they start their own
# on a 127.0.0.1 port and never use the package's service).
set -euo pipefail
packages=(build-essential libasound2-dev pkg-config tmux systemd nginx)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "installing: ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
