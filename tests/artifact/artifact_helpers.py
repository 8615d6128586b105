"""Shared helpers for the artifact tests: small modules and synthetic (JIT-free) artifacts."""

from __future__ import annotations

import functools

from nearvm import artifact as A
from nearvm.config import Config
from nearvm.wasm import translate
from nearvm.wasm.module import ModuleInfo
from wasm_text import wat2wasm as _wat2wasm

SMALL_WAT = """
(module
  (type $v (func))
  (import "env" "f" (func $f (param i32)))
  (import "env" "g" (global $ig i32))
  (memory 1 2)
  (global $g (mut i32) (i32.const 5))
  (global $h i64 (i64.const -1))
  (global $r funcref (ref.func $a))
  (table 2 funcref)
  (elem (i32.const 0) $a)
  (elem funcref (ref.null func) (ref.func $s))
  (elem declare func $s)
  (data (i32.const 8) "hi")
  (data "passive")
  (func $a (export "a") (param i32) (result i32) local.get 0 i32.const 1 i32.add)
  (func $s)
  (func $d (export "div") (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_s)
  (export "mem" (memory 0))
  (export "g" (global $g))
  (start $s))
"""


@functools.cache
def wat2wasm(text: str) -> bytes:
    return _wat2wasm(text)


def fake_compiled(info: ModuleInfo) -> A.CompiledCode:
    """Synthetic machine code: 32 bytes per local function, one trap site in each."""
    n = len(info.func_types) - info.num_imported_funcs
    nimp = info.num_imported_funcs
    code = bytes((i * 7 + 3) & 0xFF for i in range(32 * n))
    sites = tuple(A.TrapSite(32 * i + 5, 1 + i % 11, nimp + i, i) for i in range(n))
    return A.CompiledCode.with_sites(code, tuple(32 * i for i in range(n)), (32,) * n, sites, nimp)


def make(config: Config | None = None, text: str = SMALL_WAT, key: bytes | None = None,
         target: A.Target | None = None) -> tuple[bytes, ModuleInfo, A.CompiledCode, A.ExecMeta]:
    cfg = config or Config()
    wasm = wat2wasm(text)
    info = translate(wasm, cfg)
    meta = A.exec_meta_from_program(info.program, cfg.stack_budget)
    cc = fake_compiled(info)
    blob = A.build_artifact(info, cc, config_hash=A.config_hash_of(cfg), code_hash=A.code_hash_of(wasm),
                            target=target or A.host_target(cfg), exec_meta=meta, key=key)
    return blob, info, cc, meta


def load(blob: bytes, config: Config | None = None, **kw: object) -> A.Artifact:
    return A.load_artifact(blob, config_hash=A.config_hash_of(config or Config()), **kw)  # type: ignore[arg-type]


def reseal(blob: bytes, sections: dict[int, bytes] | None = None, key: bytes | None = None, **kw: object) -> bytes:
    """Re-assemble an artifact with (possibly edited) sections and a valid checksum (and HMAC)."""
    h = A.read_header(blob)
    secs = A.sections_of(blob) if sections is None else sections
    return A._assemble(secs, target=h.target, config_hash=h.config_hash, code_hash=h.code_hash, key=key,
                       **kw)  # type: ignore[arg-type]
