"""NEAR's host environment: every family of ``env`` functions, NEAR's fees computed by hand from the
parameter table, limits exceeded by one, NEAR's error names, burnt vs used gas."""

from __future__ import annotations

import hashlib
import struct

import pytest

from nearvm.near import NearChain, NearParams
from nearvm.near.host import SIGNATURES, UNSUPPORTED
from nearvm.near.prepare import HOST_FUNCTIONS
from wasm_text import wat2wasm

P = NearParams.load()
X = P.ext_costs
F = P.action_fees
OP = 822_756
TGAS = 10**12


def loading(code: bytes) -> int:
    return len(code) * X["contract_loading_bytes"] + X["contract_loading_base"]


@pytest.fixture
def chain(families_wasm: bytes) -> NearChain:
    c = NearChain()
    assert c.deploy("fam.near", families_wasm).compile_error is None
    return c


def check_profile(o) -> None:  # noqa: ANN001
    assert sum(o.profile.values()) == o.gas_burnt
    assert all(v >= 0 for v in o.profile.values())
    assert o.gas_burnt <= o.gas_used


# ---- exact totals (WAT: every instruction counted by hand) ---------------------------------------------

def test_exact_gas_one_host_call() -> None:
    # call + drop = 2 instructions, frame init ceil(64 / 8) = 8 -> 10 ops; block_index pays `base`.
    wasm = wat2wasm('(module (import "env" "block_index" (func $bi (result i64))) (memory 1)'
                    ' (func (export "main") (drop (call $bi))))')
    c = NearChain()
    c.deploy("a.near", wasm)
    o = c.call("a.near", "main")
    assert o.ok
    expect = len(wasm) * 1_089_295 + 35_445_963 + 264_768_111 + 10 * OP
    assert o.gas_burnt == o.gas_used == expect
    assert o.profile == {"wasm_instruction": 10 * OP, "base": 264_768_111, "contract_loading_base": 35_445_963,
                         "contract_loading_bytes": len(wasm) * 1_089_295}


def test_exact_gas_storage_write_and_usage() -> None:
    # 5 x i64.const + call + drop = 7 ops + frame 8 = 15 ops. storage_write(key "k", value "vv") from
    # memory: base + storage_write_base + 2 memory reads (3 bytes) + key/value bytes + 2 trie nodes.
    wasm = wat2wasm('(module (import "env" "storage_write" (func $sw (param i64 i64 i64 i64 i64) (result i64)))'
                    ' (memory 1) (data (i32.const 0) "kvv") (func (export "main")'
                    ' (drop (call $sw (i64.const 1) (i64.const 0) (i64.const 2) (i64.const 1) (i64.const 0)))))')
    c = NearChain()
    before = c.deploy("b.near", wasm).storage_usage
    o = c.call("b.near", "main")
    host = (264_768_111 + 64_196_736_000 + 2 * 2_609_863_200 + 3 * 3_801_333 + 70_482_867 + 2 * 31_018_539
            + 2 * 2_280_000_000)
    assert o.gas_burnt == loading(wasm) + host + 15 * OP
    assert o.storage_usage == before + 1 + 2 + 40 == c.account("b.near").storage_usage
    assert c.storage("b.near") == {b"k": b"vv"}


# ---- math ---------------------------------------------------------------------------------------------

KNOWN = {
    "h_sha256": (b"abc", hashlib.sha256(b"abc").digest()),
    "h_keccak256": (b"", bytes.fromhex("c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470")),
    "h_keccak512": (b"", bytes.fromhex("0eab42de4c3ceb9235fc91acffe746b29c29a8c366b7c60e4e67c466f36a4304"
                                       "c00fa9caf9d87976ba469bcbe06713b435f091ef2769fb160cdab33d3670680e")),
    "h_ripemd160": (b"abc", bytes.fromhex("8eb208f7e05d987a9b044a8e98c6b087f15a0bfc")),
}


