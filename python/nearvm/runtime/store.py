"""``Store``: owns instances, host functions, memories, tables, globals, the gas counter and the
deterministic stack budget (docs/design.md "Gas and stack semantics").

Threading: a Store (and everything created in it) is used by one thread at a time — using it
from a second thread while a call is running on the first raises RuntimeError. Different Stores
run in parallel: wasm runs without the GIL.
"""

from __future__ import annotations

import sys
import threading
from typing import TYPE_CHECKING, Any

from ..errors import Frame, StackOverflow, Trap, TrapCode
from ._ffi import check, ffi, lib, new_err
from .engine import Engine

if TYPE_CHECKING:
    from .engine import Module
    from .instance import Instance
    from .objects import Func

__all__ = ["InterruptHandle", "MAX_NESTED_CALLS", "Store", "UNLIMITED_GAS"]

UNLIMITED_GAS = 2**64 - 1

#: The most wasm activations of one Store alive at once: a host function called from wasm may
#: call wasm again (re-entrancy), and the call that would be level MAX_NESTED_CALLS + 1 raises
#: StackOverflow (TrapCode.STACK_OVERFLOW) before it starts. Deterministic: it depends on
#: neither Python's recursion limit nor the native stack (docs/runtime.md "Re-entrancy").
MAX_NESTED_CALLS = 64

#: Python frames one nesting level may need: Func.__call__, the host trampoline, the host
#: function and what it calls before calling wasm again (a generous allowance).
_FRAMES_PER_LEVEL = 16


def _python_depth() -> int:
    frame = sys._getframe(1)
    n = 0
    while frame is not None:
        n += 1
        frame = frame.f_back  # type: ignore[assignment]
    return n


def _ensure_recursion_headroom(levels: int) -> None:
    """Make room in the interpreter's recursion limit for ``levels`` more nesting levels, so
    that the deterministic MAX_NESTED_CALLS is what stops re-entrancy, never a RecursionError
    inside a host function. Raises the limit only (never lowers it); only nested calls pay
    for the frame walk."""
    need = _python_depth() + levels * _FRAMES_PER_LEVEL + 100
    if sys.getrecursionlimit() < need:
        sys.setrecursionlimit(need)

_get_ident = threading.get_ident
_nvm_call = lib.nvm_call
_NEEDS_STACK = lib.NVM_CALL_NEEDS_STACK
_BIG_STACK_LOCK = threading.Lock()


