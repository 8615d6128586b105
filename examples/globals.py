"""Imported and exported globals (wasmtime-py's ``global.py``, on nearvm).

Run: ``python examples/globals.py``.
"""

import nearvm
from nearvm import GlobalType, ValType

WAT = """
(module
  (global $f32_global (import "" "const f32") f32)
  (global $i64_global (import "" "mut i64") (mut i64))

  (global $const_f32 (export "const f32") f32 (f32.const 2))
  (global $mut_i64 (export "mut i64") (mut i64) (i64.const 4))

  (func (export "get const f32 import") (result f32) (global.get $f32_global))
  (func (export "get mut i64 import") (result i64) (global.get $i64_global))
  (func (export "get mut i64 export") (result i64) (global.get $mut_i64))
  (func (export "set mut i64 import") (param i64) (global.set $i64_global (local.get 0)))
  (func (export "set mut i64 export") (param i64) (global.set $mut_i64 (local.get 0))))
"""


def main() -> None:
    engine = nearvm.Engine()
    store = nearvm.Store(engine)
    const_f32_import = nearvm.Global(store, GlobalType(ValType.F32, mutable=False), 1.0)
    mut_i64_import = nearvm.Global(store, GlobalType(ValType.I64, mutable=True), 3)
    instance = nearvm.Instance(store, nearvm.Module(engine, WAT),
                               {"": {"const f32": const_f32_import, "mut i64": mut_i64_import}})
    e = instance.exports
    const_f32_export, mut_i64_export = e["const f32"], e["mut i64"]

    print("Accessing globals...")
    assert const_f32_import.value == 1.0
    assert mut_i64_import.value == 3
    assert const_f32_export.value == 2.0
    assert mut_i64_export.value == 4
    assert e["get const f32 import"]() == 1.0
    assert e["get mut i64 import"]() == 3
    assert e["get mut i64 export"]() == 4

    print("Mutating globals from Python...")
    mut_i64_import.value = 5
    mut_i64_export.value = 6
    assert e["get mut i64 import"]() == 5
    assert e["get mut i64 export"]() == 6
    try:
        const_f32_export.value = 3.0
        raise AssertionError("expected ValueError")
    except ValueError as err:
        print("immutable:", err)

    print("Mutating globals from wasm...")
    e["set mut i64 import"](7)
    e["set mut i64 export"](8)
    assert mut_i64_import.value == 7
    assert mut_i64_export.value == 8
    print("done")


if __name__ == "__main__":
    main()