@pytest.mark.parametrize("method", sorted(KNOWN))
def test_hashes_and_their_fees(chain: NearChain, method: str) -> None:
    data, digest = KNOWN[method]
    o = chain.call("fam.near", method, data)
    assert o.ok and o.return_data == digest
    check_profile(o)
    name = method[2:]
    n, d = len(data), len(digest)
    # input (base + register, no per-byte fee), hash reads register 0, value_return reads register 1
    assert o.profile["base"] == 2 * X["base"]
    assert o.profile["read_register_base"] == 2 * X["read_register_base"]
    assert o.profile["read_register_byte"] == (n + d) * X["read_register_byte"]
    assert o.profile["write_register_base"] == 2 * X["write_register_base"]
    assert o.profile["write_register_byte"] == d * X["write_register_byte"]
    assert o.profile[f"{name}_base"] == X[f"{name}_base"]
    if name == "ripemd160":
        assert o.profile["ripemd160_block"] == ((n + 8) // 64 + 1) * X["ripemd160_block"]
    else:
        assert o.profile.get(f"{name}_byte", 0) == n * X[f"{name}_byte"]


def test_hash_gas_is_linear_in_the_input(chain: NearChain) -> None:
    a = chain.call("fam.near", "h_sha256", b"x" * 10)
    b = chain.call("fam.near", "h_sha256", b"x" * 1010)
    assert a.profile["wasm_instruction"] == b.profile["wasm_instruction"]
    assert a.profile["wasm_instruction"] % OP == 0
    assert b.gas_burnt - a.gas_burnt == 1000 * (X["sha256_byte"] + X["read_register_byte"])
    assert b.return_data == hashlib.sha256(b"x" * 1010).digest()


@pytest.mark.parametrize(("n", "blocks"), [(55, 1), (56, 2), (119, 2), (120, 3)])
def test_ripemd160_blocks(chain: NearChain, n: int, blocks: int) -> None:
    o = chain.call("fam.near", "h_ripemd160", b"q" * n)
    assert o.profile["ripemd160_block"] == blocks * X["ripemd160_block"]


def test_ed25519_verify(chain: NearChain) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    sk = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    pk = sk.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    msg = b"near message"
    sig = sk.sign(msg)
    ok = chain.call("fam.near", "ed_verify", sig + pk + msg)
    assert ok.ok and ok.return_data == b"\x01"
    assert ok.profile["ed25519_verify_base"] == X["ed25519_verify_base"]
    assert ok.profile["ed25519_verify_byte"] == len(msg) * X["ed25519_verify_byte"]
    bad = chain.call("fam.near", "ed_verify", sig + pk + b"near messagE")
    assert bad.ok and bad.return_data == b"\x00"


def test_ecrecover(chain: NearChain) -> None:
    import coincurve

    key = coincurve.PrivateKey(bytes([7]) * 32)
    digest = hashlib.sha256(b"payload").digest()
    rsv = key.sign_recoverable(digest, hasher=None)
    want = key.public_key.format(compressed=False)[1:]
    o = chain.call("fam.near", "ec_recover", digest + rsv[:64] + bytes([rsv[64], 0]))
    assert o.ok and o.return_data == want
    assert o.profile["ecrecover_base"] == X["ecrecover_base"]
    # the same signature with s replaced by n - s (the "upper" twin) recovers with flag 0 only
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    s = int.from_bytes(rsv[32:64], "big")
    twin = rsv[:32] + (n - s).to_bytes(32, "big")
    high_first = s > n // 2
    loose = chain.call("fam.near", "ec_recover", digest + twin + bytes([rsv[64] ^ 1, 0]))
    strict = chain.call("fam.near", "ec_recover", digest + (rsv[:64] if high_first else twin)
                        + bytes([rsv[64] ^ (0 if high_first else 1), 1]))
    assert loose.return_data == want
    assert strict.return_data == b"\x00"
    bad_v = chain.call("fam.near", "ec_recover", digest + rsv[:64] + bytes([4, 0]))
    assert bad_v.error is not None and bad_v.error.name == "ECRecoverError"


def test_unsupported_host_function_is_a_documented_error(chain: NearChain) -> None:
    o = chain.call("fam.near", "bn_sum", b"")
    assert o.error is not None and (o.error.kind, o.error.name) == ("HostError", "Unsupported")
    assert "alt_bn128" in o.error.message
    check_profile(o)


def test_every_protocol_host_function_is_implemented_or_refused() -> None:
    from nearvm.near.host import NearLogic

    for name in SIGNATURES:
        assert name in UNSUPPORTED or callable(getattr(NearLogic, name, None)), name
    assert HOST_FUNCTIONS is SIGNATURES  # one table


# ---- context --------------------------------------------------------------------------------------------

def test_context(chain: NearChain) -> None:
    acc = chain.account("fam.near")
    o = chain.call("fam.near", "context", gas=50 * TGAS, deposit=5)
    assert o.ok
    height, ts, epoch, usage, prepaid, used = struct.unpack_from("<6Q", o.return_data)
    balance, locked, deposit = (int.from_bytes(o.return_data[48 + 16 * i: 64 + 16 * i], "little") for i in range(3))
    assert height == o.block_height == 1
    assert ts == P.model["genesis_timestamp_ns"] + height * P.model["block_time_ns"]
    assert epoch == 1
    assert usage == acc.storage_usage
    assert prepaid == 50 * TGAS
    assert 0 < used < o.gas_burnt
    assert (balance, locked, deposit) == (acc.balance + 5, 0, 5)
    assert chain.account("fam.near").balance == acc.balance + 5
    assert chain.call("fam.near", "context").block_height == 2


@pytest.mark.parametrize(("which", "expect"), [(0, b"fam.near"), (1, b"bob.near"), (2, b"bob.near")])
def test_account_ids(chain: NearChain, which: int, expect: bytes) -> None:
    assert chain.call("fam.near", "who", bytes([which]), signer="bob.near").return_data == expect


def test_signer_key_and_random_seed(chain: NearChain) -> None:
    pk = chain.call("fam.near", "who", b"\x03").return_data
    assert len(pk) == 33 and pk[0] == 0  # borsh: key type ed25519 + 32 bytes
    s1 = chain.call("fam.near", "who", b"\x04").return_data
    s2 = chain.call("fam.near", "who", b"\x04").return_data
    assert len(s1) == len(s2) == 32 and s1 != s2  # a new block, a new seed


@pytest.mark.parametrize("which", [1, 2, 3])
def test_view_cannot_read_the_signer(chain: NearChain, which: int) -> None:
    o = chain.view("fam.near", "who", bytes([which]))
    assert o.error is not None and o.error.name == "ProhibitedInView"


def test_validator_stakes(chain: NearChain) -> None:
    chain.set_validator_stake("v1.near", 10**30)
    chain.set_validator_stake("v2.near", 5)
    o = chain.call("fam.near", "stakes", b"v1.near")
    assert o.return_data == (10**30).to_bytes(16, "little") + (10**30 + 5).to_bytes(16, "little")
    assert o.profile["validator_stake_base"] == X["validator_stake_base"]
    assert o.profile["validator_total_stake_base"] == X["validator_total_stake_base"]
    assert chain.call("fam.near", "stakes", b"nobody.near").return_data[:16] == bytes(16)
    bad = chain.call("fam.near", "stakes", b"Not An Account")
    assert bad.error is not None and bad.error.name == "InvalidAccountId"


# ---- registers and logs: limits exceeded by one -------------------------------------------------------

def test_register_count_limit(chain: NearChain) -> None:
    assert chain.call("fam.near", "fill_registers", struct.pack("<I", 100)).ok
    o = chain.call("fam.near", "fill_registers", struct.pack("<I", 101))
    assert o.error is not None and o.error.name == "MemoryAccessViolation"
    check_profile(o)


def test_missing_register(chain: NearChain) -> None:
    o = chain.call("fam.near", "read_missing_register")
    assert o.error is not None and (o.error.name, o.error.details) == ("InvalidRegisterId", {"register_id": 7})


def test_log_count_limit(chain: NearChain) -> None:
    ok = chain.call("fam.near", "logs", struct.pack("<II", 100, 3))
    assert ok.ok and ok.logs == ["aaa"] * 100
    assert ok.profile["log_base"] == 100 * X["log_base"]
    assert ok.profile["log_byte"] == 300 * X["log_byte"]
    assert ok.profile["utf8_decoding_byte"] == 300 * X["utf8_decoding_byte"]
    o = chain.call("fam.near", "logs", struct.pack("<II", 101, 3))
    assert o.error is not None and o.error.name == "NumberOfLogsExceeded"
    assert len(o.logs) == 100


def test_total_log_length_limit(chain: NearChain) -> None:
    assert chain.call("fam.near", "logs", struct.pack("<II", 2, 8192)).ok  # 16,384 bytes
    o = chain.call("fam.near", "logs", struct.pack("<II", 5, 3277))  # 16,385 bytes
    assert o.error is not None and o.error.name == "TotalLogLengthExceeded"
    assert o.error.details == {"length": 16_385, "limit": 16_384}


def test_utf16_and_nul_terminated_logs(chain: NearChain) -> None:
    assert chain.call("fam.near", "log16", "héllo ✓".encode("utf-16-le")).logs == ["héllo ✓"]
    bad = chain.call("fam.near", "log16", b"\x00\xd8")  # a lone surrogate
    assert bad.error is not None and bad.error.name == "BadUTF16"
    o = chain.call("fam.near", "log_cstr")
    assert o.logs == ["hello"]
    # NUL-terminated: one 1-byte memory read per byte including the NUL
    assert o.profile["read_memory_base"] == 6 * X["read_memory_base"]


# ---- storage --------------------------------------------------------------------------------------------

def test_storage_family_and_usage(chain: NearChain) -> None:
    base_usage = chain.account("fam.near").storage_usage
    put = chain.call("fam.near", "kv_put", struct.pack("<I", 3) + b"keyvalue")
    assert put.ok and put.return_data == b"\x00"
    assert put.profile["touching_trie_node"] == P.model["trie_nodes_per_access"] * X["touching_trie_node"]
    assert chain.account("fam.near").storage_usage == base_usage + 3 + 5 + 40
    assert chain.call("fam.near", "kv_get", b"key").return_data == b"value"
    assert chain.call("fam.near", "kv_has", b"key").return_data == b"\x01"
    assert chain.call("fam.near", "kv_has", b"nokey").return_data == b"\x00"
    over = chain.call("fam.near", "kv_put", struct.pack("<I", 3) + b"keyXY")
    assert over.return_data == b"\x01"
    assert over.profile["storage_write_evicted_byte"] == 5 * X["storage_write_evicted_byte"]
    assert over.state_changes == [(b"key", b"value", b"XY")]
    assert chain.account("fam.near").storage_usage == base_usage + 3 + 2 + 40
    rm = chain.call("fam.near", "kv_del", b"key")
    assert rm.return_data == b"\x01"
    assert rm.profile["storage_remove_ret_value_byte"] == 2 * X["storage_remove_ret_value_byte"]
    assert chain.storage("fam.near") == {}
    assert chain.account("fam.near").storage_usage == base_usage
    assert chain.call("fam.near", "kv_del", b"key").return_data == b"\x00"


def test_storage_key_length_limit(chain: NearChain) -> None:
    assert chain.call("fam.near", "kv_put", struct.pack("<I", 2048) + b"k" * 2048 + b"v").ok
    o = chain.call("fam.near", "kv_put", struct.pack("<I", 2049) + b"k" * 2049 + b"v")
    assert o.error is not None and o.error.name == "KeyLengthExceeded"
    assert o.error.details == {"length": 2049, "limit": 2048}


def test_view_that_writes_is_refused_and_changes_nothing(chain: NearChain) -> None:
    height = chain.state.block_height
    o = chain.view("fam.near", "kv_put", struct.pack("<I", 1) + b"kv")
    assert o.error is not None and (o.error.kind, o.error.name) == ("HostError", "ProhibitedInView")
    assert o.error.details == {"method_name": "storage_write"}
    assert chain.storage("fam.near") == {} and chain.state.block_height == height
    assert chain.view("fam.near", "kv_del", b"k").error.name == "ProhibitedInView"
    assert chain.view("fam.near", "schedule", b"bob.near").error.name == "ProhibitedInView"
    v = chain.view("fam.near", "view_context")
    assert v.ok and struct.unpack_from("<Q", v.return_data)[0] == height


def test_panic_after_writes_leaves_no_trace(chain: NearChain) -> None:
    acc = chain.account("fam.near")
    height = chain.state.block_height
    o = chain.call("fam.near", "put_then_panic", deposit=7)
    assert o.error is not None and (o.error.name, o.error.message) == ("GuestPanic", "failed after writes")
    assert o.logs == ["about to fail"]  # NEAR keeps the logs of a failed call
    assert o.state_changes == [] and o.receipts == []
    assert chain.storage("fam.near") == {}
    assert chain.account("fam.near") == acc  # no storage usage, no deposit kept
    assert chain.state.block_height == height
    check_profile(o)


# ---- promises -------------------------------------------------------------------------------------------

def test_promises_are_recorded_with_their_gas(chain: NearChain) -> None:
    balance = chain.account("fam.near").balance
    o = chain.call("fam.near", "schedule", b"bob.near", gas=100 * TGAS)
    assert o.ok and o.return_promise == 1 and o.return_data is None
    r0, r1 = (r.to_json() for r in o.receipts)
    assert r0["receiver_id"] == "bob.near" and r0["depends_on"] == []
    assert [a["kind"] for a in r0["actions"]] == ["FunctionCall", "Transfer"]
    assert r0["actions"][0]["gas"] == 5 * TGAS and r0["actions"][0]["deposit"] == "1"
    assert r1["receiver_id"] == "fam.near" and r1["depends_on"] == [0]
    assert r1["actions"][0]["method_name"] == "cb"
    fc, fcb, nar, ndr, tr = (F[k] for k in ("function_call_base", "function_call_byte", "new_action_receipt",
                                           "new_data_receipt_base", "transfer"))
    promised = (nar.execution + fc.execution + 4 * fcb.execution + 5 * TGAS + tr.execution
                + nar.execution + fc.execution + 2 * fcb.execution + 2 * TGAS)
    assert o.gas_used - o.gas_burnt == promised
    assert o.profile["new_action_receipt"] == nar.send_not_sir + nar.send_sir + 2 * ndr.execution
    assert o.profile["function_call_base"] == fc.send_not_sir + fc.send_sir
    assert o.profile["function_call_byte"] == 4 * fcb.send_not_sir + 2 * fcb.send_sir
    assert o.profile["transfer"] == tr.send_not_sir
    check_profile(o)
    assert chain.account("fam.near").balance == balance - 3


def test_promise_gas_lowers_the_burnt_gas_limit(chain: NearChain) -> None:
    # 8 Tgas prepaid, 7 Tgas attached to the calls: the rest cannot pay for the receipts
    o = chain.call("fam.near", "schedule", b"bob.near", gas=8 * TGAS)
    assert o.error is not None and o.error.name == "GasExceeded"
    assert o.gas_used == 8 * TGAS and o.receipts == []


# ---- gas limits -------------------------------------------------------------------------------------------

def test_prepaid_gas_exceeded_by_one(chain: NearChain) -> None:
    need = chain.call("fam.near", "h_sha256", b"abc").gas_burnt
    assert chain.call("fam.near", "h_sha256", b"abc", gas=need).ok
    o = chain.call("fam.near", "h_sha256", b"abc", gas=need - 1)
    assert o.error is not None and o.error.name == "GasExceeded"
    assert o.gas_burnt == o.gas_used == need - 1
    check_profile(o)


def test_wasm_loop_runs_out_of_prepaid_gas(chain: NearChain) -> None:
    o = chain.call("fam.near", "burn", gas=3 * TGAS)
    assert o.error is not None and (o.error.kind, o.error.name) == ("HostError", "GasExceeded")
    assert o.gas_burnt == o.gas_used == 3 * TGAS
    check_profile(o)


def test_max_gas_burnt_is_gas_limit_exceeded(families_wasm: bytes) -> None:
    c = NearChain(params=P.replace_limits(max_gas_burnt=2 * TGAS, max_gas_burnt_view=TGAS))
    c.deploy("fam.near", families_wasm)
    o = c.call("fam.near", "burn", gas=3 * TGAS)
    assert o.error is not None and o.error.name == "GasLimitExceeded"
    assert o.gas_burnt == 2 * TGAS
    v = c.view("fam.near", "burn")
    assert v.error is not None and v.error.name == "GasLimitExceeded" and v.gas_burnt == TGAS


def test_contract_loading_fee_alone_exceeds_the_gas(chain: NearChain, families_wasm: bytes) -> None:
    o = chain.call("fam.near", "h_sha256", gas=loading(families_wasm) - 1)
    assert o.error is not None and o.error.name == "GasExceeded"


# ---- method resolution, traps, compilation, linking --------------------------------------------------------

def test_method_errors(chain: NearChain) -> None:
    nf = chain.call("fam.near", "no_such_method")
    assert (nf.error.kind, nf.error.name) == ("MethodResolveError", "MethodNotFound")
    assert nf.gas_burnt == sum(v for k, v in nf.profile.items() if k.startswith("contract_loading"))
    sig = chain.call("fam.near", "takes_param")
    assert (sig.error.kind, sig.error.name) == ("MethodResolveError", "MethodInvalidSignature")
    assert chain.call("fam.near", "").error.name == "MethodEmptyName"


def test_wasm_traps(chain: NearChain) -> None:
    so = chain.call("fam.near", "recurse")
    assert (so.error.kind, so.error.name) == ("WasmTrap", "StackOverflow")
    un = chain.call("fam.near", "trap_unreachable")
    assert (un.error.kind, un.error.name) == ("WasmTrap", "Unreachable")
    check_profile(so)


def test_compile_and_link_errors() -> None:
    c = NearChain()
    dep = c.deploy("bad.near", b"\0asm\x01\0\0\0\x05")
    assert dep.compile_error is not None and dep.compile_error.kind == "CompilationError"
    o = c.call("bad.near", "main")
    assert o.error is not None and o.error.kind == "CompilationError" and o.gas_burnt == 0
    c.deploy("link.near", wat2wasm('(module (import "env" "no_such_fn" (func)) (func (export "main")))'))
    assert c.call("link.near", "main").error.kind == "LinkError"
    c.deploy("sig.near", wat2wasm('(module (import "env" "block_index" (func (param i32))) (func (export "main")))'))
    le = c.call("sig.near", "main")
    assert le.error.kind == "LinkError" and "block_index" in le.error.message
    c.create_account("empty.near")
    assert c.call("empty.near", "main").error.name == "CodeDoesNotExist"


def test_usage_errors_raise() -> None:
    from nearvm.near import NearUsageError

    c = NearChain()
    with pytest.raises(NearUsageError, match="does not exist"):
        c.call("ghost.near", "main")
    with pytest.raises(NearUsageError, match="invalid"):
        c.call("Bad Account", "main")
    c.create_account("x.near")
    with pytest.raises(NearUsageError, match="max_total_prepaid_gas"):
        c.call("x.near", "main", gas=10**16)


def test_utf16_log_whose_utf8_form_crosses_the_limit(chain: NearChain) -> None:
    # 10,924 UTF-16 bytes pass the length check (at most 16,384), but the message is 16,386 bytes of
    # UTF-8: the limit is crossed when the log is pushed. nearcore reports the new total plus the
    # message length there.
    text = "\u20ac" * 5462  # 3 bytes in UTF-8, 2 in UTF-16
    o = chain.call("fam.near", "log16", text.encode("utf-16-le"))
    assert o.error is not None and o.error.name == "TotalLogLengthExceeded"
    assert o.error.details == {"length": 2 * 16_386, "limit": 16_384}
    assert o.profile["log_byte"] == 16_386 * X["log_byte"]
    assert chain.call("fam.near", "log16", ("\u20ac" * 5461).encode("utf-16-le")).ok  # 16,383 bytes


def test_unused_gas_goes_to_weighted_function_calls() -> None:
    wasm = wat2wasm('''(module
      (import "env" "promise_batch_create" (func $pbc (param i64 i64) (result i64)))
      (import "env" "promise_batch_action_function_call_weight"
        (func $fcw (param i64 i64 i64 i64 i64 i64 i64 i64)))
      (memory 1)
      (data (i32.const 0) "bob.nearfg")
      (func (export "main") (local $p i64)
        (local.set $p (call $pbc (i64.const 8) (i64.const 0)))
        (call $fcw (local.get $p) (i64.const 1) (i64.const 8) (i64.const 0) (i64.const 0) (i64.const 32)
                   (i64.const 1000) (i64.const 1))
        (call $fcw (local.get $p) (i64.const 1) (i64.const 9) (i64.const 0) (i64.const 0) (i64.const 32)
                   (i64.const 0) (i64.const 3))))''')
    c = NearChain()
    c.deploy("w.near", wasm)
    prepaid = 50 * TGAS
    o = c.call("w.near", "main", gas=prepaid)
    assert o.ok, o.error
    f, g = o.receipts[0].actions
    assert o.gas_used == prepaid  # all prepaid gas is used: the unused part went to the calls
    fc, fcb, nar = F["function_call_base"], F["function_call_byte"], F["new_action_receipt"]
    reserved = nar.execution + 2 * fc.execution + 2 * fcb.execution + 1000
    unused = prepaid - o.gas_burnt - reserved
    assert f.fields["gas"] == 1000 + unused // 4
    assert g.fields["gas"] == unused - unused // 4  # the rounding remainder goes to the last one


def test_bad_call_arguments_are_usage_errors(chain: NearChain) -> None:
    from nearvm.near import NearUsageError

    for kwargs in ({"gas": -1}, {"deposit": -1}, {"deposit": 2**128}, {"signer": "UPPER.near"}):
        with pytest.raises(NearUsageError):
            chain.call("fam.near", "h_sha256", b"", **kwargs)
    with pytest.raises(NearUsageError):
        chain.call("fam.near", "h_sha256", 12)  # type: ignore[arg-type]
    with pytest.raises(NearUsageError, match="max_length_method_name"):
        chain.call("fam.near", "m" * 257)
    with pytest.raises(NearUsageError):
        chain.deploy("fam.near", "not bytes")  # type: ignore[arg-type]


HOSTILE = {
    # export: (body, NEAR error)
    "huge_read": ("(call $sha256 (i64.const 0x7fffffffffffffff) (i64.const 0) (i64.const 0))", "IntegerOverflow"),
    "past_memory": ("(call $sha256 (i64.const 16) (i64.const 0x7fffffff0) (i64.const 0))", "MemoryAccessViolation"),
    "ptr_wraps": ("(call $sha256 (i64.const 16) (i64.const -8) (i64.const 0))", "MemoryAccessViolation"),
    "log_past_memory": ("(call $log (i64.const 4) (i64.const 0x8000000))", "MemoryAccessViolation"),
    "log_too_long": ("(call $log (i64.const 16385) (i64.const 0))", "TotalLogLengthExceeded"),
    "cstr_no_nul": ("(i32.store (i32.const 67108860) (i32.const 0x01010101))"
                    " (call $log (i64.const -1) (i64.const 67108860))", "MemoryAccessViolation"),
    "bad_utf8": ("(i64.store (i32.const 0) (i64.const 0xff)) (call $log (i64.const 1) (i64.const 0))", "BadUTF8"),
    "write_reg_oob": ("(call $wreg (i64.const 1) (i64.const 8) (i64.const 0x4000000))", "MemoryAccessViolation"),
    # the read is paid before it is checked: 100 MiB of memory reads cost more than 300 Tgas
    "fee_before_check": ("(call $wreg (i64.const 1) (i64.const 104857601) (i64.const 0))", "GasExceeded"),
    "bad_promise": ("(drop (call $then (i64.const 3) (i64.const 8) (i64.const 0)))", "InvalidAccountId"),
    "unknown_promise": ("(i64.store (i32.const 0) (i64.const 0x6e2e62)) (drop (call $then (i64.const 3) "
                        "(i64.const 3) (i64.const 0)))", "InvalidPromiseIndex"),
}


@pytest.mark.parametrize("export", sorted(HOSTILE))
def test_hostile_host_calls_fail_with_near_errors(export: str) -> None:
    body, name = HOSTILE[export]
    wasm = wat2wasm(f'''(module
      (import "env" "sha256" (func $sha256 (param i64 i64 i64)))
      (import "env" "log_utf8" (func $log (param i64 i64)))
      (import "env" "write_register" (func $wreg (param i64 i64 i64)))
      (import "env" "promise_batch_then" (func $then (param i64 i64 i64) (result i64)))
      (memory 1)
      (func (export "{export}") {body}))''')
    c = NearChain()
    c.deploy("h.near", wasm)
    o = c.call("h.near", export)
    assert o.error is not None and (o.error.kind, o.error.name) == ("HostError", name), o.error
    check_profile(o)
