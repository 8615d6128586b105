#!/usr/bin/env python3
"""Run nearvm's test suite against an *installed* nearvm (a wheel), never the source tree.

Used by `make test-wheel` (a repaired manylinux wheel in a fresh virtualenv outside the
repository) and by the wheels workflow's cibuildwheel test step on every platform:

    python scripts/wheel_tests.py [--project DIR] [extra pytest arguments]

* Refuses to run if ``nearvm`` would be imported from ``DIR/python`` (the tree) instead of an
  installed distribution, and runs pytest from a directory outside the project.
* Selection: on x86_64 the whole suite, on other machines the list in scripts/aarch64/tests.txt
  (what `make test-aarch64` runs under emulation); on both, less the tests that build from, or
  inspect, the source tree itself (TREE_ONLY).
* Tests of the core spec suite need its location (``NEARVM_SPEC_DIR``, or the tree's default
  next to the checkout); where it is absent (e.g. hosted CI runners) they are left out, and the
  run says so on its first line.

Standard library only (runs before anything else is installed).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_PROJECT = HERE.parent

#: Tests that build the package or C++ units from the tree (sdist, build script, asmjit fetch, the
#: g++-built unit tests), validate the repository's release files with release tools (wheels
#: workflow), or need Debian toolchains (NEAR's Rust contract with /usr/bin/rustc): `make test`
#: runs them.
TREE_ONLY = [
    "tests/test_sdist.py",
    "tests/test_wheels_workflow.py",
    "tests/test_build.py",
    "tests/test_fetch_asmjit.py",
    "tests/test_benchmarks_smoke.py",
    "tests/near/test_near_rust.py",
    "tests/jit/test_jit_units.py",
    "tests/runtime/test_platform_units.py",
]


def selection(project: Path, machine: str) -> list[str]:
    ignores = [f"--ignore={p}" for p in TREE_ONLY]
    if machine.lower() in ("x86_64", "amd64"):
        return ["tests", *ignores]
    listed = (project / "scripts" / "aarch64" / "tests.txt").read_text().splitlines()
    return [line.strip() for line in listed if line.strip() and not line.lstrip().startswith("#")] + ignores


def spec_suite_present(project: Path) -> bool:
    env = os.environ.get("NEARVM_SPEC_DIR")
    path = Path(env) if env else project.parent / "shared" / "spec-testsuite"
    return (path / "manifest.json").is_file()


def installed_nearvm(project: Path) -> Path:
    """Where ``import nearvm`` resolves from a neutral directory; must not be the tree."""
    code = "import nearvm, nearvm._native; print(nearvm.__file__)"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run([sys.executable, "-c", code], cwd=tmp, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"wheel_tests: nearvm is not importable from the installed packages:\n{out.stderr}")
    return check_not_tree(Path(out.stdout.strip()).resolve(), project)


def check_not_tree(where: Path, project: Path) -> Path:
    """``where`` (nearvm/__init__.py as imported) unless it lies in the project's python/ folder."""
    if where.is_relative_to((project / "python").resolve()):
        raise SystemExit(f"wheel_tests: nearvm resolves to the source tree ({where}), not an installed wheel")
    return where


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--project", type=Path, default=DEFAULT_PROJECT)
    args, pytest_args = ap.parse_known_args(argv)
    project = args.project.resolve()
    where = installed_nearvm(project)
    tests = selection(project, platform.machine())
    if not spec_suite_present(project):
        tests += ["--ignore=tests/spec"]
        print("wheel_tests: the core spec suite is not available here: tests/spec left out")
    print(f"wheel_tests: nearvm from {where}; machine {platform.machine()}")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    # The interpreter's own scripts directory first: wasm-tools and friends of this environment.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(project),
           "-c", str(project / "pyproject.toml"), *tests, *pytest_args]
    with tempfile.TemporaryDirectory() as tmp:
        # pytest resolves relative paths against the current directory: make them project paths,
        # while the process itself runs outside the project (nothing of it on sys.path).
        cmd = [c if not c.startswith(("tests", "--ignore=tests")) else
               c.replace("tests", str(project / "tests"), 1) for c in cmd]
        return subprocess.run(cmd, cwd=tmp, env=env).returncode


if __name__ == "__main__":
    sys.exit(main())
