"""Spec-test runner: executes the WebAssembly core test suite's ``.wast`` scripts.

Scripts are not parsed here. ``wasm-tools json-from-wast`` converts each script to a JSON command
list plus one ``.wasm`` file per module; conversions are cached by the script's sha256, so repeated
runs only pay for JSON loading. Every command gets a result: ``pass``, ``fail`` (with the line and a
reason) or ``n/a`` (with the reason, e.g. a text-format ``module quote`` nearvm cannot read). The
number of commands seen per kind is reconciled with the suite's ``manifest.json``: a difference is a
failure, so a command that was silently dropped cannot go unnoticed.

Two modes:

* ``validate``: only the frontend (``nearvm.wasm.translate``). ``module`` must translate,
  binary ``assert_malformed`` must raise :class:`~nearvm.errors.DecodeError`, ``assert_invalid``
  must raise :class:`~nearvm.errors.ValidationError`; the modules of ``assert_unlinkable`` and
  ``assert_uninstantiable`` must translate (the link/trap check itself is n/a); commands that need
  execution are n/a.
* ``exec``: everything, through the public runtime API (``nearvm.Engine/Store/Module/Instance``),
  with arguments and results passed as exact bit patterns through ``Func.call_raw``.

Command line: ``python -m nearvm.wast [--mode validate|exec] FILE...`` (also ``nearvm wast``).
FILE may be a ``.wast`` file, a directory of them, or a path relative to the suite directory
(``core``, ``core/i32.wast``). The suite is ``../shared/spec-testsuite`` next to the repository,
or ``$NEARVM_SPEC_DIR``; a missing suite is an error, never a skip.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .errors import (
    TRAP_MESSAGES,
    CompileError,
    DecodeError,
    LinkError,
    StackOverflow,
    ToolNotFoundError,
    Trap,
    TrapCode,
    ValidationError,
)
from .toolpath import find_tool

__all__ = [
    "KINDS",
    "CommandResult",
    "FileResult",
    "HostRef",
    "Manifest",
    "Mode",
    "SpecSuiteError",
    "Status",
    "WastRunner",
    "add_wast_subcommand",
    "build_parser",
    "cache_dir",
    "convert",
    "format_summary",
    "load_manifest",
    "main",
    "main_wast",
    "run_files",
    "run_from_args",
    "spec_dir",
    "trap_matches",
]

#: Command kinds, in the order of the suite manifest (``manifest.json`` "kinds").
KINDS: tuple[str, ...] = (
    "module",
    "register",
    "action",
    "assert_return",
    "assert_trap",
    "assert_exhaustion",
    "assert_invalid",
    "assert_malformed",
    "assert_unlinkable",
    "assert_uninstantiable",
)

Mode = Literal["validate", "exec"]
Status = Literal["pass", "fail", "n/a"]

#: Trap texts the suite uses that differ from ``TRAP_MESSAGES`` but name the same trap. The spec
#: interpreter says "undefined element" for a call_indirect past the table's end (nearvm:
#: TABLE_OUT_OF_BOUNDS, as Wasmtime); expected texts may carry a suffix ("uninitialized element 2").
TRAP_ALIASES: dict[TrapCode, tuple[str, ...]] = {
    TrapCode.UNREACHABLE: ("unreachable executed",),
    TrapCode.TABLE_OUT_OF_BOUNDS: ("undefined element", "table index is out of bounds"),
    TrapCode.UNINITIALIZED_ELEMENT: ("uninitialized",),
    TrapCode.STACK_OVERFLOW: ("stack overflow", "call stack exhausted"),
}

_MASK = {"i32": 0xFFFF_FFFF, "f32": 0xFFFF_FFFF, "i64": 0xFFFF_FFFF_FFFF_FFFF, "f64": 0xFFFF_FFFF_FFFF_FFFF}
#: Per float type: (sign-less mask, canonical NaN without sign, quiet NaN exponent+quiet-bit pattern).
_NAN = {
    "f32": (0x7FFF_FFFF, 0x7FC0_0000, 0x7FC0_0000),
    "f64": (0x7FFF_FFFF_FFFF_FFFF, 0x7FF8_0000_0000_0000, 0x7FF8_0000_0000_0000),
}
_LANE_BITS = {"i8": 8, "i16": 16, "i32": 32, "i64": 64, "f32": 32, "f64": 64}


class SpecSuiteError(Exception):
    """The suite, the converter or the manifest is missing or broken (a failure, never a skip)."""


# --------------------------------------------------------------------------------------------
# Locations, conversion cache, manifest
# --------------------------------------------------------------------------------------------


def repo_root() -> Path:
    """The source checkout this module lives in (``python/nearvm/wast.py`` → repo root)."""
    return Path(__file__).resolve().parents[2]


def spec_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The spec suite directory: ``override``, ``$NEARVM_SPEC_DIR`` or ``<repo>/../shared/spec-testsuite``."""
    env = os.environ.get("NEARVM_SPEC_DIR")
    if override is not None:
        path, source = Path(override), "argument"
    elif env:
        path, source = Path(env), "$NEARVM_SPEC_DIR"
    else:
        path, source = repo_root().parent / "shared" / "spec-testsuite", "default location"
    if not (path / "manifest.json").is_file():
        raise SpecSuiteError(
            f"spec test suite not found at {path} ({source}): expected {path / 'manifest.json'}; "
            "set NEARVM_SPEC_DIR to the directory holding manifest.json, core/ and simd/"
        )
    return path.resolve()


