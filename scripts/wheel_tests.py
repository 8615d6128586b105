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
* ``--each``: one pytest process per selected path (each listed line), as `make test-aarch64`
  runs under qemu-user, where one long process accumulates emulator memory for every linear-memory
  reservation it ever made.
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
import time
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


def under(path: str, folder: str) -> bool:
    """Whether the pytest path (or node id) ``path`` lies in ``folder`` or is it."""
    file = path.split("::", 1)[0].rstrip("/")
    return file == folder.rstrip("/") or file.startswith(folder.rstrip("/") + "/")


def plan_runs(tests: list[str], each: bool) -> tuple[list[list[str]], list[str]]:
    """The pytest processes to start (their paths) and the options all of them get.

    A listed path under an ``--ignore``d one is left out (pytest would still collect a path
    it is given explicitly); with ``each``, every remaining path is a process of its own.
    """
    options = [t for t in tests if t.startswith("-")]
    ignored = [o.removeprefix("--ignore=") for o in options if o.startswith("--ignore=")]
    paths = [t for t in tests if not t.startswith("-") and not any(under(t, i) for i in ignored)]
    if not paths:
        raise SystemExit("wheel_tests: every selected path is ignored here: nothing to run")
    return ([[p] for p in paths] if each else [paths]), options


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--project", type=Path, default=DEFAULT_PROJECT)
    ap.add_argument("--each", action="store_true", help="one pytest process per selected path")
    ap.add_argument("--only", nargs="+", metavar="PATH", help="these pytest paths instead of the machine's selection")
    args, pytest_args = ap.parse_known_args(argv)
    project = args.project.resolve()
    where = installed_nearvm(project)
    tests = selection(project, platform.machine())
    if args.only:
        tests = [*args.only, *(t for t in tests if t.startswith("-"))]
    if not spec_suite_present(project):
        tests += ["--ignore=tests/spec"]
        print("wheel_tests: the core spec suite is not available here: tests/spec left out")
    print(f"wheel_tests: nearvm from {where}; machine {platform.machine()}")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    # The interpreter's own scripts directory first: wasm-tools and friends of this environment.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    # pytest resolves relative paths against the current directory: make them project paths,
    # while the process itself runs outside the project (nothing of it on sys.path).
    tests = [t if not t.startswith(("tests", "--ignore=tests")) else t.replace("tests", str(project / "tests"), 1)
             for t in tests]
    runs, options = plan_runs(tests, each=args.each)
    base = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(project),
            "-c", str(project / "pyproject.toml")]
    failed: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        for run in runs:
            start = time.monotonic()
            code = subprocess.run([*base, *run, *options, *pytest_args], cwd=tmp, env=env).returncode
            if code != 0:
                failed += run
            if args.each:
                status = "ok" if code == 0 else f"FAILED (exit {code})"
                print(f"wheel_tests: {run[0]}: {status} in {time.monotonic() - start:.0f} s", flush=True)
    if failed:
        print("wheel_tests: FAILED: " + " ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
