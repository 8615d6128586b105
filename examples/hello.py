"""Hello world: a wasm module calls a Python function (wasmtime-py's ``hello.py``, on nearvm).

Run: ``python examples/hello.py``.
"""

import nearvm

WAT = """
(module
  (func $hello (import "" "hello"))
  (func (export "run") (call $hello)))
"""


def main() -> None:
    engine = nearvm.Engine()
    store = nearvm.Store(engine)
    module = nearvm.Module(engine, WAT)  # WebAssembly text is accepted directly

    def say_hello() -> None:
        print("Hello from Python!")

    hello = nearvm.Func(store, nearvm.FuncType([], []), say_hello)
    # Imports are named (wasmtime-py takes a list in import order instead).
    instance = nearvm.Instance(store, module, {"": {"hello": hello}})
    instance.exports["run"]()


if __name__ == "__main__":
    main()
