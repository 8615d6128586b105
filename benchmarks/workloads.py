"""The workload table: which C programs exist, how to build them and how big ``n`` is per mode."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

WORKLOAD_DIR = Path(__file__).resolve().parent / "workloads"


@dataclass(frozen=True)
class Workload:
    name: str
    what: str
    n_quick: int
    n_full: int
    #: extra clang flags for the wasm build (e.g. -mbulk-memory)
    wasm_flags: tuple[str, ...] = ()
    #: part of the execution-time table (hostcall is a separate metric)
    exec_table: bool = True
    #: metered variants also run in --quick (the full run meters every workload)
    metered_in_quick: bool = False

    def n(self, quick: bool) -> int:
        return self.n_quick if quick else self.n_full

    @property
    def source(self) -> Path:
        return WORKLOAD_DIR / f"{self.name}.c"


WORKLOADS: tuple[Workload, ...] = (
    Workload("fib", "recursion: naive fib(n)", 31, 34, metered_in_quick=True),
    Workload("hash", "integer hashing over 1 MiB of linear memory, n passes", 12, 48, metered_in_quick=True),
    Workload("matmul", "f64 96x96 matrix multiply, n times", 18, 72),
    Workload("nbody", "f64 n-body, 7 bodies, n steps", 40_000, 160_000),
    Workload("sieve", "sieve of Eratosthenes to 2M, n times", 1, 3),
    Workload("sort", "introsort of 100k u32 keys, n times", 1, 4),
    Workload("interp", "switch-dispatch (br_table) bytecode interpreter, n loop iterations", 40_000, 160_000,
             metered_in_quick=True),
    Workload("memcpy", "1024 memmove/memset/struct copies per round (bulk memory), n rounds", 160, 640,
             wasm_flags=("-mbulk-memory",)),
    Workload("calls", "call_indirect through a function-pointer table + small direct calls, n iterations",
             300_000, 1_200_000, metered_in_quick=True),
    Workload("hostcall", "loop calling the imported env.host_inc n times", 20_000, 100_000, exec_table=False),
)

BY_NAME: dict[str, Workload] = {w.name: w for w in WORKLOADS}
