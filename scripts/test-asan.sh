#!/bin/sh
# ASan + UBSan build of the native extension, and a representative part of the test suite run
# against it (`make test-asan`). The sanitized extension is built out of tree (build/asan-*), so
# the normal in-place build is untouched; an overlay package (build/asan-pkg/nearvm: links to
# python/nearvm plus the sanitized _native) comes first on PYTHONPATH.
#
# CPython is not built with ASan, so its runtime is preloaded (it must come first in the library
# list) and leak detection is off (the interpreter's own allocations would be reported). Any
# ASan report or UBSan "runtime error" fails the run. Python's CFLAGS carry -fwrapv, which turns
# off UBSan's signed-overflow check: -fno-wrapv restores it. setuptools compiles .cpp files with
# CXXFLAGS (not CFLAGS), so both are set.
set -eu
cd "$(dirname "$0")/.."
VPY=${VPY:-.venv/bin/python}
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -fno-wrapv"
export CFLAGS="$SAN" CXXFLAGS="$SAN" LDFLAGS="-fsanitize=address,undefined"
"$VPY" setup.py -q build_ext --build-temp build/asan-tmp --build-lib build/asan-lib
unset CFLAGS CXXFLAGS LDFLAGS

rm -rf build/asan-pkg
mkdir -p build/asan-pkg/nearvm
for f in python/nearvm/* python/nearvm/.[!.]*; do
  [ -e "$f" ] || continue
  case "$(basename "$f")" in _native*|__pycache__) continue ;; esac
  ln -s "$PWD/$f" build/asan-pkg/nearvm/
done
cp build/asan-lib/nearvm/_native*.so build/asan-pkg/nearvm/

ASAN_LIB=$(gcc -print-file-name=libasan.so)
# Which tests: everything that runs wasm, loads artifacts or takes the runtime's error paths,
# without the slow whole-corpus runs (spec scripts, the Rust contracts, benchmarks, packaging).
TESTS=${ASAN_TESTS:-"tests/runtime tests/security tests/artifact tests/metering tests/jit/test_jit_regressions.py tests/jit/test_jit_malformed.py tests/jit/test_jit_differential.py tests/fuzz"}
# The code-memory bound measures RSS: ASan's quarantine (256 MB by default) keeps freed blocks
# resident on purpose, so that test runs in its own process with a small quarantine — freed code
# snapshots are still poisoned for a while, which is where a reclamation bug would show.
BOUNDED=tests/security/test_code_memory_bounded.py
ASAN_BASE="detect_leaks=0:abort_on_error=1:allow_user_segv_handler=1:handle_segv=0:handle_sigbus=0"
run_sanitized() {
  asan_options=$1
  shift
  # shellcheck disable=SC2086
  PYTHONPATH="$PWD/build/asan-pkg" LD_PRELOAD="$ASAN_LIB" ASAN_OPTIONS="$asan_options" \
    UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" NEARVM_DIFF_SEEDS="${NEARVM_DIFF_SEEDS:-40}" \
    PATH="$PWD/.venv/bin:$PATH" \
    "$VPY" -m pytest -q -p no:cacheprovider "$@"
}
start=$(date +%s)
# shellcheck disable=SC2086
run_sanitized "$ASAN_BASE" $TESTS --deselect "$BOUNDED" "$@"
case " $TESTS " in
  *" tests/security "*|*" $BOUNDED "*) run_sanitized "$ASAN_BASE:quarantine_size_mb=4" "$BOUNDED" "$@" ;;
esac
echo "test-asan: $(( $(date +%s) - start )) s of tests"
