"""The NEAR profile (``Config.near()``): real contracts, NEAR's preparation, and each rule's rejection.

Preparation (docs/design.md "NEAR profile"): only ``env`` imports, functions only; the contract's memory is
replaced by the host's ``("env", "memory", MemoryType(1024, 2048))``; a contract importing memory
is rejected; NEAR's features (no multi-value, no SIMD/threads/tail calls) and limits apply.
"""

from __future__ import annotations

import struct

import pytest
from near_helpers import api, contract, require_execution, run_contract, wat

import nearvm
from nearvm.config import Config
from nearvm.errors import CompileError, DecodeError, LimitError, ValidationError
from nearvm.near import NEAR_MEMORY, prepare_contract, prepared_config
from nearvm.wasm import translate

OP = 822_756
CONTRACTS = ["tiny_contract_rs.wasm", "test_contract_ts.wasm"]
ENV_FUNCS = {
    "tiny_contract_rs.wasm": ["input", "read_register", "storage_write", "storage_read", "value_return"],
    "test_contract_ts.wasm": ["abort", "input", "register_len", "panic", "read_register", "storage_write",
                              "storage_read", "value_return"],
}


# ---- the real contracts ----------------------------------------------------------------------------

@pytest.mark.parametrize("name", CONTRACTS)
def test_contract_prepared_imports(name: str) -> None:
    info = translate(contract(name), Config.near())
    assert [(i.module, i.name, i.kind) for i in info.imports] == (
        [("env", n, "func") for n in ENV_FUNCS[name]] + [("env", "memory", "memory")])
    assert info.imports[-1].type == MemoryType_near()
    assert info.memories == [NEAR_MEMORY]
    assert info.num_imported_memories == 1
    # the contract's export of its memory now names the host's memory
    assert ("memory", "memory", 0) in [(e.name, e.kind, e.index) for e in info.exports]


def MemoryType_near() -> nearvm.MemoryType:  # noqa: N802 - reads like the type it returns
    return nearvm.MemoryType(1024, 2048)


@pytest.mark.parametrize("name", CONTRACTS)
def test_contract_module_imports_public_api(name: str) -> None:
    require_execution()
    eng = api("Engine")(Config.near())
    mod = api("Module")(eng, contract(name))
    assert mod.imports[-1] == ("env", "memory", nearvm.MemoryType(1024, 2048))
    assert all(m == "env" for m, _, _ in mod.imports)


@pytest.mark.parametrize("name", CONTRACTS)
def test_prepare_contract_binary_matches_in_engine_preparation(name: str) -> None:
    original = contract(name)
    prepared = prepare_contract(original)
    # valid Wasm with the host memory import, no memory section, no custom sections
    info = translate(prepared, prepared_config())
    assert info.program == translate(original, Config.near()).program
    assert [(i.module, i.name) for i in info.imports][-1] == ("env", "memory")
    assert info.customs == [] or not info.customs
    # the prepared contract itself imports memory: preparing it again is rejected, NEAR's way
    with pytest.raises(LimitError, match="memory"):
        prepare_contract(prepared)


@pytest.mark.parametrize("n", [0, 1, 3, 10])
def test_tiny_contract_exact_gas(n: int) -> None:
    # benchmark_storage_8b (one function, no params; locals i32 i32 i64×6 = 56 bytes):
    #   entry block: 44 instructions up to and including `loop` + frame init ceil((64 + 56) / 8) = 15 → 59
    #   per iteration: loop head [local.get local.get i64.lt_u local.tee i32.eqz br_if] 6
    #                + [local.get ... call storage_read i64.const i64.ne br_if] 22
    #                + key found: [local.get i64.const i64.store ... i64.store] 13
    #                + after end: [end local.get local.get i64.add local.set br] 5 = 46
    #   exit: loop head 6 + [end i64.const local.get i32.const i32.add i64.extend_i32_u call
    #         local.get i32.const i32.add global.set end] 10
    #   total (46n + 75) ops of 822,756 — n = 3: 213 × 822,756 = 175,247,028
    require_execution()
    host = run_contract(contract("tiny_contract_rs.wasm"), "benchmark_storage_8b", struct.pack("<QQ", n, 100),
                        gas_limit=10**13)
    assert host.store.gas_used == (46 * n + 75) * OP
    assert host.returned == struct.pack("<Q", sum(range(100, 100 + n)))
    assert host.storage == {struct.pack("<Q", 100 + i): struct.pack("<Q", 100 + i) for i in range(n)}
    if n == 3:
        assert host.store.gas_used == 175_247_028


def test_tiny_contract_out_of_gas_boundary() -> None:
    require_execution()
    need = (46 * 3 + 75) * OP
    data = contract("tiny_contract_rs.wasm")
    ok = run_contract(data, "benchmark_storage_8b", struct.pack("<QQ", 3, 100), gas_limit=need)
    assert ok.store.gas_remaining == 0
    with pytest.raises(nearvm.OutOfGas):
        run_contract(data, "benchmark_storage_8b", struct.pack("<QQ", 3, 100), gas_limit=need - 1)


