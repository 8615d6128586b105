#!/bin/sh
# Installs the Debian packages nearvm's build, tests, demo and benchmarks need (idempotent).
# Runs apt only when something is missing, so repeated `make` calls stay fast.
set -eu
# binutils-aarch64-linux-gnu: aarch64-linux-gnu-objdump for the aarch64 golden disassembly (any host).
PKGS="g++ make python3 python3-venv python3-dev dpkg-dev clang lld wabt rustc libstd-rust-dev-wasm32
binutils-aarch64-linux-gnu"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "install-system-deps: missing Debian packages:$missing (run as root, or install them)" >&2
  exit 1
fi
echo "install-system-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
