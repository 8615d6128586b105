"""Unit tests of the spec runner itself (``nearvm.wast``), independent of nearvm's frontend/runtime.

A fake ``translate`` (header check → DecodeError, wasmtime's validator → ValidationError) stands in
for the frontend, and ``wasmtime_adapter`` (nearvm's public API on wasmtime-py) for the runtime.
Both exist only here: shipped code never uses them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import wasmtime
from wasmtime_adapter import RUNTIME, Func

from nearvm import wast
from nearvm.errors import DecodeError, StackOverflow, Trap, TrapCode, ValidationError

_WT_ENGINE = RUNTIME.Engine(RUNTIME.Config()).wt


def fake_translate(data: bytes, config: Any) -> object:
    if data[:8] != b"\0asm\1\0\0\0":
        raise DecodeError("bad magic or version", 0)
    try:
        wasmtime.Module.validate(_WT_ENGINE, data)
    except wasmtime.WasmtimeError as exc:
        raise ValidationError(str(exc).splitlines()[0]) from exc
    return object()


def accept_all(data: bytes, config: Any) -> object:
    return object()


SCRIPT = textwrap.dedent(
    """\
    (module (func (export "f") (result i32) i32.const 1))
    (assert_return (invoke "f") (i32.const 1))
    (assert_malformed (module binary "\\00asm\\02\\00\\00\\00") "unknown binary version")
    (assert_malformed (module quote "(func") "unexpected end")
    (assert_invalid (module (func (result i32))) "type mismatch")
    (module $M (memory 1) (func (export "t") unreachable))
    (register "M" $M)
    (assert_trap (invoke $M "t") "unreachable")
    (assert_unlinkable (module (import "M" "nope" (func))) "unknown import")
    """
)
COUNTS = {"module": 2, "assert_return": 1, "assert_malformed": 2, "assert_invalid": 1, "register": 1,
          "assert_trap": 1, "assert_unlinkable": 1}


@pytest.fixture
def script(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("NEARVM_SPEC_CACHE", str(tmp_path / "cache"))
    p = tmp_path / "tiny.wast"
    p.write_text(SCRIPT)
    return p


def statuses(res: wast.FileResult) -> list[tuple[str, str]]:
    return [(r.kind, r.status) for r in res.results]


def test_validate_mode_statuses(script: Path) -> None:
    res = wast.WastRunner("validate", translate=fake_translate, config=None).run_file(script, expected_counts=COUNTS)
    assert statuses(res) == [
        ("module", "pass"),
        ("assert_return", "n/a"),
        ("assert_malformed", "pass"),
        ("assert_malformed", "n/a"),
        ("assert_invalid", "pass"),
        ("module", "pass"),
        ("register", "n/a"),
        ("assert_trap", "n/a"),
        ("assert_unlinkable", "n/a"),
    ]
    assert res.ok, res.problems
    malformed = [r for r in res.results if r.kind == "assert_malformed" and r.status == "pass"]
    assert malformed[0].raised == "DecodeError"
    text = wast.format_summary([res])
    assert "text-format module" in text and "1 files: 1 ok" in text


def test_reconciliation_mismatch_is_a_failure(script: Path) -> None:
    counts = dict(COUNTS, assert_return=2)
    counts.pop("register")
    res = wast.WastRunner("validate", translate=fake_translate).run_file(script, expected_counts=counts)
    assert not res.ok
    assert any("assert_return: ran 1, manifest lists 2" in p for p in res.problems)
    assert any("register: ran 1, manifest lists 0" in p for p in res.problems)


def test_accepting_frontend_fails_with_lines(script: Path) -> None:
    res = wast.WastRunner("validate", translate=accept_all).run_file(script, expected_counts=COUNTS)
    fails = {(r.kind, r.line) for r in res.failures}
    assert fails == {("assert_malformed", 3), ("assert_invalid", 5)}
    assert all("was accepted" in r.reason for r in res.failures)


def test_wrong_error_class(script: Path) -> None:
    def everything_invalid(data: bytes, config: Any) -> object:
        try:
            return fake_translate(data, config)
        except DecodeError as exc:
            raise ValidationError(str(exc)) from exc

    strict = wast.WastRunner("validate", translate=everything_invalid).run_file(script, expected_counts=COUNTS)
    assert [(r.kind, r.raised) for r in strict.failures] == [("assert_malformed", "ValidationError")]
    assert "expected DecodeError" in strict.failures[0].reason
    lenient = wast.WastRunner("validate", translate=everything_invalid, strict_errors=False).run_file(
        script, expected_counts=COUNTS
    )
    assert lenient.ok
    assert [r.raised for r in lenient.results if r.kind == "assert_malformed" and r.status == "pass"] == [
        "ValidationError"
    ]


def test_crashing_frontend_is_a_failure_not_an_abort(script: Path) -> None:
    def crash(data: bytes, config: Any) -> object:
        raise IndexError("boom")

    res = wast.WastRunner("validate", translate=crash).run_file(script, expected_counts=COUNTS)
    assert len(res.results) == 9
    assert all("IndexError" in r.reason for r in res.failures)
    assert {r.kind for r in res.failures} == {"module", "assert_malformed", "assert_invalid", "assert_unlinkable"}


def test_exec_mode_tiny_script(script: Path) -> None:
    res = wast.WastRunner("exec", runtime=RUNTIME, strict_errors=False).run_file(script, expected_counts=COUNTS)
    assert [s for _, s in statuses(res)].count("n/a") == 1
    assert res.ok, (res.problems, res.failures)


def test_unlisted_file_is_a_failure(script: Path, spec_root: Path) -> None:
    manifest = wast.load_manifest(spec_root)
    res = wast.WastRunner("validate", translate=fake_translate).run_file(script, manifest=manifest)
    assert not res.ok and any("not listed" in p for p in res.problems)


def test_conversion_is_cached(script: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = wast.convert(script)
    assert first.is_file() and (first.parent / "complete").is_file()
    assert not str(first).startswith(str(wast.repo_root()))

    def no_subprocess(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("conversion should come from the cache")

    monkeypatch.setattr(wast.subprocess, "run", no_subprocess)
    assert wast.convert(script) == first


def test_missing_suite_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    monkeypatch.setenv("NEARVM_SPEC_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(wast.SpecSuiteError, match="not found"):
        wast.spec_dir()
    assert wast.main_wast(["--mode", "validate", "core"]) == 2
    assert "spec test suite not found" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("ty", "pattern", "bits", "ok"),
    [
        ("f32", "nan:canonical", 0x7FC00000, True),
        ("f32", "nan:canonical", 0xFFC00000, True),
        ("f32", "nan:canonical", 0x7FC00001, False),
        ("f32", "nan:canonical", 0x7FA00000, False),
        ("f32", "nan:arithmetic", 0x7FC00001, True),
        ("f32", "nan:arithmetic", 0xFFE00000, True),
        ("f32", "nan:arithmetic", 0x7F800001, False),  # signalling
        ("f32", "nan:arithmetic", 0x7F800000, False),  # infinity
        ("f64", "nan:canonical", 0x7FF8000000000000, True),
        ("f64", "nan:canonical", 0xFFF8000000000000, True),
        ("f64", "nan:canonical", 0x7FF8000000000001, False),
        ("f64", "nan:arithmetic", 0x7FFC000000000000, True),
        ("f64", "nan:arithmetic", 0x7FF4000000000000, False),
    ],
)
def test_nan_patterns(ty: str, pattern: str, bits: int, ok: bool) -> None:
    assert wast._nan_ok(ty, pattern, bits) is ok


@pytest.mark.parametrize(
    ("expected", "code", "ok"),
    [
        ("undefined element", TrapCode.TABLE_OUT_OF_BOUNDS, True),
        ("undefined element", TrapCode.UNINITIALIZED_ELEMENT, False),
        ("uninitialized element", TrapCode.UNINITIALIZED_ELEMENT, True),
        ("uninitialized element 2", TrapCode.UNINITIALIZED_ELEMENT, True),
        ("out of bounds table access", TrapCode.TABLE_OUT_OF_BOUNDS, True),
        ("out of bounds memory access", TrapCode.TABLE_OUT_OF_BOUNDS, False),
        ("indirect call type mismatch", TrapCode.INDIRECT_CALL_TYPE_MISMATCH, True),
        ("integer overflow", TrapCode.INTEGER_OVERFLOW, True),
        ("integer overflow", TrapCode.INTEGER_DIVIDE_BY_ZERO, False),
        ("invalid conversion to integer", TrapCode.INVALID_CONVERSION, True),
        ("unreachable", TrapCode.UNREACHABLE, True),
        ("call stack exhausted", TrapCode.STACK_OVERFLOW, True),
    ],
)
def test_trap_matching(expected: str, code: TrapCode, ok: bool) -> None:
    assert wast.trap_matches(expected, Trap.from_code(code)) is ok


def test_exhaustion_needs_stack_overflow() -> None:
    assert isinstance(Trap.from_code(TrapCode.STACK_OVERFLOW), StackOverflow)


# Representative files for the exec-mode check against wasmtime: linking and registration, imports
# and the spectest module, NaN payloads through call_raw, references, all trap kinds, exhaustion.
EXEC_FILES = [
    "linking.wast", "imports.wast", "float_misc.wast", "float_memory.wast", "f32.wast", "conversions.wast",
    "ref_func.wast", "ref_is_null.wast", "table_grow.wast", "call_indirect.wast", "start.wast", "elem.wast",
    "data.wast", "fac.wast", "global.wast", "comments.wast", "memory_grow.wast", "traps.wast",
]


def test_exec_mode_against_wasmtime(spec_root: Path, spec_manifest: wast.Manifest) -> None:
    runner = wast.WastRunner("exec", runtime=RUNTIME, strict_errors=False)
    results = [runner.run_file(spec_root / "core" / n, manifest=spec_manifest) for n in EXEC_FILES]
    bad = [(r.path, r.problems, [(f.line, f.reason) for f in r.failures[:5]]) for r in results if not r.ok]
    assert not bad
    assert sum(1 for r in results for c in r.results if c.status == "n/a") == sum(
        spec_manifest.by_path[r.path]["assert_malformed_text"] for r in results
    )


class _CorruptingFunc(Func):
    def call_raw(self, args: Any) -> list[Any]:
        return [v ^ 1 if isinstance(v, int) else v for v in super().call_raw(args)]


def test_exec_mode_detects_wrong_results(spec_root: Path, spec_manifest: wast.Manifest,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Func, "call_raw", _CorruptingFunc.call_raw)
    runner = wast.WastRunner("exec", runtime=RUNTIME, strict_errors=False)
    res = runner.run_file(spec_root / "core" / "float_misc.wast", manifest=spec_manifest)
    assert len(res.failures) == spec_manifest.by_path["core/float_misc.wast"]["counts"]["assert_return"]


def test_exec_mode_detects_wrong_trap_codes(spec_root: Path, spec_manifest: wast.Manifest,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import wasmtime_adapter

    monkeypatch.setitem(wasmtime_adapter._WT_CODES, wasmtime.TrapCode.INDIRECT_CALL_TO_NULL,
                        TrapCode.TABLE_OUT_OF_BOUNDS)
    runner = wast.WastRunner("exec", runtime=RUNTIME, strict_errors=False)
    res = runner.run_file(spec_root / "core" / "table_init.wast", manifest=spec_manifest)
    assert res.failures and all(r.kind == "assert_trap" for r in res.failures)
    assert all("uninitialized element" in r.reason for r in res.failures)


def test_python_m_entry_point() -> None:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    out = subprocess.run([sys.executable, "-m", "nearvm.wast", "--help"], capture_output=True, text=True, env=env)
    assert out.returncode == 0 and "--serialize-roundtrip" in out.stdout and "--mode" in out.stdout


def test_subcommand_hook() -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="nearvm")
    wast.add_wast_subcommand(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["wast", "--mode", "validate", "x.wast"])
    assert args.func is wast.run_from_args and args.mode == "validate" and args.files == ["x.wast"]


def test_roundtrip_requires_exec_mode() -> None:
    with pytest.raises(wast.SpecSuiteError, match="--mode exec"):
        wast.WastRunner("validate", translate=accept_all, serialize_roundtrip=True)
    with pytest.raises(wast.SpecSuiteError, match="not implemented yet"):
        wast.WastRunner("exec", runtime=RUNTIME, serialize_roundtrip=True)