class Store:
    """``Store(engine, gas_limit=None)``.

    Without a gas schedule (``Config(gas=None)``): ``gas_used`` is 0, ``gas_remaining`` None and
    ``gas_limit`` must stay None. With one, ``gas_limit=None`` means unlimited (2**64-1) and the
    limit may be changed at any time (refuel); ``gas_used`` is cumulative.

    Externref lifetime: every object that has been passed to wasm as an ``externref`` (argument,
    host-function result, table element, global value) is kept alive by the Store until the Store
    itself is freed — even after wasm dropped every reference to it (there is no GC of wasm-held
    references). Wasm only ever holds an index into the Store's list, so nothing can dangle; for
    long-lived Stores, pass handles you manage yourself (e.g. ints) instead of large objects.
    """

    def __init__(self, engine: Engine, gas_limit: int | None = None) -> None:
        if not isinstance(engine, Engine):
            raise TypeError("Store(engine): engine must be a nearvm.Engine")
        self.engine = engine
        self._gas_enabled = engine.gas_enabled
        budget = int(getattr(engine.config, "stack_budget", 262_144))
        out = ffi.new("nvm_store_t**")
        err = new_err()
        check(lib.nvm_store_new(engine._ptr, budget, int(self._gas_enabled), out, err, len(err)), err,
              "cannot create store")
        self._ptr = ffi.gc(out[0], lib.nvm_store_free)
        self._counters = lib.nvm_store_counters_ptr(self._ptr)
        schedule = getattr(engine.config, "gas", None)
        if schedule is not None:
            # Linear fees of bulk operations, charged by the C helpers before their bounds checks.
            self._counters.bulk_base = schedule.bulk_base
            self._counters.bulk_per_unit = schedule.bulk_per_unit
        self.stack_budget = budget
        self.gas_limit = gas_limit
        # externref handles: handle h (>= 1) is self._externs[h - 1]; kept alive by the store.
        self._externs: list[object] = []
        self._extern_handles: dict[int, int] = {}
        # funcref address -> Func (exported wasm functions and host functions).
        self._funcs: dict[int, Func] = {}
        # nvm_instance_t* address -> Instance (for Caller; strong: instances live as long as the store).
        self._instances: dict[int, Instance] = {}
        # nvm_instance_t* address -> its Module (backtrace names; instances live as long as the store).
        self._instance_modules: dict[int, Module] = {}
        self._host_records: list[Any] = []
        self._pending: BaseException | None = None
        self._claim_lock = threading.Lock()
        self._depth = 0  # nested calls of the claiming thread (0: not claimed)
        self._thread: int | None = None  # the claiming thread
        self._deadline: threading.Timer | None = None

    # ---- gas -------------------------------------------------------------------------------
    @property
    def gas_enabled(self) -> bool:
        """True if the Store's Engine meters gas (``Config(gas=...)``)."""
        return self._gas_enabled

    @property
    def gas_used(self) -> int:
        """Gas charged so far (cumulative over every call; 0 without metering). After OutOfGas it equals the
        limit."""
        return int(self._counters.gas_used) if self._gas_enabled else 0

    @property
    def gas_remaining(self) -> int | None:
        """Gas left before the limit (None without metering)."""
        if not self._gas_enabled:
            return None
        used, limit = int(self._counters.gas_used), int(self._counters.gas_limit)
        return max(0, limit - used)

    @property
    def gas_limit(self) -> int | None:
        """The gas budget (None: unlimited, or no metering). Settable at any time to refuel; it cannot go below
        ``gas_used``."""
        if not self._gas_enabled:
            return None
        limit = int(self._counters.gas_limit)
        return None if limit == UNLIMITED_GAS else limit

    @gas_limit.setter
    def gas_limit(self, value: int | None) -> None:
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise TypeError(f"gas_limit must be an int or None, got {type(value).__name__}")
        if not self._gas_enabled:
            if value is not None:
                raise ValueError("gas_limit requires a Config with a gas schedule (Config(gas=...))")
            return
        if value is None:
            value = UNLIMITED_GAS
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError("gas_limit must be an int or None")
        if not 0 <= value <= UNLIMITED_GAS:
            raise ValueError("gas_limit must be in [0, 2**64-1]")
        # gas_used is cumulative and never decreases; a limit below it would make the next
        # out-of-gas (which sets gas_used = gas_limit) lower it.
        used = int(self._counters.gas_used)
        if value < used:
            raise ValueError(f"gas_limit {value} is below gas_used {used}; the limit can only cover what was used")
        self._counters.gas_limit = value

    @property
    def stack_remaining(self) -> int:
        """Deterministic stack budget left, in bytes (the configured ``stack_budget`` while no wasm runs)."""
        return int(self._counters.stack_remaining)

    # ---- interrupts --------------------------------------------------------------------------
    def interrupt_handle(self) -> InterruptHandle:
        """A handle that stops this Store's running wasm from any thread (see :class:`InterruptHandle`).

        Raises ValueError for a metered Store: metered code does not check for interrupts (it is
        bounded by :attr:`gas_limit`, and pays nothing for a check it does not need).
        """
        self._require_unmetered("interrupt_handle")
        return InterruptHandle(self)

    def set_deadline(self, seconds: float | None) -> None:
        """Interrupt this Store's wasm ``seconds`` of wall-clock time from now (None cancels).

        When the deadline passes, the running call (or, if none runs, the next call) raises
        :class:`~nearvm.Interrupted`. A new deadline replaces the previous one. Unmetered Stores
        only (ValueError otherwise, see :meth:`interrupt_handle`).
        """
        self._require_unmetered("set_deadline")
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        if seconds is None:
            return
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds >= 0:
            raise ValueError(f"set_deadline: seconds must be a non-negative number or None, got {seconds!r}")
        timer = threading.Timer(float(seconds), InterruptHandle(self).interrupt)
        timer.daemon = True
        timer.start()
        self._deadline = timer

    def _require_unmetered(self, what: str) -> None:
        if self._gas_enabled:
            raise ValueError(f"{what}: this Store meters gas, and metered code is stopped by its gas limit, "
                             "not by interrupts (set Store.gas_limit)")

    # ---- references ------------------------------------------------------------------------
    def _extern_to_handle(self, obj: object) -> int:
        if obj is None:
            return 0
        h = self._extern_handles.get(id(obj))
        if h is None:
            self._externs.append(obj)
            h = len(self._externs)
            self._extern_handles[id(obj)] = h
        return h

    def _extern_from_handle(self, h: int) -> object:
        if h == 0:
            return None
        return self._externs[h - 1]

    def _func_from_ref(self, addr: int) -> Func | None:
        if addr == 0:
            return None
        f = self._funcs.get(addr)
        if f is not None:
            return f
        from .objects import Func, _HostRecord

        ptr = ffi.cast("void*", addr)
        data = lib.nvm_funcref_host_data(ptr)
        if data != ffi.NULL:  # a per-instance wrapper of an access_caller host function
            rec: _HostRecord = ffi.from_handle(data)
            if rec.func is not None:
                self._funcs[addr] = rec.func
                return rec.func
        ty = self.engine._func_type(int(lib.nvm_funcref_type_id(ptr)))
        f = Func._from_ref(self, ptr, ty)
        self._funcs[addr] = f
        return f

    # ---- calls -----------------------------------------------------------------------------
    #
    # A call claims the Store *before* it touches anything shared (a Func's argument buffer, the
    # activation chain): the claim is one non-blocking Lock acquire, atomic under any thread
    # interleaving, so a second thread is turned away with RuntimeError having written nothing.
    # Nested calls (wasm -> host -> wasm on the claiming thread) only count their depth, which is
    # bounded by MAX_NESTED_CALLS (a deterministic limit, whatever Python's recursion limit is).

    def _claim(self) -> None:
        """Claim this Store for the calling thread (nested: one level deeper), or raise."""
        tid = _get_ident()
        if self._thread == tid:  # only the claiming thread ever sees its own id here
            if self._depth >= MAX_NESTED_CALLS:
                raise StackOverflow(f"call stack exhausted: more than {MAX_NESTED_CALLS} nested wasm -> host -> "
                                    "wasm calls on one Store")
            _ensure_recursion_headroom(MAX_NESTED_CALLS - self._depth)
            self._depth += 1
            return
        if not self._claim_lock.acquire(False):
            raise RuntimeError("this Store is in use by another thread (one thread per Store at a time)")
        self._thread = tid
        self._depth = 1

    def _release(self) -> None:
        self._depth -= 1
        if not self._depth:
            self._thread = None
            self._claim_lock.release()

    # Tools that enter the runtime on a Store without a Func (the self-test).
    _enter = _claim
    _leave = _release

    def _run(self, ref: Any, buf: Any, n_slots: int) -> int:
        """Run ``ref`` with ``buf`` (uint64_t slots, params in / results out) on a claimed Store;
        returns the trap code (0: none)."""
        code = _nvm_call(self._ptr, ref, buf, n_slots)
        if code == _NEEDS_STACK:
            code = self._call_on_big_stack(ref, buf, n_slots)
        return int(code)

    def _call_on_big_stack(self, ref: Any, buf: Any, n_slots: int) -> int:
        """Run one call on a helper thread whose native stack holds the whole stack budget.

        The calling thread's stack was too small (a small ``threading.stack_size``): results must
        not depend on it, so the call moves to a thread with enough stack while this one waits. The
        Store stays single-threaded: its owner is the helper thread for the duration of the call.
        """
        outcome: list[int] = []
        failure: list[BaseException] = []
        owner = self._thread

        def run() -> None:
            self._thread = threading.get_ident()
            try:
                outcome.append(_nvm_call(self._ptr, ref, buf, n_slots))
            except BaseException as exc:  # pragma: no cover - nvm_call does not raise
                failure.append(exc)

        size = int(lib.nvm_store_native_stack_needed(self._ptr)) + (1 << 20)  # + Python host code
        with _BIG_STACK_LOCK:  # threading.stack_size is process-wide
            previous = threading.stack_size(size)
            try:
                worker = threading.Thread(target=run, name="nearvm-big-stack", daemon=True)
                worker.start()
            finally:
                threading.stack_size(previous)
        worker.join()
        self._thread = owner
        if failure:
            raise failure[0]
        return outcome[0]

    def _raise_trap(self, code: int) -> None:
        pending, self._pending = self._pending, None
        if code == lib.NVM_CALL_FAILED:
            raise RuntimeError(ffi.string(lib.nvm_store_last_error(self._ptr)).decode("utf-8", "replace"))
        if pending is not None:
            if isinstance(pending, Trap):
                # A trap of a nested call (host -> wasm) or a host charge: this activation's
                # frames are the outer part of its backtrace.
                pending.backtrace.extend(self._backtrace())
                raise pending
            if not isinstance(pending, Exception):  # KeyboardInterrupt, SystemExit: not a trap
                raise pending
            trap = Trap(TrapCode.HOST_ERROR, f"host function error: {pending!r}", self._backtrace())
            raise trap from pending
        raise Trap.from_code(code, backtrace=self._backtrace())

    def _backtrace(self) -> list[Frame]:
        """The wasm frames of the last trap of this store, innermost first."""
        out = ffi.new("nvm_frame**")
        n = int(lib.nvm_store_last_backtrace(self._ptr, out))
        frames: list[Frame] = []
        for i in range(n):
            f = out[0][i]
            index = int(f.func_index)
            offset = int(f.bytecode_offset)
            module = self._instance_modules.get(int(ffi.cast("uintptr_t", f.instance)))
            bytecode = None if offset == 0xFFFF_FFFF else offset
            if module is None:
                frames.append(Frame(index, None, None, None, bytecode))
                continue
            wasm, func = module._wasm_offset(index, bytecode)
            frames.append(Frame(index, module._func_name(index), wasm, func, bytecode))
        return frames

    def __repr__(self) -> str:
        return f"<nearvm.Store gas_used={self.gas_used} gas_limit={self.gas_limit}>"


