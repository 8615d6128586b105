"""Property tests: any mutation of a valid module either translates or raises CompileError."""

from __future__ import annotations

from frontend_helpers import wat
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nearvm.config import Config, GasSchedule
from nearvm.errors import CompileError
from nearvm.wasm import translate

SEED_MODULES = [
    wat("""
    (type $t (func (param i32) (result i32)))
    (import "env" "f" (func $f (param i32) (result i32)))
    (memory 1 2) (table 2 funcref) (global $g (mut i32) (i32.const 3))
    (func $a (export "a") (param i32) (result i32) (local i64 f64)
      (block $b (result i32)
        (loop $l
          (br_if $b (i32.eqz (local.get 0)) (i32.const 9))
          (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
          (if (i32.gt_u (local.get 0) (i32.const 5)) (then (br $l)) (else (nop)))
          (br_table $l $l 0 (local.get 0) (i32.const 1)))
        (i32.const 0))
      (call_indirect (type $t) (i32.const 1))
      (i32.store offset=4 (i32.const 0) (global.get $g))
      (call $f))
    (elem (i32.const 0) $a $f)
    (data (i32.const 8) "hello")
    (func (export "b") (result f64) (f64.add (f64.const 1.5) (f64.convert_i32_s (i32.const 2))))
    """),
    wat("""
    (memory 1) (table 3 funcref) (elem declare func $x)
    (func $x (result i32 i64) (i32.const 1) (i64.const 2))
    (func (export "y") (param i32) (result i32)
      (memory.fill (i32.const 0) (i32.const 1) (i32.const 2))
      (memory.copy (i32.const 0) (i32.const 1) (i32.const 2))
      (drop (table.grow (ref.func $x) (i32.const 1)))
      (drop (ref.is_null (table.get (i32.const 0))))
      (drop (select (result i32) (i32.const 1) (i32.const 2) (local.get 0)))
      (drop (i64.extend32_s (i64.const -1)))
      (drop (i32.trunc_sat_f32_u (f32.const 3)))
      (call $x) drop)
    """),
]

CONFIGS = [Config(), Config.near(), Config(gas=GasSchedule.uniform(1), multi_value=False)]


def _check(data: bytes) -> None:
    for cfg in CONFIGS:
        try:
            translate(data, cfg)
        except CompileError:
            pass


def test_seeds_are_valid() -> None:
    for s in SEED_MODULES:
        translate(s, Config())


mutation = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 10**6), st.integers(0, 7)),
    st.tuples(st.just("set"), st.integers(0, 10**6), st.integers(0, 255)),
    st.tuples(st.just("truncate"), st.integers(0, 10**6), st.just(0)),
    st.tuples(st.just("splice"), st.integers(0, 10**6), st.binary(max_size=12)),
    st.tuples(st.just("leb"), st.integers(0, 10**6), st.integers(0, 2**70)),
    st.tuples(st.just("delete"), st.integers(0, 10**6), st.integers(1, 8)),
)


def _apply(data: bytes, muts: list[tuple[str, int, object]]) -> bytes:
    b = bytearray(data)
    for kind, where, arg in muts:
        if not b:
            break
        i = where % len(b)
        if kind == "flip":
            assert isinstance(arg, int)
            b[i] ^= 1 << arg
        elif kind == "set":
            assert isinstance(arg, int)
            b[i] = arg
        elif kind == "truncate":
            del b[i:]
        elif kind == "splice":
            assert isinstance(arg, bytes)
            b[i:i] = arg
        elif kind == "leb":
            assert isinstance(arg, int)
            v, enc = arg, bytearray()
            while True:
                enc.append((v & 0x7F) | (0x80 if v >> 7 else 0))
                v >>= 7
                if not v:
                    break
            b[i:i + 1] = enc
        else:
            assert isinstance(arg, int)
            del b[i:i + arg]
    return bytes(b)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.sampled_from(range(len(SEED_MODULES))), muts=st.lists(mutation, min_size=1, max_size=4))
def test_mutations_only_compile_errors(seed: int, muts: list[tuple[str, int, object]]) -> None:
    _check(_apply(SEED_MODULES[seed], muts))


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=64))
def test_random_bytes_after_header(tail: bytes) -> None:
    _check(b"\x00asm\x01\x00\x00\x00" + tail)
