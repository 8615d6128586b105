"""Trap handling (issue 2's vertical slice): guard-page faults in JIT code become nearvm.Trap.

The selftest tests drive hand-assembled code (nvm_selftest_*: entry trampoline + a load from
linear memory) through the real invoke path, code registry and signal handler, so they pin the
trap machinery independently of the JIT; the wasm tests do the same with real modules.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from nearvm.errors import Trap, TrapCode
from nearvm.runtime import Engine, Memory, Store, _selftest
from nearvm.wasm.types import MemoryType

selftest = pytest.mark.skipif(not _selftest.available(),
                              reason="platform: the selftest code exists for x86_64 SysV only")


@pytest.fixture
def setup():
    store = Store(Engine())
    mem = Memory(store, MemoryType(1, 3))
    return _selftest.GuardLoad(), store, mem


@selftest
def test_in_bounds_load(setup) -> None:
    gl, store, mem = setup
    mem.data[65532:65536] = bytes([1, 2, 3, 4])
    assert gl.load(store, mem, 65532) == 0x04030201
    assert gl.load(store, mem, 0) == 0


@selftest
def test_guard_page_fault_is_trap_repeatedly(setup) -> None:
    gl, store, mem = setup
    budget = store.stack_remaining
    for _ in range(1000):
        with pytest.raises(Trap) as info:
            gl.load(store, mem, 65536)
        assert info.value.code is TrapCode.MEMORY_OUT_OF_BOUNDS
    assert store.stack_remaining == budget
    assert gl.load(store, mem, 8) == 0  # still usable afterwards


@selftest
def test_boundary_exactly(setup) -> None:
    gl, store, mem = setup
    gl.load(store, mem, 65532)  # last 4 bytes: fine
    for off in (65533, 65534, 65535, 65536, 0xFFFF_FFFF):
        with pytest.raises(Trap):
            gl.load(store, mem, off)


@selftest
def test_growth_commits_pages(setup) -> None:
    gl, store, mem = setup
    with pytest.raises(Trap):
        gl.load(store, mem, 65536)
    assert mem.grow(1) == 1
    assert gl.load(store, mem, 65536) == 0
    assert gl.load(store, mem, 2 * 65536 - 4) == 0
    with pytest.raises(Trap):
        gl.load(store, mem, 2 * 65536)


@selftest
def test_survives_faulthandler_enable_after_import(setup) -> None:
    import faulthandler

    gl, store, mem = setup
    was = faulthandler.is_enabled()
    try:
        for _ in range(3):
            faulthandler.enable()  # replaces our SIGSEGV handler; the next entry re-installs ours
            with pytest.raises(Trap) as info:
                gl.load(store, mem, 1 << 20)
            assert info.value.code is TrapCode.MEMORY_OUT_OF_BOUNDS
    finally:
        if not was:
            faulthandler.disable()


_CHILD = textwrap.dedent("""
    import ctypes, faulthandler, sys
    from nearvm.errors import Trap
    from nearvm.runtime import Engine, Memory, Store, _selftest
    from nearvm.wasm.types import MemoryType
    store = Store(Engine()); mem = Memory(store, MemoryType(1, 1)); gl = _selftest.GuardLoad()
    mode = sys.argv[1]
    if mode == "after":
        try: gl.load(store, mem, 70000)
        except Trap: print("trap-ok", flush=True)
        faulthandler.enable()
        try: gl.load(store, mem, 70000)
        except Trap: print("trap-ok", flush=True)
    elif mode == "before":
        faulthandler.enable()
        try: gl.load(store, mem, 70000)
        except Trap: print("trap-ok", flush=True)
    elif mode == "nofh":
        try: gl.load(store, mem, 70000)
        except Trap: print("trap-ok", flush=True)
    ctypes.string_at(0)  # a segfault outside JIT code
    print("not reached")
""")


@selftest
@pytest.mark.parametrize("mode", ["after", "before", "nofh"])
def test_non_jit_segfault_still_crashes(mode: str) -> None:
    import os

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(sys.path)
    env.pop("PYTHONFAULTHANDLER", None)
    proc = subprocess.run([sys.executable, "-c", _CHILD, mode], capture_output=True, text=True, timeout=60, env=env)
    assert "trap-ok" in proc.stdout
    assert "not reached" not in proc.stdout
    assert proc.returncode == -11, (proc.returncode, proc.stderr[-2000:])
    if mode != "nofh":
        assert "Fatal Python error: Segmentation fault" in proc.stderr


def test_wasm_out_of_bounds_load_is_trap(needs_jit, wat2wasm) -> None:
    from nearvm.runtime import Instance, Module

    engine = Engine()
    module = Module(engine, wat2wasm("""
        (module (memory (export "mem") 1 2)
          (func (export "load") (param i32) (result i32) (i32.load (local.get 0))))"""))
    store = Store(engine)
    inst = Instance(store, module, {})
    load = inst.exports["load"]
    assert load(65532) == 0
    for _ in range(1000):
        with pytest.raises(Trap) as info:
            load(65533)
        assert info.value.code is TrapCode.MEMORY_OUT_OF_BOUNDS
    assert load(0) == 0


_NESTED_CHILD = textwrap.dedent('''
    import faulthandler, subprocess
    from nearvm.errors import Trap
    from nearvm.runtime import Engine, Func, Instance, Module, Store
    from nearvm.wasm.types import FuncType, ValType
    from wasm_text import wat2wasm
    wat = """
        (module (import "env" "h" (func $h (param i32) (result i32))) (memory 1 1)
          (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
          (func (export "via_host") (param i32) (result i32) (call $h (local.get 0))))"""
    wasm = wat2wasm(wat)
    engine = Engine(); store = Store(engine); module = Module(engine, wasm)
    seen = []
    def h(addr):
        faulthandler.enable()  # replaces our SIGSEGV handler while wasm is on the stack
        try:
            inst.exports["load"](addr)
        except Trap as e:
            seen.append(e.code.name)
        return 7
    inst = Instance(store, module, {"env": {"h": Func(store, FuncType([ValType.I32], [ValType.I32]), h)}})
    faulthandler.disable()
    inst.exports["load"](0)  # our handler installed
    assert inst.exports["via_host"](1 << 20) == 7
    print("seen", seen, flush=True)
''')


def test_faulthandler_enabled_inside_host_function_then_nested_trap(needs_jit) -> None:
    """The handler check runs on nested entries too: a host function that enables faulthandler
    and then calls back into wasm must still get a Trap for a guard-page fault, not a crash.

    Runs in a child process: toggling faulthandler in the test process also removed every signal
    handler installed after pytest's own (wasmtime's, used by the differential tests), and the next
    wasmtime trap then killed the whole suite with SIGILL.
    """
    import os

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(sys.path)
    env.pop("PYTHONFAULTHANDLER", None)
    proc = subprocess.run([sys.executable, "-c", _NESTED_CHILD], capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "seen ['MEMORY_OUT_OF_BOUNDS']" in proc.stdout
