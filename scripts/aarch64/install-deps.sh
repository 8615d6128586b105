#!/bin/sh
# Debian packages for the emulated-aarch64 test target only (`make test-aarch64`), kept out of
# scripts/install-system-deps.sh so plain builds stay lean. Idempotent; runs apt only when needed.
#  * qemu-user: runs the arm64 CPython (and the tests' JIT code) on an x86_64 host;
#  * g++-aarch64-linux-gnu: the cross compiler named by the arm64 CPython's own sysconfig;
#  * the arm64 architecture is registered so `apt-get download <pkg>:arm64` works. Nothing arm64 is
#    ever installed system-wide (python3.11:arm64 conflicts with, and would remove, the amd64 one):
#    the arm64 interpreter lives in a sysroot extracted by scripts/aarch64/sysroot.sh.
set -eu
PKGS="qemu-user g++-aarch64-linux-gnu dpkg-dev"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
need_arch=0
dpkg --print-foreign-architectures | grep -qx arm64 || need_arch=1
if [ -z "$missing" ] && [ "$need_arch" = 0 ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "aarch64/install-deps: missing:$missing$( [ $need_arch = 1 ] && echo ' (dpkg architecture arm64)') (run as root)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if [ "$need_arch" = 1 ]; then
  dpkg --add-architecture arm64
fi
apt-get -o DPkg::Lock::Timeout=600 update -q
if [ -n "$missing" ]; then
  # shellcheck disable=SC2086
  apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends $missing
fi
