#!/bin/sh
# `make test-windows`: nearvm's C++ core (Windows platform layer, Win64 stubs) cross-built with
# mingw-w64 into a native test driver and run under wine64 on the corpus of
# tests/windows/win_corpus.py, whose expected outcomes come from the Python API on this Linux build.
# The same driver built for Linux runs first: it must agree too (it checks the driver itself).
set -eu
cd "$(dirname "$0")/../.."
REPO=$(pwd)
OUT=$REPO/build/windows
PY=${HOST_PY:-$REPO/.venv/bin/python}
WINE=${WINE:-/usr/lib/wine/wine64}
mkdir -p "$OUT"

# The tests' wasm-tools is the venv's (the corpus is assembled from WAT text).
PATH=$(dirname "$PY"):$PATH
export PATH
start=$(date +%s)
"$PY" tests/windows/win_corpus.py "$OUT/corpus"
"$PY" scripts/windows/build_driver.py --target linux >/dev/null
"$PY" scripts/windows/build_driver.py --target windows >/dev/null
echo "test-windows: corpus and both drivers ready in $(( $(date +%s) - start )) s"

echo "test-windows: Linux control build"
"$OUT/nvm_driver" "$OUT/corpus"

echo "test-windows: mingw-w64 build under wine64"
start=$(date +%s)
# A private prefix (created on first use, ~0.7 GB, kept under build/), no Mono/Gecko prompts.
WINEPREFIX=$OUT/wineprefix WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=" \
  "$WINE" "$OUT/nvm_driver.exe" 'build\windows\corpus'
echo "test-windows: wine run took $(( $(date +%s) - start )) s"
