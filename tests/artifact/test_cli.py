"""``nearvm compile`` / ``nearvm run`` / ``nearvm inspect`` with artifacts."""

from __future__ import annotations

from pathlib import Path

import pytest
from artifact_helpers import wat2wasm

import nearvm.runtime  # noqa: E402,F401
from nearvm import artifact as A
from nearvm.cli import ExitCode, main

WAT = '(module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))'


@pytest.fixture
def wasm_file(tmp_path: Path) -> Path:
    p = tmp_path / "add.wasm"
    p.write_bytes(wat2wasm(WAT))
    return p


def test_compile_then_run(wasm_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "add.nvm"
    assert main(["compile", str(wasm_file), "-o", str(out)]) == 0
    blob = out.read_bytes()
    assert blob.startswith(A.MAGIC)
    capsys.readouterr()
    # An unsigned artifact is code nobody vouched for: refused unless the user says it is theirs.
    assert main(["run", str(out), "--invoke", "add", "40", "2"]) == ExitCode.ARTIFACT
    assert "unauthenticated" in capsys.readouterr().err
    assert main(["run", str(out), "--trust-unauthenticated-artifact", "--invoke", "add", "40", "2"]) == 0
    assert capsys.readouterr().out.strip() == "42"
    assert main(["run", str(wasm_file), "--invoke", "add", "1", "2"]) == 0
    assert capsys.readouterr().out.strip() == "3"
    # Reproducible: compiling again gives the same file.
    again = tmp_path / "again.nvm"
    assert main(["compile", str(wasm_file), "-o", str(again)]) == 0
    assert again.read_bytes() == blob
    assert main(["inspect", str(out)]) == 0
    text = capsys.readouterr().out
    assert "artifact: format" in text and "export add" in text


def test_run_rejects_bad_artifacts(wasm_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "add.nvm"
    assert main(["compile", str(wasm_file), "-o", str(out), "--gas", "1"]) == 0
    trust = "--trust-unauthenticated-artifact"
    # Compiled with another Config:
    assert main(["run", str(out), trust, "--invoke", "add", "1", "2"]) == ExitCode.ARTIFACT
    assert "ArtifactError" in capsys.readouterr().err
    assert main(["run", str(out), trust, "--gas", "1", "--invoke", "add", "1", "2"]) == 0
    data = bytearray(out.read_bytes())
    data[len(data) // 2] ^= 0x40
    out.write_bytes(bytes(data))
    assert main(["run", str(out), trust, "--gas", "1", "--invoke", "add", "1", "2"]) == ExitCode.ARTIFACT
    assert "ArtifactError" in capsys.readouterr().err


def test_signed_artifacts(wasm_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = tmp_path / "key"
    key.write_bytes(b"validator secret")
    out = tmp_path / "s.nvm"
    assert main(["compile", str(wasm_file), "-o", str(out), "--key-file", str(key)]) == 0
    assert A.read_header(out.read_bytes()).has_hmac
    assert main(["run", str(out), "--key-file", str(key), "--invoke", "add", "2", "3"]) == 0
    other = tmp_path / "other"
    other.write_bytes(b"another validator secret")
    assert main(["run", str(out), "--key-file", str(other), "--invoke", "add", "2", "3"]) == ExitCode.ARTIFACT
    assert "HMAC" in capsys.readouterr().err
    short = tmp_path / "short"
    short.write_bytes(b"nope")
    assert main(["run", str(out), "--key-file", str(short), "--invoke", "add", "2", "3"]) == ExitCode.USAGE
    assert "at least 16 bytes" in capsys.readouterr().err
    assert main(["compile", str(wasm_file), "-o", str(out), "--key-file", str(short)]) == ExitCode.USAGE
    assert "at least 16 bytes" in capsys.readouterr().err
