"""Greatest common divisor, a loop in wasm (wasmtime-py's ``gcd.py``, on nearvm).

Run: ``python examples/gcd.py``.
"""

import nearvm

WAT = """
(module
  (func $gcd (export "gcd") (param i32 i32) (result i32)
    (local i32)
    block  ;; label = @1
      block  ;; label = @2
        local.get 0
        br_if 0 (;@2;)
        local.get 1
        local.set 2
        br 1 (;@1;)
      end
      loop  ;; label = @2
        local.get 1
        local.get 0
        local.tee 2
        i32.rem_u
        local.set 0
        local.get 2
        local.set 1
        local.get 0
        br_if 0 (;@2;)
      end
    end
    local.get 2))
"""


def main() -> None:
    engine = nearvm.Engine()
    store = nearvm.Store(engine)
    instance = nearvm.Instance(store, nearvm.Module(engine, WAT))
    gcd = instance.exports["gcd"]
    print(f"gcd(6, 27) = {gcd(6, 27)}")

    # The same module, metered: every instruction costs 1 gas.
    metered = nearvm.Engine(nearvm.Config(gas=nearvm.GasSchedule.uniform(1)))
    store = nearvm.Store(metered, gas_limit=1_000)
    gcd = nearvm.Instance(store, nearvm.Module(metered, WAT)).exports["gcd"]
    print(f"gcd(1071, 462) = {gcd(1071, 462)} using {store.gas_used} gas")


if __name__ == "__main__":
    main()
