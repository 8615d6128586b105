"""nearvm's runtime Python API (docs/design.md "Public Python API").

Re-exported from ``nearvm``: Engine, Module, Store, Instance, Func, Memory, Table, Global, Caller.
"""

from __future__ import annotations

from .engine import Engine, Module
from .instance import Instance
from .objects import Caller, Func, Global, Memory, Table
from .pool import memory_pool_stats, set_memory_pool_limit
from .store import InterruptHandle, Store

__all__ = ["Caller", "Engine", "Func", "Global", "Instance", "InterruptHandle", "Memory", "Module", "Store", "Table",
           "memory_pool_stats", "set_memory_pool_limit"]
