"""Code memory stays bounded while other threads are always inside wasm: loading and dropping
modules frees their code (and the registry's snapshots) without a moment at which no thread
runs wasm. It used to be freed only at such a moment: +160 MB for 400 loads of a 532 KiB module
while one thread sat in a host function."""

from __future__ import annotations

import gc
import os
import sys
import threading

import pytest

from nearvm import Config, Engine, Func, FuncType, Instance, Module, Store
from nearvm.runtime import _selftest
from wasm_text import wat2wasm

LOADS = 200

# ~250 KB of machine code: 250 functions of 200 additions each.
_BODY = " ".join(f"(local.set 0 (i32.add (local.get 0) (i32.const {k})))" for k in range(200))
BIG = wat2wasm("(module " + " ".join(f'(func (export "f{i}") (param i32) (result i32) {_BODY} (local.get 0))'
                                    for i in range(250)) + ")")

# Parks its thread inside wasm (a host function waiting on an event), or spins briefly.
BUSY = wat2wasm("""
(module
  (import "h" "park" (func $park))
  (func (export "park") (call $park))
  (func (export "spin") (result i32) (local i32)
    (local.set 0 (i32.const 2000))
    (loop $l (local.set 0 (i32.sub (local.get 0) (i32.const 1))) (br_if $l (local.get 0)))
    (local.get 0)))
""")


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _mappings() -> int:
    with open("/proc/self/maps") as f:
        return sum(1 for _ in f)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="platform: reads /proc/self/{statm,maps} (Linux)")
def test_code_memory_bounded_while_threads_are_always_in_wasm() -> None:
    engine = Engine(Config(), artifact_key=b"code memory test key, 32 bytes..")
    blob = Module(engine, BIG).serialize()
    release = threading.Event()
    parked = threading.Event()
    stop = threading.Event()
    spins = [0]

    def parker() -> None:  # one activation live for the whole test
        store = Store(engine)

        def park() -> None:
            parked.set()
            release.wait(120)

        inst = Instance(store, Module(engine, BUSY), {"h": {"park": Func(store, FuncType([], []), park)}})
        inst.exports["park"]()

    def spinner() -> None:  # back-to-back short calls
        store = Store(engine)
        inst = Instance(store, Module(engine, BUSY), {"h": {"park": Func(store, FuncType([], []), lambda: None)}})
        spin = inst.exports["spin"]
        while not stop.is_set():
            spin()
            spins[0] += 1

    threads = [threading.Thread(target=parker), threading.Thread(target=spinner), threading.Thread(target=spinner)]
    for t in threads:
        t.start()
    try:
        assert parked.wait(30)
        for _ in range(20):  # warm up: the code-region pool fills to its steady state
            Module.deserialize(engine, blob)
        gc.collect()
        rss0, maps0 = _rss_bytes(), _mappings()
        for _ in range(LOADS):
            module = Module.deserialize(engine, blob)
            assert Instance(Store(engine), module).exports["f0"](0) == sum(range(200))
            del module
        gc.collect()
        grown, new_maps = _rss_bytes() - rss0, _mappings() - maps0
        retired = _selftest.registry_retired()
    finally:
        stop.set()
        release.set()
        for t in threads:
            t.join()
    assert spins[0] > 0
    code = len(blob)
    # Before: every load kept its code (LOADS x ~100 KiB artifact, ~250 KiB of code pages) and
    # one mapping each. Now: freed code is reused; what is left is bounded by the code-region
    # pool (at most 32 regions) and a few snapshots a concurrent lookup may still hold.
    assert grown < 16 * 1024 * 1024, f"RSS grew by {grown / 2**20:.1f} MiB over {LOADS} loads of {code} bytes"
    assert new_maps < 40, f"{new_maps} new mappings over {LOADS} loads"
    assert retired < 8, f"{retired} retired registry snapshots/owners not freed"
