"""Every failure is a typed error at the call that caused it: NearVMError subclasses for bad
modules and artifacts, TypeError for wrong API argument types."""

from __future__ import annotations

import struct

import pytest
from artifact_sec import KEY

from nearvm import (
    Config,
    Engine,
    Func,
    FuncType,
    Instance,
    InstantiationError,
    Memory,
    MemoryType,
    Module,
    Store,
    Table,
    TableType,
    ValType,
)
from nearvm import artifact as A
from nearvm.errors import ArtifactError
from nearvm.runtime import set_memory_pool_limit
from wasm_text import wat2wasm


def test_instantiation_limit_is_an_instantiation_error() -> None:
    engine = Engine(Config())
    module = Module(engine, wat2wasm("(module (table 10000001 funcref))"))  # valid wasm
    with pytest.raises(InstantiationError, match="table"):
        Instance(Store(engine), module)


def _resealed_module_section(blob: bytes, edit: object) -> bytes:
    secs = A.sections_of(blob)
    secs[A.SEC_MODULE] = edit(secs[A.SEC_MODULE])  # type: ignore[operator]
    h = A.read_header(blob)
    return A._assemble(secs, target=h.target, config_hash=h.config_hash, code_hash=h.code_hash, key=KEY)


_I32_CONST_8 = struct.pack("<BQ", 0, 8)  # the artifact's encoding of (i32.const 8)


@pytest.mark.parametrize("op", [1, 2, 3])  # i64.const, f32.const, f64.const
def test_artifact_data_offset_of_wrong_type_is_an_artifact_error(op: int) -> None:
    engine = Engine(Config(), artifact_key=KEY)
    blob = Module(engine, wat2wasm('(module (memory 1) (data (i32.const 8) "hi"))')).serialize()
    section = A.sections_of(blob)[A.SEC_MODULE]
    assert section.count(_I32_CONST_8) == 1
    evil = _resealed_module_section(blob, lambda s: s.replace(_I32_CONST_8, struct.pack("<BQ", op, 8)))
    with pytest.raises(ArtifactError, match="type"):  # was: accepted, then ValueError in Instance()
        Module.deserialize(engine, evil)
    with pytest.raises(ArtifactError, match="type"):
        A.load_artifact(evil, config_hash=None, key=KEY)


def test_artifact_global_init_of_wrong_type_is_an_artifact_error() -> None:
    engine = Engine(Config(), artifact_key=KEY)
    blob = Module(engine, wat2wasm("(module (global i64 (i64.const 8)))")).serialize()
    i64_8 = struct.pack("<BQ", 1, 8)
    assert A.sections_of(blob)[A.SEC_MODULE].count(i64_8) == 1
    evil = _resealed_module_section(blob, lambda s: s.replace(i64_8, _I32_CONST_8))
    with pytest.raises(ArtifactError, match="type"):
        Module.deserialize(engine, evil)


def test_artifact_elem_item_of_wrong_type_is_an_artifact_error() -> None:
    engine = Engine(Config(), artifact_key=KEY)
    blob = Module(engine, wat2wasm("(module (table 1 externref) (elem (i32.const 0) externref (ref.null extern)))"
                                   )).serialize()
    null_extern = struct.pack("<BQ", 4, int(ValType.EXTERNREF))
    assert A.sections_of(blob)[A.SEC_MODULE].count(null_extern) == 1
    evil = _resealed_module_section(blob, lambda s: s.replace(null_extern, struct.pack("<BQ", 4, int(ValType.FUNCREF))))
    with pytest.raises(ArtifactError, match="type"):
        Module.deserialize(engine, evil)


def test_wrong_api_argument_types_are_type_errors() -> None:
    engine = Engine(Config())
    store = Store(engine)
    module = Module(engine, wat2wasm('(module (import "m" "f" (func)))'))
    with pytest.raises(TypeError, match="mapping"):
        Instance(store, module, imports=[("m", "f")])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="mapping"):
        Instance(store, module, imports={"m": [1]})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="Config"):
        Engine(config={"gas": None})
    with pytest.raises(TypeError):
        Engine(config=object())
    memory = Memory(store, MemoryType(1, 2))
    table = Table(store, TableType(ValType.FUNCREF, 1, 4))
    for call in (lambda: memory.grow("1"), lambda: memory.grow(1.0), lambda: table.grow("1"),
                 lambda: memory.read("0", 1), lambda: memory.write(0, "text"), lambda: set_memory_pool_limit("4"),
                 lambda: Store(engine, gas_limit="5"), lambda: Func(store, FuncType([], []), 5)):
        with pytest.raises(TypeError):
            call()
    with pytest.raises(ValueError):
        memory.grow(-1)
