"""NEAR's host environment: the ``env`` functions a contract imports, with NEAR's fees and limits.

The semantics follow nearcore's ``VMLogic`` (runtime/near-vm-runner/src/logic) for the protocol
version named in ``params.json``: every function first pays its ``ExtCosts`` (``base`` for a host
call, then the read/write/decoding/hash/storage fees per byte in the order nearcore charges them),
checks its limits, and raises a :class:`~nearvm.near.errors.HostError` with NEAR's variant name.

Gas (nearcore ``GasCounter``): *burnt* gas is what this execution consumed (Wasm instructions, host
fees, the send part of action fees); *used* gas adds the gas reserved for promises (the execution
part of action fees and the gas attached to function calls). The limit for burnt gas is
``min(max_gas_burnt, prepaid_gas - promised gas)``; in a view call it is ``max_gas_burnt_view``.
Crossing ``max_gas_burnt`` is ``GasLimitExceeded``, crossing the prepaid gas ``GasExceeded``.

The Wasm side counts burnt gas in the Store's counter; host functions read it on entry and write
it back on exit, so both sides share one counter as NEAR's fast gas counter does.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..wasm.types import FuncType, ValType
from .errors import HostError
from .params import NearParams

__all__ = ["Action", "Context", "GasCounter", "NearLogic", "Receipt", "StorageOverlay", "UNSUPPORTED"]

U64 = 2**64 - 1
_SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_ACCOUNT_ID = re.compile(r"^(([a-z\d]+[-_])*[a-z\d]+\.)*([a-z\d]+[-_])*[a-z\d]+$")


def valid_account_id(account_id: str) -> bool:
    """NEAR's account-id rule: 2..64 characters, lowercase alphanumerics separated by ``-``/``_``/``.``."""
    return 2 <= len(account_id) <= 64 and _ACCOUNT_ID.match(account_id) is not None


def _checked_mul(a: int, b: int) -> int:
    r = a * b
    if r > U64:
        raise HostError("IntegerOverflow")
    return r


# ---- gas -------------------------------------------------------------------------------------------

class GasCounter:
    """Burnt and used gas with NEAR's limits, and the per-category profile (burnt gas only)."""

    def __init__(self, params: NearParams, prepaid_gas: int, is_view: bool) -> None:
        self.ext = params.ext_costs
        self.max_gas_burnt = params.limits["max_gas_burnt_view" if is_view else "max_gas_burnt"]
        # A view call ignores the prepaid gas (nearcore sets it to u64::MAX).
        self.prepaid_gas = U64 if is_view else prepaid_gas
        self.is_view = is_view
        self.burnt = 0
        self.promises = 0
        self.limit = min(self.max_gas_burnt, self.prepaid_gas)
        self.ext_profile: dict[str, int] = {}
        self.action_profile: dict[str, int] = {}

    @property
    def used(self) -> int:
        return self.burnt + self.promises

    def limit_error(self, new_burnt: int, new_used: int) -> HostError:
        """Record a crossed limit the way nearcore does (never burn more than prepaid) and name it."""
        hard = min(self.prepaid_gas, self.max_gas_burnt)
        self.burnt = min(new_burnt, hard)
        self.promises = max(0, min(self.prepaid_gas, new_used) - self.burnt)
        if new_burnt > self.max_gas_burnt:
            return HostError("GasLimitExceeded", "Exceeded the maximum amount of gas allowed to burn per contract")
        return HostError("GasExceeded", "Exceeded the prepaid gas")

    def _burn(self, gas: int) -> None:
        new = self.burnt + gas
        if new > U64:
            raise HostError("IntegerOverflow")
        if new <= self.limit:
            self.burnt = new
            return
        raise self.limit_error(new, new + self.promises)

    def _record(self, profile: dict[str, int], name: str, old: int) -> None:
        delta = self.burnt - old
        if delta:
            profile[name] = profile.get(name, 0) + delta

    def pay_base(self, cost: str) -> None:
        old = self.burnt
        try:
            self._burn(self.ext[cost])
        finally:
            self._record(self.ext_profile, cost, old)

    def pay_per(self, cost: str, num: int) -> None:
        use = _checked_mul(num, self.ext[cost])
        old = self.burnt
        try:
            self._burn(use)
        finally:
            self._record(self.ext_profile, cost, old)

    def deduct(self, burn: int, use: int, action: str | None) -> None:
        """Burn ``burn`` and reserve ``use - burn`` for promises (nearcore ``deduct_gas``)."""
        assert burn <= use
        promised = use - burn
        new_promises = self.promises + promised
        new_burnt = self.burnt + burn
        new_used = new_burnt + new_promises
        if max(new_promises, new_burnt, new_used) > U64:
            raise HostError("IntegerOverflow")
        old = self.burnt
        try:
            if new_burnt <= self.max_gas_burnt and new_used <= self.prepaid_gas:
                if promised and not self.is_view:
                    self.limit = min(self.max_gas_burnt, self.prepaid_gas - new_promises)
                self.burnt = new_burnt
                self.promises = new_promises
            else:
                raise self.limit_error(new_burnt, new_used)
        finally:
            if action is not None:
                self._record(self.action_profile, action, old)

    def profile(self) -> dict[str, int]:
        """Burnt gas per category; ``wasm_instruction`` is the rest, so the values sum to burnt gas."""
        host = sum(self.ext_profile.values())
        actions = sum(self.action_profile.values())
        out = {"wasm_instruction": max(0, self.burnt - host - actions)}
        out.update(sorted(self.ext_profile.items()))
        out.update(sorted(self.action_profile.items()))
        return out


# ---- context, storage, receipts ----------------------------------------------------------------------

@dataclass
class Context:
    """What a call sees of the chain (nearcore ``VMContext``)."""

    current_account_id: str
    signer_account_id: str
    signer_account_pk: bytes
    predecessor_account_id: str
    input: bytes
    block_height: int
    block_timestamp: int
    epoch_height: int
    account_balance: int
    account_locked_balance: int
    storage_usage: int
    attached_deposit: int
    prepaid_gas: int
    random_seed: bytes
    is_view: bool
    validators: dict[str, int] = field(default_factory=dict)
    code_hash: bytes | None = None


class StorageOverlay:
    """The contract's key/value storage during one call: reads fall through to ``load``; writes stay
    here until the runtime commits them (so a failed call leaves no trace)."""

    def __init__(self, load: Callable[[bytes], bytes | None]) -> None:
        self._load = load
        self.changes: dict[bytes, bytes | None] = {}
        self.original: dict[bytes, bytes | None] = {}
        self.touched: set[bytes] = set()

    def get(self, key: bytes) -> bytes | None:
        if key in self.changes:
            return self.changes[key]
        if key not in self.original:
            self.original[key] = self._load(key)
        return self.original[key]

    def set(self, key: bytes, value: bytes | None) -> None:
        self.get(key)  # remember the original for the change report
        self.changes[key] = value

    def effective_changes(self) -> list[tuple[bytes, bytes | None, bytes | None]]:
        """(key, old, new) for every key whose value differs from before the call, sorted by key."""
        out = []
        for key in sorted(self.changes):
            old, new = self.original.get(key), self.changes[key]
            if old != new:
                out.append((key, old, new))
        return out


