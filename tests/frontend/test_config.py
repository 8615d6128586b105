"""Config, GasSchedule and the NEAR profile (docs/design.md "NEAR profile")."""

from __future__ import annotations

import pytest
from frontend_helpers import wat

from nearvm.config import NEAR_BULK_BASE, NEAR_BULK_PER_UNIT, NEAR_OP_COST, Config, GasSchedule
from nearvm.errors import LimitError, ValidationError
from nearvm.wasm import translate
from nearvm.wasm.types import MemoryType


def test_defaults_are_wasm2_without_simd() -> None:
    c = Config()
    assert (c.mutable_globals, c.sign_extension, c.saturating_float_to_int, c.multi_value, c.bulk_memory,
            c.reference_types, c.simd, c.gas, c.stack_budget) == (True,) * 6 + (False, None, 262_144)


def test_near_profile() -> None:
    c = Config.near()
    assert not c.multi_value and c.bulk_memory and c.reference_types
    assert c.gas == GasSchedule.near()
    assert c.gas.weight("i32.add") == NEAR_OP_COST and c.gas.weight("loop") == NEAR_OP_COST
    assert c.gas.weight("block") == c.gas.weight("end") == c.gas.weight("else") == 0
    assert (c.gas.bulk_base, c.gas.bulk_per_unit, c.gas.frame_init_per_word) == (
        NEAR_BULK_BASE, NEAR_BULK_PER_UNIT, NEAR_OP_COST)
    assert c.max_functions == 10_000 and c.max_memory_pages == 2048 and c.max_tables == 1


def test_uniform_schedule() -> None:
    g = GasSchedule.uniform(3)
    assert g.weight("if") == 3 and g.weight("memory.copy") == 3 and g.weight("end") == 0
    assert (g.bulk_base, g.bulk_per_unit, g.frame_init_per_word) == (0, 0, 0)
    with pytest.raises(ValueError):
        g.with_weights({"no.such": 1})


def test_codegen_key_stable() -> None:
    assert Config().codegen_key() == Config().codegen_key()
    assert Config().codegen_key() != Config.near().codegen_key()
    assert Config(gas=GasSchedule.uniform(1)).config_hash() != Config(gas=GasSchedule.uniform(2)).config_hash()
    assert hash(Config.near()) == hash(Config.near())


def test_near_memory_becomes_import() -> None:
    m = translate(wat("(memory 3) (export \"memory\" (memory 0)) (func (export \"main\"))"), Config.near())
    assert m.memories == [MemoryType(1024, 2048)]
    assert (m.imports[-1].module, m.imports[-1].name, m.imports[-1].kind) == ("env", "memory", "memory")


@pytest.mark.parametrize(
    ("text", "limit"),
    [
        ("(import \"other\" \"f\" (func))", "near_prepare"),
        ("(import \"env\" \"g\" (global i32))", "near_prepare"),
        ("(table 10001 funcref)", "max_table_elements"),
        ("(table 1 funcref) (table 1 funcref)", "max_tables"),
        ("(type (func (param " + "i32 " * 65 + ")))", "max_params_per_function"),
        ("(func " + "(block " * 5001 + ")" * 5001 + ")", "max_blocks_per_function"),
    ],
)
def test_near_limits(text: str, limit: str) -> None:
    with pytest.raises(LimitError) as ei:
        translate(wat(text), Config.near())
    assert ei.value.limit == limit
    assert isinstance(ei.value, ValidationError)


def test_function_count_limit() -> None:
    with pytest.raises(LimitError) as ei:
        translate(wat("(func)" * 11), Config(max_functions=10))
    assert ei.value.limit == "max_functions"
    translate(wat("(func)" * 10), Config(max_functions=10))


def test_config_validation() -> None:
    with pytest.raises(ValueError):
        Config(stack_budget=0)
    with pytest.raises(ValueError):
        Config(max_types=-1)
