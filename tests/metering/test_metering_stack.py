"""Deterministic stack budget (ARCHITECTURE.md "Gas and stack semantics").

A function's frame cost is 64 + its params and locals (i32/f32 4, i64/f64/refs 8) + its maximum
operand-stack depth in bytes; the budget (default 262,144 bytes per Store) holds
``floor(budget / frame)`` frames of one self-recursive function.  ``r(d)`` below makes ``d + 1``
frames, so the deepest call that succeeds is ``r(frames - 1)`` and ``r(frames)`` traps
``StackOverflow`` — with metering off, on, and under the NEAR profile, and on a thread whose native
stack is small.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from metering_helpers import api, instantiate, require_execution, uniform1, wat

import nearvm
from nearvm.bytecode.disasm import disassemble
from nearvm.config import Config, GasSchedule
from nearvm.wasm import translate

BUDGET = 262_144


@dataclass(frozen=True)
class Shape:
    name: str
    text: str
    frame: int            # hand-computed frame cost (bytes)
    setup: Callable[[Any, int], tuple[Any, ...]]  # (run, depth d) -> args for r making d + 1 frames


def _arg(_r: Any, d: int) -> tuple[Any, ...]:
    return (d,)


def _via_global(r: Any, d: int) -> tuple[Any, ...]:
    r.instance.exports["depth"].value = d
    return ()


SHAPES = [
    # (param i32): 4; operands: local.get + i32.const = 2 × i32 = 8.  64 + 4 + 8 = 76 → 3449 frames
    Shape("i32-param", """(module (func $r (export "r") (param $n i32)
        (if (local.get $n) (then (call $r (i32.sub (local.get $n) (i32.const 1)))))))""", 76, _arg),
    # no params/locals; operands: global.get + i32.const = 8.  64 + 8 = 72 → 3640 frames
    Shape("no-locals", """(module (global $d (export "depth") (mut i32) (i32.const 0))
        (func $r (export "r")
          (if (global.get $d) (then (global.set $d (i32.sub (global.get $d) (i32.const 1))) (call $r)))))""",
          72, _via_global),
    # (param i64) (local f64 f64 i32): 8 + 8 + 8 + 4 = 28; operands: two i64 = 16.  108 → 2427 frames
    Shape("i64-f64-locals", """(module (func $r (export "r") (param $n i64) (local f64 f64 i32)
        (if (i32.eqz (i64.eqz (local.get $n)))
          (then (call $r (i64.sub (local.get $n) (i64.const 1)))))))""", 108, _arg),
    # (param i32); operands at the call: three f64 + two i32 = 32.  64 + 4 + 32 = 100 → 2621 frames
    Shape("f64-operands", """(module (func $r (export "r") (param $n i32) (result f64)
        (if (result f64) (local.get $n)
          (then (f64.add (f64.const 1) (f64.add (f64.const 2) (f64.add (f64.const 3)
                  (call $r (i32.sub (local.get $n) (i32.const 1)))))))
          (else (f64.const 0)))))""", 100, _arg),
    # (param i32) + 40 i32 locals: 4 + 160; operands 8.  64 + 164 + 8 = 236 → 1110 frames
    Shape("many-i32-locals", """(module (func $r (export "r") (param $n i32) (local """ + "i32 " * 40 + """)
        (if (local.get $n) (then (call $r (i32.sub (local.get $n) (i32.const 1)))))))""", 236, _arg),
    # (param i32 externref funcref): 4 + 8 + 8; operands: local.get ×3 → i32 i32 + ext + func, max
    # at the call = i32 (n-1) ... computed: local.get $n, i32.const → 8, then the call's args
    # (i32, externref, funcref) = 4 + 8 + 8 = 20 while evaluating: [i32.sub result, ext, func] = 20,
    # before that [n, 1] = 8.  64 + 20 + 20 = 104 → 2520 frames
    Shape("refs", """(module (func $r (export "r") (param $n i32) (param $e externref) (param $f funcref)
        (if (local.get $n)
          (then (call $r (i32.sub (local.get $n) (i32.const 1)) (local.get $e) (local.get $f))))))""", 104,
          lambda _r, d: (d, None, None)),
]

CONFIGS = {
    "unmetered": Config(),
    "uniform1": uniform1(),
    "uniform-2**31": Config(gas=GasSchedule.uniform(2**31)),
    "near": Config.near(),
}


@pytest.fixture(autouse=True)
def _exec() -> None:
    require_execution()


def _frames(frame: int, budget: int = BUDGET) -> int:
    return budget // frame


def test_frames_are_the_hand_computed_figures() -> None:
    assert [(s.name, _frames(s.frame)) for s in SHAPES] == [
        ("i32-param", 3449), ("no-locals", 3640), ("i64-f64-locals", 2427), ("f64-operands", 2621),
        ("many-i32-locals", 1110), ("refs", 2520)]


@pytest.mark.parametrize("cfg", list(CONFIGS), ids=list(CONFIGS))
@pytest.mark.parametrize("shape", SHAPES, ids=[s.name for s in SHAPES])
def test_frame_cost_in_bytecode(shape: Shape, cfg: str) -> None:
    text = disassemble(translate(wat(shape.text), CONFIGS[cfg]).program)
    assert f"frame_cost={shape.frame}" in text, text


def _depth_outcome(shape: Shape, cfg: Config, d: int, run: Any = None) -> tuple[str, Any]:
    r = run if run is not None else instantiate(shape.text, cfg)
    try:
        res = r("r", *shape.setup(r, d))
    except nearvm.Trap as exc:
        return type(exc).__name__ + ":" + exc.code.name, r.store.stack_remaining
    return "ok:" + repr(res), r.store.stack_remaining


@pytest.mark.parametrize("cfg", list(CONFIGS), ids=list(CONFIGS))
@pytest.mark.parametrize("shape", SHAPES, ids=[s.name for s in SHAPES])
def test_deepest_recursion(shape: Shape, cfg: str) -> None:
    n = _frames(shape.frame)
    r = instantiate(shape.text, CONFIGS[cfg])
    # deepest that succeeds: n frames
    out, left = _depth_outcome(shape, CONFIGS[cfg], n - 1, r)
    assert out.startswith("ok:"), out
    assert left == BUDGET  # every exit gave its frame back
    # first that traps: n + 1 frames
    out, left = _depth_outcome(shape, CONFIGS[cfg], n, r)
    assert out == "StackOverflow:STACK_OVERFLOW"
    assert left == BUDGET  # a trap restores the budget
    # and the store is still usable at full depth
    out, _ = _depth_outcome(shape, CONFIGS[cfg], n - 1, r)
    assert out.startswith("ok:")


@pytest.mark.parametrize(("budget", "frames"), [(1000, 13), (76, 1), (75, 0), (76 * 100, 100), (76 * 100 - 1, 99)])
def test_custom_budget(budget: int, frames: int) -> None:
    # i32-param shape: frame 76; floor(budget / 76) frames
    shape = SHAPES[0]
    for cfg in (Config(stack_budget=budget), Config(gas=GasSchedule.uniform(1), stack_budget=budget)):
        r = instantiate(shape.text, cfg)
        assert r.store.stack_remaining == budget
        if frames:
            assert r("r", frames - 1) is None
        with pytest.raises(nearvm.StackOverflow):
            r("r", frames)
        assert r.store.stack_remaining == budget


def test_stack_check_precedes_entry_charge() -> None:
    # uniform(1), i32-param shape: a frame that recurses charges [local.get if] 2 + [local.get i32.const
    # i32.sub call end] 4 = 6; the leaf charges 2.  r(d) = 6d + 2 when it fits.  r(3449) needs 3450
    # frames: frames 1..3449 pay 6 each, the 3450th fails its stack check before its entry block.
    r = instantiate(SHAPES[0].text, uniform1())
    r("r", 3448)
    assert r.gas_used == 6 * 3448 + 2
    before = r.gas_used
    with pytest.raises(nearvm.StackOverflow):
        r("r", 3449)
    assert r.gas_used - before == 6 * 3449 == 20_694


def test_near_frame_init_not_charged_on_overflow() -> None:
    # NEAR, i32-param: frame init ceil(68 / 8) = 9 per frame, blocks 6 per recursing frame:
    # r(3449) pays 3449 × 15 ops and then overflows.
    r = instantiate(SHAPES[0].text, Config.near())
    with pytest.raises(nearvm.StackOverflow):
        r("r", 3449)
    assert r.gas_used == 3449 * 15 * 822_756


@pytest.mark.parametrize(("d", "ok"), [(3447, True), (3448, False)])
def test_budget_shared_across_reentry(d: int, ok: bool) -> None:
    # f (param i32) calls the host, which re-enters wasm: r (the i32-param shape, 76 bytes a frame).
    # f's frame: 64 + 4 + one i32 operand 4 = 72 stays taken while the host runs, so r gets
    # 262,144 - 72 = 262,072 bytes: 262,072 // 76 = 3448 frames (one less than called directly).
    text = """(module (import "env" "h" (func $h (param i32)))
      (func (export "f") (param $n i32) (call $h (local.get $n)))
      (func $r (export "r") (param $n i32)
        (if (local.get $n) (then (call $r (i32.sub (local.get $n) (i32.const 1)))))))"""
    cfg = uniform1()
    eng = api("Engine")(cfg)
    store = api("Store")(eng)
    seen: dict[str, Any] = {}

    def host(caller: Any, n: int) -> None:
        seen["in_host"] = caller.store.stack_remaining
        caller.get_export("r")(n)

    h = api("Func")(store, nearvm.FuncType([nearvm.ValType.I32], []), host, access_caller=True)
    r = instantiate(text, cfg, engine=eng, store=store, imports={"env": {"h": h}})
    assert "frame_cost=72" in disassemble(translate(wat(text), cfg).program).split("func 2")[0]
    if ok:
        r("f", d)
    else:
        with pytest.raises(nearvm.StackOverflow):
            r("f", d)
    assert seen["in_host"] == BUDGET - 72
    assert store.stack_remaining == BUDGET


# ---- the native stack is never what stops execution ----------------------------------------------
#
# Each size runs in a fresh interpreter: glibc caches the stacks of finished threads and hands a
# cached stack up to 4x larger than requested to a new thread, so a "small" thread in this process
# could silently get the 1 MiB stack of an earlier test.

_CHILD = r"""
import json, sys, threading
sys.path[:0] = sys.argv[2:]
from metering_helpers import instantiate, uniform1
from test_metering_stack import SHAPES, _depth_outcome
out = {}
def run():
    for sh in SHAPES:
        n = 262_144 // sh.frame
        r = instantiate(sh.text, uniform1())
        out[sh.name] = [_depth_outcome(sh, None, n - 1, r)[0].split(":")[0], _depth_outcome(sh, None, n, r)[0]]
