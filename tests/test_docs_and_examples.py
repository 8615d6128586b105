"""User documentation: every public name has a docstring, the API reference builds from them with
warnings as errors, the examples run, and nothing in the repository points outside it."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest

import nearvm
import nearvm.cli
import nearvm.tools
import nearvm.wat

ROOT = Path(__file__).resolve().parents[1]


def _public_members(obj: type) -> list[tuple[str, object]]:
    out = []
    for name, value in vars(obj).items():
        if name.startswith("_"):
            continue
        if isinstance(value, property):
            out.append((name, value.fget))
        elif isinstance(value, (staticmethod, classmethod)):
            out.append((name, value.__func__))
        elif inspect.isfunction(value):
            out.append((name, value))
    return out


def test_every_public_name_has_a_docstring() -> None:
    missing = []
    for module in (nearvm, nearvm.wat, nearvm.cli, nearvm.tools):
        for name in module.__all__:
            if name == "__version__":
                continue
            obj = getattr(module, name)
            if not (inspect.getdoc(obj) or "").strip():
                missing.append(f"{module.__name__}.{name}")
            if inspect.isclass(obj):
                for member, fn in _public_members(obj):
                    if not (getattr(fn, "__doc__", None) or "").strip():
                        missing.append(f"{module.__name__}.{name}.{member}")
    assert not missing, f"public names without a docstring: {missing}"


def test_api_reference_builds_without_warnings(tmp_path: Path) -> None:
    out = tmp_path / "html"
    proc = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-E", "-q", "-b", "html",
                           str(ROOT / "docs" / "api"), str(out)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    html = "".join(p.read_text() for p in out.glob("*.html"))
    undocumented = [name for name in nearvm.__all__ if name != "__version__"
                    and f'id="nearvm.{name}"' not in html and f'id="nearvm.errors.{name}"' not in html]
    assert not undocumented, f"missing from the API reference: {undocumented}"


EXAMPLES = {
    "hello": "Hello from Python!",
    "gcd": "gcd(6, 27) = 3",
    "memory": "done",
    "globals": "done",
    "tables": "double(5) = 10 ; square(5) = 25",
}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_example_runs(name: str) -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / f"{name}.py")], capture_output=True, text=True,
                          check=False, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert EXAMPLES[name] in proc.stdout


def _python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.S)


def test_readme_sketch_and_guide_first_example_run(capsys: pytest.CaptureFixture[str]) -> None:
    readme = _python_blocks(ROOT / "README.md")
    guide = _python_blocks(ROOT / "docs" / "guide.md")
    exec(compile(readme[0], "README.md", "exec"), {})  # noqa: S102 - our own documentation
    exec(compile(guide[0], "docs/guide.md", "exec"), {})  # noqa: S102
    assert capsys.readouterr().out.splitlines()[-2:] == ["2", "5"]


# References to documents that are not in the repository, and issue numbers in code and docs.
OUTSIDE = re.compile(r"ARCHITECTURE\.md|models\.md|(?<!docs/)platforms\.md|REFERENCE\.md|\b[Ii]ssues? #?\d")
# The spec suite and NEAR's test contracts are data the tests read from the workspace, not documents.
ALLOWED = ("spec-testsuite", "shared/near/contracts")
SHARED = ".." + "/shared"  # spelled in two parts so this file does not match itself


def test_nothing_points_outside_the_repository() -> None:
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    bad = []
    for rel in files:
        if rel.startswith("third_party/") or rel.endswith((".wasm", ".png", ".json", ".txt")):
            continue
        path = ROOT / rel
        try:
            text = path.read_text()
        except (UnicodeDecodeError, FileNotFoundError):
            continue
        for i, line in enumerate(text.splitlines(), 1):
            if OUTSIDE.search(line) or (SHARED in line and not any(a in line for a in ALLOWED)):
                bad.append(f"{rel}:{i}: {line.strip()}")
    assert not bad, "\n".join(bad)
