"""The Windows driver's corpus (win_corpus.py) is representative: every trap kind, out-of-gas from
wasm and from a host charge, stack exhaustion, re-entrancy, memory.grow. The driver itself runs in
`make test-windows` (mingw-w64 build under wine); this checks what it is fed."""

from __future__ import annotations

from pathlib import Path

import pytest
import win_corpus

from nearvm import TrapCode


def _outcomes(text: str) -> list[tuple[int, str]]:
    out = []
    for line in text.splitlines():
        if line.startswith("call "):
            words = line.split()
            out.append((int(words[words.index("expect") + 1]), line))
    return out


def test_corpus_renders_and_covers_every_trap_kind(tmp_path: Path) -> None:
    assert win_corpus.main([str(tmp_path)]) == 0
    files = sorted(tmp_path.glob("*.case"))
    assert [f.stem for f in files] == sorted(c.name for c in win_corpus.CASES)
    codes = {code for f in files for code, _ in _outcomes(f.read_text())}
    assert codes == {0} | {int(c) for c in TrapCode}
    for f in files:
        text = f.read_text()
        assert text.startswith("nearvm-case 1\n") and text.endswith("end\n")
    # Shapes the platform layer must get right, by case.
    names = {c.name: c for c in win_corpus.CASES}
    assert names["host_calls"].wat.count("reenter") >= 2 and names["reentrant_fault"].calls
    assert any("memory.grow" in c.wat for c in win_corpus.CASES)
    assert any(c.metered for c in win_corpus.CASES) and any(not c.metered for c in win_corpus.CASES)


def test_corpus_rejects_what_the_driver_cannot_instantiate() -> None:
    case = win_corpus.Case("bad_import", '(module (import "env" "nope" (func)))', [])
    with pytest.raises(ValueError, match="unsupported import env.nope"):
        win_corpus.render(case)