class InterruptHandle:
    """Stops a Store's unmetered wasm from another thread: ``store.interrupt_handle().interrupt()``.

    The running wasm traps with :class:`~nearvm.Interrupted` (``TrapCode.INTERRUPTED``) at its next
    loop header or entry of a function that calls others; host code is not interrupted (the trap
    happens once it returns to wasm). A request made while no wasm runs (or after the running
    call's last check) is taken by the next call into the Store, before any wasm runs. The
    request is consumed by the trap it causes; :meth:`cancel` withdraws one that was not taken.
    Without a request, execution is unaffected and deterministic.

    The handle keeps its Store alive; it may be used from any thread, including a signal handler's.
    """

    __slots__ = ("_ptr", "_store")

    def __init__(self, store: Store) -> None:
        if not isinstance(store, Store):
            raise TypeError("InterruptHandle(store): store must be a nearvm.Store")
        self._store = store
        self._ptr = store._ptr

    def interrupt(self) -> None:
        """Ask the Store's wasm to trap with ``TrapCode.INTERRUPTED`` as soon as it can."""
        lib.nvm_store_interrupt(self._ptr)

    def cancel(self) -> None:
        """Withdraw a request that no wasm has taken yet."""
        lib.nvm_store_clear_interrupt(self._ptr)
