"""The sdist carries everything needed to build offline, including the fetched asmjit (issue 2)."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def sdist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sdist")
    subprocess.run(
        [sys.executable, "-m", "build", "--sdist", "--no-isolation", "--outdir", str(out), str(ROOT)],
        check=True, capture_output=True,
    )
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
def test_sdist_installs_with_network_off(sdist: Path, tmp_path: Path) -> None:
    """pip install --no-index --no-build-isolation of the sdist builds and imports."""
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(env_dir)
    py = env_dir / "bin" / "python"
    env = dict(os.environ, PIP_NO_INDEX="1", NEARVM_BUILD_JOBS="2")
    env.pop("PYTHONPATH", None)
    subprocess.run(
        [str(py), "-m", "pip", "install", "-q", "--no-index", "--no-build-isolation", "--no-deps", str(sdist)],
        check=True, env=env, cwd=tmp_path, capture_output=True,
    )
    out = subprocess.run(
        [str(py), "-c", "import nearvm, nearvm._native as n; print(nearvm.__file__, bool(n.lib.nvm_version()))"],
        check=True, env=env, cwd=tmp_path, capture_output=True, text=True,
    ).stdout
    assert str(env_dir) in out and out.strip().endswith("True")