def test_ts_contract_storage_roundtrip_and_panic() -> None:
    require_execution()
    data = contract("test_contract_ts.wasm")
    w = run_contract(data, "try_storage_write", b"key value", gas_limit=10**14)
    assert w.storage == {b"key": b"value"}
    r = run_contract(data, "try_storage_read", b"key", gas_limit=10**14, storage=w.storage)
    assert r.returned == b"value"
    # deterministic: the same call costs the same in a fresh engine and store
    r2 = run_contract(data, "try_storage_read", b"key", gas_limit=10**14, storage=w.storage)
    assert r2.store.gas_used == r.store.gas_used > 0
    with pytest.raises(nearvm.Trap) as ei:
        run_contract(data, "try_panic", b"", gas_limit=10**14)
    assert ei.value.code == nearvm.TrapCode.HOST_ERROR
    assert type(ei.value.__cause__).__name__ == "GuestPanic"


def test_contract_memory_is_the_hosts() -> None:
    require_execution()
    eng = api("Engine")(Config.near())
    store = api("Store")(eng, gas_limit=10**13)
    mem = api("Memory")(store, NEAR_MEMORY)
    mod = api("Module")(eng, contract("tiny_contract_rs.wasm"))
    from nearvm.near import env_imports

    inst = api("Instance")(store, mod, env_imports(store, mod, memory=mem))
    assert inst.exports["memory"] is mem or inst.exports["memory"].size_pages == 1024
    assert mem.size_pages == 1024
    assert mem.maximum == 2048


# ---- the preparation rules, one violation each --------------------------------------------------------

def _near_rejects(text: str, error: type[CompileError], match: str) -> CompileError:
    with pytest.raises(error, match=match) as ei:
        translate(wat(text), Config.near())
    # the same module is fine for the default (Wasm 2.0) config unless it is malformed there too
    return ei.value


def test_accepts_contract_defining_memory_of_any_size() -> None:
    # NEAR replaces the declaration whatever it says (even beyond 2048 pages)
    for mem in ("(memory 1 1)", "(memory 0)", "(memory 3000 4000)", ""):
        info = translate(wat(f'(module {mem} (func (export "main")))'), Config.near())
        assert info.memories == [NEAR_MEMORY]


def test_rejects_memory_import() -> None:
    e = _near_rejects('(module (import "env" "memory" (memory 1 1)))', LimitError, "memory")
    assert e.limit == "near_prepare"


def test_rejects_non_env_import() -> None:
    e = _near_rejects('(module (import "internal" "gas" (func (param i64))))', LimitError, "only \"env\"")
    assert e.limit == "near_prepare"


@pytest.mark.parametrize("decl", ["(table 1 funcref)", "(global i32)"])
def test_rejects_table_and_global_imports(decl: str) -> None:
    kind = decl[1:].split()[0]
    e = _near_rejects(f'(module (import "env" "x" {decl}))', LimitError, f"{kind} imports are not allowed")
    assert e.limit == "near_prepare"


@pytest.mark.parametrize("text", [
    "(module (func (result i32 i32) (i32.const 1) (i32.const 2)))",
    "(module (func (block (result i32 i32) (i32.const 1) (i32.const 2)) drop drop))",
    "(module (func (i32.const 1) (block (param i32) drop)))",
])
def test_rejects_multi_value(text: str) -> None:
    _near_rejects(text, ValidationError, "arity|multi")
    translate(wat(text), Config())  # fine in Wasm 2.0


def test_rejects_simd() -> None:
    with pytest.raises(CompileError):
        translate(wat('(module (func (result v128) (v128.const i64x2 0 0)))'), Config.near())


def test_rejects_threads_and_tail_calls() -> None:
    with pytest.raises(CompileError):
        translate(wat('(module (memory 1 1 shared) (func (drop (i32.atomic.load (i32.const 0)))))'), Config.near())
    with pytest.raises(CompileError):
        translate(wat('(module (func $f (return_call $f)))'), Config.near())


def test_accepts_near_features() -> None:
    # sign-extension, saturating float-to-int, bulk memory, reference types, mutable globals
    text = """(module (memory 1) (table 2 funcref) (global $g (export "g") (mut i32) (i32.const 0))
      (func (export "f") (param i32 f32) (result i32)
        (memory.fill (i32.const 0) (i32.const 1) (i32.const 2))
        (drop (ref.is_null (ref.null extern)))
        (i32.add (i32.extend8_s (local.get 0)) (i32.trunc_sat_f32_s (local.get 1)))))"""
    translate(wat(text), Config.near())


@pytest.mark.parametrize(("field", "text"), [pytest.param(f, t, id=f) for f, t in [
    ("max_functions", "(module " + "(func)" * 10_001 + ")"),
    ("max_tables", "(module (table 1 funcref) (table 1 funcref))"),
    ("max_table_elements", "(module (table 10001 funcref))"),
    ("max_params_per_function", "(module (func (param " + "i32 " * 65 + ")))"),
    ("max_types", "(module " + "".join(f"(type (func (param {'i32 ' * (i % 8)}) (result {'i64 ' * (i // 8 % 2)})))"
                                       for i in range(16)) + ")"),
]])
def test_rejects_limits(field: str, text: str) -> None:
    cfg = Config.near(max_types=15) if field == "max_types" else Config.near()
    with pytest.raises(LimitError) as ei:
        translate(wat(text), cfg)
    assert ei.value.limit == field
    assert f"[limit: {field}]" in str(ei.value)


