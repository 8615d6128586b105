#!/bin/sh
# `make test-aarch64`: builds nearvm's aarch64 wheel on an emulated arm64 CPython (qemu-user),
# repairs it with auditwheel (manylinux tag), installs it into a fresh virtualenv of that
# interpreter outside the repository and runs the tests listed in scripts/aarch64/tests.txt
# against the installed package (scripts/wheel_tests.py --each), never the tree's python/.
#
#   1. scripts/aarch64/sysroot.sh: arm64 CPython sysroot + arm64 site-packages (cached);
#   2. build/aarch64/root/usr/bin/python3: a host shell script that runs the arm64 interpreter
#      under qemu-aarch64 (binfmt_misc is not assumed to be registered). The test virtualenv's
#      bin/python3 is such a script too, so tests that start `sys.executable -m ...`
#      subprocesses get the emulated interpreter of the virtualenv;
#   3. `setup.py build bdist_wheel` run by the emulated interpreter (the same setuptools backend
#      `pip wheel` drives; the build directory stays under build/aarch64 so objects are reused):
#      Debian's arm64 sysconfig names aarch64-linux-gnu-gcc/g++, which qemu-user starts as
#      ordinary host programs;
#   4. the host's auditwheel repairs the wheel (it reads foreign ELF files; `--strip` gets the
#      cross binutils' strip);
#   5. the emulated pip installs the repaired wheel into the fresh virtualenv; the test
#      dependencies come from the cached arm64 site-packages through a .pth file;
#   6. pytest under emulation, one process per listed path. Host tools the tests call
#      (wasm-tools) are the host venv's x86_64 programs, named through nearvm's tool override
#      variables (qemu-user runs the guest's child processes natively only if they are host
#      binaries).
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

echo "test-aarch64: building the aarch64 wheel (aarch64-linux-gnu-g++)"
start=$(date +%s)
rm -rf "$OUT/dist" "$OUT/wheelhouse"
# Debian's pyconfig.h is a wrapper including <aarch64-linux-gnu/python3.11/pyconfig.h>.
PYTHONPATH=$OUT/site CPPFLAGS="-I$R/usr/include" "$PY" setup.py -q build --build-base "$OUT/build" \
  bdist_wheel --dist-dir "$OUT/dist" > "$OUT/build.log" 2>&1 \
  || { tail -50 "$OUT/build.log"; echo "test-aarch64: wheel build failed" >&2; exit 1; }
mkdir -p "$OUT/bin"
ln -sf "$(command -v aarch64-linux-gnu-strip)" "$OUT/bin/strip"
PATH=$OUT/bin:$(dirname "$HOST_PY"):$PATH "$(dirname "$HOST_PY")/auditwheel" repair --strip \
  -w "$OUT/wheelhouse" "$OUT"/dist/nearvm-*.whl > "$OUT/repair.log" 2>&1 \
  || { cat "$OUT/repair.log"; echo "test-aarch64: auditwheel repair failed" >&2; exit 1; }
WHEEL=$(ls "$OUT"/wheelhouse/nearvm-*.whl)
case "$WHEEL" in
  *-cp310-abi3-manylinux_*_aarch64.whl) ;;
  *) echo "test-aarch64: $WHEEL is not a cp310-abi3 manylinux aarch64 wheel" >&2; exit 1 ;;
esac
echo "test-aarch64: $(basename "$WHEEL") in $(( $(date +%s) - start )) s"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/nearvm-aarch64-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
VENV=$TMP/venv
"$PY" -m venv --without-pip "$VENV"
# The virtualenv's interpreter must see itself as $VENV/bin/python3 (that is how it finds
# pyvenv.cfg): a wrapper giving qemu that argv[0] replaces venv's symlink to the base wrapper.
rm "$VENV/bin/python3"
cat > "$VENV/bin/python3" <<WRAP
#!/bin/sh
exec qemu-aarch64 -L "$R" -0 "$VENV/bin/python3" "$R/usr/bin/python3.11" "\$@"
WRAP
chmod +x "$VENV/bin/python3"
VPY=$VENV/bin/python3
SITE_PACKAGES=$("$VPY" -c "import sysconfig; print(sysconfig.get_path('purelib'))")
case "$SITE_PACKAGES" in "$VENV"/*) ;; *) echo "test-aarch64: virtualenv not in effect ($SITE_PACKAGES)" >&2; exit 1 ;; esac
echo "$OUT/site" > "$SITE_PACKAGES/nearvm-aarch64-test-deps.pth"
"$VPY" -m pip install -q --no-index --no-deps --no-compile --disable-pip-version-check "$WHEEL"

# The spec suite location is what the tree's own default resolves to (unless set).
if [ -z "${NEARVM_SPEC_DIR:-}" ]; then
  NEARVM_SPEC_DIR=$("$HOST_PY" -c "from nearvm.wast import spec_dir; print(spec_dir())")
  export NEARVM_SPEC_DIR
fi

# One pytest process per entry (--each): under qemu-user every 8 GiB linear-memory reservation
# costs tens of MB of emulator bookkeeping, so reservations that one long process accumulates
# (live objects awaiting collection, the idle pool) can exhaust the machine's memory; separate
# processes bound it.
start=$(date +%s)
if [ -n "${AARCH64_TESTS:-}" ]; then
  # AARCH64_TESTS (pytest paths) replaces the list for one run, e.g. to try tests before listing them.
  # shellcheck disable=SC2086
  (cd "$TMP" && "$VPY" "$REPO/scripts/wheel_tests.py" --project "$REPO" --each ${PYTEST_ARGS:-} --only $AARCH64_TESTS)
else
  # shellcheck disable=SC2086
  (cd "$TMP" && "$VPY" "$REPO/scripts/wheel_tests.py" --project "$REPO" --each ${PYTEST_ARGS:-})
fi
echo "test-aarch64: suite against the installed aarch64 wheel took $(( $(date +%s) - start )) s"
