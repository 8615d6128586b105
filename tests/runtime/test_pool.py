"""The linear-memory reservation pool: reuse across instances, zeroing, and who may hold a memory."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from rt_helpers import wat

from nearvm.errors import Trap, TrapCode
from nearvm.runtime import Engine, Instance, Memory, Module, Store, memory_pool_stats, set_memory_pool_limit
from nearvm.runtime._ffi import ffi, lib
from nearvm.wasm.types import MemoryType

PAGE = 65536

MOD = """(module
  (memory (export "mem") {min} 16)
  (data (i32.const 16) "hello")
  (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "store") (param i32 i32) (i32.store8 (local.get 0) (local.get 1)))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"""


@pytest.fixture
def pool() -> Iterator[None]:
    gc.collect()
    before = memory_pool_stats()["limit"]
    set_memory_pool_limit(64)
    yield
    set_memory_pool_limit(before)


def _base(mem: Memory) -> int:
    return int(ffi.cast("uintptr_t", lib.nvm_memory_base(mem._ptr)))


def _fill(inst: Instance, pattern: int) -> None:
    mem = inst.exports["mem"]
    assert isinstance(mem, Memory)
    mem.write(0, bytes([pattern]) * mem.data_size)


@pytest.mark.usefixtures("pool", "needs_jit")
def test_pooled_memory_never_shows_previous_instance_data() -> None:
    engine = Engine()
    big = Module(engine, wat(MOD.format(min=4)))
    small = Module(engine, wat(MOD.format(min=1)))

    store = Store(engine)
    a = Instance(store, big, {})
    assert a.exports["grow"](4) == 4  # 8 pages, all written below
    _fill(a, 0xAB)
    a.exports["store"](8 * PAGE - 1, 0xCD)
    mem_a = a.exports["mem"]
    assert isinstance(mem_a, Memory)
    base_a = _base(mem_a)
    del a, mem_a, store
    gc.collect()
    stats = memory_pool_stats()
    assert stats["cached"] >= 1

    # Smaller than before: the pages above the new size must be inaccessible again.
    store = Store(engine)
    b = Instance(store, small, {})
    mem_b = b.exports["mem"]
    assert isinstance(mem_b, Memory)
    assert _base(mem_b) == base_a  # the same reservation, from the pool
    assert memory_pool_stats()["reused"] == stats["reused"] + 1
    data = bytes(mem_b.read(0, mem_b.data_size))
    assert data[16:21] == b"hello"
    assert data[:16] == bytes(16) and data[21:] == bytes(PAGE - 21)
    for addr in (PAGE, 2 * PAGE, 8 * PAGE - 1):
        with pytest.raises(Trap) as ei:
            b.exports["load"](addr)
        assert ei.value.code == TrapCode.MEMORY_OUT_OF_BOUNDS
    # Growing (from wasm and from Python) exposes zero pages only, incl. what A wrote there.
    assert b.exports["grow"](3) == 1
    assert mem_b.grow(4) == 4
    assert bytes(mem_b.read(PAGE, 7 * PAGE)) == bytes(7 * PAGE)
    assert b.exports["load"](8 * PAGE - 1) == 0
    _fill(b, 0x11)
    del b, mem_b, store, ei  # the trap's traceback refers to the Func, hence the Store
    gc.collect()

    # Larger than before: committed pages zero, and the new ones too.
    store = Store(engine)
    c = Instance(store, big, {})
    mem_c = c.exports["mem"]
    assert isinstance(mem_c, Memory)
    assert _base(mem_c) == base_a
    data = bytes(mem_c.read(0, mem_c.data_size))
    assert data == bytes(16) + b"hello" + bytes(4 * PAGE - 21)
    with pytest.raises(Trap):
        c.exports["load"](4 * PAGE)


@pytest.mark.usefixtures("pool")
def test_memoryview_keeps_memory_out_of_pool() -> None:
    engine = Engine()
    store = Store(engine)
    mem = Memory(store, MemoryType(1, 4))
    base = _base(mem)
    mem.write(0, b"keep")
    view = mem.data
    cached = memory_pool_stats()["cached"]
    del mem, store
    gc.collect()
    # The view still owns the bytes: the reservation is not pooled (nor reused by a new memory).
    assert memory_pool_stats()["cached"] == cached
    other = Memory(Store(engine), MemoryType(1, 4))  # may take another pooled reservation
    assert _base(other) != base
    cached = memory_pool_stats()["cached"]
    assert bytes(view[:4]) == b"keep"
    view[4:8] = b"more"
    del view
    gc.collect()
    assert memory_pool_stats()["cached"] == cached + 1
    again = Memory(Store(engine), MemoryType(2, 4))
    assert _base(again) == base
    assert bytes(again.read(0, 2 * PAGE)) == bytes(2 * PAGE)


@pytest.mark.usefixtures("pool")
def test_pool_limit_zero_unmaps() -> None:
    engine = Engine()
    Memory(Store(engine), MemoryType(1, 1))
    gc.collect()
    assert memory_pool_stats()["cached"] >= 1
    set_memory_pool_limit(0)
    assert memory_pool_stats()["cached"] == 0
    created = memory_pool_stats()["created"]
    Memory(Store(engine), MemoryType(1, 1))
    gc.collect()
    assert memory_pool_stats()["created"] == created + 1
    assert memory_pool_stats()["cached"] == 0
    with pytest.raises(ValueError):
        set_memory_pool_limit(-1)
