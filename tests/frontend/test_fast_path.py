"""The fast body loop (``_lower_body_fast``) against the exact one (``_lower_body_exact``).

The fast loop must produce the exact loop's bytes for every valid body and must never accept an
invalid one (it hands those to the exact loop, which reports the error); with the fast loop on or
off, ``translate`` must give the same program or the same error."""

from __future__ import annotations

import pytest
from frontend_helpers import header, section, uleb, wat
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_properties import SEED_MODULES, _apply, mutation

from nearvm.config import Config, GasSchedule
from nearvm.errors import CompileError
from nearvm.wasm import translate
from nearvm.wasm import validate as V
from nearvm.wasm.decode import decode_module

CONFIGS = [Config(), Config.near(), Config(gas=GasSchedule.uniform(1)), Config(gas=GasSchedule.near()),
           Config(reference_types=False, bulk_memory=False, sign_extension=False, multi_value=False)]

FEATURES = wat("""
  (type $v (func))
  (type $mv (func (param i32 i64) (result i64 i32)))
  (import "env" "h" (func $h (param i32) (result i32)))
  (memory 1) (table $t 4 funcref) (table $e 2 externref)
  (global $g (mut i64) (i64.const 0)) (global $c f32 (f32.const 1))
  (elem $el func $f0 $h) (data $d "abc")
  (func $f0 (param $p i32) (result i32)
    (local $a i64) (local $b f64) (local $c f32) (local $r externref) (local $s i32)
    nop
    (block $out (result i32)
      (loop $top (param) (result)
        (local.set $s (i32.add (local.get $s) (i32.const 100000)))
        (br_if $top (i32.lt_u (local.get $s) (i32.const 1000)))
        (if (result i32) (local.get $p)
          (then (i32.const -129))
          (else (local.get $s) (br $out)))
        (br_table 0 0 0 (i32.const 7))
        unreachable)
      (i32.const 5))
    drop
    (drop (block $x (result i32) (br_table $x 0 $x (i32.const 3) (i32.const 1))))
    (i64.const 0x7fffffffffff) (local.set $a)
    (i64.store offset=100000 align=4 (i32.const 0) (i64.extend_i32_u (i32.wrap_i64 (local.get $a))))
    (f64.store (i32.const 8) (f64.promote_f32 (f32.demote_f64 (f64.const 2.5))))
    (global.set $g (i64.add (global.get $g) (i64.load16_s (i32.const 4))))
    (drop (global.get $c))
    (drop (select (i32.const 1) (i32.const 2) (local.get $p)))
    (drop (select (result f32) (local.get $c) (f32.const 2) (local.get $p)))
    (drop (memory.grow (memory.size)))
    (memory.init $d (i32.const 0) (i32.const 0) (i32.const 1)) (data.drop $d)
    (memory.copy (i32.const 0) (i32.const 1) (i32.const 1)) (memory.fill (i32.const 0) (i32.const 0) (i32.const 1))
    (table.init $t $el (i32.const 0) (i32.const 0) (i32.const 1)) (elem.drop $el)
    (table.copy $t $t (i32.const 0) (i32.const 1) (i32.const 1))
    (drop (table.grow $t (ref.func $f0) (i32.const 1))) (drop (table.size $e))
    (table.fill $e (i32.const 0) (ref.null extern) (i32.const 1))
    (table.set $e (i32.const 0) (local.get $r)) (drop (ref.is_null (table.get $e (i32.const 1))))
    (drop (i32.trunc_sat_f64_s (local.get $b))) (drop (i64.extend8_s (local.get $a)))
    (drop (call_indirect $t (type $v) (i32.const 0)) (i32.const 0))
    (i32.const 1) (i64.const 2) (block (type $mv) (call $mv_f)) (drop) (drop)
    (call $h (local.get $p)) (local.tee $s) (return))
  (func $mv_f (type $mv) (local.get 1) (local.get 0))
  (func (export "dead") (result i32)
    (block (loop (br 1)) (i32.const 1) drop) (i32.const 2) return (i32.const 3))
""")


def _bodies_agree(data: bytes, cfg: Config) -> None:
    raw = decode_module(data, cfg)
    m, refs, et = V.validate_module(raw, cfg)
    ctx = V._Ctx(cfg, m, refs, et, raw.sigs)
    for i, (s, e) in enumerate(raw.bodies):
        fast = V._lower_body_fast(ctx, m.num_imported_funcs + i, data, s, e)
        assert fast is not None, f"fast loop gave up on valid body {i}"
        assert bytes(fast) == V._lower_body_exact(ctx, m.num_imported_funcs + i, data, s, e)


def _many_locals_module() -> bytes:
    body = b"\x02" + uleb(200) + b"\x7f" + uleb(50_000 - 300) + b"\x7e"
    body += b"\x20" + uleb(150) + b"\x21" + uleb(199) + b"\x20" + uleb(40_000) + b"\x1a\x0b"
    return (header() + section(1, b"\x01\x60\x00\x00") + section(3, b"\x01\x00")
            + section(10, b"\x01" + uleb(len(body)) + body))


@pytest.mark.parametrize("cfg", CONFIGS, ids=["default", "near", "uniform", "near_gas", "mvp"])
def test_fast_loop_equals_exact_loop(cfg: Config) -> None:
    checked = 0
    for data in [*SEED_MODULES, _many_locals_module(), FEATURES]:
        if isinstance(_result(data, cfg, False), tuple):
            continue  # not valid under this Config (the other test covers invalid modules)
        _bodies_agree(data, cfg)
        checked += 1
    assert checked >= 2


def _result(data: bytes, cfg: Config, fast: bool) -> object:
    old = V._USE_FAST
    V._USE_FAST = fast
    try:
        return translate(data, cfg).program
    except CompileError as e:
        return (type(e).__name__, str(e), e.offset, getattr(e, "func_index", None), getattr(e, "limit", None))
    finally:
        V._USE_FAST = old


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.sampled_from(range(len(SEED_MODULES) + 1)), muts=st.lists(mutation, min_size=1, max_size=4),
       cfg=st.sampled_from(CONFIGS))
def test_mutations_same_result_with_and_without_fast_loop(seed: int, muts: list[tuple[str, int, object]],
                                                         cfg: Config) -> None:
    data = _apply([*SEED_MODULES, FEATURES][seed], muts)
    assert _result(data, cfg, True) == _result(data, cfg, False)
