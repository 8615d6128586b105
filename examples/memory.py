"""Linear memory from Python and from wasm (wasmtime-py's ``memory.py``, on nearvm).

Run: ``python examples/memory.py``.
"""

import nearvm

WAT = """
(module
  (memory (export "memory") 2 3)

  (func (export "size") (result i32) (memory.size))
  (func (export "load") (param i32) (result i32)
    (i32.load8_s (local.get 0)))
  (func (export "store") (param i32 i32)
    (i32.store8 (local.get 0) (local.get 1)))

  (data (i32.const 0x1000) "\\01\\02\\03\\04"))
"""


def main() -> None:
    engine = nearvm.Engine()
    store = nearvm.Store(engine)
    instance = nearvm.Instance(store, nearvm.Module(engine, WAT))
    exports = instance.exports
    memory = exports["memory"]
    size, load, store_ = exports["size"], exports["load"], exports["store"]

    print("Checking memory...")
    assert memory.size_pages == 2
    assert memory.data_size == 0x20000
    assert memory.read(0, 1) == b"\x00"
    assert memory.read(0x1000, 4) == b"\x01\x02\x03\x04"
    assert memory.data[0x1003] == 4  # a writable memoryview of the bytes
    assert size() == 2
    assert load(0) == 0
    assert load(0x1000) == 1
    assert load(0x1003) == 4
    assert load(0x1FFFF) == 0
    try:
        load(0x20000)
        raise AssertionError("expected a trap")
    except nearvm.Trap as trap:
        assert trap.code is nearvm.TrapCode.MEMORY_OUT_OF_BOUNDS
        print("out-of-bounds load trapped:", trap.message)

    print("Mutating memory...")
    memory.write(0x1003, b"\x05")
    store_(0x1002, 6)
    try:
        store_(0x20000, 0)
        raise AssertionError("expected a trap")
    except nearvm.Trap:
        pass
    assert memory.read(0x1002, 2) == b"\x06\x05"
    assert load(0x1002) == 6
    assert load(0x1003) == 5

    print("Growing memory...")
    assert memory.grow(1) == 2  # returns the previous size in pages
    assert memory.size_pages == 3
    assert load(0x20000) == 0
    store_(0x20000, 0)
    try:
        memory.grow(1)  # past the maximum of 3 pages
        raise AssertionError("expected ValueError")
    except ValueError as e:
        print("cannot grow:", e)
    assert memory.grow(0) == 3

    print("Creating a standalone memory...")
    standalone = nearvm.Memory(store, nearvm.MemoryType(5, 5))
    assert standalone.size_pages == 5
    print("done")


if __name__ == "__main__":
    main()
