"""Engine configuration: accepted Wasm features, limits, gas schedule, stack budget.

``Config()`` is Wasm 2.0 without SIMD and without metering. ``Config.near()`` is NEAR's contract
runtime (docs/design.md "NEAR profile"): MVP + mutable globals + sign-extension + saturating float-to-int +
bulk memory + reference types, no multi-value, NEAR's limits and gas schedule.

Both classes are frozen and hashable; ``Config.codegen_key()`` is a stable byte string that
identifies everything that influences the lowered program and the machine code, for artifacts.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from .bytecode import spec as _spec

__all__ = ["NEAR_OP_COST", "Config", "GasSchedule"]

#: NEAR's ``wasm_regular_op_cost`` since protocol version 49 (docs/design.md "NEAR profile").
NEAR_OP_COST = 822_756
#: NEAR's ``wasm_linear_op_base_cost`` / ``wasm_linear_op_unit_cost`` (Wasmtime era, docs/design.md "NEAR profile").
NEAR_BULK_BASE = 26_328_192
NEAR_BULK_PER_UNIT = 822_756

#: Ops that are free under a uniform schedule (NEAR's rule, docs/design.md "Gas and stack semantics").
_FREE_OPS = frozenset({0x02, 0x0B, 0x05})  # block, end, else


@dataclass(frozen=True)
class GasSchedule:
    """Per-instruction gas weights, summed per metered block and charged before the block runs.

    ``weights[b]`` is the weight of the single-byte op ``b``; ``fc_weights[s]`` that of 0xFC
    sub-op ``s``. Bulk operations (memory.copy/fill/init, table.copy/fill/init) additionally cost
    ``bulk_base + bulk_per_unit * n`` at run time. The entry block of every function is also
    charged ``frame_init_per_word * ceil((64 + params and locals bytes) / 8)``.
    """

    weights: tuple[int, ...]
    fc_weights: tuple[int, ...]
    bulk_base: int = 0
    bulk_per_unit: int = 0
    frame_init_per_word: int = 0

    def __post_init__(self) -> None:
        w = tuple(int(x) for x in self.weights)
        fw = tuple(int(x) for x in self.fc_weights)
        if len(w) != 256 or len(fw) != len(_spec.BY_FC):
            raise ValueError(f"GasSchedule needs 256 weights and {len(_spec.BY_FC)} fc_weights")
        for name in ("bulk_base", "bulk_per_unit", "frame_init_per_word"):
            v = getattr(self, name)
            if not isinstance(v, int) or not 0 <= v < 2**63:
                raise ValueError(f"GasSchedule.{name} must be an int in [0, 2**63), got {v!r}")
        if any(not 0 <= x < 2**32 for x in w + fw):
            raise ValueError("gas weights must be in [0, 2**32)")
        object.__setattr__(self, "weights", w)
        object.__setattr__(self, "fc_weights", fw)

    @classmethod
    def uniform(cls, cost: int, *, bulk_base: int = 0, bulk_per_unit: int = 0,
                frame_init_per_word: int = 0) -> GasSchedule:
        """Every instruction costs ``cost`` except ``block``, ``end`` and ``else`` (free)."""
        w = [0 if b in _FREE_OPS else cost for b in range(256)]
        return cls(tuple(w), (cost,) * len(_spec.BY_FC), bulk_base, bulk_per_unit, frame_init_per_word)

    @classmethod
    def near(cls) -> GasSchedule:
        """NEAR's schedule (docs/design.md "NEAR profile"; docs/design.md worked example)."""
        return cls.uniform(NEAR_OP_COST, bulk_base=NEAR_BULK_BASE, bulk_per_unit=NEAR_BULK_PER_UNIT,
                           frame_init_per_word=NEAR_OP_COST)

    def with_weights(self, overrides: dict[str, int]) -> GasSchedule:
        """A copy with some instructions (by text-format name, e.g. ``"i32.div_s"``) re-weighted."""
        w = list(self.weights)
        fw = list(self.fc_weights)
        for name, cost in overrides.items():
            op = _spec.BY_NAME.get(name)
            if op is None or op.nearvm:
                raise ValueError(f"unknown instruction {name!r}")
            if op.subop is None:
                w[op.code] = cost
            else:
                fw[op.subop] = cost
        return dataclasses.replace(self, weights=tuple(w), fc_weights=tuple(fw))

    def weight(self, name: str) -> int:
        """The gas weight of the instruction ``name`` (its text-format name, e.g. ``"i32.add"``)."""
        op = _spec.BY_NAME[name]
        return self.weights[op.code] if op.subop is None else self.fc_weights[op.subop]


