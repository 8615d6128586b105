"""The wheels workflow (.github/workflows/wheels.yml, also reachable as ./wheels.yml) and the
cibuildwheel configuration in pyproject.toml are validated here, since they only run on GitHub:
the GitHub-workflow JSON schema (check-jsonschema), actionlint, and cibuildwheel's build plan
for each platform. Mutated copies show that each validator does catch what it is for."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from nearvm.toolpath import find_tool

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "wheels.yml"


def _run(*cmd: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(cmd), capture_output=True, text=True, cwd=cwd, check=False)


def _schema(path: Path) -> subprocess.CompletedProcess[str]:
    return _run(find_tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(path))


def _actionlint(path: Path) -> subprocess.CompletedProcess[str]:
    # -shellcheck= / -pyflakes=: the result must not depend on what else is on the machine.
    return _run(find_tool("actionlint"), "-shellcheck=", "-pyflakes=", str(path))


def test_top_level_name_is_the_workflow() -> None:
    assert (ROOT / "wheels.yml").resolve() == WORKFLOW.resolve()


def test_workflow_matches_the_github_schema() -> None:
    proc = _schema(WORKFLOW)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_workflow_passes_actionlint() -> None:
    proc = _actionlint(WORKFLOW)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_validators_catch_broken_workflows(tmp_path: Path) -> None:
    text = WORKFLOW.read_text()
    no_action = tmp_path / "no_action.yml"  # a step with neither `uses` nor `run`
    no_action.write_text(text.replace("      - uses: pypa/gh-action-pypi-publish@release/v1",
                                      "      - name: publish"))
    assert _schema(no_action).returncode != 0
    bad_matrix = tmp_path / "bad_matrix.yml"  # an undefined matrix key
    bad_matrix.write_text(text.replace("runs-on: ${{ matrix.os }}", "runs-on: ${{ matrix.oss }}"))
    proc = _actionlint(bad_matrix)
    assert proc.returncode != 0 and "oss" in proc.stdout


def test_workflow_builds_every_platform_and_publishes_on_tags() -> None:
    text = WORKFLOW.read_text()
    runners = re.findall(r"- os: (\S+)[^\n]*\n\s+archs: (\S+)", text)
    assert sorted(runners) == sorted([("ubuntu-latest", "x86_64"), ("ubuntu-24.04-arm", "aarch64"),
                                      ("macos-15-intel", "x86_64"), ("macos-14", "arm64"),
                                      ("windows-latest", "AMD64")])
    assert "third_party/asmjit/fetch.py --source upstream" in text  # the sdist bundles asmjit
    publish = text[text.index("  publish:"):]
    assert "startsWith(github.ref, 'refs/tags/v')" in publish
    assert "id-token: write" in publish and "password" not in publish  # trusted publishing


def test_cibuildwheel_action_matches_the_pinned_cibuildwheel() -> None:
    pins = dict(line.split("==") for line in (ROOT / "requirements" / "constraints.txt").read_text().splitlines()
                if "==" in line)
    (action,) = re.findall(r"pypa/cibuildwheel@v(\S+)", WORKFLOW.read_text())
    assert action == pins["cibuildwheel"]


@pytest.mark.parametrize(("platform", "expected"), [
    ("linux", ["cp310-manylinux_x86_64", "cp310-manylinux_aarch64",
               "cp310-musllinux_x86_64", "cp310-musllinux_aarch64"]),
    ("macos", ["cp310-macosx_x86_64", "cp310-macosx_arm64"]),
    ("windows", ["cp310-win_amd64"]),
])
def test_cibuildwheel_build_plan(platform: str, expected: list[str]) -> None:
    # One abi3 wheel per platform and architecture, built with the oldest supported CPython.
    proc = _run(sys.executable, "-m", "cibuildwheel", "--print-build-identifiers", "--platform", platform)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.split() == expected


def test_cibuildwheel_tests_the_installed_wheel_with_the_repository_tests() -> None:
    import tomllib

    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["cibuildwheel"]
    assert cfg["test-command"] == "python {project}/scripts/wheel_tests.py --project {project}"
    assert cfg["test-extras"] == ["test", "near"]  # what `make test-wheel` installs too
    assert cfg["macos"]["environment"]["MACOSX_DEPLOYMENT_TARGET"] == "11.0"
    assert (ROOT / "pyproject.toml").read_text().count('py_limited_api = "cp310"') == 1
