"""NEAR's fee schedule and limits, loaded from ``params.json`` (one data file, with its provenance).

The figures are nearcore's runtime configuration for the protocol version named in the file's
``provenance`` block; :class:`NearParams` gives typed access and lets tests or users override a
value (``NearParams.load().replace_limits(max_number_logs=3)``).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

__all__ = ["ActionFee", "NearParams"]


@dataclass(frozen=True)
class ActionFee:
    """One action fee: the part burnt when the receipt is sent (to the sender itself or not) and
    the part prepaid for its execution on the receiver."""

    send_sir: int
    send_not_sir: int
    execution: int

    def send(self, sir: bool) -> int:
        return self.send_sir if sir else self.send_not_sir


@dataclass(frozen=True)
class NearParams:
    provenance: dict[str, Any]
    ext_costs: dict[str, int]
    action_fees: dict[str, ActionFee]
    limits: dict[str, int]
    wasm: dict[str, int]
    storage: dict[str, int]
    flags: dict[str, bool]
    model: dict[str, int] = field(default_factory=dict)

    @classmethod
    def load(cls) -> NearParams:
        raw = json.loads(resources.files("nearvm.near").joinpath("params.json").read_text())
        return cls.from_dict(raw)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> NearParams:
        fees = {k: ActionFee(*v) for k, v in raw["action_fees"].items() if not k.startswith("_")}
        storage = {k: int(v) for k, v in raw["storage"].items()}
        model = {k: int(v) for k, v in raw.get("model", {}).items() if not k.startswith("_")}
        return cls(dict(raw["provenance"]), {k: int(v) for k, v in raw["ext_costs"].items()}, fees,
                   {k: int(v) for k, v in raw["limits"].items()}, {k: int(v) for k, v in raw["wasm"].items()},
                   storage, {k: bool(v) for k, v in raw["flags"].items()}, model)

    def replace_limits(self, **limits: int) -> NearParams:
        for k in limits:
            if k not in self.limits:
                raise ValueError(f"unknown NEAR limit {k!r}")
        return dataclasses.replace(self, limits={**self.limits, **limits})

    def replace_model(self, **model: int) -> NearParams:
        for k in model:
            if k not in self.model:
                raise ValueError(f"unknown model parameter {k!r}")
        return dataclasses.replace(self, model={**self.model, **model})

    @property
    def protocol_version(self) -> int:
        return int(self.provenance["protocol_version"])
