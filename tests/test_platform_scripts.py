"""The platform test harnesses' selections cannot rot: every listed test path exists, and the
installed-wheel runner keeps the tree-only tests out and refuses the source tree."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load(name: str, path: Path):  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


wheel_tests = _load("nearvm_wheel_tests", ROOT / "scripts" / "wheel_tests.py")


def test_aarch64_selection_lists_existing_tests() -> None:
    listed = wheel_tests.selection(ROOT, "aarch64")
    assert listed and listed == wheel_tests.selection(ROOT, "arm64")
    for entry in listed:
        assert (ROOT / entry.removeprefix("--ignore=").split("::")[0]).exists(), entry
    assert [e for e in listed if e.startswith("--ignore=")] == [f"--ignore={p}" for p in wheel_tests.TREE_ONLY]


def test_x86_64_selection_is_the_suite_minus_existing_tree_only_tests() -> None:
    sel = wheel_tests.selection(ROOT, "x86_64")
    assert sel[0] == "tests" and sel == wheel_tests.selection(ROOT, "AMD64")
    for ignore in sel[1:]:
        assert ignore.startswith("--ignore=") and (ROOT / ignore.removeprefix("--ignore=")).exists(), ignore


def test_runner_refuses_the_source_tree(tmp_path: Path) -> None:
    tree = tmp_path / "checkout"
    (tree / "python" / "nearvm").mkdir(parents=True)
    with pytest.raises(SystemExit, match="source tree"):
        wheel_tests.check_not_tree(tree / "python" / "nearvm" / "__init__.py", tree)
    site = tmp_path / "venv" / "lib" / "site-packages" / "nearvm" / "__init__.py"
    assert wheel_tests.check_not_tree(site, tree) == site


def test_aarch64_selection_lists_nothing_the_runner_leaves_out() -> None:
    """A listed path under a TREE_ONLY one would be dropped silently by the runner."""
    listed = [e for e in wheel_tests.selection(ROOT, "aarch64") if not e.startswith("-")]
    for entry in listed:
        assert not any(wheel_tests.under(entry, t) for t in wheel_tests.TREE_ONLY), entry


def test_under_matches_folders_files_and_node_ids_only() -> None:
    assert wheel_tests.under("tests/spec", "tests/spec")
    assert wheel_tests.under("tests/spec/test_spec_exec.py::test_x[a/b]", "tests/spec/")
    assert wheel_tests.under("tests/build.py::t", "tests/build.py")
    assert not wheel_tests.under("tests/spec2/test_a.py", "tests/spec")
    assert not wheel_tests.under("tests", "tests/spec")


def test_each_runs_every_path_alone_and_drops_ignored_ones() -> None:
    tests = ["tests/jit", "tests/spec/test_spec_exec.py", "tests/runtime", "--ignore=tests/spec", "-x"]
    runs, options = wheel_tests.plan_runs(tests, each=True)
    assert runs == [["tests/jit"], ["tests/runtime"]]
    assert options == ["--ignore=tests/spec", "-x"]
    assert wheel_tests.plan_runs(tests, each=False) == ([["tests/jit", "tests/runtime"]], options)


def test_runner_refuses_a_selection_that_is_all_ignored() -> None:
    with pytest.raises(SystemExit, match="nothing to run"):
        wheel_tests.plan_runs(["tests/spec/test_a.py", "--ignore=tests/spec"], each=True)
