"""Decode and validation errors: kind, spec wording and byte offset."""

from __future__ import annotations

import pytest
from frontend_helpers import header, section, uleb, wat

from nearvm.config import Config
from nearvm.errors import CompileError, DecodeError, ValidationError
from nearvm.wasm import decode_module, translate

EMPTY_FUNC = section(1, b"\x01\x60\x00\x00") + section(3, b"\x01\x00")


def code_section(*bodies: bytes) -> bytes:
    return section(10, uleb(len(bodies)) + b"".join(uleb(len(b)) + b for b in bodies))


def err(data: bytes, config: Config | None = None) -> CompileError:
    with pytest.raises(CompileError) as ei:
        translate(data, config or Config())
    return ei.value


@pytest.mark.parametrize(
    ("data", "msg", "offset"),
    [
        (b"", "unexpected end", 0),
        (b"\x00asn\x01\x00\x00\x00", "magic header not detected", 0),
        (b"\x00asm\x02\x00\x00\x00", "unknown binary version", 4),
        (header() + b"\x0d\x00", "malformed section id", 8),
        (header() + section(3, b"\x00") + section(1, b"\x00"), "unexpected content after last section", 11),
        (header() + b"\x01\x05\x00", "length out of bounds", 9),
        (header() + section(1, b"\x00\x00"), "section size mismatch", 11),
        (header() + section(0, b"\x02\xff\xfe"), "malformed UTF-8 encoding", 11),
        (header() + section(3, b"\x01\x00"), "function and code section have inconsistent lengths", 12),
        (header() + section(5, b"\x01\x02\x00"), "integer too large", 11),
        (header() + section(2, b"\x01\x00\x00\x05"), "malformed import kind", 13),
        (header() + section(6, b"\x01\x7f\x02\x41\x00\x0b"), "malformed mutability", 12),
        (header() + section(12, b"\x01") + section(11, b"\x00"), "data count and data section have inconsistent"
                                                                  " lengths", 13),
    ],
)
def test_decode_errors(data: bytes, msg: str, offset: int) -> None:
    e = err(data)
    assert isinstance(e, DecodeError)
    assert e.message.startswith(msg), e.message
    assert e.offset == offset


def test_body_errors_have_offsets() -> None:
    # illegal opcode 0xFF in the body at absolute offset: header 8 + type 6 + func 4 + code hdr 3 + size 1 + locals 1.
    data = header() + EMPTY_FUNC + code_section(b"\x00\xff\x0b")
    e = err(data)
    assert isinstance(e, DecodeError) and e.message == "illegal opcode" and e.offset == 23 and e.func_index == 0
    e = err(header() + EMPTY_FUNC + code_section(b"\x00\x01"))
    assert e.message == "unexpected end of section or function"
    e = err(header() + EMPTY_FUNC + code_section(b"\x00\x0b\x0b"))
    assert e.message == "section size mismatch"


def test_too_many_locals() -> None:
    e = err(header() + EMPTY_FUNC + code_section(b"\x01\xff\xff\xff\xff\x0f\x7f\x0b"))
    assert isinstance(e, DecodeError) and e.message == "too many locals"
    translate(header() + EMPTY_FUNC + code_section(b"\x01" + uleb(50_000) + b"\x7f\x0b"), Config())
    e = err(header() + EMPTY_FUNC + code_section(b"\x01" + uleb(50_001) + b"\x7f\x0b"))
    assert e.message == "too many locals"


def test_simd_rejected_clearly() -> None:
    e = err(header() + EMPTY_FUNC + code_section(b"\x00\xfd\x0c" + b"\x00" * 16 + b"\x1a\x0b"))
    assert "SIMD" in e.message
    with pytest.raises(NotImplementedError, match="SIMD"):
        Config(simd=True)


def test_data_count_required() -> None:
    data = wat("(memory 1) (data $d \"x\") (func (data.drop $d))")
    translate(data, Config())
    # Strip the data count section (id 12) to get the malformed variant.
    i = data.index(b"\x0c\x01\x01")
    e = err(data[:i] + data[i + 3:])
    assert isinstance(e, DecodeError) and e.message == "data count section required"


@pytest.mark.parametrize(
    ("text", "msg"),
    [
        ("(func (result i32) (i64.const 1))", "type mismatch"),
        ("(func (local.get 3) drop)", "unknown local 3"),
        ("(func (br 1))", "unknown label 1"),
        ("(func (call 5))", "unknown function 5"),
        ("(func (drop (i32.load align=8 (i32.const 0)))) (memory 1)", "alignment must not be larger than natural"),
        ("(func (drop (i32.load (i32.const 0))))", "unknown memory 0"),
        ("(global i32 (i32.const 0)) (func (global.set 0 (i32.const 1)))", "global is immutable"),
        ("(func (export \"a\")) (export \"a\" (func 0))", "duplicate export name"),
        ("(memory 2 1)", "size minimum must not be greater than maximum"),
        ("(memory 65537)", "memory size must be at most 65536 pages (4GiB)"),
        ("(memory 1) (memory 1)", "multiple memories"),
        ("(func (drop (ref.func 0)))", "undeclared function reference"),
        ("(global i32 (global.get 0))", "unknown global 0"),
        ("(global (import \"a\" \"b\") (mut i32)) (global i32 (global.get 0))", "constant expression required"),
        ("(func $s (param i32)) (start $s)", "start function"),
        ("(func (select (ref.null func) (ref.null func) (i32.const 1)) drop)", "type mismatch"),
        ("(table 1 externref) (func (call_indirect (i32.const 0)))", "type mismatch"),
        ("(func (memory.init 0 (i32.const 0) (i32.const 0) (i32.const 0))) (memory 1) (data \"\")", None),
    ],
)
def test_validation_errors(text: str, msg: str | None) -> None:
    data = wat(text)
    if msg is None:
        translate(data, Config())
        return
    e = err(data)
    assert isinstance(e, ValidationError), e
    assert e.message.startswith(msg), e.message
    assert e.offset is not None


def test_feature_flags() -> None:
    sext = wat("(func (param i32) (result i32) (i32.extend8_s (local.get 0)))")
    translate(sext, Config())
    assert isinstance(err(sext, Config(sign_extension=False)), DecodeError)
    mv = wat("(func (result i32 i32) (i32.const 1) (i32.const 2))")
    translate(mv, Config())
    assert err(mv, Config(multi_value=False)).message == "invalid result arity"
    bulk = wat("(memory 1) (func (memory.fill (i32.const 0) (i32.const 0) (i32.const 0)))")
    assert isinstance(err(bulk, Config(bulk_memory=False)), DecodeError)
    sat = wat("(func (param f32) (result i32) (i32.trunc_sat_f32_s (local.get 0)))")
    assert isinstance(err(sat, Config(saturating_float_to_int=False)), DecodeError)


def test_names_and_customs() -> None:
    data = wat("(module $m (func $alpha) (func $beta) (@custom \"hello\" \"payload\"))")
    m = translate(data, Config())
    assert m.func_names == {0: "alpha", 1: "beta"}
    assert [c.name for c in m.customs] == ["hello", "name"] or "hello" in [c.name for c in m.customs]
    # A malformed name section is tolerated (names dropped, module still valid).
    bad = header() + EMPTY_FUNC + code_section(b"\x00\x0b") + section(0, b"\x04name\x01\x05\x01\x00\x09ab")
    assert translate(bad, Config()).func_names == {}


def test_decode_module_stage() -> None:
    raw = decode_module(wat("(func) (func)"), Config())
    assert len(raw.bodies) == 2
