"""The sdist carries everything needed to build offline, including the fetched asmjit."""

from __future__ import annotations

import importlib.metadata
import os
import shutil
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


# The README's offline recipe: the target environment holds these (and what they need), nothing else.
OFFLINE_PREREQUISITES = ("cffi", "setuptools", "wheel")


def _with_dependencies(names: tuple[str, ...]) -> set[str]:
    """The distributions ``names`` need at run time (their unconditional requirements, transitively)."""
    from packaging.requirements import Requirement

    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        key = name.lower().replace("_", "-")
        if key in seen:
            continue
        seen.add(key)
        for req in importlib.metadata.requires(name) or []:
            r = Requirement(req)
            if r.marker is None or r.marker.evaluate({"extra": ""}):
                todo.append(r.name)
    return seen


def _copy_distribution(name: str, site_packages: Path) -> None:
    """Install distribution ``name`` into ``site_packages`` by copying its recorded files (no index)."""
    dist = importlib.metadata.distribution(name)
    files = dist.files or []
    assert files, f"{name} has no RECORD: cannot copy it"
    for f in files:
        if str(f).startswith(".."):  # console scripts live outside site-packages
            continue
        src = Path(str(dist.locate_file(f)))
        if src.is_file():
            dst = site_packages / f
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)


@pytest.mark.slow
def test_sdist_installs_offline_with_only_the_documented_prerequisites(sdist: Path, tmp_path: Path) -> None:
    """README: `pip install --no-index --no-build-isolation nearvm-*.tar.gz` in an environment that has
    cffi, setuptools and wheel builds a cp310-abi3 wheel and installs it with no network access."""
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(system_site_packages=False, with_pip=True).create(env_dir)
    py = env_dir / "bin" / "python"
    site_packages = Path(subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True, capture_output=True, text=True).stdout.strip())
    # ensurepip may have brought its own setuptools: replace it by the pinned one the suite runs.
    for d in list(site_packages.iterdir()):
        if d.name.startswith(("setuptools", "_distutils_hack", "pkg_resources", "distutils-precedence")):
            shutil.rmtree(d) if d.is_dir() else d.unlink()
    for name in sorted(_with_dependencies(OFFLINE_PREREQUISITES)):
        _copy_distribution(name, site_packages)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEARVM_FFIBUILDER", "PIP_", "PYTHON"))}
    env.update(PIP_NO_INDEX="1", PIP_CONFIG_FILE=os.devnull, NEARVM_BUILD_JOBS="2")
    # Build the wheel first (to check its tag), then install the sdist itself as the README says.
    wheels = tmp_path / "wheels"
    proc = subprocess.run(
        [str(py), "-m", "pip", "wheel", "-q", "--no-index", "--no-build-isolation", "--no-deps",
         "-w", str(wheels), str(sdist)],
        env=env, cwd=tmp_path, capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    (wheel,) = wheels.glob("nearvm-*.whl")
    assert "-cp310-abi3-" in wheel.name  # one wheel per platform for every CPython >= 3.10
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
    # Both licences ship (setuptools flattens or keeps their paths, depending on its version).
    licences = [n for n in names if ".dist-info/" in n and "LICENSE" in n]
    assert any(n.endswith("/LICENSE") for n in licences) and any(n.endswith("LICENSE.md") for n in licences), names
    assert any(n.startswith("nearvm/_native") for n in names)
    proc = subprocess.run(
        [str(py), "-m", "pip", "install", "-q", "--no-index", "--no-build-isolation", str(sdist)],
        env=env, cwd=tmp_path, capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = subprocess.run(
        [str(py), "-c", "import nearvm, nearvm._native as n; print(nearvm.__file__, bool(n.lib.nvm_version()))"],
        check=True, env=env, cwd=tmp_path, capture_output=True, text=True,
    ).stdout
    assert str(env_dir) in out and out.strip().endswith("True")
