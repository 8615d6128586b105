#!/usr/bin/env python3
"""Print the requirement strings the Makefile installs, read from pyproject.toml (their one definition).

Usage: requirements.py GROUP...   where GROUP is ``build`` ([build-system] requires) or the name of an
optional-dependency extra (``test``, ``bench``, ...). One requirement per line.
"""

from __future__ import annotations

import sys
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def requirements(groups: list[str]) -> list[str]:
    data = tomllib.loads(PYPROJECT.read_text())
    out: list[str] = []
    for g in groups:
        if g == "build":
            reqs = data["build-system"]["requires"]
        else:
            extras = data["project"].get("optional-dependencies", {})
            if g not in extras:
                raise SystemExit(f"requirements.py: no group {g!r} (build, {', '.join(sorted(extras))})")
            reqs = extras[g]
        out.extend(r for r in reqs if r not in out)
    return out


if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    print("\n".join(requirements(sys.argv[1:])))
