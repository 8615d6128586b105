"""A Func used from a second thread while its Store runs on the first is rejected before any state
is touched: the owner's calls never see the intruder's arguments."""

from __future__ import annotations

import sys
import threading
import time

from nearvm import Config, Engine, FuncType, Instance, Module, Store, ValType
from wasm_text import wat2wasm

# ident(x) spins a little (so calls overlap) and returns x.
IDENT = wat2wasm("""
(module
  (func (export "ident") (param i64) (result i64) (local i32)
    (local.set 1 (i32.const 20000))
    (loop $l (local.set 1 (i32.sub (local.get 1) (i32.const 1))) (br_if $l (local.get 1)))
    (local.get 0)))
""")


def test_func_called_from_other_threads_never_corrupts_the_owner() -> None:
    engine = Engine(Config())
    store = Store(engine)
    ident = Instance(store, Module(engine, IDENT)).exports["ident"]
    assert ident.type == FuncType([ValType.I64], [ValType.I64])
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often
    stop = threading.Event()
    attempts = [0, 0]  # intruders: calls tried, calls rejected

    def intruder(value: int) -> None:
        while not stop.is_set():
            attempts[0] += 1
            try:
                ident(value)
            except RuntimeError:
                attempts[1] += 1
            time.sleep(0)

    threads = [threading.Thread(target=intruder, args=(-1000 - k,)) for k in range(3)]
    wrong: list[tuple[int, int]] = []
    done = 0
    deadline = time.monotonic() + 60
    try:
        for t in threads:
            t.start()
        for i in range(3000):
            while time.monotonic() < deadline:
                try:
                    got = ident(i)
                except RuntimeError:  # an intruder holds the Store right now: try again
                    time.sleep(0)
                    continue
                if got != i:
                    wrong.append((i, got))
                done += 1
                break
    finally:
        stop.set()
        for t in threads:
            t.join()
        sys.setswitchinterval(old)
    assert wrong == [], f"the owner saw {len(wrong)} wrong results, e.g. {wrong[:5]}"
    assert done == 3000, f"the owner completed {done} of 3000 calls: the Store stayed claimed"
    assert attempts[1] > 0  # the intruders really raced with the owner


def test_host_func_from_other_thread_is_rejected_while_running() -> None:
    engine = Engine(Config())
    store = Store(engine)
    entered, release = threading.Event(), threading.Event()
    from nearvm import Func

    def block() -> None:
        entered.set()
        release.wait(10)

    blocker = Func(store, FuncType([], []), block)
    inst = Instance(store, Module(engine, wat2wasm(
        '(module (import "h" "b" (func $b)) (func (export "run") (call $b)))')), {"h": {"b": blocker}})
    t = threading.Thread(target=inst.exports["run"])
    t.start()
    assert entered.wait(10)
    try:
        import pytest

        with pytest.raises(RuntimeError, match="another thread"):
            ident = inst.exports["run"]
            ident()
    finally:
        release.set()
        t.join()
