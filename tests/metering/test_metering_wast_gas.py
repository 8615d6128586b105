"""The spec runner's ``--gas C`` option (nearvm.wast): metered compilation, unlimited budget."""

from __future__ import annotations

import pytest

from nearvm import wast
from nearvm.config import Config, GasSchedule


def test_validate_mode_uses_uniform_schedule() -> None:
    runner = wast.WastRunner("validate", gas=3)
    assert runner._config == Config(gas=GasSchedule.uniform(3))
    assert wast.WastRunner("validate")._config == Config()


@pytest.mark.parametrize("bad", [-1, 1.5, True, "1"])
def test_rejects_bad_gas(bad: object) -> None:
    with pytest.raises(ValueError):
        wast.WastRunner("validate", gas=bad)  # type: ignore[arg-type]


def test_cli_option() -> None:
    args = wast.build_parser().parse_args(["--gas", "1", "core/i32.wast"])
    assert args.gas == 1
    assert wast.build_parser().parse_args(["core/i32.wast"]).gas is None


def test_exec_mode_meters_and_reports_gas_used() -> None:
    from metering_helpers import require_execution

    require_execution()

    root = wast.spec_dir()
    res = wast.WastRunner("exec", gas=1).run_file(root / "core" / "fac.wast", manifest=wast.load_manifest(root))
    assert res.ok, [r.reason for r in res.failures]
    assert res.gas_used is not None and res.gas_used > 0
    plain = wast.WastRunner("exec").run_file(root / "core" / "fac.wast", manifest=wast.load_manifest(root))
    assert plain.ok and plain.gas_used is None
