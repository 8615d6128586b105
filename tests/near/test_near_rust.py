"""A ``no_std`` Rust contract built here with Debian's rustc for wasm32, declaring NEAR's ``env``
imports by hand, prepared NEAR's way and run on the fake NEAR host.

Cross-check of the metering against an independent engine: wasmtime's fuel counts every executed
operator 1 except nop, drop, block, loop, unreachable, return, else, end (0), plus 1 on entry to
every wasm function. With ``GasSchedule.uniform(1)`` re-weighted the same way (and ``call``/
``call_indirect`` weighted 2 to stand for the callee's entry), nearvm's ``gas_used`` must equal
wasmtime's consumed fuel − 1 (the exported function's entry) + the number of host calls (a call
to a host function has no wasm entry). Both engines run the binary from ``prepare_contract``.
"""

from __future__ import annotations

import os
import struct
import subprocess
from pathlib import Path
from typing import Any

import pytest
from near_helpers import DEBIAN_RUSTC, FakeNear, GuestPanic, api, require_execution, run_contract

import nearvm
from nearvm.config import Config, GasSchedule
from nearvm.near import NEAR_MEMORY, prepare_contract, prepared_config
from nearvm.wasm import translate

RUST_SRC = r"""
#![no_std]

#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

#[link(wasm_import_module = "env")]
extern "C" {
    fn input(register_id: u64);
    fn register_len(register_id: u64) -> u64;
    fn read_register(register_id: u64, ptr: u64);
    fn value_return(value_len: u64, value_ptr: u64);
    fn storage_write(key_len: u64, key_ptr: u64, value_len: u64, value_ptr: u64, register_id: u64) -> u64;
    fn storage_read(key_len: u64, key_ptr: u64, register_id: u64) -> u64;
    fn log_utf8(len: u64, ptr: u64);
    fn panic_utf8(len: u64, ptr: u64);
}

static mut BUF: [u8; 256] = [0; 256];

unsafe fn read_input() -> usize {
    input(0);
    let n = register_len(0) as usize;
    if n > 255 { let m = b"input too long"; panic_utf8(m.len() as u64, m.as_ptr() as u64); }
    read_register(0, BUF.as_ptr() as u64);
    n
}

unsafe fn input_u64() -> u64 {
    let n = read_input();
    let mut v: u64 = 0;
    let mut i = 0;
    while i < n && i < 8 { v |= (BUF[i] as u64) << (8 * i); i += 1; }
    v
}

unsafe fn ret_u64(v: u64) {
    let b = v.to_le_bytes();
    value_return(8, b.as_ptr() as u64);
}

#[no_mangle]
pub extern "C" fn mix(n: u64) -> u64 {
    let mut s: u64 = 0;
    let mut i: u64 = 1;
    while i <= n { s = s.wrapping_add(i.wrapping_mul(i) ^ (s >> 3)); i += 1; }
    s
}

#[no_mangle]
pub unsafe extern "C" fn sum_n() { ret_u64(mix(input_u64())) }

#[inline(never)]
#[no_mangle]
pub extern "C" fn fib(n: u64) -> u64 { if n < 2 { n } else { fib(n - 1).wrapping_add(fib(n - 2)) } }

#[no_mangle]
pub unsafe extern "C" fn fibonacci() { ret_u64(fib(input_u64())) }

#[inline(never)]
#[no_mangle]
pub extern "C" fn depth(n: u64, acc: u64) -> u64 {
    // not an accumulator pattern: LLVM cannot turn this recursion into a loop
    if n == 0 { acc } else { depth(n - 1, acc.wrapping_mul(31).wrapping_add(n)).rotate_left(7) ^ n }
}

#[no_mangle]
pub unsafe extern "C" fn recurse() { ret_u64(depth(input_u64(), 7)) }

#[no_mangle]
pub unsafe extern "C" fn write_kv() {
    let n = read_input();
    let key = b"key";
    let evicted = storage_write(key.len() as u64, key.as_ptr() as u64, n as u64, BUF.as_ptr() as u64, 1);
    let r = storage_read(key.len() as u64, key.as_ptr() as u64, 2);
    read_register(2, BUF.as_ptr() as u64);
    let m = b"stored";
    log_utf8(m.len() as u64, m.as_ptr() as u64);
    BUF[n] = (evicted as u8) + 2 * (r as u8);
    value_return(n as u64 + 1, BUF.as_ptr() as u64);
}

#[no_mangle]
pub unsafe extern "C" fn fail() {
    let m = b"boom";
    panic_utf8(m.len() as u64, m.as_ptr() as u64);
}
"""

ENV = ["input", "register_len", "panic_utf8", "read_register", "value_return", "storage_write", "storage_read",
       "log_utf8"]
LIMIT = 10**15  # 1 Pgas, NEAR's max_gas_burnt


