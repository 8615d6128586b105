"""The fuzz targets. Each turns (seed, index) into one input, deterministically, and checks it.

A check returns normally when the input behaved; it raises :class:`Finding` (or lets any
unexpected exception escape, which the driver records as a finding) when it did not. A crash of
the process is caught by the driver (run.py).
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable
from dataclasses import dataclass

import nearvm
from nearvm import artifact as A
from nearvm.errors import ArtifactError, CompileError, InstantiationError, LinkError, Trap

from .differential import SMITH_FLAGS, compare_module, smith
from .mutate import mutate

KEY = b"nearvm fuzz campaign artifact key"  # the engine's key: resealed mutants reach the decoders


class Finding(Exception):
    """The input showed a bug (the message says which property broke)."""


def _rng(seed: int, index: int) -> random.Random:
    return random.Random((seed << 40) ^ index)


# ---- corpora (deterministic, built once per process) ---------------------------------------------

_SEED_WAT = [
    "(module)",
    """(module (type $t (func (param i32) (result i32)))
      (import "env" "f" (func $f (param i32))) (import "env" "g" (global $ig i32))
      (memory 1 2) (global $g (mut i32) (i32.const 5)) (global $h i64 (i64.const -1))
      (global $r funcref (ref.func $a)) (table 2 funcref) (elem (i32.const 0) $a)
      (elem funcref (ref.null func) (ref.func $s)) (elem declare func $s)
      (data (i32.const 8) "hi") (data "passive")
      (func $a (export "a") (type $t) local.get 0 i32.const 1 i32.add)
      (func $s) (func $d (export "div") (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_s)
      (export "mem" (memory 0)) (export "g" (global $g)) (start $s))""",
    """(module (memory 1) (table 4 funcref) (func $f (param i64) (result i64)
      (block (result i64) (loop (br_if 1 (local.get 0) (i32.eqz (i32.wrap_i64 (local.get 0))))
      (local.set 0 (i64.sub (local.get 0) (i64.const 1))) (br 0)) (i64.const 0)))
      (func (export "run") (param i32) (result i32)
      (memory.fill (i32.const 0) (i32.const 7) (local.get 0))
      (drop (table.grow (ref.null func) (local.get 0)))
      (call_indirect (param i64) (result i64) (i64.const 3) (i32.const 0)) drop
      (f32.store (i32.const 4) (f32.sqrt (f32.convert_i32_s (local.get 0))))
      (i32.load (i32.const 4))))""",
]


@functools.cache
def _wat(text: str) -> bytes:
    import subprocess

    from nearvm.toolpath import find_tool

    proc = subprocess.run([find_tool("wasm-tools"), "parse", "-"], input=text.encode(), capture_output=True,
                          check=True)
    return proc.stdout


@functools.cache
def module_corpus() -> tuple[bytes, ...]:
    """Hand-written modules plus 24 of smith's."""
    out = [_wat(t) for t in _SEED_WAT]
    for s in range(24):
        m = smith(1_000_000 + s)
        if m is not None:
            out.append(m)
    return tuple(out)


# ---- decoder / validator -------------------------------------------------------------------------

@functools.cache
def _wasmtime_validator() -> Callable[[bytes], bool]:
    import wasmtime

    engine = wasmtime.Engine()

    def valid(wasm: bytes) -> bool:
        try:
            wasmtime.Module.validate(engine, wasm)
        except Exception:  # noqa: BLE001 - wasmtime's error type for invalid modules
            return False
        return True

    return valid


@functools.cache
def _plain_engine() -> nearvm.Engine:
    return nearvm.Engine(nearvm.Config())


def decoder_input(seed: int, index: int) -> bytes:
    rng = _rng(seed, index)
    corpus = module_corpus()
    return mutate(rng.choice(corpus), rng, max_ops=rng.choice((1, 2, 4, 8)), corpus=list(corpus))


def decoder_check(wasm: bytes) -> None:
    """Any bytes: compiled (decoder, validator, lowering, JIT), or a CompileError. What nearvm
    accepts Wasmtime (a superset of its Wasm 2.0 features) must accept too."""
    try:
        nearvm.Module(_plain_engine(), wasm)
    except CompileError:
        return
    if not _wasmtime_validator()(wasm):
        raise Finding("nearvm compiled a module Wasmtime rejects as invalid")


# ---- artifact loader -----------------------------------------------------------------------------

@functools.cache
def artifact_corpus() -> tuple[bytes, ...]:
    engine = _keyed_engine()
    return tuple(nearvm.Module(engine, m).serialize() for m in module_corpus()[:12])


@functools.cache
def _keyed_engine() -> nearvm.Engine:
    return nearvm.Engine(nearvm.Config(), artifact_key=KEY)


def artifact_input(seed: int, index: int) -> bytes:
    """A mutated artifact, mostly with valid checksum and HMAC (what a buggy or older producer
    holding the key could write: the structural checks are what is fuzzed)."""
    rng = _rng(seed, index)
    blob = rng.choice(artifact_corpus())
    kind = rng.randrange(20)
    if kind == 0:  # raw edits: must die at the HMAC
        return mutate(blob, rng)
    h = A.read_header(blob)
    secs = A.sections_of(blob)
    if kind == 1:  # header fields resealed
        config_hash = h.config_hash if rng.random() < 0.5 else rng.randbytes(32)
        return A._assemble(secs, target=h.target, config_hash=config_hash,
                           code_hash=rng.randbytes(32), key=KEY, format_version=rng.choice((A.FORMAT_VERSION, 3, 5)),
                           features=rng.choice((None, 0, rng.getrandbits(64))))
    sid = rng.choice((A.SEC_MODULE, A.SEC_MODULE, A.SEC_MODULE, A.SEC_FUNCS, A.SEC_TRAPS, A.SEC_EXEC, A.SEC_CODE))
    secs[sid] = mutate(secs[sid], rng, max_ops=rng.choice((1, 2, 6)))
    if rng.random() < 0.05:  # drop or duplicate a section
        k = rng.choice(list(secs))
        if rng.random() < 0.5:
            del secs[k]
        else:
            secs = dict(sorted({**secs, k + 10: secs[k]}.items()))
    return A._assemble(secs, target=h.target, config_hash=h.config_hash, code_hash=h.code_hash, key=KEY)


@functools.cache
def _expected() -> tuple[bytes, A.Target]:
    config = _keyed_engine().config
    return A.config_hash_of(config), A.host_target(config)


def artifact_check(blob: bytes) -> None:
    """Module.deserialize: a module or ArtifactError, and the same verdict as the reference
    decoder (load_artifact); when both accept, the same module description (every field,
    the offset maps read in full) and the same compiled code."""
    engine = _keyed_engine()
    config_hash, target = _expected()
    try:
        module = nearvm.Module.deserialize(engine, blob)
    except ArtifactError:
        module = None
    try:
        ref = A.load_artifact(blob, config_hash=config_hash, key=KEY, target=target)
    except ArtifactError:
        ref = None
    if (module is None) != (ref is None):
        raise Finding(f"verdicts differ: Module.deserialize {'rejects' if module is None else 'accepts'}, "
                      f"load_artifact {'rejects' if ref is None else 'accepts'}")
    if module is not None and ref is not None:
        if module.info != ref.info:
            raise Finding("Module.deserialize and load_artifact describe the module differently")
        if A.export_compiled(module) != ref.compiled:
            raise Finding("Module.deserialize and load_artifact load different compiled code")


# ---- differential execution against Wasmtime --------------------------------------------------------

def differential_input(seed: int, index: int) -> bytes:
    return smith((seed << 40) ^ index) or b""


def differential_check(wasm: bytes) -> None:
    if wasm:
        try:
            compare_module(wasm, 0)
        except AssertionError as e:
            raise Finding(str(e)) from None


# ---- gas determinism -------------------------------------------------------------------------------

_GAS_CONFIG = nearvm.Config(gas=nearvm.GasSchedule.uniform(3, bulk_base=11, bulk_per_unit=2, frame_init_per_word=1))
_GAS_KEY = b"nearvm fuzz campaign gas key....."
_EDGE = (0, 1, 7, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 1 << 63, (1 << 64) - 1)


def gas_input(seed: int, index: int) -> bytes:
    return smith((seed << 40) ^ index ^ (1 << 39), SMITH_FLAGS) or b""


@dataclass(frozen=True)
class _Outcome:
    result: tuple[int, ...] | None
    trap: int | None
    gas: int


def _run(module: nearvm.Module, name: str, args: list[int], gas_limit: int | None) -> _Outcome | None:
    store = nearvm.Store(module.engine)
    try:
        inst = nearvm.Instance(store, module, {})
    except (Trap, LinkError, InstantiationError):
        return None
    store.gas_limit = None if gas_limit is None else store.gas_used + gas_limit
    before = store.gas_used
    try:
        res = inst.exports[name].call_raw(args)
        return _Outcome(tuple(int(r) if isinstance(r, int) else -1 for r in res), None, store.gas_used - before)
    except Trap as t:
        return _Outcome(None, int(t.code), store.gas_used - before)


def gas_check(wasm: bytes) -> None:
    """Same module, same call: same result and gas in a fresh Store, in another engine through a
    signed artifact; with a limit one short of the gas used, OutOfGas with gas_used == limit."""
    if not wasm:
        return
    a = nearvm.Engine(_GAS_CONFIG, artifact_key=_GAS_KEY)
    b = nearvm.Engine(_GAS_CONFIG, artifact_key=_GAS_KEY)
    try:
        ma = nearvm.Module(a, wasm)
    except CompileError:
        return
    mb = nearvm.Module.deserialize(b, ma.serialize())
    rng = random.Random(len(wasm))
    for name, ty in ma.exports[:6]:
        if not isinstance(ty, nearvm.FuncType) or any(p.is_ref for p in ty.params):
            continue
        args = [rng.choice(_EDGE) & (0xFFFF_FFFF if p in (nearvm.ValType.I32, nearvm.ValType.F32) else (1 << 64) - 1)
                for p in ty.params]
        first = _run(ma, name, args, None)
        if first is None:
            return
        for again in (_run(ma, name, args, None), _run(mb, name, args, None)):
            if again != first:
                raise Finding(f"{name}{tuple(args)}: {first} then {again}")
        if first.trap == int(nearvm.TrapCode.STACK_OVERFLOW) or first.gas == 0:
            continue
        short = _run(ma, name, args, first.gas - 1)
        if short is None or short.trap != int(nearvm.TrapCode.OUT_OF_GAS) or short.gas != first.gas - 1:
            raise Finding(f"{name}{tuple(args)}: needs {first.gas} gas, with {first.gas - 1}: {short}")


@dataclass(frozen=True)
class Target:
    name: str
    make_input: Callable[[int, int], bytes]
    check: Callable[[bytes], None]
    warm_up: Callable[[], object]


TARGETS: dict[str, Target] = {
    "decoder": Target("decoder", decoder_input, decoder_check, module_corpus),
    "artifact": Target("artifact", artifact_input, artifact_check, artifact_corpus),
    "differential": Target("differential", differential_input, differential_check, lambda: None),
    "gas": Target("gas", gas_input, gas_check, lambda: None),
}


