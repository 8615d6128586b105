#!/usr/bin/env python3
"""Build the native test driver (tests/windows/driver.cpp) with nearvm's C++ core and asmjit.

``--target windows``: x86_64-w64-mingw32-g++ (posix thread model: std::mutex, thread_local),
statically linked so wine needs no mingw DLLs. ``--target linux``: the host g++, the control
build whose outcomes must equal the Python API's. The sources, asmjit defines and version come
from the tree's cffi build script (one list of what the core is made of). Objects are compiled
in parallel and reused while newer than their source and every project header.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
DRIVER = ROOT / "tests" / "windows" / "driver.cpp"

TOOLCHAINS = {
    "windows": {"cxx": "x86_64-w64-mingw32-g++-posix", "exe": "nvm_driver.exe",
                "link": ["-static", "-static-libgcc", "-static-libstdc++", "-Wl,--stack,16777216"]},
    "linux": {"cxx": "g++", "exe": "nvm_driver", "link": ["-pthread"]},
}


def load_build_script() -> ModuleType:
    os.environ["NEARVM_FFIBUILDER_NO_INIT"] = "1"
    try:
        path = ROOT / "python" / "nearvm" / "_build" / "ffibuilder.py"
        spec = importlib.util.spec_from_file_location("nearvm_tree_ffibuilder", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        del os.environ["NEARVM_FFIBUILDER_NO_INIT"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--target", choices=sorted(TOOLCHAINS), required=True)
    ap.add_argument("--out", type=Path, default=ROOT / "build" / "windows")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    args = ap.parse_args(argv)
    fb = load_build_script()
    tc = TOOLCHAINS[args.target]
    obj_dir = args.out / f"obj-{args.target}"
    obj_dir.mkdir(parents=True, exist_ok=True)
    defines = [f"-D{k}" if v is None else f"-D{k}={v}" for k, v in fb.ASMJIT_DEFINES]
    defines.append(f'-DNEARVM_VERSION="{fb.read_version()}"')
    includes = [f"-I{p}" for p in (fb.CSRC / "include", fb.CSRC, fb.ASMJIT_SRC)]
    flags = ["-std=c++17", "-O2", "-fno-math-errno", "-fno-strict-aliasing", "-g0", "-Wall"]
    sources = [*fb.core_sources(), *fb.asmjit_sources(), DRIVER]
    newest_header = max(p.stat().st_mtime for p in fb.CSRC.rglob("*.h"))

    def obj_of(src: Path) -> Path:
        rel = src.relative_to(ROOT).with_suffix(".o")
        return obj_dir / str(rel).replace(os.sep, "__")

    def stale(src: Path, obj: Path) -> bool:
        if not obj.exists():
            return True
        t = obj.stat().st_mtime
        project = src.resolve().is_relative_to(fb.CSRC) or src == DRIVER
        return t <= src.stat().st_mtime or (project and t <= newest_header)

    def compile_one(src: Path) -> str | None:
        obj = obj_of(src)
        if not stale(src, obj):
            return None
        cmd = [tc["cxx"], *flags, *defines, *includes, "-c", str(src), "-o", str(obj)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            return f"$ {shlex.join(cmd)}\n{proc.stdout}{proc.stderr}"
        return None

    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        errors = [e for e in pool.map(compile_one, sources) if e]
    if errors:
        print("\n".join(errors), file=sys.stderr)
        return 1
    exe = args.out / tc["exe"]
    cmd = [tc["cxx"], "-o", str(exe), *[str(obj_of(s)) for s in sources], *tc["link"]]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        print(f"$ {shlex.join(cmd)}\n{proc.stdout}{proc.stderr}", file=sys.stderr)
        return 1
    print(exe)
    return 0


if __name__ == "__main__":
    sys.exit(main())
