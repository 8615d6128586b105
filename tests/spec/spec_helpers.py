"""Helpers shared by the spec-suite tests (imported by conftest.py and the test modules)."""

from __future__ import annotations

from nearvm import wast

#: Results of the validate/exec runs of this session, for the summary printed at the end.
SESSION_RESULTS: dict[str, list[wast.FileResult]] = {"validate": [], "exec": []}


def core_file_names() -> tuple[list[str], str | None]:
    """Names of ``core/*.wast`` (for parametrization) and, if the suite is missing, why."""
    try:
        root = wast.spec_dir()
    except wast.SpecSuiteError as exc:
        return ["<spec suite missing>"], str(exc)
    names = sorted(p.name for p in (root / "core").glob("*.wast"))
    if not names:
        return ["<no core/*.wast>"], f"no core/*.wast files in {root}"
    return names, None


def describe(res: wast.FileResult, limit: int = 40) -> str:
    """A failure message: file problems, then failing commands with line numbers."""
    lines = [f"{res.path}: {len(res.failures)} failures, {len(res.problems)} problems"]
    lines += [f"  problem: {p}" for p in res.problems]
    lines += [f"  line {r.line}: {r.kind}: {r.reason}" for r in res.failures[:limit]]
    if len(res.failures) > limit:
        lines.append(f"  ... {len(res.failures) - limit} more")
    return "\n".join(lines)