@dataclass
class Action:
    kind: str
    fields: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, **self.fields}


@dataclass
class Receipt:
    receiver_id: str
    depends_on: list[int]
    actions: list[Action] = field(default_factory=list)
    refund_to: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"receiver_id": self.receiver_id, "depends_on": list(self.depends_on),
                               "actions": [a.to_json() for a in self.actions]}
        if self.refund_to is not None:
            out["refund_to"] = self.refund_to
        return out


#: Host functions nearvm refuses with HostError ``Unsupported`` (no exact implementation here).
UNSUPPORTED: dict[str, str] = {
    **{name: "alt_bn128 curve operations are not implemented in nearvm" for name in (
        "alt_bn128_g1_multiexp", "alt_bn128_g1_sum", "alt_bn128_pairing_check")},
    **{name: "BLS12-381 curve operations are not implemented in nearvm" for name in (
        "bls12381_p1_sum", "bls12381_p2_sum", "bls12381_g1_multiexp", "bls12381_g2_multiexp",
        "bls12381_map_fp_to_g1", "bls12381_map_fp2_to_g2", "bls12381_pairing_check",
        "bls12381_p1_decompress", "bls12381_p2_decompress")},
    "p256_verify": "secp256r1 signature verification is not implemented in nearvm",
}

_I64, _I32 = ValType.I64, ValType.I32


def _sig(n_params: int, n_results: int = 0) -> FuncType:
    return FuncType((_I64,) * n_params, (_I64,) * n_results)


#: Signatures of every ``env`` function NEAR's protocol (params.json) defines.
SIGNATURES: dict[str, FuncType] = {
    "read_register": _sig(2), "register_len": _sig(1, 1), "write_register": _sig(3),
    "current_account_id": _sig(1), "signer_account_id": _sig(1), "signer_account_pk": _sig(1),
    "predecessor_account_id": _sig(1), "refund_to_account_id": _sig(1), "input": _sig(1),
    "block_index": _sig(0, 1), "block_timestamp": _sig(0, 1), "epoch_height": _sig(0, 1),
    "storage_usage": _sig(0, 1), "account_balance": _sig(1), "account_locked_balance": _sig(1),
    "attached_deposit": _sig(1), "prepaid_gas": _sig(0, 1), "used_gas": _sig(0, 1), "random_seed": _sig(1),
    "current_contract_code": _sig(1, 1),
    "sha256": _sig(3), "keccak256": _sig(3), "keccak512": _sig(3), "ripemd160": _sig(3),
    "ecrecover": _sig(7, 1), "ed25519_verify": _sig(6, 1), "p256_verify": _sig(6, 1),
    "value_return": _sig(2), "panic": _sig(0), "panic_utf8": _sig(2), "log_utf8": _sig(2), "log_utf16": _sig(2),
    "abort": FuncType((_I32,) * 4, ()),
    "promise_create": _sig(8, 1), "promise_then": _sig(9, 1), "promise_and": _sig(2, 1),
    "promise_batch_create": _sig(2, 1), "promise_batch_then": _sig(3, 1), "promise_set_refund_to": _sig(3),
    "promise_batch_action_create_account": _sig(1), "promise_batch_action_deploy_contract": _sig(3),
    "promise_batch_action_deploy_global_contract": _sig(3),
    "promise_batch_action_deploy_global_contract_by_account_id": _sig(3),
    "promise_batch_action_use_global_contract": _sig(3),
    "promise_batch_action_use_global_contract_by_account_id": _sig(3),
    "promise_batch_action_state_init": _sig(4, 1), "promise_batch_action_state_init_by_account_id": _sig(4, 1),
    "set_state_init_data_entry": _sig(6),
    "promise_batch_action_function_call": _sig(7), "promise_batch_action_function_call_weight": _sig(8),
    "promise_batch_action_transfer": _sig(2), "promise_batch_action_stake": _sig(4),
    "promise_batch_action_add_key_with_full_access": _sig(4),
    "promise_batch_action_add_key_with_function_call": _sig(9),
    "promise_batch_action_delete_key": _sig(3), "promise_batch_action_delete_account": _sig(3),
    "promise_yield_create": _sig(7, 1), "promise_yield_resume": FuncType((_I64,) * 4, (_I32,)),
    "promise_results_count": _sig(0, 1), "promise_result": _sig(2, 1), "promise_return": _sig(1),
    "storage_write": _sig(5, 1), "storage_read": _sig(3, 1), "storage_remove": _sig(3, 1),
    "storage_has_key": _sig(2, 1), "storage_iter_prefix": _sig(2, 1), "storage_iter_range": _sig(4, 1),
    "storage_iter_next": _sig(3, 1),
    "validator_stake": _sig(3), "validator_total_stake": _sig(1),
    "alt_bn128_g1_multiexp": _sig(3), "alt_bn128_g1_sum": _sig(3), "alt_bn128_pairing_check": _sig(2, 1),
    "bls12381_p1_sum": _sig(3, 1), "bls12381_p2_sum": _sig(3, 1), "bls12381_g1_multiexp": _sig(3, 1),
    "bls12381_g2_multiexp": _sig(3, 1), "bls12381_map_fp_to_g1": _sig(3, 1), "bls12381_map_fp2_to_g2": _sig(3, 1),
    "bls12381_pairing_check": _sig(2, 1), "bls12381_p1_decompress": _sig(3, 1), "bls12381_p2_decompress": _sig(3, 1),
}


def _implicit_kind(account_id: str) -> str:
    if len(account_id) == 64 and all(c in "0123456789abcdef" for c in account_id):
        return "near-implicit"
    if len(account_id) == 42 and account_id.startswith("0x") and all(c in "0123456789abcdef" for c in account_id[2:]):
        return "eth-implicit"
    return "named"


# ---- the host functions --------------------------------------------------------------------------------

