"""``nearvm compile | run | inspect`` (registered in :mod:`nearvm.cli`).

* ``nearvm compile in.wasm -o out.nvm [--near] [--gas N] [--key-file F]``: compile to an artifact.
* ``nearvm run FILE --invoke NAME [ARGS...]``: FILE is a ``.wasm`` module or a ``.nvm`` artifact
  (recognised by its magic, not its name). Arguments are parsed by the export's parameter types.
* ``nearvm inspect FILE``: imports and exports (and, for an artifact, its header).

The Config options must match between ``compile`` and ``run`` of an artifact (its config hash is
checked: a mismatch is an ArtifactError, exit code 1).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .errors import ArtifactError, CompileError, LinkError, NearVMError, Trap

__all__ = ["main_compile", "main_run", "main_inspect"]


def _add_config_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--near", action="store_true", help="NEAR profile (Config.near()): features, limits, gas")
    p.add_argument("--gas", type=int, metavar="COST", default=None,
                   help="meter gas with a uniform schedule of COST per instruction")
    p.add_argument("--key-file", type=Path, default=None, help="HMAC key for signing/verifying artifacts")


def _config(args: argparse.Namespace) -> Any:
    from .config import Config, GasSchedule

    if args.near:
        return Config.near() if args.gas is None else Config.near(gas=GasSchedule.uniform(args.gas))
    return Config() if args.gas is None else Config(gas=GasSchedule.uniform(args.gas))


def _engine(args: argparse.Namespace) -> Any:
    from .runtime import Engine

    key = args.key_file.read_bytes() if args.key_file is not None else None
    return Engine(_config(args), artifact_key=key)


def _is_artifact(data: bytes) -> bool:
    from .artifact import MAGIC

    return data[:len(MAGIC)] == MAGIC


def _load_module(engine: Any, path: Path) -> Any:
    from .runtime import Module

    data = path.read_bytes()
    if _is_artifact(data):
        return Module.deserialize(engine, data)
    return Module(engine, data)


def _fail(prog: str, e: BaseException) -> int:
    print(f"nearvm {prog}: {type(e).__name__}: {e}", file=sys.stderr)
    return 1


def main_compile(argv: Sequence[str]) -> int:
    """``nearvm compile in.wasm -o out.nvm``: exit 0, or 1 with the error on stderr."""
    p = argparse.ArgumentParser(prog="nearvm compile", description="Compile a wasm module to a .nvm artifact.")
    p.add_argument("input", type=Path, help="a .wasm module")
    p.add_argument("-o", "--output", type=Path, default=None, help="artifact path (default: INPUT with .nvm)")
    _add_config_args(p)
    args = p.parse_args(list(argv))
    out = args.output or args.input.with_suffix(".nvm")
    try:
        from .runtime import Module

        module = Module(_engine(args), args.input.read_bytes())
        module.serialize_file(out)
    except (OSError, NearVMError) as e:
        return _fail("compile", e)
    print(f"{out}: {out.stat().st_size} bytes")
    return 0


def _parse_arg(text: str, ty: Any) -> Any:
    from .wasm.types import ValType

    if ty in (ValType.I32, ValType.I64):
        return int(text, 0)
    if ty in (ValType.F32, ValType.F64):
        return float(text)
    if text in ("null", "none", "None"):
        return None
    raise ValueError(f"cannot pass {text!r} as {ty}")


def main_run(argv: Sequence[str]) -> int:
    """``nearvm run FILE --invoke NAME ARGS...`` (FILE: .wasm or .nvm)."""
    p = argparse.ArgumentParser(prog="nearvm run", description="Instantiate a module or artifact and call an export.")
    p.add_argument("file", type=Path, help="a .wasm module or a .nvm artifact")
    p.add_argument("--invoke", metavar="NAME", default=None, help="export to call (default: only instantiate)")
    p.add_argument("args", nargs="*", help="arguments, parsed by the export's parameter types")
    p.add_argument("--gas-limit", type=int, default=None, help="gas budget (needs --gas or --near)")
    _add_config_args(p)
    args = p.parse_intermixed_args(list(argv))
    try:
        from .runtime import Instance, Store

        engine = _engine(args)
        module = _load_module(engine, args.file)
        store = Store(engine, gas_limit=args.gas_limit) if args.gas_limit is not None else Store(engine)
        imports: dict[str, Any] = {}
        if engine.config.near_prepare:
            # NEAR contracts import the host's memory; their host functions need `nearvm near call`.
            from .near.prepare import env_imports

            imports = env_imports(store, module)
        inst = Instance(store, module, imports)
        if args.invoke is None:
            return 0
        func = inst.exports[args.invoke]
        params = func.type.params
        if len(args.args) != len(params):
            raise ValueError(f"{args.invoke} takes {len(params)} argument(s), got {len(args.args)}")
        result = func(*(_parse_arg(a, t) for a, t in zip(args.args, params)))
    except KeyError as e:
        return _fail("run", KeyError(f"no export {e}"))
    except (OSError, ValueError, TypeError, ArtifactError, CompileError, LinkError, Trap, NearVMError) as e:
        return _fail("run", e)
    if result is not None:
        print(" ".join(str(r) for r in result) if isinstance(result, tuple) else result)
    return 0


def main_inspect(argv: Sequence[str]) -> int:
    """``nearvm inspect FILE``: imports, exports, and an artifact's header."""
    p = argparse.ArgumentParser(prog="nearvm inspect", description="List a module's or artifact's imports/exports.")
    p.add_argument("file", type=Path)
    _add_config_args(p)
    args = p.parse_args(list(argv))
    try:
        data = args.file.read_bytes()
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

            info = translate(data, _config(args))
    except (OSError, NearVMError) as e:
        return _fail("inspect", e)
    for imp in info.imports:
        print(f"import {imp.module}.{imp.name}: {imp.kind} {imp.type}")
    for exp in info.exports:
        print(f"export {exp.name}: {exp.kind} {exp.index}")
    return 0