threading.stack_size(int(sys.argv[1]))
t = threading.Thread(target=run)
t.start()
t.join()
print(json.dumps(out))
"""

_SMALL: dict[int, dict[str, list[str]]] = {}


def _small_stack_results(size: int) -> dict[str, list[str]]:
    if size not in _SMALL:
        import json
        import os
        import subprocess
        import sys

        here = os.path.dirname(os.path.abspath(__file__))
        pkg = os.path.dirname(os.path.dirname(nearvm.__file__))
        proc = subprocess.run([sys.executable, "-c", _CHILD, str(size), here, os.path.dirname(here), pkg],
                              capture_output=True, text=True, timeout=300, check=False)
        assert proc.returncode == 0, f"child ({size}-byte thread stack) died: {proc.returncode} {proc.stderr[-2000:]}"
        _SMALL[size] = json.loads(proc.stdout.strip().splitlines()[-1])
    return _SMALL[size]


SMALL_STACKS = [1024 * 1024, 512 * 1024, 256 * 1024, 128 * 1024]
# A thread stack smaller than the budget's native needs makes nearvm run the call on a big-stack
# helper thread (runtime invoke: NVM_CALL_NEEDS_STACK); 128 KiB cannot even hold one budget.


def _small_cases() -> list[Any]:
    out = []
    for shape in SHAPES:
        for size in SMALL_STACKS:
            out.append(pytest.param(shape, size, id=f"{shape.name}-{size // 1024}KiB"))
    return out


@pytest.mark.parametrize(("shape", "size"), _small_cases())
def test_small_native_stack_same_result(shape: Shape, size: int) -> None:
    # On the main thread (8 MiB): deepest ok, next StackOverflow (see test_deepest_recursion); a thread
    # with a small native stack must give exactly that too.
    assert _small_stack_results(size)[shape.name] == ["ok", "StackOverflow:STACK_OVERFLOW"]