class NearLogic:
    """One function call's host state: gas counter, registers, logs, storage overlay, receipts."""

    def __init__(self, params: NearParams, context: Context, storage: StorageOverlay) -> None:
        self.params = params
        self.limits = params.limits
        self.ctx = context
        self.gas = GasCounter(params, context.prepaid_gas, context.is_view)
        self.storage = storage
        self.registers: dict[int, bytes] = {}
        self.registers_usage = 0
        self.logs: list[str] = []
        self.total_log_length = 0
        self.return_data: bytes | None = None
        self.return_promise: int | None = None
        self.balance = context.account_balance + context.attached_deposit
        self.storage_usage_now = context.storage_usage  # changes as the call writes storage
        self.receipts: list[Receipt] = []
        self.promises: list[tuple[str, list[int]]] = []  # ("receipt", [idx]) | ("joint", [idx...])
        self.memory: Any = None  # the contract's nearvm.Memory, set before the call
        self._trie_keys_seen: set[bytes] = set()

    # ---- memory ----------------------------------------------------------------------------------
    def _mem_read(self, ptr: int, n: int) -> bytes:
        self.gas.pay_base("read_memory_base")
        self.gas.pay_per("read_memory_byte", n)
        return self._mem_read_free(ptr, n)

    def _mem_read_free(self, ptr: int, n: int) -> bytes:
        if ptr + n > self.memory.data_size:
            raise HostError("MemoryAccessViolation")
        return self.memory.read(ptr, n)

    def _mem_write(self, ptr: int, data: bytes) -> None:
        self.gas.pay_base("write_memory_base")
        self.gas.pay_per("write_memory_byte", len(data))
        if ptr + len(data) > self.memory.data_size:
            raise HostError("MemoryAccessViolation")
        self.memory.write(ptr, data)

    def _mem_u128(self, ptr: int) -> int:
        return int.from_bytes(self._mem_read(ptr, 16), "little")

    # ---- registers -------------------------------------------------------------------------------
    def _reg_get(self, register_id: int) -> bytes:
        data = self.registers.get(register_id)
        if data is None:
            raise HostError("InvalidRegisterId", f"register {register_id} is not set", register_id=register_id)
        self.gas.pay_base("read_register_base")
        self.gas.pay_per("read_register_byte", len(data))
        return data

    def _reg_set(self, register_id: int, data: bytes, *, charge_bytes: bool = True) -> None:
        self.gas.pay_base("write_register_base")
        if charge_bytes:
            self.gas.pay_per("write_register_byte", len(data))
        if len(data) > self.limits["max_register_size"]:
            raise HostError("MemoryAccessViolation", "register size limit exceeded")
        # nearcore checks the count before looking at the id: at the limit even replacing fails.
        if len(self.registers) >= self.limits["max_number_registers"]:
            raise HostError("MemoryAccessViolation", "too many registers")
        old = self.registers.get(register_id)
        usage = self.registers_usage - (0 if old is None else len(old) + 8) + len(data) + 8
        if usage > self.limits["registers_memory_limit"]:
            raise HostError("MemoryAccessViolation", "registers memory limit exceeded")
        self.registers_usage = usage
        self.registers[register_id] = bytes(data)

    def _mem_or_reg(self, ptr: int, length: int) -> bytes:
        return self._reg_get(ptr) if length == U64 else self._mem_read(ptr, length)

    # ---- strings ---------------------------------------------------------------------------------
    def _log_length_exceeded(self, add: int) -> HostError:
        return HostError("TotalLogLengthExceeded", "the total length of logs exceeds the limit",
                         length=min(U64, self.total_log_length + add), limit=self.limits["max_total_log_length"])

    def _utf8(self, length: int, ptr: int) -> str:
        self.gas.pay_base("utf8_decoding_base")
        max_len = max(0, self.limits["max_total_log_length"] - self.total_log_length)
        if length != U64:
            if length > max_len:
                raise self._log_length_exceeded(length)
            buf = self._mem_read(ptr, length)
        else:
            out = bytearray()
            i = 0
            while True:  # NUL-terminated: one charged single-byte read per byte
                b = self._mem_read(ptr + i, 1)[0]
                if b == 0:
                    break
                if i == max_len:
                    raise self._log_length_exceeded(max_len + 1)
                out.append(b)
                i += 1
            buf = bytes(out)
        self.gas.pay_per("utf8_decoding_byte", len(buf))
        try:
            return buf.decode("utf-8")
        except UnicodeDecodeError:
            raise HostError("BadUTF8", "invalid UTF-8 string") from None

    def _utf16(self, length: int, ptr: int) -> str:
        self.gas.pay_base("utf16_decoding_base")
        max_len = max(0, self.limits["max_total_log_length"] - self.total_log_length)
        if length == U64:
            n = 0
            while True:  # up to the first 0x0000 code unit, charged as 2-byte reads
                if self._mem_read(ptr + n, 2) == b"\0\0":
                    break
                n += 2
                if n > max_len:
                    raise self._log_length_exceeded(n)
            length = n
            buf = self._mem_read_free(ptr, length)
        else:
            buf = self._mem_read(ptr, length)
        if length % 2:
            raise HostError("BadUTF16", "odd number of bytes in a UTF-16 string")
        if length > max_len:
            raise self._log_length_exceeded(length)
        self.gas.pay_per("utf16_decoding_byte", length)
        try:
            return buf.decode("utf-16-le")
        except UnicodeDecodeError:
            raise HostError("BadUTF16", "invalid UTF-16 string") from None

    def _account_id(self, ptr: int, length: int) -> str:
        buf = self._mem_or_reg(ptr, length)
        self.gas.pay_base("utf8_decoding_base")
        self.gas.pay_per("utf8_decoding_byte", len(buf))
        try:
            text = buf.decode("utf-8")
        except UnicodeDecodeError:
            raise HostError("BadUTF8", "account id is not UTF-8") from None
        if not valid_account_id(text):
            raise HostError("InvalidAccountId", f"invalid account id {text!r}")
        return text

    def _prohibited_in_view(self, name: str) -> None:
        if self.ctx.is_view:
            raise HostError("ProhibitedInView", f"{name} is not allowed in view calls", method_name=name)

    # ---- registers API ---------------------------------------------------------------------------
    def read_register(self, register_id: int, ptr: int) -> None:
        self.gas.pay_base("base")
        self._mem_write(ptr, self._reg_get(register_id))

    def register_len(self, register_id: int) -> int:
        self.gas.pay_base("base")
        data = self.registers.get(register_id)
        return U64 if data is None else len(data)

    def write_register(self, register_id: int, data_len: int, data_ptr: int) -> None:
        self.gas.pay_base("base")
        self._reg_set(register_id, self._mem_read(data_ptr, data_len))

    # ---- context API -----------------------------------------------------------------------------
    def current_account_id(self, register_id: int) -> None:
        self.gas.pay_base("base")
        self._reg_set(register_id, self.ctx.current_account_id.encode())

    def signer_account_id(self, register_id: int) -> None:
        self.gas.pay_base("base")
        self._prohibited_in_view("signer_account_id")
        self._reg_set(register_id, self.ctx.signer_account_id.encode())

    def signer_account_pk(self, register_id: int) -> None:
        self.gas.pay_base("base")
        self._prohibited_in_view("signer_account_pk")
        self._reg_set(register_id, self.ctx.signer_account_pk)

    def predecessor_account_id(self, register_id: int) -> None:
        self.gas.pay_base("base")
        self._prohibited_in_view("predecessor_account_id")
        self._reg_set(register_id, self.ctx.predecessor_account_id.encode())

    def refund_to_account_id(self, register_id: int) -> None:
        self.gas.pay_base("base")
        self._prohibited_in_view("refund_to_account_id")
        self._reg_set(register_id, self.ctx.predecessor_account_id.encode())

    def input(self, register_id: int) -> None:  # noqa: A003 - NEAR's name
        self.gas.pay_base("base")
        # With deterministic account ids nearcore shares the input buffer: no per-byte register fee.
        self._reg_set(register_id, self.ctx.input, charge_bytes=not self.params.flags["deterministic_account_ids"])

    def block_index(self) -> int:
        self.gas.pay_base("base")
        return self.ctx.block_height

    def block_timestamp(self) -> int:
        self.gas.pay_base("base")
        return self.ctx.block_timestamp

    def epoch_height(self) -> int:
        self.gas.pay_base("base")
        return self.ctx.epoch_height

    def validator_stake(self, account_id_len: int, account_id_ptr: int, stake_ptr: int) -> None:
        self.gas.pay_base("base")
        account_id = self._account_id(account_id_ptr, account_id_len)
        self.gas.pay_base("validator_stake_base")
        self._mem_write(stake_ptr, self.ctx.validators.get(account_id, 0).to_bytes(16, "little"))

    def validator_total_stake(self, stake_ptr: int) -> None:
        self.gas.pay_base("base")
        self.gas.pay_base("validator_total_stake_base")
        self._mem_write(stake_ptr, sum(self.ctx.validators.values()).to_bytes(16, "little"))

    def storage_usage(self) -> int:
        self.gas.pay_base("base")
        return self.storage_usage_now

    def account_balance(self, balance_ptr: int) -> None:
        self.gas.pay_base("base")
        self._mem_write(balance_ptr, self.balance.to_bytes(16, "little"))

    def account_locked_balance(self, balance_ptr: int) -> None:
        self.gas.pay_base("base")
        self._mem_write(balance_ptr, self.ctx.account_locked_balance.to_bytes(16, "little"))

    def attached_deposit(self, balance_ptr: int) -> None:
        self.gas.pay_base("base")
        self._mem_write(balance_ptr, self.ctx.attached_deposit.to_bytes(16, "little"))

    def prepaid_gas(self) -> int:
        self.gas.pay_base("base")
        self._prohibited_in_view("prepaid_gas")
        return self.ctx.prepaid_gas

    def used_gas(self) -> int:
        self.gas.pay_base("base")
        self._prohibited_in_view("used_gas")
        return self.gas.used

    def random_seed(self, register_id: int) -> None:
        self.gas.pay_base("base")
        self._reg_set(register_id, self.ctx.random_seed)

    def current_contract_code(self, register_id: int) -> int:
        self.gas.pay_base("base")
        if self.ctx.code_hash is None:
            return 0
        self._reg_set(register_id, self.ctx.code_hash)
        return 1

    # ---- math and crypto -------------------------------------------------------------------------
    def _hash(self, name: str, value_len: int, value_ptr: int, register_id: int,
              digest: Callable[[bytes], bytes]) -> None:
        self.gas.pay_base(f"{name}_base")
        value = self._mem_or_reg(value_ptr, value_len)
        self.gas.pay_per(f"{name}_byte", len(value))
        self._reg_set(register_id, digest(value))

    def sha256(self, value_len: int, value_ptr: int, register_id: int) -> None:
        self._hash("sha256", value_len, value_ptr, register_id, lambda v: hashlib.sha256(v).digest())

    def keccak256(self, value_len: int, value_ptr: int, register_id: int) -> None:
        from Crypto.Hash import keccak

        self._hash("keccak256", value_len, value_ptr, register_id,
                   lambda v: keccak.new(digest_bits=256, data=v).digest())

    def keccak512(self, value_len: int, value_ptr: int, register_id: int) -> None:
        from Crypto.Hash import keccak

        self._hash("keccak512", value_len, value_ptr, register_id,
                   lambda v: keccak.new(digest_bits=512, data=v).digest())

    def ripemd160(self, value_len: int, value_ptr: int, register_id: int) -> None:
        from Crypto.Hash import RIPEMD160

        self.gas.pay_base("ripemd160_base")
        value = self._mem_or_reg(value_ptr, value_len)
        # the message is padded with at least 9 bytes into 64-byte blocks
        self.gas.pay_per("ripemd160_block", (len(value) + 8) // 64 + 1)
        self._reg_set(register_id, RIPEMD160.new(value).digest())

    def ecrecover(self, hash_len: int, hash_ptr: int, sig_len: int, sig_ptr: int, v: int,
                  malleability_flag: int, register_id: int) -> int:
        self.gas.pay_base("ecrecover_base")
        sig = self._mem_or_reg(sig_ptr, sig_len)
        if len(sig) != 64:
            raise HostError("ECRecoverError", f"The length of the signature: {len(sig)}, exceeds the limit of 64 bytes")
        if v >= 4:
            raise HostError("ECRecoverError", f"V recovery byte 0 through 3 are valid but was provided {v}")
        msg_hash = self._mem_or_reg(hash_ptr, hash_len)
        if len(msg_hash) != 32:
            raise HostError("ECRecoverError", f"The length of the hash: {len(msg_hash)}, exceeds the limit of 32 bytes")
        if malleability_flag not in (0, 1):
            raise HostError("ECRecoverError",
                            f"Malleability flag needs to be 0 or 1, but is instead {malleability_flag}")
        r, s = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")
        s_ok = s < _SECP256K1_N // 2 + 1 if malleability_flag else s < _SECP256K1_N
        if not (0 < r < _SECP256K1_N and 0 < s and s_ok):
            return 0
        import coincurve

        try:
            pk = coincurve.PublicKey.from_signature_and_message(sig + bytes([v]), msg_hash, hasher=None)
        except Exception:  # noqa: BLE001 - libsecp256k1 refuses: no key recoverable
            return 0
        self._reg_set(register_id, pk.format(compressed=False)[1:])
        return 1

    def ed25519_verify(self, sig_len: int, sig_ptr: int, msg_len: int, msg_ptr: int,
                       pk_len: int, pk_ptr: int) -> int:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        self.gas.pay_base("ed25519_verify_base")
        sig = self._mem_or_reg(sig_ptr, sig_len)
        if len(sig) != 64:
            raise HostError("Ed25519VerifyInvalidInput", "invalid signature length")
        if sig[63] & 0b1110_0000:
            return 0
        msg = self._mem_or_reg(msg_ptr, msg_len)
        self.gas.pay_per("ed25519_verify_byte", len(msg))
        pk = self._mem_or_reg(pk_ptr, pk_len)
        if len(pk) != 32:
            raise HostError("Ed25519VerifyInvalidInput", "invalid public key length")
        try:
            Ed25519PublicKey.from_public_bytes(pk).verify(sig, msg)
        except (InvalidSignature, ValueError):
            return 0
        return 1

    # ---- miscellaneous ---------------------------------------------------------------------------
    def value_return(self, value_len: int, value_ptr: int) -> None:
        self.gas.pay_base("base")
        value = self._mem_or_reg(value_ptr, value_len)
        if len(value) > self.limits["max_length_returned_data"]:
            raise HostError("ReturnedValueLengthExceeded", "returned value too long",
                            length=len(value), limit=self.limits["max_length_returned_data"])
        # A local call has no data receivers: the per-byte data receipt fee is zero.
        self.gas.deduct(0, 0, "new_data_receipt_byte")
        self.return_data = value
        self.return_promise = None

    def panic(self) -> None:
        self.gas.pay_base("base")
        raise HostError("GuestPanic", "explicit guest panic", panic_msg="explicit guest panic")

    def panic_utf8(self, length: int, ptr: int) -> None:
        self.gas.pay_base("base")
        msg = self._utf8(length, ptr)
        raise HostError("GuestPanic", msg, panic_msg=msg)

    def _check_can_log(self) -> None:
        if len(self.logs) >= self.limits["max_number_logs"]:
            raise HostError("NumberOfLogsExceeded", "too many logs", limit=self.limits["max_number_logs"])

    def _push_log(self, message: str) -> None:
        n = len(message.encode("utf-8"))
        self.total_log_length += n
        if self.total_log_length > self.limits["max_total_log_length"]:
            # nearcore reports the new total plus the message length again here; kept for fidelity
            raise self._log_length_exceeded(n)
        self.logs.append(message)

    def log_utf8(self, length: int, ptr: int) -> None:
        self.gas.pay_base("base")
        self._check_can_log()
        message = self._utf8(length, ptr)
        self.gas.pay_base("log_base")
        self.gas.pay_per("log_byte", len(message.encode("utf-8")))
        self._push_log(message)

    def log_utf16(self, length: int, ptr: int) -> None:
        self.gas.pay_base("base")
        self._check_can_log()
        message = self._utf16(length, ptr)
        self.gas.pay_base("log_base")
        self.gas.pay_per("log_byte", len(message.encode("utf-8")))
        self._push_log(message)

    def abort(self, msg_ptr: int, filename_ptr: int, line: int, col: int) -> None:
        self.gas.pay_base("base")
        msg_ptr &= 0xFFFF_FFFF
        filename_ptr &= 0xFFFF_FFFF
        if msg_ptr < 4 or filename_ptr < 4:
            raise HostError("BadUTF16", "abort: string pointer below 4")
        self._check_can_log()
        msg_len = int.from_bytes(self._mem_read(msg_ptr - 4, 4), "little")
        filename_len = int.from_bytes(self._mem_read(filename_ptr - 4, 4), "little")
        msg = self._utf16(msg_len, msg_ptr)
        filename = self._utf16(filename_len, filename_ptr)
        message = f'{msg}, filename: "{filename}" line: {line & 0xFFFF_FFFF} col: {col & 0xFFFF_FFFF}'
        self.gas.pay_base("log_base")
        self.gas.pay_per("log_byte", len(message.encode("utf-8")))
        self._push_log(f"ABORT: {message}")
        raise HostError("GuestPanic", message, panic_msg=message)

    # ---- storage ---------------------------------------------------------------------------------
    def _touch_trie(self, key: bytes) -> None:
        """The trie-node charge, modelled (docs/near.md): ``trie_nodes_per_access`` nodes per access,
        charged as touched the first time the call reaches a key and as cached afterwards."""
        nodes = self.params.model.get("trie_nodes_per_access", 0)
        if key in self._trie_keys_seen:
            self.gas.pay_per("read_cached_trie_node", nodes)
        else:
            self._trie_keys_seen.add(key)
            self.gas.pay_per("touching_trie_node", nodes)

    def _check_key(self, key: bytes) -> None:
        if len(key) > self.limits["max_length_storage_key"]:
            raise HostError("KeyLengthExceeded", "storage key too long", length=len(key),
                            limit=self.limits["max_length_storage_key"])

    def storage_write(self, key_len: int, key_ptr: int, value_len: int, value_ptr: int, register_id: int) -> int:
        self.gas.pay_base("base")
        self._prohibited_in_view("storage_write")
        self.gas.pay_base("storage_write_base")
        key = self._mem_or_reg(key_ptr, key_len)
        self._check_key(key)
        value = self._mem_or_reg(value_ptr, value_len)
        if len(value) > self.limits["max_length_storage_value"]:
            raise HostError("ValueLengthExceeded", "storage value too long", length=len(value),
                            limit=self.limits["max_length_storage_value"])
        self.gas.pay_per("storage_write_key_byte", len(key))
        self.gas.pay_per("storage_write_value_byte", len(value))
        self._touch_trie(key)
        old = self.storage.get(key)
        if old is not None:
            self.gas.pay_per("storage_write_evicted_byte", len(old))
        self.storage.set(key, value)
        if old is not None:
            self.storage_usage_now = self.storage_usage_now - len(old) + len(value)
            self._reg_set(register_id, old)
            return 1
        self.storage_usage_now += len(value) + len(key) + self.params.storage["storage_num_extra_bytes_record"]
        return 0

    def storage_read(self, key_len: int, key_ptr: int, register_id: int) -> int:
        self.gas.pay_base("base")
        self.gas.pay_base("storage_read_base")
        key = self._mem_or_reg(key_ptr, key_len)
        self._check_key(key)
        self.gas.pay_per("storage_read_key_byte", len(key))
        self._touch_trie(key)
        value = self.storage.get(key)
        if value is None:
            return 0
        self.gas.pay_per("storage_read_value_byte", len(value))
        if len(value) > self.params.storage["inline_disk_value_threshold"]:
            self.gas.pay_base("storage_large_read_overhead_base")
            self.gas.pay_per("storage_large_read_overhead_byte", len(value))
        self._reg_set(register_id, value)
        return 1

    def storage_remove(self, key_len: int, key_ptr: int, register_id: int) -> int:
        self.gas.pay_base("base")
        self._prohibited_in_view("storage_remove")
        self.gas.pay_base("storage_remove_base")
        key = self._mem_or_reg(key_ptr, key_len)
        self._check_key(key)
        self.gas.pay_per("storage_remove_key_byte", len(key))
        self._touch_trie(key)
        old = self.storage.get(key)
        if old is None:
            return 0
        self.gas.pay_per("storage_remove_ret_value_byte", len(old))
        self.storage.set(key, None)
        self.storage_usage_now -= len(old) + len(key) + self.params.storage["storage_num_extra_bytes_record"]
        self._reg_set(register_id, old)
        return 1

    def storage_has_key(self, key_len: int, key_ptr: int) -> int:
        self.gas.pay_base("base")
        self.gas.pay_base("storage_has_key_base")
        key = self._mem_or_reg(key_ptr, key_len)
        self._check_key(key)
        self.gas.pay_per("storage_has_key_byte", len(key))
        self._touch_trie(key)
        return int(self.storage.get(key) is not None)

    def storage_iter_prefix(self, *_args: int) -> int:
        raise HostError("Deprecated", "storage_iter_prefix is deprecated", method_name="storage_iter_prefix")

    def storage_iter_range(self, *_args: int) -> int:
        raise HostError("Deprecated", "storage_iter_range is deprecated", method_name="storage_iter_range")

    def storage_iter_next(self, *_args: int) -> int:
        raise HostError("Deprecated", "storage_iter_next is deprecated", method_name="storage_iter_next")

    # ---- promises (recorded, not executed) --------------------------------------------------------
    def _fee(self, action: str) -> Any:
        return self.params.action_fees[action]

    def _pay_action_base(self, action: str, sir: bool) -> None:
        fee = self._fee(action)
        burn = fee.send(sir)
        self.gas.deduct(burn, burn + fee.execution, action)

    def _pay_action_per_byte(self, action: str, num: int, sir: bool) -> None:
        fee = self._fee(action)
        burn = _checked_mul(fee.send(sir), num)
        self.gas.deduct(burn, burn + _checked_mul(fee.execution, num), action)

    def _push_promise(self, kind: str, receipts: list[int]) -> int:
        self.promises.append((kind, receipts))
        limit = self.limits["max_promises_per_function_call_action"]
        if len(self.promises) > limit:
            raise HostError("NumberPromisesExceeded", "too many promises",
                            number_of_promises=len(self.promises), limit=limit)
        return len(self.promises) - 1

    def _pay_new_receipt(self, sir: bool, deps: list[bool]) -> None:
        rec = self._fee("new_action_receipt")
        data = self._fee("new_data_receipt_base")
        burn = rec.send(sir)
        for dep_sir in deps:
            burn += data.send(dep_sir) + data.execution
        self.gas.deduct(burn, burn + rec.execution, "new_action_receipt")

    def _new_receipt(self, receiver: str, deps: list[int]) -> int:
        self.receipts.append(Receipt(receiver, deps))
        return len(self.receipts) - 1

    def _promise(self, promise_idx: int) -> tuple[str, list[int]]:
        if promise_idx >= len(self.promises):
            raise HostError("InvalidPromiseIndex", f"invalid promise index {promise_idx}", promise_idx=promise_idx)
        return self.promises[promise_idx]

    def _receipt_of(self, promise_idx: int) -> tuple[int, bool]:
        kind, receipts = self._promise(promise_idx)
        if kind != "receipt":
            raise HostError("CannotAppendActionToJointPromise", "cannot append an action to a joint promise")
        idx = receipts[0]
        return idx, self.receipts[idx].receiver_id == self.ctx.current_account_id

    def _deduct_balance(self, amount: int) -> None:
        if amount > self.balance:
            raise HostError("BalanceExceeded", "the account balance cannot cover the attached amount")
        self.balance -= amount

    def promise_create(self, account_id_len: int, account_id_ptr: int, method_name_len: int, method_name_ptr: int,
                       arguments_len: int, arguments_ptr: int, amount_ptr: int, gas: int) -> int:
        idx = self.promise_batch_create(account_id_len, account_id_ptr)
        self.promise_batch_action_function_call(idx, method_name_len, method_name_ptr, arguments_len, arguments_ptr,
                                                amount_ptr, gas)
        return idx

    def promise_then(self, promise_idx: int, account_id_len: int, account_id_ptr: int, method_name_len: int,
                     method_name_ptr: int, arguments_len: int, arguments_ptr: int, amount_ptr: int, gas: int) -> int:
        idx = self.promise_batch_then(promise_idx, account_id_len, account_id_ptr)
        self.promise_batch_action_function_call(idx, method_name_len, method_name_ptr, arguments_len, arguments_ptr,
                                                amount_ptr, gas)
        return idx

    def promise_and(self, promise_idx_ptr: int, promise_idx_count: int) -> int:
        self.gas.pay_base("base")
        self._prohibited_in_view("promise_and")
        self.gas.pay_base("promise_and_base")
        n = _checked_mul(promise_idx_count, 8)
        self.gas.pay_per("promise_and_per_promise", n)
        raw = self._mem_read(promise_idx_ptr, n)
        deps: list[int] = []
        limit = self.limits["max_number_input_data_dependencies"]
        for i in range(promise_idx_count):
            _, receipts = self._promise(int.from_bytes(raw[8 * i: 8 * i + 8], "little"))
            deps.extend(receipts)
            if len(deps) > limit:
                raise HostError("NumberInputDataDependenciesExceeded", "too many input data dependencies",
                                number_of_input_data_dependencies=len(deps), limit=limit)
        return self._push_promise("joint", deps)

    def promise_batch_create(self, account_id_len: int, account_id_ptr: int) -> int:
        self.gas.pay_base("base")
        self._prohibited_in_view("promise_batch_create")
        account_id = self._account_id(account_id_ptr, account_id_len)
        self._pay_new_receipt(account_id == self.ctx.current_account_id, [])
        return self._push_promise("receipt", [self._new_receipt(account_id, [])])

    def promise_batch_then(self, promise_idx: int, account_id_len: int, account_id_ptr: int) -> int:
        self.gas.pay_base("base")
        self._prohibited_in_view("promise_batch_then")
        account_id = self._account_id(account_id_ptr, account_id_len)
        _, deps = self._promise(promise_idx)
        self._pay_new_receipt(account_id == self.ctx.current_account_id,
                              [self.receipts[d].receiver_id == account_id for d in deps])
        return self._push_promise("receipt", [self._new_receipt(account_id, list(deps))])

    def promise_set_refund_to(self, promise_idx: int, account_id_len: int, account_id_ptr: int) -> None:
        self.gas.pay_base("base")
        self._prohibited_in_view("promise_set_refund_to")
        refund_to = self._account_id(account_id_ptr, account_id_len)
        kind, receipts = self._promise(promise_idx)
        if kind != "receipt":
            raise HostError("CannotSetRefundToOnJointPromise", "cannot set refund_to on a joint promise")
        self.receipts[receipts[0]].refund_to = refund_to

    def _append(self, receipt_idx: int, kind: str, **fields: Any) -> None:
        actions = self.receipts[receipt_idx].actions
        actions.append(Action(kind, fields))

    def promise_batch_action_create_account(self, promise_idx: int) -> None:
        self.gas.pay_base("base")
        self._prohibited_in_view("promise_batch_action_create_account")
        idx, sir = self._receipt_of(promise_idx)
        self._pay_action_base("create_account", sir)
        self._append(idx, "CreateAccount")

    def _code_arg(self, code_len: int, code_ptr: int) -> bytes:
        code = self._mem_or_reg(code_ptr, code_len)
        if len(code) > self.limits["max_contract_size"]:
            raise HostError("ContractSizeExceeded", "contract too large", size=len(code),
                            limit=self.limits["max_contract_size"])
        return code

    def promise_batch_action_deploy_contract(self, promise_idx: int, code_len: int, code_ptr: int) -> None:
        self.gas.pay_base("base")
        self._prohibited_in_view("promise_batch_action_deploy_contract")
        code = self._code_arg(code_len, code_ptr)
        idx, sir = self._receipt_of(promise_idx)
        self._pay_action_base("deploy_contract_base", sir)
        self._pay_action_per_byte("deploy_contract_byte", len(code), sir)
        self._append(idx, "DeployContract", code_sha256=hashlib.sha256(code).hexdigest(), code_len=len(code))

    def _deploy_global(self, name: str, promise_idx: int, code_len: int, code_ptr: int, mode: str) -> None:
        self.gas.pay_base("base")
        self._prohibited_in_view(name)
        code = self._code_arg(code_len, code_ptr)
        idx, sir = self._receipt_of(promise_idx)
        self._pay_action_base("deploy_global_contract_base", sir)
        self._pay_action_per_byte("deploy_global_contract_byte", len(code), sir)
        self._append(idx, "DeployGlobalContract", mode=mode, code_sha256=hashlib.sha256(code).hexdigest(),
                     code_len=len(code))

    def promise_batch_action_deploy_global_contract(self, promise_idx: int, code_len: int, code_ptr: int) -> None:
        self._deploy_global("promise_batch_action_deploy_global_contract", promise_idx, code_len, code_ptr,
                            "CodeHash")

    def promise_batch_action_deploy_global_contract_by_account_id(self, promise_idx: int, code_len: int,
                                                                  code_ptr: int) -> None:
        self._deploy_global("promise_batch_action_deploy_global_contract_by_account_id", promise_idx, code_len,
                            code_ptr, "AccountId")

    def _contract_id(self, by_account: bool, length: int, ptr: int) -> dict[str, str]:
        if by_account:
            return {"account_id": self._account_id(ptr, length)}
        raw = self._mem_or_reg(ptr, length)
        if len(raw) != 32:
            raise HostError("ContractCodeHashMalformed", "a code hash is 32 bytes")
        return {"code_hash": raw.hex()}

    def _use_global(self, name: str, promise_idx: int, length: int, ptr: int, by_account: bool) -> None:
        self.gas.pay_base("base")
        self._prohibited_in_view(name)
        contract = self._contract_id(by_account, length, ptr)
        idx, sir = self._receipt_of(promise_idx)
        self._pay_action_base("use_global_contract_base", sir)
        ident = contract.get("account_id")
        self._pay_action_per_byte("use_global_contract_byte", len(ident.encode()) if ident else 32, sir)
        self._append(idx, "UseGlobalContract", **contract)

    def promise_batch_action_use_global_contract(self, promise_idx: int, code_hash_len: int,
                                                 code_hash_ptr: int) -> None:
        self._use_global("promise_batch_action_use_global_contract", promise_idx, code_hash_len, code_hash_ptr, False)

    def promise_batch_action_use_global_contract_by_account_id(self, promise_idx: int, account_id_len: int,
                                                               account_id_ptr: int) -> None:
        self._use_global("promise_batch_action_use_global_contract_by_account_id", promise_idx, account_id_len,
                         account_id_ptr, True)

    def _state_init(self, name: str, promise_idx: int, length: int, ptr: int, amount_ptr: int,
                    by_account: bool) -> int:
        self.gas.pay_base("base")
        self._prohibited_in_view(name)
        contract = self._contract_id(by_account, length, ptr)
        amount = self._mem_u128(amount_ptr)
        idx, sir = self._receipt_of(promise_idx)
        self._pay_action_base("deterministic_state_init_base", sir)
        self._deduct_balance(amount)
        self._append(idx, "DeterministicStateInit", deposit=str(amount), data={}, **contract)
        return len(self.receipts[idx].actions) - 1

    def promise_batch_action_state_init(self, promise_idx: int, code_hash_len: int, code_hash_ptr: int,
                                        amount_ptr: int) -> int:
        return self._state_init("promise_batch_action_state_init", promise_idx, code_hash_len, code_hash_ptr,
                                amount_ptr, False)

    def promise_batch_action_state_init_by_account_id(self, promise_idx: int, account_id_len: int,
                                                      account_id_ptr: int, amount_ptr: int) -> int:
        return self._state_init("promise_batch_action_state_init_by_account_id", promise_idx, account_id_len,
                                account_id_ptr, amount_ptr, True)

    def set_state_init_data_entry(self, promise_idx: int, action_index: int, key_len: int, key_ptr: int,
                                  value_len: int, value_ptr: int) -> None:
        self.gas.pay_base("base")
        self._prohibited_in_view("set_state_init_data_entry")
        idx, sir = self._receipt_of(promise_idx)
        key = self._mem_or_reg(key_ptr, key_len)
        value = self._mem_or_reg(value_ptr, value_len)
        self._pay_action_base("deterministic_state_init_entry", sir)
        self._pay_action_per_byte("deterministic_state_init_byte", len(key) + len(value), sir)
        actions = self.receipts[idx].actions
        if action_index >= len(actions) or actions[action_index].kind != "DeterministicStateInit":
            raise HostError("InvalidActionIndex", f"invalid action index {action_index}", action_index=action_index)
        data = actions[action_index].fields["data"]
        if key.hex() in data:
            raise HostError("DataEntryAlreadyExists", "the key is already set")
        data[key.hex()] = value.hex()

    def promise_batch_action_function_call(self, promise_idx: int, method_name_len: int, method_name_ptr: int,
                                           arguments_len: int, arguments_ptr: int, amount_ptr: int, gas: int) -> None:
        self.promise_batch_action_function_call_weight(promise_idx, method_name_len, method_name_ptr, arguments_len,
                                                       arguments_ptr, amount_ptr, gas, 0)

    def promise_batch_action_function_call_weight(self, promise_idx: int, method_name_len: int,
                                                  method_name_ptr: int, arguments_len: int, arguments_ptr: int,
                                                  amount_ptr: int, gas: int, gas_weight: int) -> None:
        self.gas.pay_base("base")
        self._prohibited_in_view("promise_batch_action_function_call")
        amount = self._mem_u128(amount_ptr)
        method = self._mem_or_reg(method_name_ptr, method_name_len)
        if not method:
            raise HostError("EmptyMethodName", "method name is empty")
        args = self._mem_or_reg(arguments_ptr, arguments_len)
        idx, sir = self._receipt_of(promise_idx)
        self._pay_action_base("function_call_base", sir)
        self._pay_action_per_byte("function_call_byte", len(method) + len(args), sir)
        self.gas.deduct(0, gas, None)  # the attached gas is reserved: used, not burnt
        self._deduct_balance(amount)
        self._append(idx, "FunctionCall", method_name=method.decode("utf-8", "replace"), args_base64=_b64(args),
                     deposit=str(amount), gas=gas, gas_weight=gas_weight)

    def promise_batch_action_transfer(self, promise_idx: int, amount_ptr: int) -> None:
        self.gas.pay_base("base")
        self._prohibited_in_view("promise_batch_action_transfer")
        amount = self._mem_u128(amount_ptr)
        idx, sir = self._receipt_of(promise_idx)
        receiver = self.receipts[idx].receiver_id
        t = self._fee("transfer")
        burn, exe = t.send(sir), t.execution
        # A transfer to an implicit account that does not exist yet also creates it (nearcore
        # transfer_send_fee / transfer_exec_fee with implicit account creation on).
        kind = _implicit_kind(receiver)
        if kind != "named" and self.params.flags["implicit_account_creation"]:
            extra = ["create_account", "add_full_access_key"] if kind == "near-implicit" else ["create_account"]
            for name in extra:
                burn += self._fee(name).send(sir)
                exe += self._fee(name).execution
        self.gas.deduct(burn, burn + exe, "transfer")
        self._deduct_balance(amount)
        self._append(idx, "Transfer", deposit=str(amount))

    def _public_key(self, length: int, ptr: int) -> tuple[bytes, str | None]:
        """The key bytes and, if they do not decode as a borsh PublicKey, why (reported later, as
        nearcore does)."""
        raw = self._mem_or_reg(ptr, length)
        ok = (len(raw) == 33 and raw[0] == 0) or (len(raw) == 65 and raw[0] == 1)
        return raw, None if ok else "InvalidPublicKey"

    def _decode_pk(self, pk: tuple[bytes, str | None]) -> str:
        raw, err = pk
        if err is not None:
            raise HostError(err, "public key does not decode")
        return ("ed25519:" if raw[0] == 0 else "secp256k1:") + raw[1:].hex()

    def promise_batch_action_stake(self, promise_idx: int, amount_ptr: int, public_key_len: int,
                                   public_key_ptr: int) -> None:
        self.gas.pay_base("base")
        self._prohibited_in_view("promise_batch_action_stake")
        amount = self._mem_u128(amount_ptr)
        pk = self._public_key(public_key_len, public_key_ptr)
        idx, sir = self._receipt_of(promise_idx)
        self._pay_action_base("stake", sir)
        self._append(idx, "Stake", stake=str(amount), public_key=self._decode_pk(pk))

    def promise_batch_action_add_key_with_full_access(self, promise_idx: int, public_key_len: int,
                                                      public_key_ptr: int, nonce: int) -> None:
        self.gas.pay_base("base")
        self._prohibited_in_view("promise_batch_action_add_key_with_full_access")
        pk = self._public_key(public_key_len, public_key_ptr)
        idx, sir = self._receipt_of(promise_idx)
        self._pay_action_base("add_full_access_key", sir)
        self._append(idx, "AddKey", public_key=self._decode_pk(pk), nonce=nonce, permission="FullAccess")

    def promise_batch_action_add_key_with_function_call(self, promise_idx: int, public_key_len: int,
                                                        public_key_ptr: int, nonce: int, allowance_ptr: int,
                                                        receiver_id_len: int, receiver_id_ptr: int,
                                                        method_names_len: int, method_names_ptr: int) -> None:
        self.gas.pay_base("base")
        self._prohibited_in_view("promise_batch_action_add_key_with_function_call")
        pk = self._public_key(public_key_len, public_key_ptr)
        allowance = self._mem_u128(allowance_ptr)
        receiver = self._account_id(receiver_id_ptr, receiver_id_len)
        raw = self._mem_or_reg(method_names_ptr, method_names_len)
        names = raw.split(b",") if raw else []
        if any(not n for n in names):
            raise HostError("EmptyMethodName", "empty method name in the list")
        idx, sir = self._receipt_of(promise_idx)
        self._pay_action_base("add_function_call_key_base", sir)
        self._pay_action_per_byte("add_function_call_key_byte", sum(len(n) + 1 for n in names), sir)
        self._append(idx, "AddKey", public_key=self._decode_pk(pk), nonce=nonce, permission="FunctionCall",
                     allowance=str(allowance) if allowance else None, receiver_id=receiver,
                     method_names=[n.decode("utf-8", "replace") for n in names])

    def promise_batch_action_delete_key(self, promise_idx: int, public_key_len: int, public_key_ptr: int) -> None:
        self.gas.pay_base("base")
        self._prohibited_in_view("promise_batch_action_delete_key")
        pk = self._public_key(public_key_len, public_key_ptr)
        idx, sir = self._receipt_of(promise_idx)
        self._pay_action_base("delete_key", sir)
        self._append(idx, "DeleteKey", public_key=self._decode_pk(pk))

    def promise_batch_action_delete_account(self, promise_idx: int, beneficiary_id_len: int,
                                            beneficiary_id_ptr: int) -> None:
        self.gas.pay_base("base")
        self._prohibited_in_view("promise_batch_action_delete_account")
        beneficiary = self._account_id(beneficiary_id_ptr, beneficiary_id_len)
        idx, sir = self._receipt_of(promise_idx)
        self._pay_action_base("delete_account", sir)
        self._append(idx, "DeleteAccount", beneficiary_id=beneficiary)

    def promise_yield_create(self, method_name_len: int, method_name_ptr: int, arguments_len: int,
                             arguments_ptr: int, gas: int, gas_weight: int, register_id: int) -> int:
        self.gas.pay_base("base")
        self._prohibited_in_view("promise_yield_create")
        self.gas.pay_base("yield_create_base")
        method = self._mem_or_reg(method_name_ptr, method_name_len)
        if not method:
            raise HostError("EmptyMethodName", "method name is empty")
        args = self._mem_or_reg(arguments_ptr, arguments_len)
        n = len(method) + len(args)
        self.gas.pay_per("yield_create_byte", n)
        self.gas.deduct(0, gas, None)
        self._pay_new_receipt(True, [True])
        receipt = self._new_receipt(self.ctx.current_account_id, [])
        promise = self._push_promise("receipt", [receipt])
        self._pay_action_base("function_call_base", True)
        self._pay_action_per_byte("function_call_byte", n, True)
        data_id = hashlib.sha256(b"yield\0" + self.ctx.random_seed + receipt.to_bytes(8, "little")).digest()
        self._append(receipt, "FunctionCall", method_name=method.decode("utf-8", "replace"), args_base64=_b64(args),
                     deposit="0", gas=gas, gas_weight=gas_weight, yield_data_id=data_id.hex())
        self._reg_set(register_id, data_id)
        return promise

    def promise_yield_resume(self, data_id_len: int, data_id_ptr: int, payload_len: int, payload_ptr: int) -> int:
        self.gas.pay_base("base")
        self._prohibited_in_view("promise_submit_data")
        self.gas.pay_base("yield_resume_base")
        self.gas.pay_per("yield_resume_byte", payload_len)
        data_id = self._mem_or_reg(data_id_ptr, data_id_len)
        payload = self._mem_or_reg(payload_ptr, payload_len)
        if len(payload) > self.limits["max_yield_payload_size"]:
            raise HostError("YieldPayloadLength", "yield payload too long", length=len(payload),
                            limit=self.limits["max_yield_payload_size"])
        if len(data_id) != 32:
            raise HostError("DataIdMalformed", "a data id is 32 bytes")
        # No yielded receipt is waiting in local state: nothing to resume.
        return 0

    def promise_results_count(self) -> int:
        self.gas.pay_base("base")
        self._prohibited_in_view("promise_results_count")
        return 0  # a call made from the command line is never a callback

    def promise_result(self, result_idx: int, register_id: int) -> int:
        self.gas.pay_base("base")
        self._prohibited_in_view("promise_result")
        raise HostError("InvalidPromiseResultIndex", f"invalid promise result index {result_idx}",
                        result_idx=result_idx)

    def promise_return(self, promise_idx: int) -> None:
        self.gas.pay_base("base")
        self.gas.pay_base("promise_return")
        self._prohibited_in_view("promise_return")
        kind, receipts = self._promise(promise_idx)
        if kind != "receipt":
            raise HostError("CannotReturnJointPromise", "cannot return a joint promise")
        self.return_promise = receipts[0]
        self.return_data = None

    # ---- after the call -----------------------------------------------------------------------------
    def distribute_unused_gas(self) -> None:
        """Split the unused prepaid gas among function calls with a gas weight (nearcore: on success)."""
        calls = [a for r in self.receipts for a in r.actions if a.kind == "FunctionCall" and a.fields["gas_weight"]]
        if not calls or self.ctx.is_view:
            return
        unused = self.ctx.prepaid_gas - self.gas.used
        if unused <= 0:
            return
        total = sum(a.fields["gas_weight"] for a in calls)
        given = 0
        for a in calls:
            share = unused * a.fields["gas_weight"] // total
            a.fields["gas"] += share
            given += share
        calls[-1].fields["gas"] += unused - given
        self.gas.promises += unused

    def handlers(self) -> dict[str, Callable[..., Any]]:
        """``name -> callable`` for every function in :data:`SIGNATURES`."""
        out: dict[str, Callable[..., Any]] = {}
        for name in SIGNATURES:
            if name in UNSUPPORTED:
                out[name] = _refuse(name)
            else:
                out[name] = getattr(self, name)
        return out


def _refuse(name: str) -> Callable[..., Any]:
    def refuse(*_args: Any) -> Any:
        raise HostError("Unsupported", f"{name}: {UNSUPPORTED[name]}", method_name=name)

    return refuse


def _b64(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode()