def _rustc_for_wasm32() -> str | None:
    if not os.path.exists(DEBIAN_RUSTC):
        return None
    probe = subprocess.run([DEBIAN_RUSTC, "--print", "sysroot"], capture_output=True, text=True, check=False)
    sysroot = Path(probe.stdout.strip())
    if probe.returncode != 0 or not (sysroot / "lib" / "rustlib" / "wasm32-unknown-unknown").is_dir():
        return None
    return DEBIAN_RUSTC


@pytest.fixture(scope="module")
def rs_wasm(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    rustc = _rustc_for_wasm32()
    if rustc is None:
        pytest.fail("Debian's rustc for wasm32 is not installed "
                    "(the Debian packages rustc and libstd-rust-dev-wasm32; make test installs them)")
    d = tmp_path_factory.mktemp("rs")
    (d / "lib.rs").write_text(RUST_SRC)
    out = d / "contract.wasm"
    proc = subprocess.run([rustc, "--target", "wasm32-unknown-unknown", "--crate-type", "cdylib", "-O",
                           "-C", "strip=debuginfo", "-o", str(out), str(d / "lib.rs")],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    return out.read_bytes()


def _mix(n: int) -> int:
    s = 0
    for i in range(1, n + 1):
        s = (s + (((i * i) & (2**64 - 1)) ^ (s >> 3))) & (2**64 - 1)
    return s


def _fib(n: int) -> int:
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


# ---- preparation ------------------------------------------------------------------------------------

def test_rust_contract_prepared(rs_wasm: bytes) -> None:
    info = translate(rs_wasm, Config.near())
    assert [(i.module, i.name) for i in info.imports] == [("env", n) for n in ENV] + [("env", "memory")]
    assert info.memories == [NEAR_MEMORY]
    from nearvm.near import HOST_FUNCTIONS

    assert all(HOST_FUNCTIONS[i.name] == i.type for i in info.imports if i.kind == "func")
    prepared = prepare_contract(rs_wasm)
    assert translate(prepared, prepared_config()).program == info.program


def test_rust_contract_memory_import_rejected(rs_wasm: bytes) -> None:
    # the prepared binary imports memory itself: NEAR rejects a contract that does that
    with pytest.raises(nearvm.LimitError, match="memory"):
        translate(prepare_contract(rs_wasm), Config.near())


# ---- execution on the fake host ----------------------------------------------------------------------

@pytest.mark.parametrize("n", [0, 1, 10, 1000])
def test_rust_sum_n(rs_wasm: bytes, n: int) -> None:
    require_execution()
    host = run_contract(rs_wasm, "sum_n", struct.pack("<Q", n), gas_limit=LIMIT)
    assert host.returned == struct.pack("<Q", _mix(n))
    assert host.calls == ["input", "register_len", "read_register", "value_return"]


def test_rust_fibonacci(rs_wasm: bytes) -> None:
    require_execution()
    host = run_contract(rs_wasm, "fibonacci", struct.pack("<Q", 20), gas_limit=LIMIT)
    assert host.returned == struct.pack("<Q", _fib(20)) == struct.pack("<Q", 6765)


def test_rust_storage_and_logs(rs_wasm: bytes) -> None:
    require_execution()
    host = run_contract(rs_wasm, "write_kv", b"hello", gas_limit=LIMIT, storage={b"key": b"old"})
    assert host.storage == {b"key": b"hello"}
    assert host.logs == ["stored"]
    # evicted = 1 (old value existed), found = 1 → 1 + 2
    assert host.returned == b"hello\x03"


def test_rust_panic_is_host_error(rs_wasm: bytes) -> None:
    require_execution()
    with pytest.raises(nearvm.Trap) as ei:
        run_contract(rs_wasm, "fail", gas_limit=LIMIT)
    assert ei.value.code == nearvm.TrapCode.HOST_ERROR
    assert isinstance(ei.value.__cause__, GuestPanic)
    assert str(ei.value.__cause__) == "boom"


def test_rust_deep_recursion_is_stack_overflow(rs_wasm: bytes) -> None:
    require_execution()
    eng = api("Engine")(Config.near())
    store = api("Store")(eng, gas_limit=LIMIT)
    host = FakeNear(store, struct.pack("<Q", 10**6))
    inst = host.instantiate(api("Module")(eng, rs_wasm))
    with pytest.raises(nearvm.StackOverflow):
        inst.exports["recurse"]()
    assert store.stack_remaining == store.stack_budget
    host.input = struct.pack("<Q", 100)
    inst.exports["recurse"]()
    assert host.returned is not None


def test_rust_out_of_gas_boundary(rs_wasm: bytes) -> None:
    require_execution()
    need = run_contract(rs_wasm, "sum_n", struct.pack("<Q", 50), gas_limit=LIMIT).store.gas_used
    assert need % 822_756 == 0
    ok = run_contract(rs_wasm, "sum_n", struct.pack("<Q", 50), gas_limit=need)
    assert ok.store.gas_remaining == 0
    with pytest.raises(nearvm.OutOfGas):
        run_contract(rs_wasm, "sum_n", struct.pack("<Q", 50), gas_limit=need - 1)


def test_rust_gas_deterministic_and_survives_serialization(rs_wasm: bytes) -> None:
    require_execution()
    a = run_contract(rs_wasm, "fibonacci", struct.pack("<Q", 15), gas_limit=LIMIT).store.gas_used
    b = run_contract(rs_wasm, "fibonacci", struct.pack("<Q", 15), gas_limit=LIMIT).store.gas_used
    assert a == b > 0
    eng = api("Engine")(Config.near())
    mod = api("Module")(eng, rs_wasm)
    mod2 = api("Module").deserialize(eng, mod.serialize(), trusted_unauthenticated=True)  # in-process round trip
    store = api("Store")(eng, gas_limit=LIMIT)
    host = FakeNear(store, struct.pack("<Q", 15))
    host.instantiate(mod2).exports["fibonacci"]()
    assert store.gas_used == a


# ---- differential: nearvm gas vs wasmtime fuel ----------------------------------------------------------

FUEL_LIKE = Config(gas=GasSchedule.uniform(1).with_weights(
    {"nop": 0, "drop": 0, "loop": 0, "unreachable": 0, "return": 0, "call": 2, "call_indirect": 2}),
    multi_value=False)


def _wasmtime_run(prepared: bytes, method: str, input_data: bytes, args: tuple[int, ...] = ()) -> tuple[int, Any, Any]:
    import wasmtime
    cfg = wasmtime.Config()
    cfg.consume_fuel = True
    eng = wasmtime.Engine(cfg)
    store = wasmtime.Store(eng)
    store.set_fuel(10**15)
    mem = wasmtime.Memory(store, wasmtime.MemoryType(wasmtime.Limits(1024, 2048)))

    class Bridge(FakeNear):
        def __init__(self) -> None:  # no nearvm store/memory: wasmtime's
            self.input = input_data
            self.registers = {}
            self.storage = {}
            self.logs = []
            self.returned = None
            self.calls = []

        def read(self, ptr: int, n: int) -> bytes:
            return bytes(mem.read(store, ptr, ptr + n))

        def write(self, ptr: int, data: bytes) -> None:
            mem.write(store, data, ptr)

    host = Bridge()
    handlers = host.handlers()
    module = wasmtime.Module(eng, prepared)
    imports: list[Any] = []
    for imp in module.imports:
        if imp.name == "memory":
            imports.append(mem)
            continue
        ty = imp.type
        imports.append(wasmtime.Func(store, ty, handlers[imp.name]))
    inst = wasmtime.Instance(store, module, imports)
    before = store.get_fuel()  # instantiation may burn fuel too (constant expressions): not counted
    result = inst.exports(store)[method](store, *args)
    return before - store.get_fuel(), host, result


def _nearvm_run(prepared: bytes, method: str, input_data: bytes, args: tuple[int, ...] = ()) -> tuple[int, Any, Any]:
    eng = api("Engine")(FUEL_LIKE)
    store = api("Store")(eng)
    host = FakeNear(store, input_data)
    inst = host.instantiate(api("Module")(eng, prepared))
    result = inst.exports[method](*args)
    return store.gas_used, host, result


@pytest.mark.parametrize(("method", "input_data", "args"), [
    ("sum_n", struct.pack("<Q", 0), ()),
    ("sum_n", struct.pack("<Q", 1000), ()),
    ("fibonacci", struct.pack("<Q", 18), ()),
    ("recurse", struct.pack("<Q", 500), ()),
    ("write_kv", b"some bytes", ()),
    ("mix", b"", (777,)),
    ("fib", b"", (16,)),
    ("depth", b"", (300, 5)),
])
def test_gas_equals_wasmtime_fuel(rs_wasm: bytes, method: str, input_data: bytes, args: tuple[int, ...]) -> None:
    require_execution()
    prepared = prepare_contract(rs_wasm)
    fuel, wt_host, wt_res = _wasmtime_run(prepared, method, input_data, args)
    gas, nv_host, nv_res = _nearvm_run(prepared, method, input_data, args)
    assert nv_res == wt_res
    assert nv_host.returned == wt_host.returned
    assert nv_host.calls == wt_host.calls
    assert gas == fuel - 1 + len(nv_host.calls)


@pytest.mark.parametrize(("name", "method", "input_data"), [
    ("tiny_contract_rs.wasm", "benchmark_storage_8b", struct.pack("<QQ", 7, 1000)),
    ("test_contract_ts.wasm", "try_storage_write", b"key value"),
    ("test_contract_ts.wasm", "try_storage_read", b"key"),
])
def test_real_contract_gas_equals_wasmtime_fuel(name: str, method: str, input_data: bytes) -> None:
    from near_helpers import contract

    require_execution()
    prepared = prepare_contract(contract(name))
    fuel, wt_host, _ = _wasmtime_run(prepared, method, input_data)
    gas, nv_host, _ = _nearvm_run(prepared, method, input_data)
    assert nv_host.calls == wt_host.calls
    assert nv_host.storage == wt_host.storage
    assert nv_host.returned == wt_host.returned
    assert gas == fuel - 1 + len(nv_host.calls)
