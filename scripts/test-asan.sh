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
start=$(date +%s)
# shellcheck disable=SC2086
PYTHONPATH="$PWD/build/asan-pkg" LD_PRELOAD="$ASAN_LIB" \
  ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:allow_user_segv_handler=1:handle_segv=0:handle_sigbus=0" \
  UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" NEARVM_DIFF_SEEDS="${NEARVM_DIFF_SEEDS:-40}" \
  PATH="$PWD/.venv/bin:$PATH" \
  "$VPY" -m pytest -q -p no:cacheprovider $TESTS "$@"
echo "test-asan: $(( $(date +%s) - start )) s of tests"
