#!/bin/sh
# `make test-aarch64`: cross-builds nearvm's extension for aarch64 and runs the tests listed in
# scripts/aarch64/tests.txt on an emulated arm64 CPython (qemu-user), against the built package
# (build/aarch64/build/lib.*), never the tree's python/ directory.
#
#   1. scripts/aarch64/sysroot.sh: arm64 CPython sysroot + arm64 site-packages (cached);
#   2. build/aarch64/root/usr/bin/python3: a host shell script that runs the arm64 interpreter
#      under qemu-aarch64. It is the interpreter's sys.executable, so tests that start
#      `sys.executable -m ...` subprocesses get an emulated interpreter too (binfmt_misc is not
#      assumed to be registered);
#   3. `setup.py build` run by the emulated interpreter: Debian's arm64 sysconfig names
#      aarch64-linux-gnu-gcc/g++, which qemu-user starts as ordinary host programs;
#   4. pytest under emulation. Host tools the tests call (wasm-tools) are the host venv's x86_64
#      programs, named through nearvm's tool override variables (qemu-user runs the guest's
#      child processes natively only if they are host binaries).
# Extra pytest arguments: PYTEST_ARGS (e.g. PYTEST_ARGS="-x -k leb"); AARCH64_TESTS replaces the list.
set -eu
cd "$(dirname "$0")/../.."
REPO=$(pwd)
OUT=$REPO/build/aarch64
R=$OUT/root
HOST_PY=${HOST_PY:-$REPO/.venv/bin/python}
export HOST_PY

./scripts/aarch64/sysroot.sh

cat > "$R/usr/bin/python3" <<WRAP
#!/bin/sh
exec qemu-aarch64 -L "$R" -0 "$R/usr/bin/python3" "$R/usr/bin/python3.11" "\$@"
WRAP
chmod +x "$R/usr/bin/python3"
PY=$R/usr/bin/python3

NEARVM_TOOL_WASM_TOOLS=${NEARVM_TOOL_WASM_TOOLS:-$(dirname "$HOST_PY")/wasm-tools}
export NEARVM_TOOL_WASM_TOOLS

# The emulated interpreter writes bytecode caches (the environment may say otherwise): without
# them every run re-compiles the stdlib and pytest under emulation.
unset PYTHONDONTWRITEBYTECODE

echo "test-aarch64: cross-building the extension (aarch64-linux-gnu-g++)"
start=$(date +%s)
# Debian's pyconfig.h is a wrapper including <aarch64-linux-gnu/python3.11/pyconfig.h>.
PYTHONPATH=$OUT/site CPPFLAGS="-I$R/usr/include" "$PY" setup.py -q build --build-base "$OUT/build" \
  > "$OUT/build.log" 2>&1 || { cat "$OUT/build.log"; echo "test-aarch64: cross-build failed" >&2; exit 1; }
LIB=$(echo "$OUT"/build/lib.linux-aarch64-*)
# ELF e_machine (2 bytes at offset 18) is 183 for AArch64.
for so in "$LIB"/nearvm/_native*.so; do
  [ "$(od -An -tu2 -j18 -N2 "$so" | tr -d ' ')" = 183 ] \
    || { echo "test-aarch64: $so is not an AArch64 object" >&2; exit 1; }
done
echo "test-aarch64: build took $(( $(date +%s) - start )) s"

# The spec suite location is what the tree's own default resolves to (unless set).
if [ -z "${NEARVM_SPEC_DIR:-}" ]; then
  NEARVM_SPEC_DIR=$("$HOST_PY" -c "from nearvm.wast import spec_dir; print(spec_dir())")
  export NEARVM_SPEC_DIR
fi

# AARCH64_TESTS (pytest paths) replaces the list for one run, e.g. to try tests before listing them.
SELECTION=${AARCH64_TESTS:-$(grep -v '^[[:space:]]*#' scripts/aarch64/tests.txt | grep -v '^[[:space:]]*$' | tr '\n' ' ')}
# One pytest process per entry: under qemu-user every 8 GiB linear-memory reservation costs tens
# of MB of emulator bookkeeping, so reservations that one long process accumulates (live objects
# awaiting collection, the idle pool) can exhaust the machine's memory; separate processes bound it.
echo "test-aarch64: pytest under qemu-aarch64: $SELECTION"
total_start=$(date +%s)
failed=""
for entry in $SELECTION; do
  start=$(date +%s)
  # shellcheck disable=SC2086
  if PYTHONPATH=$LIB:$OUT/site "$PY" -m pytest -q -p no:cacheprovider ${PYTEST_ARGS:-} "$entry"; then
    status=ok
  else
    status=FAILED
    failed="$failed $entry"
  fi
  echo "test-aarch64: $entry: $status in $(( $(date +%s) - start )) s"
done
echo "test-aarch64: pytest took $(( $(date +%s) - total_start )) s"
if [ -n "$failed" ]; then
  echo "test-aarch64: FAILED:$failed" >&2
  exit 1
fi