def cache_dir() -> Path:
    """Conversion cache: ``$NEARVM_SPEC_CACHE``, else ``$XDG_CACHE_HOME/nearvm/spec`` (``~/.cache``)."""
    env = os.environ.get("NEARVM_SPEC_CACHE")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "nearvm" / "spec"


@functools.cache
def _wasm_tools() -> tuple[str, str]:
    """(executable, version string) of the ``wasm-tools`` CLI."""
    try:
        exe = find_tool("wasm-tools")
    except ToolNotFoundError as e:
        raise SpecSuiteError(str(e)) from None
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SpecSuiteError(f"`wasm-tools --version` failed: {out.stderr.strip()}")
    parts = out.stdout.split()
    return exe, parts[1] if len(parts) > 1 else out.stdout.strip()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def convert(wast: str | os.PathLike[str], cache: Path | None = None) -> Path:
    """Convert ``wast`` with ``wasm-tools json-from-wast`` (cached); return the JSON file's path.

    The cache entry is ``<cache>/<sha256 of the script>-wasm-tools-<version>/<stem>.json`` with the
    modules next to it. Entries are created in a temporary directory and renamed into place, so a
    concurrent or interrupted run never leaves a half-written entry behind.
    """
    src = Path(wast)
    if not src.is_file():
        raise SpecSuiteError(f"no such .wast file: {src}")
    exe, version = _wasm_tools()
    root = cache if cache is not None else cache_dir()
    entry = root / f"{_sha256(src)}-wasm-tools-{version}"
    target = entry / f"{src.stem}.json"
    if (entry / "complete").is_file() and target.is_file():
        return target
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".convert-", dir=root))
    try:
        proc = subprocess.run(
            [exe, "json-from-wast", str(src), "-o", str(tmp / target.name), "--wasm-dir", str(tmp)],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise SpecSuiteError(f"wasm-tools json-from-wast failed on {src}: {proc.stderr.strip()}")
        (tmp / "complete").write_text(f"{src}\n")
        if entry.exists():  # stale (incomplete) entry or a concurrent run won
            shutil.rmtree(entry, ignore_errors=True)
        try:
            os.replace(tmp, entry)
        except OSError:
            if not (entry / "complete").is_file():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


@dataclass
class Manifest:
    """``manifest.json`` of the suite, indexed by relative path and by sha256."""

    root: Path
    data: dict[str, Any]
    by_path: dict[str, dict[str, Any]]
    by_sha: dict[str, dict[str, Any]]

    def lookup(self, wast: Path) -> tuple[dict[str, Any] | None, str | None]:
        """The entry for ``wast`` and, if something is off, why (``(None, reason)`` if unlisted)."""
        sha = _sha256(wast)
        try:
            rel = wast.resolve().relative_to(self.root).as_posix()
        except ValueError:
            rel = None
        if rel is not None and rel in self.by_path:
            entry = self.by_path[rel]
            if entry["sha256"] != sha:
                return entry, f"{rel}: sha256 {sha} differs from the manifest's {entry['sha256']} (file changed?)"
            return entry, None
        if sha in self.by_sha:
            return self.by_sha[sha], None
        return None, f"{wast}: not listed in {self.root / 'manifest.json'} (by path or sha256)"

    def files(self, group: str) -> list[str]:
        return sorted(e["path"] for e in self.data["files"] if e.get("group") == group)


def load_manifest(root: Path | None = None) -> Manifest:
    base = root if root is not None else spec_dir()
    try:
        data = json.loads((base / "manifest.json").read_text())
    except (OSError, ValueError) as exc:
        raise SpecSuiteError(f"cannot read {base / 'manifest.json'}: {exc}") from exc
    files = data.get("files")
    if not isinstance(files, list):
        raise SpecSuiteError(f"{base / 'manifest.json'}: no 'files' list")
    return Manifest(
        root=base.resolve(),
        data=data,
        by_path={e["path"]: e for e in files},
        by_sha={e["sha256"]: e for e in files},
    )


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


@dataclass
class CommandResult:
    kind: str
    line: int
    status: Status
    reason: str = ""
    #: Class name of the error the engine raised, where one was expected or seen.
    raised: str | None = None


@dataclass
class FileResult:
    path: str
    mode: Mode
    results: list[CommandResult] = field(default_factory=list)
    seen: Counter[str] = field(default_factory=Counter)
    #: Manifest counts per kind (None: file not in the manifest).
    expected: dict[str, int] | None = None
    #: Reconciliation problems and file-level errors (each one is a failure).
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    #: Exec mode with ``gas``: the Store's ``gas_used`` at the end of the script (else None).
    gas_used: int | None = None

    @property
    def failures(self) -> list[CommandResult]:
        return [r for r in self.results if r.status == "fail"]

    @property
    def ok(self) -> bool:
        return not self.problems and not self.failures

    def counts(self) -> dict[str, Counter[str]]:
        """Per kind: Counter of statuses."""
        out: dict[str, Counter[str]] = {}
        for r in self.results:
            out.setdefault(r.kind, Counter())[r.status] += 1
        return out

    def reconcile(self) -> None:
        """Compare the seen per-kind counts with the manifest's; record differences as problems."""
        if self.expected is None:
            return
        for kind in sorted(set(KINDS) | set(self.expected) | set(self.seen), key=_kind_order):
            want, got = self.expected.get(kind, 0), self.seen.get(kind, 0)
            if want != got:
                self.problems.append(f"manifest reconciliation: {kind}: ran {got}, manifest lists {want}")
        per_kind = Counter(r.kind for r in self.results)
        if per_kind != self.seen:
            self.problems.append(f"internal: results {dict(per_kind)} != commands seen {dict(self.seen)}")


def _kind_order(kind: str) -> tuple[int, str]:
    return (KINDS.index(kind) if kind in KINDS else len(KINDS), kind)


class _Fail(Exception):
    """A command failed (carries the reason and, optionally, the raised error's class name)."""

    def __init__(self, reason: str, raised: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.raised = raised


class _NotApplicable(Exception):
    pass


class HostRef:
    """The host object standing for ``(ref.extern N)`` in a script (one per N and file)."""

    __slots__ = ("number",)

    def __init__(self, number: int) -> None:
        self.number = number

    def __repr__(self) -> str:
        return f"HostRef({self.number})"


# --------------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------------


def _parse_int(text: str, mask: int) -> int:
    return int(text, 0) & mask


def _fmt_bits(ty: str, bits: Any) -> str:
    if isinstance(bits, int) and ty in _MASK:
        width = 8 if _MASK[ty] == 0xFFFF_FFFF else 16
        return f"0x{bits & _MASK[ty]:0{width}x}"
    return repr(bits)


def _nan_ok(ty: str, pattern: str, bits: int) -> bool:
    no_sign, canonical, quiet = _NAN[ty]
    if pattern == "nan:canonical":
        return bits & no_sign == canonical
    if pattern == "nan:arithmetic":
        return bits & quiet == quiet
    raise _Fail(f"unknown NaN pattern {pattern!r}")


def _v128_lanes(value: Any, lane_type: str) -> list[str]:
    if not isinstance(value, list) or lane_type not in _LANE_BITS:
        raise _Fail(f"unsupported v128 value {value!r} (lane_type {lane_type!r})")
    return [str(v) for v in value]


def trap_matches(expected: str, exc: BaseException) -> bool:
    """Does ``exc`` (a Trap) match the script's expected trap text?

    The trap's ``code`` maps to its message in ``nearvm.errors.TRAP_MESSAGES`` plus the
    ``TRAP_ALIASES``; the expected text matches when one of them is a prefix of it or vice versa
    (the reference interpreter compares prefixes). Without a code, the exception's text is used.
    """
    texts: list[str] = []
    code = getattr(exc, "code", None)
    if code is not None:
        try:
            tc = TrapCode(code)
        except ValueError:
            tc = None
        if tc is not None:
            texts.append(TRAP_MESSAGES[tc])
            texts.extend(TRAP_ALIASES.get(tc, ()))
    else:
        texts.append(str(exc))
    exp = expected.strip()
    return any(t and (exp.startswith(t) or t.startswith(exp)) for t in texts)


# --------------------------------------------------------------------------------------------
# The runner
# --------------------------------------------------------------------------------------------

TranslateFn = Callable[[bytes, Any], Any]


def _default_frontend() -> tuple[TranslateFn, Any]:
    try:
        from .config import Config
        from .wasm import translate
    except ImportError as exc:
        raise SpecSuiteError(
            f"the frontend is not available (nearvm.wasm.translate, nearvm.config.Config): {exc}"
        ) from exc
    return translate, Config()


def _default_runtime() -> Any:
    import nearvm

    missing = [n for n in ("Engine", "Config", "Store", "Module", "Instance", "Func", "Global", "Memory", "Table")
               if not hasattr(nearvm, n)]
    if missing:
        raise SpecSuiteError(f"the runtime is not built yet: nearvm lacks {', '.join(missing)} (use --mode validate)")
    return nearvm


class WastRunner:
    """Runs converted scripts in one mode.

    ``translate``/``config`` (validate mode) default to ``nearvm.wasm.translate`` and
    ``nearvm.config.Config()``; ``runtime`` (exec mode) defaults to the ``nearvm`` package and must
    provide the public API of docs/design.md (Engine, Config, Store, Module, Instance, Func,
    FuncType, ValType, Global, GlobalType, Memory, MemoryType, Table, TableType), raising the
    exceptions of :mod:`nearvm.errors`.
    """

    def __init__(
        self,
        mode: Mode = "validate",
        *,
        translate: TranslateFn | None = None,
        config: Any = None,
        runtime: Any = None,
        serialize_roundtrip: bool = False,
        strict_errors: bool = True,
        gas: int | None = None,
    ) -> None:
        if mode not in ("validate", "exec"):
            raise ValueError(f"mode must be 'validate' or 'exec', not {mode!r}")
        if gas is not None and (not isinstance(gas, int) or isinstance(gas, bool) or gas < 0):
            raise ValueError(f"gas must be a non-negative int or None, not {gas!r}")
        self.mode: Mode = mode
        #: ``--gas C``: compile with ``Config(gas=GasSchedule.uniform(C))`` and run every script on a
        #: Store with an unlimited budget (metering must not change any spec result).
        self.gas = gas
        self.strict_errors = strict_errors
        self.serialize_roundtrip = serialize_roundtrip
        self._translate = translate
        self._config = config
        self._rt = runtime
        if mode == "validate":
            if serialize_roundtrip:
                raise SpecSuiteError("--serialize-roundtrip needs --mode exec (artifacts come from the runtime)")
            if self._translate is None:
                self._translate, default_config = _default_frontend()
                if self._config is None:
                    self._config = default_config
                if gas is not None:
                    from .config import GasSchedule

                    self._config = dataclasses.replace(self._config, gas=GasSchedule.uniform(gas))
        else:
            if self._rt is None:
                self._rt = _default_runtime()
            if serialize_roundtrip and not (
                hasattr(self._rt.Module, "serialize") and hasattr(self._rt.Module, "deserialize")
            ):
                raise SpecSuiteError("--serialize-roundtrip: not implemented yet (nearvm.Module.serialize/deserialize)")

    # ---------------------------------------------------------------- per file

    def run_file(
        self,
        wast: str | os.PathLike[str],
        *,
        manifest: Manifest | None = None,
        json_path: Path | None = None,
        expected_counts: Mapping[str, int] | None = None,
        cache: Path | None = None,
    ) -> FileResult:
        """Run one script. Manifest counts come from ``expected_counts`` or ``manifest``'s entry."""
        start = time.perf_counter()
        src = Path(wast)
        res = FileResult(path=str(src), mode=self.mode)
        try:
            if expected_counts is not None:
                res.expected = dict(expected_counts)
            elif manifest is not None:
                entry, problem = manifest.lookup(src)
                if problem:
                    res.problems.append(problem)
                if entry is not None:
                    res.expected = dict(entry["counts"])
                    res.path = entry["path"]
            jpath = json_path if json_path is not None else convert(src, cache)
            script = json.loads(jpath.read_text())
            commands = script.get("commands")
            if not isinstance(commands, list):
                raise SpecSuiteError(f"{jpath}: no 'commands' list")
            state = _FileState(self, jpath.parent, res)
            try:
                state.run(commands)
            finally:
                if self.mode == "exec" and self.gas is not None:
                    res.gas_used = state.store.gas_used
        except SpecSuiteError as exc:
            res.problems.append(str(exc))
        res.reconcile()
        res.seconds = time.perf_counter() - start
        return res


class _FileState:
    """Interpreter state for one script (one Store in exec mode)."""

    def __init__(self, runner: WastRunner, wasm_dir: Path, result: FileResult) -> None:
        self.runner = runner
        self.mode = runner.mode
        self.dir = wasm_dir
        self.result = result
        self.rt = runner._rt
        self.externrefs: dict[int, HostRef] = {}
        self.current: Any = None
        self.current_failed: str | None = None
        self.named: dict[str, Any] = {}
        self.registry: dict[str, Mapping[str, Any]] = {}
        if self.mode == "exec":
            rt = self.rt
            if runner.gas is None:
                self.engine = rt.Engine(rt.Config())
                self.store = rt.Store(self.engine)
            else:  # metered: every module charges, the budget is unlimited (gas_limit=None)
                self.engine = rt.Engine(rt.Config(gas=rt.GasSchedule.uniform(runner.gas)))
                self.store = rt.Store(self.engine, gas_limit=None)
            self.registry["spectest"] = self._spectest()

    # ---------------------------------------------------------------- dispatch

    def run(self, commands: Iterable[dict[str, Any]]) -> None:
        for cmd in commands:
            kind = str(cmd.get("type"))
            line = int(cmd.get("line", 0))
            self.result.seen[kind] += 1
            handler = getattr(self, f"_cmd_{kind}", None)
            try:
                if handler is None:
                    raise _Fail(f"unknown command type {kind!r}")
                raised = handler(cmd)
                self.result.results.append(CommandResult(kind, line, "pass", "", raised))
            except _NotApplicable as exc:
                self.result.results.append(CommandResult(kind, line, "n/a", str(exc)))
            except _Fail as exc:
                self.result.results.append(CommandResult(kind, line, "fail", exc.reason, exc.raised))
            except SpecSuiteError:
                raise
            except Exception as exc:  # an engine bug must not abort the file
                self.result.results.append(
                    CommandResult(kind, line, "fail", f"unexpected {type(exc).__name__}: {exc}", type(exc).__name__)
                )

    # ---------------------------------------------------------------- helpers

    def _binary(self, cmd: dict[str, Any]) -> bytes:
        """The module's bytes; n/a for text-format modules wasm-tools could not turn into binary."""
        if cmd.get("module_type", "binary") == "text":
            binary = cmd.get("binary_filename")
            if not binary:
                raise _NotApplicable("text-format module (module quote): nearvm reads binaries only")
            return (self.dir / binary).read_bytes()
        try:
            return (self.dir / cmd["filename"]).read_bytes()
        except OSError as exc:
            raise SpecSuiteError(f"converted module missing: {exc}") from exc

    def _compile(self, data: bytes) -> Any:
        """Frontend (validate) or ``Module`` (exec); CompileError propagates."""
        if self.mode == "validate":
            assert self.runner._translate is not None
            return self.runner._translate(data, self.runner._config)
        rt = self.rt
        module = rt.Module(self.engine, data)
        if self.runner.serialize_roundtrip:
            # An in-process round trip: the bytes never left this process.
            module = rt.Module.deserialize(self.engine, module.serialize(), trusted_unauthenticated=True)
        return module

    def _compile_ok(self, data: bytes) -> Any:
        try:
            return self._compile(data)
        except CompileError as exc:
            raise _Fail(f"module should be valid, got {type(exc).__name__}: {exc}", type(exc).__name__) from exc

    def _expect_compile_error(self, cmd: dict[str, Any], want: type[CompileError]) -> str:
        data = self._binary(cmd)
        text = cmd.get("text", "")
        try:
            self._compile(data)
        except want as exc:
            return type(exc).__name__
        except CompileError as exc:
            name = type(exc).__name__
            msg = f"expected {want.__name__} ({text!r}), got {name}: {exc}"
            if self.runner.strict_errors:
                raise _Fail(msg, name) from exc
            return name
        raise _Fail(f"expected {want.__name__} ({text!r}), but the module was accepted")

    def _exec_only(self) -> None:
        if self.mode != "exec":
            raise _NotApplicable("execution command (validate mode)")

    def _instantiate(self, module: Any) -> Any:
        rt = self.rt
        imports: dict[str, dict[str, Any]] = {}
        for imp in getattr(module, "imports", ()):
            mod, name = imp[0], imp[1]
            exports = self.registry.get(mod)
            if exports is not None and name in exports:
                imports.setdefault(mod, {})[name] = exports[name]
        return rt.Instance(self.store, module, imports)

    def _instance(self, name: str | None) -> Any:
        if name is not None:
            if name not in self.named:
                raise _Fail(f"unknown module ${name}")
            return self.named[name]
        if self.current is None:
            raise _Fail(f"no current module ({self.current_failed or 'none defined yet'})")
        return self.current

    def _externref(self, text: str) -> HostRef:
        n = int(text, 0)
        ref = self.externrefs.get(n)
        if ref is None:
            ref = self.externrefs[n] = HostRef(n)
        return ref

    def _arg(self, v: dict[str, Any]) -> Any:
        ty, value = v["type"], v.get("value")
        if ty in _MASK:
            return _parse_int(str(value), _MASK[ty])
        if ty in ("externref", "funcref"):
            if value == "null":
                return None
            if ty == "externref" and value is not None:
                return self._externref(str(value))
            raise _Fail(f"cannot pass {ty} argument {value!r}")
        if ty == "v128":
            lane_type = v.get("lane_type", "")
            lanes = _v128_lanes(value, lane_type)
            bits, width = 0, _LANE_BITS[lane_type]
            for i, lane in enumerate(lanes):
                bits |= (int(lane, 0) & ((1 << width) - 1)) << (i * width)
            return bits
        raise _Fail(f"unsupported argument type {ty!r}")

    def _check(self, exp: dict[str, Any], got: Any) -> str | None:
        """None if ``got`` matches ``exp``; else a description of the mismatch."""
        ty, value = exp["type"], exp.get("value")
        if ty in _MASK:
            if not isinstance(got, int) or isinstance(got, bool):
                return f"expected {ty} bits, got {type(got).__name__} {got!r}"
            bits = got & _MASK[ty]
            if isinstance(value, str) and value.startswith("nan:"):
                ok = _nan_ok(ty, value, bits)
                return None if ok else f"expected {ty} {value}, got {_fmt_bits(ty, bits)}"
            want = _parse_int(str(value), _MASK[ty])
            return None if bits == want else f"expected {ty} {_fmt_bits(ty, want)}, got {_fmt_bits(ty, bits)}"
        if ty in ("externref", "funcref"):
            if value == "null":
                return None if got is None else f"expected {ty} null, got {got!r}"
            if value is None:  # (ref.func) / (ref.extern) without a number: any non-null reference
                return None if got is not None else f"expected non-null {ty}, got null"
            if ty == "externref":
                want_ref = self._externref(str(value))
                return None if got is want_ref else f"expected externref {value}, got {got!r}"
            return f"unsupported funcref expectation {value!r}"
        if ty == "v128":
            lane_type = exp.get("lane_type", "")
            lanes = _v128_lanes(value, lane_type)
            if not isinstance(got, int):
                return f"expected v128 bits (int), got {type(got).__name__}"
            width = _LANE_BITS[lane_type]
            lmask = (1 << width) - 1
            for i, lane in enumerate(lanes):
                lane_bits = (got >> (i * width)) & lmask
                if lane.startswith("nan:"):
                    ok = _nan_ok(lane_type, lane, lane_bits)
                else:
                    ok = lane_bits == int(lane, 0) & lmask
                if not ok:
                    return f"v128 lane {i} ({lane_type}): expected {lane}, got 0x{lane_bits:x}"
            return None
        return f"unsupported result type {ty!r}"

    def _perform(self, action: dict[str, Any]) -> list[Any]:
        inst = self._instance(action.get("module"))
        fieldname = action["field"]
        try:
            ext = inst.exports[fieldname]
        except KeyError:
            raise _Fail(f"no export {fieldname!r}") from None
        if action["type"] == "invoke":
            args = [self._arg(a) for a in action.get("args", [])]
            results = ext.call_raw(args)
            return list(results)
        if action["type"] == "get":
            getter = getattr(ext, "get_raw", None)
            return [getter() if getter is not None else ext.value]
        raise _Fail(f"unknown action type {action['type']!r}")

    def _expect_trap(self, action: dict[str, Any], text: str, want: type[Trap] = Trap) -> str:
        try:
            results = self._perform(action)
        except Trap as exc:
            name = type(exc).__name__
            if not isinstance(exc, want):
                raise _Fail(f"expected {want.__name__} ({text!r}), got {name}: {exc}", name) from exc
            if not trap_matches(text, exc):
                code = getattr(exc, "code", None)
                raise _Fail(f"expected trap {text!r}, got {code!s}: {exc}", name) from exc
            return name
        raise _Fail(f"expected trap {text!r}, returned {results!r}")

    def _spectest(self) -> dict[str, Any]:
        rt = self.rt
        vt = rt.ValType

        def printer(*_args: Any) -> None:
            return None

        funcs = {
            "print": [],
            "print_i32": [vt.I32],
            "print_i64": [vt.I64],
            "print_f32": [vt.F32],
            "print_f64": [vt.F64],
            "print_i32_f32": [vt.I32, vt.F32],
            "print_f64_f64": [vt.F64, vt.F64],
        }
        out: dict[str, Any] = {
            name: rt.Func(self.store, rt.FuncType(params, []), printer) for name, params in funcs.items()
        }
        out["global_i32"] = rt.Global(self.store, rt.GlobalType(vt.I32, mutable=False), 666)
        out["global_i64"] = rt.Global(self.store, rt.GlobalType(vt.I64, mutable=False), 666)
        out["global_f32"] = rt.Global(self.store, rt.GlobalType(vt.F32, mutable=False), 666.6)
        out["global_f64"] = rt.Global(self.store, rt.GlobalType(vt.F64, mutable=False), 666.6)
        out["table"] = rt.Table(self.store, rt.TableType(vt.FUNCREF, 10, 20))
        out["memory"] = rt.Memory(self.store, rt.MemoryType(1, 2))
        return out

    # ---------------------------------------------------------------- commands

    def _cmd_module(self, cmd: dict[str, Any]) -> str | None:
        name = cmd.get("name")
        if self.mode == "validate":
            self._compile_ok(self._binary(cmd))
            return None
        self.current = None
        try:
            data = self._binary(cmd)
        except _NotApplicable as exc:
            self.current_failed = f"module at line {cmd.get('line')} is n/a"
            raise exc
        self.current_failed = f"module at line {cmd.get('line')} failed"
        module = self._compile_ok(data)
        try:
            inst = self._instantiate(module)
        except (LinkError, Trap) as exc:
            raise _Fail(f"instantiation failed: {type(exc).__name__}: {exc}", type(exc).__name__) from exc
        self.current, self.current_failed = inst, None
        if name is not None:
            self.named[name] = inst
        return None

    def _cmd_register(self, cmd: dict[str, Any]) -> None:
        self._exec_only()
        inst = self._instance(cmd.get("name"))
        self.registry[cmd["as"]] = inst.exports

    def _cmd_action(self, cmd: dict[str, Any]) -> None:
        self._exec_only()
        try:
            self._perform(cmd["action"])
        except Trap as exc:
            raise _Fail(f"action trapped: {exc}", type(exc).__name__) from exc

    def _cmd_assert_return(self, cmd: dict[str, Any]) -> None:
        self._exec_only()
        try:
            results = self._perform(cmd["action"])
        except Trap as exc:
            raise _Fail(f"trapped: {exc}", type(exc).__name__) from exc
        expected = cmd.get("expected", [])
        if len(results) != len(expected):
            raise _Fail(f"expected {len(expected)} results, got {len(results)}: {results!r}")
        for i, (exp, got) in enumerate(zip(expected, results)):
            problem = self._check(exp, got)
            if problem is not None:
                raise _Fail(f"result {i}: {problem}")

    def _cmd_assert_trap(self, cmd: dict[str, Any]) -> str:
        self._exec_only()
        return self._expect_trap(cmd["action"], cmd.get("text", ""))

    def _cmd_assert_exhaustion(self, cmd: dict[str, Any]) -> str:
        self._exec_only()
        return self._expect_trap(cmd["action"], cmd.get("text", ""), StackOverflow)

    def _cmd_assert_invalid(self, cmd: dict[str, Any]) -> str:
        return self._expect_compile_error(cmd, ValidationError)

    def _cmd_assert_malformed(self, cmd: dict[str, Any]) -> str:
        return self._expect_compile_error(cmd, DecodeError)

    def _module_for_instantiation(self, cmd: dict[str, Any]) -> Any:
        module = self._compile_ok(self._binary(cmd))
        if self.mode == "validate":
            raise _NotApplicable("needs the runtime (exec mode); the module translated OK")
        return module

    def _cmd_assert_unlinkable(self, cmd: dict[str, Any]) -> str:
        module = self._module_for_instantiation(cmd)
        text = cmd.get("text", "")
        try:
            self._instantiate(module)
        except LinkError as exc:
            return type(exc).__name__
        except Trap as exc:
            raise _Fail(f"expected LinkError ({text!r}), got {type(exc).__name__}: {exc}", type(exc).__name__) from exc
        raise _Fail(f"expected LinkError ({text!r}), but instantiation succeeded")

    def _cmd_assert_uninstantiable(self, cmd: dict[str, Any]) -> str:
        module = self._module_for_instantiation(cmd)
        text = cmd.get("text", "")
        try:
            self._instantiate(module)
        except Trap as exc:
            if not trap_matches(text, exc):
                code = getattr(exc, "code", None)
                raise _Fail(f"expected trap {text!r}, got {code!s}: {exc}", type(exc).__name__) from exc
            return type(exc).__name__
        except LinkError as exc:
            raise _Fail(f"expected trap {text!r}, got LinkError: {exc}", "LinkError") from exc
        raise _Fail(f"expected trap {text!r} during instantiation, but it succeeded")


# --------------------------------------------------------------------------------------------
# Several files, summary, CLI
# --------------------------------------------------------------------------------------------


def resolve_inputs(paths: Sequence[str], root: Path | None) -> list[Path]:
    """Files and directories (``*.wast`` inside, sorted); relative names also tried under the suite."""
    out: list[Path] = []
    for p in paths:
        cand = Path(p)
        if not cand.exists() and root is not None and (root / p).exists():
            cand = root / p
        if cand.is_dir():
            found = sorted(cand.glob("*.wast"))
            if not found:
                raise SpecSuiteError(f"no .wast files in {cand}")
            out.extend(found)
        elif cand.is_file():
            out.append(cand)
        else:
            raise SpecSuiteError(f"no such file or directory: {p}")
    return out


def run_files(
    files: Sequence[Path],
    runner: WastRunner,
    manifest: Manifest | None,
    *,
    allow_unlisted: bool = False,
    progress: Callable[[FileResult], None] | None = None,
) -> list[FileResult]:
    results = []
    for f in files:
        res = runner.run_file(f, manifest=manifest)
        if allow_unlisted and res.expected is None:
            res.problems = [p for p in res.problems if "not listed in" not in p]
        results.append(res)
        if progress is not None:
            progress(res)
    return results


def format_summary(results: Sequence[FileResult], *, max_failures: int | None = 50) -> str:
    """Per-kind table (passed / failed / n/a / seen / manifest), failures, n/a reasons, totals."""
    per_kind: dict[str, Counter[str]] = {}
    seen: Counter[str] = Counter()
    manifest: Counter[str] = Counter()
    na_reasons: Counter[tuple[str, str]] = Counter()
    raised: Counter[tuple[str, str]] = Counter()
    for res in results:
        for kind, c in res.counts().items():
            per_kind.setdefault(kind, Counter()).update(c)
        seen.update(res.seen)
        if res.expected is not None:
            manifest.update(res.expected)
        for r in res.results:
            if r.status == "n/a":
                na_reasons[(r.kind, r.reason)] += 1
            if r.raised and r.kind in ("assert_malformed", "assert_invalid"):
                raised[(r.kind, r.raised)] += 1
    kinds = sorted(set(KINDS) | set(per_kind) | set(seen), key=_kind_order)
    lines = [f"{'kind':<24}{'passed':>9}{'failed':>9}{'n/a':>9}{'seen':>9}{'manifest':>10}"]
    tot: Counter[str] = Counter()
    for kind in kinds:
        c = per_kind.get(kind, Counter())
        tot.update(c)
        lines.append(f"{kind:<24}{c['pass']:>9}{c['fail']:>9}{c['n/a']:>9}{seen[kind]:>9}{manifest[kind]:>10}")
    lines.append(
        f"{'total':<24}{tot['pass']:>9}{tot['fail']:>9}{tot['n/a']:>9}{sum(seen.values()):>9}{sum(manifest.values()):>10}"
    )
    if raised:
        lines.append("")
        lines.append("errors raised for assert_malformed / assert_invalid (class: count):")
        for (kind, name), n in sorted(raised.items()):
            lines.append(f"  {kind}: {name}: {n}")
    if na_reasons:
        lines.append("")
        lines.append("not applicable:")
        for (kind, reason), n in sorted(na_reasons.items(), key=lambda kv: _kind_order(kv[0][0])):
            lines.append(f"  {kind}: {n} × {reason}")
    problems = [(res.path, p) for res in results for p in res.problems]
    failures = [(res.path, r) for res in results for r in res.failures]
    if problems:
        lines.append("")
        lines.append("file problems:")
        lines.extend(f"  {path}: {p}" for path, p in problems)
    if failures:
        lines.append("")
        lines.append(f"failures ({len(failures)}):")
        shown = failures if max_failures is None else failures[:max_failures]
        lines.extend(f"  {path}:{r.line}: {r.kind}: {r.reason}" for path, r in shown)
        if len(shown) < len(failures):
            lines.append(f"  ... {len(failures) - len(shown)} more (use --max-failures 0 to show all)")
    bad = sum(1 for r in results if not r.ok)
    secs = sum(r.seconds for r in results)
    lines.append("")
    lines.append(
        f"{len(results)} files: {len(results) - bad} ok, {bad} failed; "
        f"{tot['pass']} passed, {tot['fail']} failed, {tot['n/a']} n/a; {len(problems)} file problems; {secs:.1f}s"
    )
    return "\n".join(lines)


def _configure_parser(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("files", nargs="+", metavar="FILE", help=".wast file, directory, or path relative to the suite")
    p.add_argument("--mode", choices=("validate", "exec"), default="exec",
                   help="validate: frontend only (decode/validate); exec: everything (needs the runtime)")
    p.add_argument("--serialize-roundtrip", action="store_true",
                   help="exec mode: serialize and deserialize every module before instantiating it")
    p.add_argument("--spec-dir", default=None,
                   help="suite directory (default: $NEARVM_SPEC_DIR or ../shared/spec-testsuite)")
    p.add_argument("--lenient-errors", action="store_true",
                   help="accept any CompileError for assert_malformed/assert_invalid (the class is still reported)")
    p.add_argument("--allow-unlisted", action="store_true",
                   help="scripts missing from manifest.json are not a failure (no reconciliation for them)")
    p.add_argument("--gas", type=int, default=None, metavar="C",
                   help="meter with GasSchedule.uniform(C) and an unlimited budget (results must not change)")
    p.add_argument("--max-failures", type=int, default=50, help="failures to list (0: all)")
    p.add_argument("-v", "--verbose", action="store_true", help="one line per file")
    p.set_defaults(func=run_from_args)
    return p


def build_parser(prog: str = "nearvm wast") -> argparse.ArgumentParser:
    return _configure_parser(argparse.ArgumentParser(prog=prog, description="Run WebAssembly spec .wast scripts."))


def add_wast_subcommand(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``wast`` to a CLI's subparsers; dispatch with ``args.func(args)`` (returns the exit code)."""
    p = subparsers.add_parser("wast", help="run WebAssembly spec .wast scripts",
                              description="Run WebAssembly spec .wast scripts.")
    return _configure_parser(p)


def _standalone(args: argparse.Namespace) -> bool:
    """Scripts named by existing paths, with no suite asked for: run them without a manifest."""
    if args.spec_dir is not None or os.environ.get("NEARVM_SPEC_DIR"):
        return False
    return all(Path(f).exists() for f in args.files)


def run_from_args(args: argparse.Namespace) -> int:
    """Run the scripts ``args`` names; the exit code is 0 (all passed), 1 (failures) or 2 (usage).

    Existing files or directories given without ``--spec-dir`` (or ``$NEARVM_SPEC_DIR``) are run
    standalone: every command is checked, without reconciling counts against a suite manifest.
    """
    out = sys.stdout
    try:
        if _standalone(args):
            root, manifest = None, None
        else:
            root = spec_dir(args.spec_dir)
            manifest = load_manifest(root)
        files = resolve_inputs(args.files, root)
        runner = WastRunner(args.mode, serialize_roundtrip=args.serialize_roundtrip,
                            strict_errors=not args.lenient_errors, gas=args.gas)
    except (SpecSuiteError, ValueError) as exc:
        print(f"nearvm wast: error: {exc}", file=sys.stderr)
        return 2

    def progress(res: FileResult) -> None:
        if args.verbose:
            c = Counter(r.status for r in res.results)
            state = "ok" if res.ok else "FAIL"
            print(f"{state:4} {res.path}: {c['pass']} passed, {c['fail']} failed, {c['n/a']} n/a "
                  f"({res.seconds:.2f}s)", file=out, flush=True)

    results = run_files(files, runner, manifest, allow_unlisted=args.allow_unlisted, progress=progress)
    print(format_summary(results, max_failures=None if args.max_failures == 0 else args.max_failures), file=out)
    return 0 if all(r.ok for r in results) else 1


def main_wast(argv: Sequence[str] | None = None) -> int:
    """``nearvm wast ...`` / ``python -m nearvm.wast ...``; returns the exit code."""
    from .cli import ThrowingArgumentParser

    parser = _configure_parser(ThrowingArgumentParser(prog="nearvm wast",
                                                      description="Run WebAssembly spec .wast scripts."))
    args = parser.parse_args(argv)
    return int(args.func(args))


def main(argv: Sequence[str] | None = None) -> int:
    return main_wast(argv)


if __name__ == "__main__":
    sys.exit(main_wast())
