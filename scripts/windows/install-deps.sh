#!/bin/sh
# Debian packages for `make test-windows` only: the mingw-w64 cross compiler (posix thread model)
# and wine64 (no recommends: no X11/GUI stack). Idempotent; runs apt only when something is missing.
set -eu
PKGS="g++-mingw-w64-x86-64-posix wine64"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "windows/install-deps: missing Debian packages:$missing (run as root, or install them)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -q
# shellcheck disable=SC2086
apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends $missing
