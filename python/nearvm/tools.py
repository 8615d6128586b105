"""``nearvm compile | run | inspect`` (registered in :mod:`nearvm.cli`).

* ``nearvm compile IN -o OUT.nvm``: compile a module (``.wasm`` or ``.wat``) to an artifact.
* ``nearvm run FILE [--invoke NAME] [ARGS...]``: FILE is a ``.wasm`` module, WebAssembly text or a
  ``.nvm`` artifact (recognised by its contents, not its name). Arguments are parsed by the
  export's parameter types; results are printed one per line; with gas metering on, the gas used
  is printed on stderr. Imports come from ``--preload FILE.py``, ``--near`` and ``--stub-imports``.
  An artifact runs only if it is signed with ``--key-file``'s key, or with
  ``--trust-unauthenticated-artifact`` (its machine code runs as is: only for files you made).
* ``nearvm inspect FILE``: imports and exports with their types (and, for an artifact, its header).

Every user error ends with a one-line message on stderr and the exit code of its kind
(:class:`nearvm.cli.ExitCode`); the Config options must match between ``compile`` and ``run`` of
an artifact (its config hash is checked).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .cli import CliError, ExitCode, ThrowingArgumentParser
from .errors import Trap, TrapCode, UnauthenticatedArtifactError
from .wasm.types import FuncType, GlobalType, MemoryType, TableType, ValType

__all__ = ["main_compile", "main_run", "main_inspect", "near_imports", "parse_value", "describe_type"]


# ---- shared options ----------------------------------------------------------------------------

def _add_config_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--near", action="store_true",
                   help="NEAR profile (Config.near()): features, limits, gas; `run` also provides NEAR's imports")
    p.add_argument("--gas", type=_non_negative_int("--gas"), metavar="COST", default=None,
                   help="meter gas with a uniform schedule of COST per instruction")
    p.add_argument("--key-file", type=Path, default=None,
                   help="HMAC key (at least 16 bytes) for signing/verifying artifacts")


def _non_negative_int(option: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text, 0)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{option} takes a non-negative integer, got {text!r}") from None
        if value < 0:
            raise argparse.ArgumentTypeError(f"{option} takes a non-negative integer, got {text!r}")
        return value

    return parse


def _config(args: argparse.Namespace) -> Any:
    from .config import Config, GasSchedule

    if args.near:
        return Config.near() if args.gas is None else Config.near(gas=GasSchedule.uniform(args.gas))
    return Config() if args.gas is None else Config(gas=GasSchedule.uniform(args.gas))


def _read(path: Path, what: str = "file") -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise CliError(ExitCode.IO, f"cannot read {what} {path}: {e.strerror or e}") from None


def _engine(args: argparse.Namespace) -> Any:
    from .runtime import Engine

    key = _read(args.key_file, "key file") if args.key_file is not None else None
    try:
        return Engine(_config(args), artifact_key=key)
    except ValueError as e:  # a key shorter than the minimum
        raise CliError(ExitCode.USAGE, f"--key-file {args.key_file}: {e}") from None


def _is_artifact(data: bytes) -> bool:
    from .artifact import MAGIC

    return data[:len(MAGIC)] == MAGIC


def _load_module(engine: Any, path: Path, trust_unauthenticated: bool = False) -> Any:
    from .runtime import Module

    data = _read(path)
    if _is_artifact(data):
        try:
            return Module.deserialize(engine, data, trusted_unauthenticated=trust_unauthenticated)
        except UnauthenticatedArtifactError:
            raise CliError(ExitCode.ARTIFACT, f"{path}: refusing to run an unauthenticated artifact (loading one "
                                              "runs its machine code): give the key it was signed with "
                                              "(--key-file KEY), or --trust-unauthenticated-artifact if you "
                                              "compiled it yourself") from None
    return Module(engine, data)


# ---- types and values --------------------------------------------------------------------------

def describe_type(ty: Any) -> str:
    """An extern type as ``inspect`` prints it: ``func [i32 i32] -> [i32]``, ``memory min=1 max=2`` (pages),
    ``table funcref min=2``, ``global mut i64``."""
    if isinstance(ty, FuncType):
        return f"func {ty}"
    if isinstance(ty, MemoryType):
        return f"memory min={ty.minimum}" + ("" if ty.maximum is None else f" max={ty.maximum}")
    if isinstance(ty, TableType):
        return f"table {ty.element} min={ty.minimum}" + ("" if ty.maximum is None else f" max={ty.maximum}")
    if isinstance(ty, GlobalType):
        return f"global {'mut ' if ty.mutable else ''}{ty.content}"
    return str(ty)


_INT_RANGES = {ValType.I32: 32, ValType.I64: 64}


def parse_value(text: str, ty: ValType, what: str) -> Any:
    """A command-line argument as a value of ``ty``; ValueError naming ``what`` and the type.

    Integers: decimal or ``0x``/``0o``/``0b``, signed or unsigned (wrapped like ``Func`` does).
    Floats: decimal, ``inf``, ``-inf``, ``nan`` or hexadecimal (``0x1.8p1``). References: ``null``.
    """
    if ty in _INT_RANGES:
        bits = _INT_RANGES[ty]
        try:
            value = int(text, 0)
        except ValueError:
            raise ValueError(f"{what} is an {ty}: {text!r} is not an integer") from None
        if not -(1 << (bits - 1)) <= value < (1 << bits):
            raise ValueError(f"{what} is an {ty}: {text} is out of range "
                             f"[{-(1 << (bits - 1))}, {(1 << bits) - 1}]")
        return value
    if ty in (ValType.F32, ValType.F64):
        try:
            return float.fromhex(text) if "0x" in text.lower() else float(text)
        except ValueError:
            raise ValueError(f"{what} is an {ty}: {text!r} is not a number") from None
    if text == "null":
        return None
    raise ValueError(f"{what} is a {ty}: only null can be given on the command line, got {text!r}")


def _format_value(value: Any) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return repr(value)
    if value is None:
        return "null"
    return str(value)


# ---- imports -----------------------------------------------------------------------------------

def near_imports(store: Any, module: Any) -> dict[str, dict[str, Any]]:
    """The imports ``run --near`` gives a module: NEAR's host memory (``env.memory``) and, for each
    host function the contract imports, a function that fails with HOST_ERROR when called — a call
    with NEAR's host environment (state, registers, promises) is ``nearvm near call``. The one
    place a NEAR host environment plugs into ``run``."""
    from .near.prepare import env_imports

    return env_imports(store, module)


def _preload(path: Path, store: Any, module: Any) -> Mapping[str, Mapping[str, Any]]:
    """Run a Python file that defines ``imports(store, module) -> {module: {name: extern}}``."""
    source = _read(path, "preload file")
    namespace: dict[str, Any] = {"__name__": "__nearvm_preload__", "__file__": str(path)}
    try:
        exec(compile(source, str(path), "exec"), namespace)  # noqa: S102 - the user's own file
        fn = namespace.get("imports")
        if not callable(fn):
            raise CliError(ExitCode.USAGE, f"--preload {path}: the file must define a function "
                                           "imports(store, module) returning {module: {name: extern}}")
        result = fn(store, module)
    except CliError:
        raise
    except Exception as e:  # the user's code: one line naming where it failed
        raise CliError(ExitCode.USAGE, f"--preload {path}: {_user_error(e, str(path))}") from None
    if not isinstance(result, Mapping):
        raise CliError(ExitCode.USAGE, f"--preload {path}: imports() returned {type(result).__name__}, "
                                       "not a mapping {module: {name: extern}}")
    return result


def _user_error(e: BaseException, filename: str) -> str:
    line = None
    tb = e.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    if isinstance(e, SyntaxError) and e.lineno is not None:
        line = e.lineno
    where = f"line {line}: " if line is not None else ""
    return f"{where}{type(e).__name__}: {e}"


def _stub(store: Any, module_name: str, name: str, ty: Any) -> Any:
    from .runtime import Func, Global, Memory, Table

    if isinstance(ty, FuncType):
        def trap(*_args: Any) -> Any:
            raise Trap(TrapCode.HOST_ERROR, f"called the stub of import {module_name}.{name} (--stub-imports)")

        return Func(store, ty, trap)
    if isinstance(ty, MemoryType):
        return Memory(store, ty)
    if isinstance(ty, TableType):
        return Table(store, ty)
    assert isinstance(ty, GlobalType)
    return Global(store, ty, None if ty.content.is_ref else 0)


def _imports(args: argparse.Namespace, store: Any, module: Any) -> dict[str, dict[str, Any]]:
    """Preloaded imports first, then NEAR's (--near), then stubs for what is left (--stub-imports)."""
    merged: dict[str, dict[str, Any]] = {}

    def add(source: Mapping[str, Mapping[str, Any]]) -> None:
        for mod, names in source.items():
            merged.setdefault(mod, {}).update(names)

    for path in args.preload:
        add(_preload(path, store, module))
    missing = [(m, n, t) for m, n, t in module.imports if n not in merged.get(m, {})]
    if args.near and missing:
        add(near_imports(store, module))
        missing = [(m, n, t) for m, n, t in missing if n not in merged.get(m, {})]
    if missing and args.stub_imports:
        for m, n, t in missing:
            merged.setdefault(m, {})[n] = _stub(store, m, n, t)
        missing = []
    if missing:
        shown = ", ".join(f"{m}.{n} ({describe_type(t)})" for m, n, t in missing[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise CliError(ExitCode.LINK, f"unsatisfied imports: {shown}{more}; "
                                      "use --stub-imports, --preload FILE.py or --near")
    return merged


# ---- running wasm off the main thread (Ctrl-C) ---------------------------------------------------

def _interruptible(store: Any, fn: Callable[[], Any]) -> Any:
    """Run ``fn`` (which runs wasm) on a worker thread so Ctrl-C reaches the main thread.

    Ctrl-C stops unmetered wasm through the Store's interrupt handle (the call then raises
    Interrupted, as from any other interrupt). Metered code does not check interrupts: the process
    exits at once with ExitCode.INTERRUPTED.
    """
    outcome: list[Any] = []
    failure: list[BaseException] = []
    done: list[bool] = []

    def work() -> None:
        try:
            outcome.append(fn())
        except BaseException as e:  # handed to the main thread
            failure.append(e)
        finally:
            done.append(True)

    # The main thread polls a flag with sleep(): a KeyboardInterrupt that lands inside
    # Thread.join() can leave the thread looking finished while it still runs.
    threading.Thread(target=work, name="nearvm-run", daemon=True).start()
    try:
        while not done:
            time.sleep(0.02)
    except KeyboardInterrupt:
        if store.gas_enabled:
            print("nearvm run: interrupted (metered code is bounded by its gas limit, not by interrupts)",
                  file=sys.stderr, flush=True)
            os._exit(int(ExitCode.INTERRUPTED))
        store.interrupt_handle().interrupt()
        while not done:
            time.sleep(0.02)
    if failure:
        raise failure[0]
    return outcome[0] if outcome else None


# ---- commands -----------------------------------------------------------------------------------

def main_compile(argv: Sequence[str]) -> int:
    """``nearvm compile IN -o OUT.nvm``."""
    p = ThrowingArgumentParser(prog="nearvm compile",
                               description="Compile a module (.wasm or .wat) to a .nvm artifact.")
    p.add_argument("input", type=Path, help="a .wasm module or WebAssembly text (.wat)")
    p.add_argument("-o", "--output", type=Path, default=None, help="artifact path (default: INPUT with .nvm)")
    _add_config_args(p)
    args = p.parse_args(list(argv))
    out: Path = args.output or args.input.with_suffix(".nvm")
    from .runtime import Module

    module = Module(_engine(args), _read(args.input))
    if not out.parent.is_dir():
        raise CliError(ExitCode.IO, f"cannot write {out}: no such directory {out.parent}")
    try:
        module.serialize_file(out)
    except OSError as e:
        raise CliError(ExitCode.IO, f"cannot write {out}: {e.strerror or e}") from None
    print(f"{out}: {out.stat().st_size} bytes")
    return 0


def main_run(argv: Sequence[str]) -> int:
    """``nearvm run FILE [--invoke NAME] [ARGS...]``."""
    p = ThrowingArgumentParser(
        prog="nearvm run",
        description="Instantiate a module (.wasm, .wat) or artifact (.nvm) and call one of its exported functions.",
        epilog="Exit codes: " + "; ".join(f"{c.value} {c.name.lower().replace('_', ' ')}" for c in ExitCode) + ".")
    p.add_argument("file", type=Path, help="a .wasm module, WebAssembly text or a .nvm artifact")
    p.add_argument("--invoke", metavar="NAME", default=None,
                   help="exported function to call (default: only instantiate, which runs the start function)")
    p.add_argument("args", nargs="*", help="arguments, parsed by the function's parameter types")
    p.add_argument("--gas-limit", type=_non_negative_int("--gas-limit"), default=None,
                   help="gas budget (needs --gas or --near)")
    p.add_argument("--stub-imports", action="store_true",
                   help="satisfy missing imports with stubs: functions trap when called; memories, tables and "
                        "globals are new ones of the imported type")
    p.add_argument("--preload", type=Path, action="append", default=[], metavar="FILE.py",
                   help="a Python file defining imports(store, module) -> {module: {name: extern}} (repeatable)")
    p.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                   help="interrupt unmetered wasm after SECONDS of wall-clock time")
    p.add_argument("--trust-unauthenticated-artifact", action="store_true",
                   help="load a .nvm artifact without verifying its HMAC: its machine code runs as is "
                        "(only for artifacts you compiled yourself)")
    _add_config_args(p)
    args = p.parse_intermixed_args(list(argv))
    if args.invoke is None and args.args:
        raise CliError(ExitCode.USAGE, f"arguments {' '.join(args.args)} given without --invoke NAME")
    if args.gas_limit is not None and args.gas is None and not args.near:
        raise CliError(ExitCode.USAGE, "--gas-limit needs gas metering (--gas COST or --near)")
    from .runtime import Func, Instance, Store

    engine = _engine(args)
    module = _load_module(engine, args.file, args.trust_unauthenticated_artifact)
    values: list[Any] = []
    if args.invoke is not None:
        func_exports = [name for name, ty in module.exports if isinstance(ty, FuncType)]
        types = dict(module.exports)
        if args.invoke not in types:
            raise CliError(ExitCode.USAGE, f"no export named {args.invoke!r}; exported functions: "
                                           f"{', '.join(func_exports) or 'none'}")
        ty = types[args.invoke]
        if not isinstance(ty, FuncType):
            raise CliError(ExitCode.USAGE, f"export {args.invoke!r} is a {describe_type(ty).split()[0]}, not a "
                                           f"function; exported functions: {', '.join(func_exports) or 'none'}")
        if len(args.args) != len(ty.params):
            raise CliError(ExitCode.USAGE, f"{args.invoke} takes {len(ty.params)} argument(s) "
                                           f"({' '.join(str(t) for t in ty.params) or 'none'}), got {len(args.args)}")
        try:
            values = [parse_value(text, t, f"argument {i + 1} of {args.invoke}")
                      for i, (text, t) in enumerate(zip(args.args, ty.params))]
        except ValueError as e:
            raise CliError(ExitCode.USAGE, str(e)) from None
    store = Store(engine, gas_limit=args.gas_limit)
    if args.timeout is not None:
        if engine.gas_enabled:
            raise CliError(ExitCode.USAGE, "--timeout applies to unmetered runs; metered runs stop at --gas-limit")
        store.set_deadline(args.timeout)
    imports = _imports(args, store, module)

    def go() -> Any:
        try:
            inst = Instance(store, module, imports)
        except TypeError as e:  # a preloaded import that is not a Func/Memory/Table/Global
            raise CliError(ExitCode.LINK, str(e)) from None
        if args.invoke is None:
            return None
        f = inst.exports[args.invoke]
        assert isinstance(f, Func)
        return f(*values)

    try:
        result = _interruptible(store, go)
    finally:
        if engine.gas_enabled:
            print(f"gas used: {store.gas_used}", file=sys.stderr)
    if result is not None:
        for value in result if isinstance(result, tuple) else (result,):
            print(_format_value(value))
    return 0


def main_inspect(argv: Sequence[str]) -> int:
    """``nearvm inspect FILE``: imports and exports with their types, and an artifact's header."""
    p = ThrowingArgumentParser(prog="nearvm inspect",
                               description="List a module's or artifact's imports and exports with their types.")
    p.add_argument("file", type=Path, help="a .wasm module, WebAssembly text or a .nvm artifact")
    _add_config_args(p)
    args = p.parse_args(list(argv))
    data = _read(args.file)
    if _is_artifact(data):
        from .artifact import BASELINES, load_artifact, read_header

        target = read_header(data).target  # inspect reads foreign artifacts too
        art = load_artifact(data, config_hash=None, key=None, nearvm_version=None, target=target,
                            cpu_features=BASELINES[target.baseline][2])
        h = art.header
        print(f"artifact: format {h.format_version}, nearvm {h.nearvm_version}, {h.target.isa}/{h.target.os_abi},"
              f" baseline {h.target.baseline}, {'signed' if h.has_hmac else 'unsigned'}")
        print(f"  config hash {h.config_hash.hex()}\n  code hash   {h.code_hash.hex()}")
        print(f"  code {len(art.compiled.code)} bytes, {len(art.compiled.func_offsets)} functions, "
              f"{len(art.compiled.trap_sites)} trap sites")
        info = art.info
    else:
        from .wasm import translate
        from .wat import is_wat, wat_to_wasm

        info = translate(wat_to_wasm(data) if is_wat(data) else data, _config(args))
    for imp in info.imports:
        print(f"import {imp.module}.{imp.name}: {describe_type(imp.type)}")
    for exp in info.exports:
        if exp.kind == "func":
            ty: Any = info.func_type(exp.index)
        else:
            ty = {"table": info.tables, "memory": info.memories, "global": info.globals}[exp.kind][exp.index]
        print(f"export {exp.name}: {describe_type(ty)}")
    return 0

