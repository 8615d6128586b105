"""wasm -> host -> wasm nesting ends at a deterministic depth with STACK_OVERFLOW, whatever the
interpreter's recursion limit (it used to be a HOST_ERROR at depth ~166 by default and a
STACK_OVERFLOW at depth ~3,640 with a raised limit)."""

from __future__ import annotations

import sys

import pytest

from nearvm import Config, Engine, Func, FuncType, Instance, Module, Store, Trap, TrapCode, ValType
from nearvm.runtime.store import MAX_NESTED_CALLS
from wasm_text import wat2wasm

NEST = wat2wasm("""
(module
  (import "h" "again" (func $again (param i32)))
  (func (export "nest") (param i32) (call $again (i32.add (local.get 0) (i32.const 1)))))
""")


def _nest_depth() -> tuple[int, TrapCode, str]:
    """How deep wasm -> host -> wasm nesting gets on a fresh Store, and how it ends."""
    engine = Engine(Config())
    store = Store(engine)
    deepest = [0]
    nest: list[Func] = []

    def again(depth: int) -> None:
        deepest[0] = max(deepest[0], depth)
        nest[0](depth)

    inst = Instance(store, Module(engine, NEST), {"h": {"again": Func(store, FuncType([ValType.I32], []), again)}})
    nest.append(inst.exports["nest"])
    with pytest.raises(Trap) as ei:
        nest[0](0)
    # The trap is the same object at every level; its cause chain says what really stopped it.
    return deepest[0], ei.value.code, str(ei.value)


def test_reentrancy_depth_does_not_depend_on_the_recursion_limit() -> None:
    old = sys.getrecursionlimit()
    try:
        default = _nest_depth()
        sys.setrecursionlimit(100_000)
        raised = _nest_depth()
        sys.setrecursionlimit(max(200, len(_frames()) + 60))  # barely above the current depth
        lowered = _nest_depth()
    finally:
        sys.setrecursionlimit(old)
    assert default == raised == lowered
    depth, code, message = default
    assert code == TrapCode.STACK_OVERFLOW
    assert depth == MAX_NESTED_CALLS
    assert "nested" in message


def test_reentrancy_limit_leaves_the_store_usable() -> None:
    engine = Engine(Config())
    store = Store(engine)
    calls = [0]
    nest: list[Func] = []

    def again(depth: int) -> None:
        calls[0] += 1
        nest[0](depth)

    inst = Instance(store, Module(engine, NEST), {"h": {"again": Func(store, FuncType([ValType.I32], []), again)}})
    nest.append(inst.exports["nest"])
    with pytest.raises(Trap):
        nest[0](0)
    assert store._depth == 0 and store.stack_remaining == store.stack_budget
    calls[0] = 0
    with pytest.raises(Trap):
        nest[0](0)
    assert calls[0] == MAX_NESTED_CALLS


def _frames() -> list[object]:
    out = []
    f = sys._getframe()
    while f is not None:
        out.append(f)
        f = f.f_back  # type: ignore[assignment]
    return out
