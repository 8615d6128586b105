"""Deploy and call NEAR contracts against SQLite state: :class:`NearChain`.

A call goes the way nearcore's runner takes it: the code is compiled (from the compiled-contract
cache), the contract-loading fee is charged, the method is resolved (it must be exported and take
no parameters and return nothing), the ``env`` imports are linked, then the method runs with the
host environment of :mod:`nearvm.near.host`. The outcome carries the return value, logs, burnt and
used gas with a per-category profile that adds up to the burnt gas, the storage changes and the
receipts the contract created (recorded, not executed). A call that fails changes nothing.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from typing import Any

from .. import errors as _errors
from ..cache import ContractCache, MemoryArtifactStore, SQLiteArtifactStore
from ..config import Config
from ..errors import CompileError, LinkError, Trap, TrapCode
from ..wasm.types import FuncType, MemoryType
from .errors import FunctionCallError, HostError, NearUsageError
from .host import SIGNATURES, Context, NearLogic, Receipt, StorageOverlay, valid_account_id
from .params import NearParams
from .state import Account, ChainState

__all__ = ["DeployResult", "NearChain", "Outcome"]

U64 = 2**64 - 1
DEFAULT_GAS = 300 * 10**12  # 300 Tgas, what NEAR's tools attach by default

_WASM_TRAPS: dict[TrapCode, str] = {
    TrapCode.UNREACHABLE: "Unreachable",
    TrapCode.MEMORY_OUT_OF_BOUNDS: "MemoryOutOfBounds",
    TrapCode.TABLE_OUT_OF_BOUNDS: "CallIndirectOOB",
    TrapCode.UNINITIALIZED_ELEMENT: "IndirectCallToNull",
    TrapCode.INDIRECT_CALL_TYPE_MISMATCH: "IncorrectCallIndirectSignature",
    TrapCode.INTEGER_DIVIDE_BY_ZERO: "IllegalArithmetic",
    TrapCode.INTEGER_OVERFLOW: "IllegalArithmetic",
    TrapCode.INVALID_CONVERSION: "IllegalArithmetic",
    TrapCode.STACK_OVERFLOW: "StackOverflow",
}


@dataclass
class Outcome:
    """What a function call produced (nearcore ``VMOutcome`` plus the state changes)."""

    account_id: str
    method: str
    error: FunctionCallError | None
    return_data: bytes | None
    return_promise: int | None
    logs: list[str]
    gas_burnt: int
    gas_used: int
    profile: dict[str, int]
    state_changes: list[tuple[bytes, bytes | None, bytes | None]]
    receipts: list[Receipt]
    balance: int
    storage_usage: int
    block_height: int
    view: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def return_json(self) -> Any:
        """The return value parsed as JSON (raises ValueError if it is not JSON)."""
        if self.return_data is None:
            raise ValueError("the call returned no value")
        return json.loads(self.return_data.decode("utf-8"))

    def to_json(self) -> dict[str, Any]:
        ret: dict[str, Any] | None = None
        if self.return_data is not None:
            ret = {"base64": base64.b64encode(self.return_data).decode()}
            try:
                ret["json"] = json.loads(self.return_data.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                pass
        elif self.return_promise is not None:
            ret = {"receipt": self.return_promise}

        def b64(v: bytes | None) -> str | None:
            return None if v is None else base64.b64encode(v).decode()

        return {
            "status": "success" if self.ok else "failure",
            "account_id": self.account_id, "method": self.method, "view": self.view,
            "error": None if self.error is None else self.error.to_json(),
            "return_value": ret, "logs": list(self.logs),
            "gas_burnt": self.gas_burnt, "gas_used": self.gas_used, "profile": dict(self.profile),
            "state_changes": [{"key_base64": b64(k), "old_base64": b64(o), "new_base64": b64(n)}
                              for k, o, n in self.state_changes],
            "receipts": [r.to_json() for r in self.receipts],
            "balance": str(self.balance), "storage_usage": self.storage_usage, "block_height": self.block_height,
        }


@dataclass
class DeployResult:
    account_id: str
    code_hash: bytes
    code_size: int
    storage_usage: int
    compile_error: FunctionCallError | None

    def to_json(self) -> dict[str, Any]:
        return {"account_id": self.account_id, "code_sha256": self.code_hash.hex(), "code_size": self.code_size,
                "storage_usage": self.storage_usage,
                "compile_error": None if self.compile_error is None else self.compile_error.to_json()}


def _check_account_id(account_id: str, what: str) -> None:
    if not isinstance(account_id, str) or not valid_account_id(account_id):
        raise NearUsageError(f"invalid {what} account id {account_id!r} (NEAR account ids are 2-64 characters: "
                             "lowercase letters, digits, and - _ . between them)")


def chain_artifact_key(path: str | os.PathLike[str]) -> bytes:
    """The artifact key of the chain stored at ``path``: ``<path>.key`` (32 random bytes, created
    with mode 0600 on first use). Compiled contracts in the chain's file are signed with it, so a
    state file copied from elsewhere or edited by someone who cannot write this key file cannot
    make nearvm run machine code of their choosing (README "Artifacts are code")."""
    key_path = os.fspath(path) + ".key"
    try:
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        with open(key_path, "rb") as f:
            key = f.read()
        if len(key) < 32:
            raise NearUsageError(f"{key_path}: not a nearvm chain key (expected 32 bytes, found {len(key)})") from None
        return key[:32]
    key = os.urandom(32)
    with os.fdopen(fd, "wb") as f:
        f.write(key)
    return key


class NearChain:
    """A local NEAR chain: state in SQLite (``path``; ``None`` = in memory), compiled contracts in
    nearvm's compiled-contract cache (the same file), signed with the chain's artifact key
    (``artifact_key``, else :func:`chain_artifact_key`: ``<path>.key``)."""

    def __init__(self, path: str | os.PathLike[str] | None = None, *, params: NearParams | None = None,
                 config: Config | None = None, artifact_key: bytes | None = None) -> None:
        import nearvm

        self.params = params if params is not None else NearParams.load()
        self.config = config if config is not None else Config.near()
        self.state = ChainState(":memory:" if path is None else path)
        if artifact_key is None and path is not None:
            artifact_key = chain_artifact_key(path)
        self.engine = nearvm.Engine(self.config, artifact_key=artifact_key)
        store: Any = MemoryArtifactStore() if path is None else SQLiteArtifactStore(os.fspath(path))
        self.cache = ContractCache.for_engine(self.engine, store)

    def close(self) -> None:
        self.state.close()
        store = self.cache.store
        if isinstance(store, SQLiteArtifactStore):
            store.close()

    def __enter__(self) -> NearChain:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- accounts ------------------------------------------------------------------------------
    def account(self, account_id: str) -> Account | None:
        return self.state.account(account_id)

    def create_account(self, account_id: str, balance: int | None = None) -> Account:
        _check_account_id(account_id, "the")
        if self.state.account(account_id) is not None:
            raise NearUsageError(f"account {account_id!r} already exists")
        if balance is None:
            balance = self.params.model["initial_account_balance"]
        acc = Account(account_id, int(balance), 0, None, self.params.storage["storage_num_bytes_account"])
        self.state.begin(write=True)
        try:
            self.state.put_account(acc)
        except BaseException:
            self.state.rollback()
            raise
        self.state.commit()
        return acc

    def storage(self, account_id: str) -> dict[bytes, bytes]:
        return self.state.items(account_id)

    def set_validator_stake(self, account_id: str, stake: int) -> None:
        """Validator data seen by ``validator_stake`` / ``validator_total_stake`` (0 removes)."""
        _check_account_id(account_id, "the validator")
        self.state.begin(write=True)
        self.state.set_validator(account_id, int(stake))
        self.state.commit()

    # ---- deploy --------------------------------------------------------------------------------
    def deploy(self, account_id: str, wasm: bytes) -> DeployResult:
        """Set ``account_id``'s contract (creating the account if needed). Like NEAR, a contract that
        does not compile is still deployed; its error is reported here and by every call."""
        _check_account_id(account_id, "the")
        if not isinstance(wasm, (bytes, bytearray, memoryview)):
            raise NearUsageError(f"the contract must be bytes, not {type(wasm).__name__}")
        wasm = bytes(wasm)
        if len(wasm) > self.params.limits["max_contract_size"]:
            raise NearUsageError(f"contract of {len(wasm)} bytes exceeds max_contract_size "
                                 f"{self.params.limits['max_contract_size']}")
        compile_error: FunctionCallError | None = None
        try:
            self.cache.get(wasm)
        except CompileError as e:
            compile_error = _compile_error(e)
        self.state.begin(write=True)
        try:
            acc = self.state.account(account_id)
            if acc is None:
                acc = Account(account_id, self.params.model["initial_account_balance"], 0, None,
                              self.params.storage["storage_num_bytes_account"])
            old_len = 0
            if acc.code_hash is not None:
                old = self.state.code(acc.code_hash)
                old_len = len(old) if old is not None else 0
            code_hash = self.state.put_code(wasm)
            acc = Account(account_id, acc.balance, acc.locked, code_hash, acc.storage_usage - old_len + len(wasm))
            self.state.put_account(acc)
        except BaseException:
            self.state.rollback()
            raise
        self.state.commit()
        return DeployResult(account_id, code_hash, len(wasm), acc.storage_usage, compile_error)

    # ---- calls ---------------------------------------------------------------------------------
    def view(self, account_id: str, method: str, args: bytes | str | dict[str, Any] | list[Any] = b"") -> Outcome:
        """A view call: no prepaid gas (``max_gas_burnt_view`` limits it), state never written."""
        return self._run(account_id, method, _args_bytes(args), gas=None, deposit=0, signer=None, view=True)

    def call(self, account_id: str, method: str, args: bytes | str | dict[str, Any] | list[Any] = b"", *,
             gas: int = DEFAULT_GAS, deposit: int = 0, signer: str = "alice.near") -> Outcome:
        """A function call signed by ``signer`` with ``gas`` prepaid and ``deposit`` yoctoNEAR attached."""
        return self._run(account_id, method, _args_bytes(args), gas=gas, deposit=deposit, signer=signer, view=False)

    def _run(self, account_id: str, method: str, args: bytes, *, gas: int | None, deposit: int,
             signer: str | None, view: bool) -> Outcome:
        import nearvm

        _check_account_id(account_id, "the contract")
        if signer is not None:
            _check_account_id(signer, "the signer")
        limits = self.params.limits
        if not isinstance(method, str):
            raise NearUsageError("the method name must be a string")
        if len(method.encode()) > limits["max_length_method_name"]:
            raise NearUsageError(f"method name longer than max_length_method_name ({limits['max_length_method_name']})")
        if len(args) > limits["max_arguments_length"]:
            raise NearUsageError(f"arguments longer than max_arguments_length ({limits['max_arguments_length']})")
        if gas is not None and not (0 <= gas <= limits["max_total_prepaid_gas"]):
            raise NearUsageError(f"gas must be in [0, max_total_prepaid_gas = {limits['max_total_prepaid_gas']}]")
        if not (0 <= deposit < 2**128):
            raise NearUsageError("the deposit must be in [0, 2**128)")

        while True:
            # Compile (or load from the cache, which may write to the same file) before taking the
            # state's write lock; then check under the lock that the account did not change meanwhile.
            acc = self.state.account(account_id)
            if acc is None:
                raise NearUsageError(f"account {account_id!r} does not exist (deploy a contract to it first)")
            code = self.state.code(acc.code_hash) if acc.code_hash is not None else None
            module: Any = None
            compile_error: FunctionCallError | None = None
            if code is not None:
                try:
                    module = self.cache.get(code)
                except CompileError as e:
                    compile_error = _compile_error(e)
            self.state.begin(write=not view)
            try:
                if self.state.account(account_id) != acc:
                    self.state.rollback()
                    continue  # another process changed the account: start again
                result, commit = self._attempt(nearvm, acc, code, module, compile_error, method, args, gas=gas,
                                               deposit=deposit, signer=signer, view=view)
                if commit:
                    self.state.commit()
                else:
                    self.state.rollback()
            except BaseException:
                self.state.rollback()
                raise
            return result

    def _attempt(self, nearvm: Any, acc: Account, code: bytes | None, module: Any,
                 compile_error: FunctionCallError | None, method: str, args: bytes, *, gas: int | None,
                 deposit: int, signer: str | None, view: bool) -> tuple[Outcome, bool]:
        """One call inside the state transaction: the outcome, and whether to commit it."""
        account_id = acc.account_id
        height = self.state.block_height + (0 if view else 1)
        storage = StorageOverlay(lambda key: self.state.get(account_id, key))
        model = self.params.model
        seed = hashlib.sha256(b"nearvm-random-seed\0" + height.to_bytes(8, "little") + account_id.encode()).digest()
        ctx = Context(
            current_account_id=account_id, signer_account_id=signer or account_id,
            signer_account_pk=b"\0" + hashlib.sha256((signer or account_id).encode()).digest(),
            predecessor_account_id=signer or account_id, input=args, block_height=height,
            block_timestamp=model["genesis_timestamp_ns"] + height * model["block_time_ns"],
            epoch_height=height // model["epoch_length"] + 1, account_balance=acc.balance,
            account_locked_balance=acc.locked, storage_usage=acc.storage_usage, attached_deposit=deposit,
            prepaid_gas=0 if gas is None else gas, random_seed=seed, is_view=view,
            validators=self.state.validators(), code_hash=acc.code_hash)
        logic = NearLogic(self.params, ctx, storage)

        def outcome(error: FunctionCallError | None) -> tuple[Outcome, bool]:
            ok = error is None
            if ok:
                logic.distribute_unused_gas()
            result = Outcome(account_id, method, error, logic.return_data if ok else None,
                             logic.return_promise if ok else None, logic.logs, logic.gas.burnt, logic.gas.used,
                             logic.gas.profile(), storage.effective_changes() if ok else [],
                             logic.receipts if ok else [], logic.balance if ok else acc.balance,
                             logic.storage_usage_now if ok else acc.storage_usage, height, view)
            if not ok or view:
                return result, False
            for key, _old, new in result.state_changes:
                self.state.set(account_id, key, new)
            self.state.put_account(Account(account_id, result.balance, acc.locked, acc.code_hash,
                                           result.storage_usage))
            self.state.set_block_height(height)
            return result, True

        if code is None:  # the runtime's check, before the contract runtime is involved
            return outcome(FunctionCallError("CompilationError", "CodeDoesNotExist",
                                             f"account {account_id!r} has no contract code",
                                             {"account_id": account_id}))
        # nearcore's order: load (compile or cache), empty method name, compilation error, loading fee,
        # linking, method resolution, instantiation and the call.
        if not method:
            return outcome(FunctionCallError("MethodResolveError", "MethodEmptyName", "the method name is empty"))
        if compile_error is not None:
            return outcome(compile_error)
        # Contract loading: charged once the code is loaded (nearcore, fix_contract_loading_cost off).
        try:
            logic.gas.pay_per("contract_loading_bytes", len(code))
            logic.gas.pay_base("contract_loading_base")
        except HostError:
            return outcome(FunctionCallError("HostError", "GasExceeded", "Exceeded the prepaid gas"))
        link_error = _link_error(module)
        if link_error is not None:
            return outcome(link_error)
        export = {e.name: e for e in module.info.exports}.get(method)
        if export is None or export.kind != "func":
            return outcome(FunctionCallError("MethodResolveError", "MethodNotFound",
                                             f"the contract exports no method {method!r}"))
        if module.info.func_type(export.index) != FuncType((), ()):
            return outcome(FunctionCallError(
                "MethodResolveError", "MethodInvalidSignature",
                f"{method!r} has type {module.info.func_type(export.index)}; NEAR methods take no parameters "
                "and return nothing"))
        return outcome(self._execute(nearvm, module, method, logic))

    def _execute(self, nearvm: Any, module: Any, method: str, logic: NearLogic) -> FunctionCallError | None:
        gas = logic.gas
        store = nearvm.Store(self.engine)
        counters = store._counters  # the Store's gas counter is NEAR's burnt-gas counter while wasm runs
        counters.gas_limit = gas.limit
        counters.gas_used = gas.burnt
        memory = nearvm.Memory(store, MemoryType(self.params.limits["initial_memory_pages"],
                                                 self.params.limits["max_memory_pages"]))
        logic.memory = memory
        handlers = logic.handlers()
        env: dict[str, Any] = {}
        for _mod, name, ty in module.imports:  # checked by _link_error
            if isinstance(ty, MemoryType):
                env[name] = memory
            else:
                env[name] = nearvm.Func(store, SIGNATURES[name], _wrap(handlers[name], gas, counters))
        try:
            instance = nearvm.Instance(store, module, {"env": env})
            instance.exports[method]()
        except Trap as trap:
            return self._trap_error(trap, gas, counters)
        except LinkError as e:
            return FunctionCallError("LinkError", "LinkError", str(e))
        finally:
            logic.memory = None
        gas.burnt = int(counters.gas_used)
        return None

    @staticmethod
    def _trap_error(trap: Trap, gas: Any, counters: Any) -> FunctionCallError:
        cause = trap.__cause__
        if isinstance(cause, HostError):
            return FunctionCallError("HostError", cause.name, cause.message, dict(cause.details))
        if trap.code == TrapCode.OUT_OF_GAS:
            # Wasm code crossed the limit; the Store stopped exactly at it. nearcore names the error
            # after the limit that was crossed: max_gas_burnt (GasLimitExceeded) or the prepaid gas.
            limit = int(counters.gas_limit)
            promises = gas.promises
            err = gas.limit_error(limit + 1, limit + 1 + promises)
            gas.burnt, gas.promises = limit, promises
            return FunctionCallError("HostError", err.name, err.message)
        gas.burnt = int(counters.gas_used)
        if trap.code == TrapCode.HOST_ERROR:  # not a NEAR host error: a defect of this host, not the contract's
            raise RuntimeError(f"nearvm's NEAR host environment failed: {cause!r}") from cause
        name = _WASM_TRAPS.get(trap.code, "GenericTrap")
        return FunctionCallError("WasmTrap", name, str(trap))


def _link_error(module: Any) -> FunctionCallError | None:
    """NEAR links imports by name; a function it does not define, or one declared with another
    signature, is a LinkError (preparation already allowed only ``env`` imports)."""
    for mod, name, ty in module.imports:
        if isinstance(ty, MemoryType):
            continue
        want = SIGNATURES.get(name)
        if mod != "env" or want is None:
            return FunctionCallError("LinkError", "LinkError",
                                     f"unknown import: {mod}.{name} is not a NEAR host function "
                                     "in this protocol version")
        if ty != want:
            return FunctionCallError("LinkError", "LinkError",
                                     f"incompatible import type for env.{name}: declared {ty}, NEAR's is {want}")
    return None


def _wrap(fn: Any, gas: Any, counters: Any) -> Any:
    """A host function that shares the burnt-gas counter with the Store around ``fn``."""

    def host(*args: int) -> Any:
        gas.burnt = int(counters.gas_used)
        try:
            return fn(*[a & U64 for a in args])
        finally:
            counters.gas_limit = gas.limit
            counters.gas_used = min(gas.burnt, gas.limit)

    return host


def _compile_error(e: CompileError) -> FunctionCallError:
    kind = type(e).__name__
    name = "PrepareError" if isinstance(e, (_errors.ValidationError, _errors.DecodeError)) else "CompileError"
    return FunctionCallError("CompilationError", name, str(e), {"nearvm_error": kind})


def _args_bytes(args: bytes | str | dict[str, Any] | list[Any]) -> bytes:
    if isinstance(args, (bytes, bytearray, memoryview)):
        return bytes(args)
    if isinstance(args, str):
        return args.encode()
    if isinstance(args, (dict, list)):
        return json.dumps(args, separators=(",", ":")).encode()
    raise NearUsageError(f"arguments must be bytes, str or JSON-able dict/list, not {type(args).__name__}")
