"""The sdist carries everything needed to build offline, including the fetched asmjit (issue 2)."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def sdist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sdist")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEARVM_FFIBUILDER")}
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--sdist", "--no-isolation", "--outdir", str(out), str(ROOT)],
        capture_output=True, text=True, env=env,
    )
    assert proc.returncode == 0, (proc.stdout[-3000:], proc.stderr[-3000:])
    (path,) = out.glob("nearvm-*.tar.gz")
    return path


def test_sdist_contains_sources_and_asmjit(sdist: Path) -> None:
    with tarfile.open(sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    assert "csrc/include/nearvm.h" in names
    assert "python/nearvm/_build/ffibuilder.py" in names
    assert "third_party/asmjit/upstream/src/asmjit/core/assembler.cpp" in names
    assert "third_party/asmjit/upstream/LICENSE.md" in names
    assert not any(n.endswith((".so", ".o")) for n in names)


@pytest.mark.slow
def test_sdist_builds_an_abi3_wheel_and_installs_with_network_off(sdist: Path, tmp_path: Path) -> None:
    """From the sdist alone, with no index: build the wheel (`pip wheel`), install it, import it."""
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(env_dir)
    py = env_dir / "bin" / "python"
    env = dict(os.environ, PIP_NO_INDEX="1", NEARVM_BUILD_JOBS="2")
    env.pop("PYTHONPATH", None)
    wheels = tmp_path / "wheels"
    subprocess.run(
        [str(py), "-m", "pip", "wheel", "-q", "--no-index", "--no-build-isolation", "--no-deps",
         "-w", str(wheels), str(sdist)],
        check=True, env=env, cwd=tmp_path, capture_output=True,
    )
    (wheel,) = wheels.glob("nearvm-*.whl")
    assert "-cp310-abi3-" in wheel.name  # one wheel per platform for every CPython >= 3.10
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
    # Both licences ship (setuptools flattens or keeps their paths, depending on its version).
    licences = [n for n in names if ".dist-info/" in n and "LICENSE" in n]
    assert any(n.endswith("/LICENSE") for n in licences) and any(n.endswith("LICENSE.md") for n in licences), names
    assert any(n.startswith("nearvm/_native") for n in names)
    subprocess.run(
        [str(py), "-m", "pip", "install", "-q", "--no-index", "--no-deps", str(wheel)],
        check=True, env=env, cwd=tmp_path, capture_output=True,
    )
    out = subprocess.run(
        [str(py), "-c", "import nearvm, nearvm._native as n; print(nearvm.__file__, bool(n.lib.nvm_version()))"],
        check=True, env=env, cwd=tmp_path, capture_output=True, text=True,
    ).stdout
    assert str(env_dir) in out and out.strip().endswith("True")
