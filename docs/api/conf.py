"""Sphinx configuration of nearvm's API reference (built from the docstrings; offline)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "python"))

import nearvm  # noqa: E402

project = "nearvm"
author = "nearvm contributors"
copyright = "nearvm contributors"  # noqa: A001 - Sphinx's setting name
release = nearvm.__version__
version = release
extensions = ["sphinx.ext.autodoc"]
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}
autoclass_content = "class"
html_theme = "alabaster"
html_static_path: list[str] = []
exclude_patterns = ["_build"]