def test_rejects_functions_counting_imports() -> None:
    # 9,999 defined + 2 imported = 10,001 > 10,000 (NEAR counts imports)
    text = ('(module (import "env" "a" (func)) (import "env" "b" (func)) ' + "(func)" * 9_999 + ")")
    with pytest.raises(LimitError) as ei:
        translate(wat(text), Config.near())
    assert ei.value.limit == "max_functions"
    translate(wat('(module (import "env" "a" (func)) ' + "(func)" * 9_999 + ")"), Config.near())


def _uleb(v: int) -> bytes:
    out = bytearray()
    while True:
        b, v = v & 0x7F, v >> 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def _many_locals(n_funcs: int, per_func: int) -> bytes:
    """n_funcs functions () -> () each declaring ``per_func`` i32 locals (built by hand: text tools cap locals)."""
    def sec(sid: int, payload: bytes) -> bytes:
        return bytes([sid]) + _uleb(len(payload)) + payload

    body = b"\x01" + _uleb(per_func) + b"\x7f" + b"\x0b"
    return (b"\0asm\x01\0\0\0" + sec(1, b"\x01\x60\x00\x00") + sec(3, _uleb(n_funcs) + b"\x00" * n_funcs)
            + sec(10, _uleb(n_funcs) + (_uleb(len(body)) + body) * n_funcs))


@pytest.mark.parametrize(("field", "bad", "good"), [
    # 5,001 blocks in one function / 5,000 accepted
    ("max_blocks_per_function", "(module (func " + "(block)" * 5001 + "))", "(module (func " + "(block)" * 5000 + "))"),
    # 10 × 5,000 + 1 blocks in the module / 50,000 accepted
    ("max_blocks_per_module", "(module " + ("(func " + "(block)" * 5000 + ")") * 10 + "(func (block)))",
     "(module " + ("(func " + "(block)" * 5000 + ")") * 10 + ")"),
    # body = locals vector (1 byte) + nops + end: 196,609 bytes / 196,608 accepted
    ("max_function_body_size", "(module (func " + "nop " * 196_607 + "))", "(module (func " + "nop " * 196_606 + "))"),
], ids=["blocks_per_function", "blocks_per_module", "function_body_size"])
def test_rejects_code_limits(field: str, bad: str, good: str) -> None:
    with pytest.raises(LimitError) as ei:
        translate(wat(bad), Config.near())
    assert ei.value.limit == field
    translate(wat(good), Config.near())


def test_rejects_too_many_locals_per_contract() -> None:
    # NEAR: 1,000,000 locals per contract. 20 × 50,000 is accepted, 21 × 50,000 is not.
    translate(_many_locals(20, 50_000), Config.near())
    with pytest.raises(LimitError) as ei:
        translate(_many_locals(21, 50_000), Config.near())
    assert ei.value.limit == "max_locals_per_module"


def _padded(total: int) -> bytes:
    """A valid empty module padded to ``total`` bytes with one custom section (4-byte LEB size)."""
    base = wat("(module)")
    size = total - len(base) - 1 - 4
    leb = bytes([(size & 0x7F) | 0x80, ((size >> 7) & 0x7F) | 0x80, ((size >> 14) & 0x7F) | 0x80, size >> 21])
    data = base + b"\x00" + leb + b"\x01p" + b"\0" * (size - 2)
    assert len(data) == total
    return data


def test_rejects_oversized_contract() -> None:
    translate(_padded(4_194_304), Config.near())  # exactly 4 MiB: accepted
    with pytest.raises(LimitError) as ei:
        translate(_padded(4_194_304 + 1), Config.near())
    assert ei.value.limit == "max_module_size"


def test_rejects_malformed_with_decode_error() -> None:
    with pytest.raises(DecodeError):
        translate(b"\0asm\x01\0\0\0\x05", Config.near())


def test_prepare_contract_requires_near_config() -> None:
    with pytest.raises(ValueError, match="near_prepare"):
        prepare_contract(wat("(module)"), Config())


def test_prepare_contract_without_imports_or_memory() -> None:
    prepared = prepare_contract(wat('(module (func (export "main")))'))
    info = translate(prepared, prepared_config())
    assert [(i.module, i.name, i.kind) for i in info.imports] == [("env", "memory", "memory")]
    assert info.program == translate(wat('(module (func (export "main")))'), Config.near()).program


@pytest.mark.parametrize("name", CONTRACTS)
def test_host_function_table_matches_real_contracts(name: str) -> None:
    from nearvm.near import HOST_FUNCTIONS

    info = translate(contract(name), Config.near())
    for imp in info.imports:
        if imp.kind == "func":
            assert HOST_FUNCTIONS[imp.name] == imp.type, imp.name
