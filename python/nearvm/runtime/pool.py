"""The process-wide pool of linear-memory reservations (docs/runtime.md "The pool").

Every linear memory lives in its own 8 GiB address-space reservation (guard regions make bounds
checks free). Mapping and unmapping one costs system calls and page-table work, so a memory's
reservation goes back to a pool when the memory is freed — when its Store is gone and no Python
object (a ``Memory.data`` memoryview included) refers to it any more. The pool zeroes the pages
that were in use at once (``MADV_DONTNEED``: the physical memory is returned, the cost is
proportional to the pages that were committed); the next memory created takes a pooled
reservation and only adjusts its protection to its own size. A new instance can never see a
previous one's data.
"""

from __future__ import annotations

from ._ffi import ffi, lib

__all__ = ["memory_pool_stats", "set_memory_pool_limit"]


def memory_pool_stats() -> dict[str, int]:
    """``created`` (reservations mapped), ``reused`` (memories served from the pool), ``cached``
    (idle reservations now) and ``limit``."""
    out = ffi.new("nvm_memory_pool_info*")
    lib.nvm_memory_pool_stats(out)
    return {"created": int(out.created), "reused": int(out.reused), "cached": int(out.cached),
            "limit": int(out.limit)}


def set_memory_pool_limit(limit: int) -> None:
    """Keep at most ``limit`` idle reservations (default 16; 0 disables pooling). Idle
    reservations above the new limit are unmapped at once."""
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise TypeError(f"set_memory_pool_limit: limit must be an int, got {type(limit).__name__}")
    if limit < 0:
        raise ValueError("set_memory_pool_limit: limit must be a non-negative int")
    lib.nvm_memory_pool_set_limit(limit)
