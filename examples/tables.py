"""Tables of function references: call_indirect, growing, and setting entries from Python.

Run: ``python examples/tables.py``.
"""

import nearvm
from nearvm import FuncType, TableType, ValType

WAT = """
(module
  (table (export "table") 3 10 funcref)
  (type $i_i (func (param i32) (result i32)))
  (func $double (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
  (func $square (param i32) (result i32) (i32.mul (local.get 0) (local.get 0)))
  (elem (i32.const 1) $double $square)
  (func (export "call_indirect") (param i32 i32) (result i32)
    (call_indirect (type $i_i) (local.get 1) (local.get 0))))
"""


def main() -> None:
    engine = nearvm.Engine()
    store = nearvm.Store(engine)
    instance = nearvm.Instance(store, nearvm.Module(engine, WAT))
    table = instance.exports["table"]
    call = instance.exports["call_indirect"]
    assert isinstance(table, nearvm.Table)

    print("Checking the table...")
    assert table.size == 3
    assert table.get(0) is None
    assert isinstance(table.get(1), nearvm.Func)
    print("double(5) =", call(1, 5), "; square(5) =", call(2, 5))
    try:
        call(0, 5)  # a null entry
        raise AssertionError("expected a trap")
    except nearvm.Trap as trap:
        assert trap.code is nearvm.TrapCode.UNINITIALIZED_ELEMENT
        print("calling a null entry trapped:", trap.message)

    print("Setting an entry from Python...")
    negate = nearvm.Func(store, FuncType([ValType.I32], [ValType.I32]), lambda x: -x)
    table.set(0, negate)
    assert call(0, 5) == -5

    print("Growing the table...")
    assert table.grow(2, negate) == 3  # returns the previous size
    assert table.size == 5 and call(4, 7) == -7
    try:
        call(5, 1)
        raise AssertionError("expected a trap")
    except nearvm.Trap as trap:
        assert trap.code is nearvm.TrapCode.TABLE_OUT_OF_BOUNDS

    print("A table made in Python...")
    mine = nearvm.Table(store, TableType(ValType.FUNCREF, 2, 4))
    assert mine.size == 2 and mine.get(1) is None
    print("done")


if __name__ == "__main__":
    main()
