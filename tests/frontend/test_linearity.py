"""Linear work on adversarial shapes, measured by counting work (calls and bytes), never by time."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable

import pytest
from frontend_helpers import header, section, uleb

from nearvm.config import Config, GasSchedule
from nearvm.errors import CompileError
from nearvm.wasm import translate

VOID = b"\x60\x00\x00"


def module(bodies: list[bytes], types: bytes = b"\x01" + VOID) -> bytes:
    return (header() + section(1, types) + section(3, uleb(len(bodies)) + b"\x00" * len(bodies))
            + section(10, uleb(len(bodies)) + b"".join(uleb(len(b)) + b for b in bodies)))


def deep(n: int) -> bytes:
    return module([b"\x00" + b"\x02\x40" * n + b"\x0b" * n + b"\x0b"])


def deep_br(n: int) -> bytes:
    # Nested blocks each with a br_if to the outermost label, and dead code after br.
    body = b"\x00" + b"\x02\x40\x41\x01\x0d\x00" * n + b"\x0c\x00\x41\x00\x1a" + b"\x0b" * n + b"\x0b"
    return module([body])


def br_table(n: int) -> bytes:
    body = b"\x00\x02\x40\x41\x00\x0e" + uleb(n) + b"\x00" * n + b"\x00\x0b\x0b"
    return module([body])


def many_locals(n: int) -> bytes:
    unit = b"\x01" + uleb(50_000) + b"\x7e\x20" + uleb(49_999) + b"\x1a\x0b"
    return module([unit] * n)


def many_results(n: int) -> bytes:
    # Blocks of a type with 200 results, each ending in unreachable code: the operand stack grows
    # by 200 values per 4 input bytes (the module is invalid at its very end, after all the work).
    types = b"\x02" + VOID + b"\x60\x00" + uleb(200) + b"\x7f" * 200
    body = b"\x00\x00" + b"\x02\x01\x00\x0b" * n + b"\x0b"
    return module([body], types)


class _Work:
    """Counts Python-level calls made while translating: a proxy for the amount of work."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def __call__(self, frame: object, event: str, arg: object) -> None:
        if event == "call":
            self.calls[frame.f_code.co_name] += 1  # type: ignore[attr-defined]


def work(data: bytes, config: Config) -> tuple[int, int]:
    w = _Work()
    sys.setprofile(w)
    try:
        out = len(translate(data, config).program)
    except CompileError:
        out = 0
    finally:
        sys.setprofile(None)
    return sum(w.calls.values()), out


@pytest.mark.parametrize("gen", [deep, deep_br, br_table, many_locals, many_results])
@pytest.mark.parametrize("config", [Config(), Config(gas=GasSchedule.uniform(1))])
def test_work_is_linear(gen: Callable[[int], bytes], config: Config) -> None:
    small, big = gen(2_000), gen(20_000)
    calls_s, out_s = work(small, config)
    calls_b, out_b = work(big, config)
    ratio_in = len(big) / len(small)
    # Output and call counts grow at most linearly (constant-factor slack for fixed overheads).
    assert out_b <= out_s * ratio_in * 1.2 + 1000
    assert calls_b <= calls_s * ratio_in * 1.2 + 1000