@dataclass(frozen=True)
class Config:
    """What the engine accepts and how it meters. Limits of ``None`` mean the spec's maximum."""

    # Features (spec 2.0 proposals merged into the core; all on = Wasm 2.0 without SIMD).
    mutable_globals: bool = True
    sign_extension: bool = True
    saturating_float_to_int: bool = True
    multi_value: bool = True
    bulk_memory: bool = True
    reference_types: bool = True
    simd: bool = False
    #: Gas metering; None = no GAS ops at all (docs/design.md "Public Python API").
    gas: GasSchedule | None = None
    #: Deterministic stack budget in bytes per Store (docs/design.md "Gas and stack semantics").
    stack_budget: int = 262_144
    # Limits: a violation is a LimitError naming the field.
    max_module_size: int | None = None
    max_memory_pages: int | None = None
    max_types: int | None = None
    #: Functions including imported ones (NEAR counts imports, docs/design.md "NEAR profile").
    max_functions: int | None = None
    max_imports: int | None = None
    max_exports: int | None = None
    max_tables: int | None = None
    max_table_elements: int | None = None
    max_globals: int | None = None
    max_elem_segments: int | None = None
    max_data_segments: int | None = None
    max_params_per_function: int | None = None
    max_params_per_module: int | None = None
    max_results_per_function: int | None = None
    #: Declared locals (params excluded) per function; the decoder caps it at 50,000 regardless.
    max_locals_per_function: int | None = None
    max_locals_per_module: int | None = None
    max_function_body_size: int | None = None
    #: block/loop/if per function / module.
    max_blocks_per_function: int | None = None
    max_blocks_per_module: int | None = None
    #: NEAR preparation: only "env" imports of functions, and the module's memory is replaced by
    #: the import ("env", "memory", MemoryType(near_memory_min, near_memory_max)).
    near_prepare: bool = False
    near_memory_min: int = 1024
    near_memory_max: int = 2048

    def __post_init__(self) -> None:
        if self.simd:
            raise NotImplementedError("nearvm: SIMD is not supported yet (Config(simd=True))")
        if not isinstance(self.stack_budget, int) or self.stack_budget <= 0:
            raise ValueError(f"stack_budget must be a positive int, got {self.stack_budget!r}")
        if self.gas is not None and not isinstance(self.gas, GasSchedule):
            raise TypeError("Config.gas must be a GasSchedule or None")
        for f in dataclasses.fields(self):
            if f.name.startswith("max_"):
                v = getattr(self, f.name)
                if v is not None and (not isinstance(v, int) or v < 0):
                    raise ValueError(f"Config.{f.name} must be a non-negative int or None, got {v!r}")

    @classmethod
    def near(cls, **overrides: Any) -> Config:
        """NEAR's contract runtime: features, limits (docs/design.md "NEAR profile") and gas schedule."""
        kw: dict[str, Any] = dict(
            mutable_globals=True, sign_extension=True, saturating_float_to_int=True, multi_value=False,
            bulk_memory=True, reference_types=True, simd=False,
            gas=GasSchedule.near(), stack_budget=262_144,
            max_module_size=4_194_304, max_memory_pages=2048, max_types=1_024, max_functions=10_000,
            max_tables=1, max_table_elements=10_000, max_globals=65_536,
            max_params_per_function=64, max_params_per_module=50_000,
            max_locals_per_module=1_000_000, max_function_body_size=196_608,
            max_blocks_per_function=5_000, max_blocks_per_module=50_000,
            near_prepare=True,
        )
        kw.update(overrides)
        return cls(**kw)

    def _key_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            d[f.name] = dataclasses.asdict(v) if isinstance(v, GasSchedule) else v
        return d

    def codegen_key(self) -> bytes:
        """Stable bytes identifying this Config for artifacts (same Config -> same bytes, any process)."""
        payload = {"format_version": _spec.FORMAT_VERSION, "config": self._key_dict()}
        return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()

    def config_hash(self) -> str:
        """SHA-256 hex of :meth:`codegen_key`."""
        return hashlib.sha256(self.codegen_key()).hexdigest()
