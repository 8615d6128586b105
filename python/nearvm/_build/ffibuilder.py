"""cffi build script for ``nearvm._native`` (referenced from setup.py's ``cffi_modules``).

* The cdef is the text of ``csrc/include/nearvm.h`` between ``cffi-begin`` and ``cffi-end``:
  one source of truth for the C ABI.
* Sources: every ``csrc/**/*.cpp`` plus the Assembler-only subset of asmjit (x86 *and* AArch64
  backends, so cross-ISA golden tests run on any host). asmjit must have been fetched by
  ``third_party/asmjit/fetch.py`` (a setup step); the build fails with a clear message otherwise.
* Objects compile in parallel (setuptools compiles one extension's sources serially), and an
  object newer than its source and every project header is reused.

The small helpers here are unit-tested in ``tests/test_build.py``.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
CSRC = ROOT / "csrc"
HEADER = CSRC / "include" / "nearvm.h"
ASMJIT_ROOT = ROOT / "third_party" / "asmjit" / "upstream"
ASMJIT_SRC = ASMJIT_ROOT / "src"

#: asmjit configuration (docs/design.md "asmjit"): Assembler only, logger kept for golden tests.
ASMJIT_DEFINES = [
    ("ASMJIT_STATIC", None),
    ("ASMJIT_NO_BUILDER", None),
    ("ASMJIT_NO_COMPILER", None),
    ("ASMJIT_NO_VALIDATION", None),
    ("ASMJIT_NO_DEPRECATED", None),
    ("ASMJIT_NO_INTROSPECTION", None),
]

#: asmjit translation units that are empty or unused without Builder/Compiler.
_ASMJIT_SKIP = re.compile(r"(builder|compiler|rapass|ralocal|rastack|emitterutils_p)\.cpp$")


class BuildError(RuntimeError):
    """The native build cannot proceed; the message says what to run."""


def read_version() -> str:
    text = (ROOT / "python" / "nearvm" / "_version.py").read_text()
    match = re.search(r'__version__\s*=\s*"([^"]+)"', text)
    if not match:
        raise BuildError("python/nearvm/_version.py has no __version__")
    return match.group(1)


def extract_cdef(header_text: str) -> str:
    """The preprocessor-free declarations between the cffi markers of nearvm.h."""
    match = re.search(r"/\*\s*cffi-begin\s*\*/(.*?)/\*\s*cffi-end\s*\*/", header_text, re.S)
    if not match:
        raise BuildError(f"{HEADER}: missing /* cffi-begin */ ... /* cffi-end */ markers")
    body = match.group(1)
    if re.search(r"^\s*#", body, re.M):
        raise BuildError("nearvm.h: the cffi section must not contain preprocessor directives")
    # Enum values are read from C: `NAME = 3,` becomes `NAME = ...,`  (never duplicated).
    return re.sub(r"(\bNVM_[A-Z0-9_]+)\s*=\s*[^,}\n]+", r"\1 = ...", body)


def asmjit_sources(src: Path = ASMJIT_SRC) -> list[Path]:
    """The asmjit .cpp files compiled into the extension (core + x86 + arm backends)."""
    base = src / "asmjit"
    if not (base / "core" / "assembler.cpp").exists():
        raise BuildError(
            f"asmjit sources are missing in {src}.\n"
            "  Fetch them first (a setup step, not part of the build):\n"
            "    python3 third_party/asmjit/fetch.py            # Debian: apt-get source; else upstream tarball\n"
            "  or run `make setup`."
        )
    files: list[Path] = []
    for sub in ("core", "x86", "arm"):
        files += sorted(p for p in (base / sub).glob("*.cpp") if not _ASMJIT_SKIP.search(p.name))
    return files


def core_sources(csrc: Path = CSRC) -> list[Path]:
    return sorted(csrc.rglob("*.cpp"))


def build_depends(csrc: Path = CSRC) -> list[str]:
    """What the extension depends on besides its sources: setuptools skips an extension whose
    output is newer than its sources and these, so they are every project header and this script
    (which defines the flags). Flags that come only from the environment (CFLAGS, CXXFLAGS) are
    not tracked here: build with --force, or in a build directory of their own, as the sanitizer
    build does."""
    return [str(p.relative_to(ROOT)) for p in sorted(csrc.rglob("*.h"))] + [str(Path(__file__).resolve().relative_to(ROOT))]


def compile_args(platform: str = sys.platform) -> list[str]:
    if platform == "win32":
        return ["/std:c++17", "/O2", "/EHsc", "/fp:precise"]
    # -fno-math-errno is safe (no errno from sqrt etc.); never -ffast-math: Wasm needs exact IEEE.
    # -ffp-contract=off: clang (macOS) fuses a*b+c into an FMA by default, GCC in its GNU modes;
    # the core does no float arithmetic on Wasm values today, and must never do it inexactly.
    args = ["-std=c++17", "-O2", "-fno-math-errno", "-ffp-contract=off", "-fno-strict-aliasing",
            "-fvisibility=hidden", "-g0"]
    if os.environ.get("NEARVM_DEBUG"):
        args = [a for a in args if a not in ("-O2", "-g0")] + ["-O0", "-g", "-DNVM_DEBUG=1"]
    return args


def link_args(platform: str = sys.platform) -> list[str]:
    if platform.startswith("linux"):
        return ["-Wl,--exclude-libs,ALL", "-lpthread"]
    return []


def object_is_stale(obj: str, src: str, newest_project_header: float, command: str) -> bool:
    """Whether ``obj`` must be recompiled from ``src`` with the compiler command ``command``.

    Project sources (under csrc/) depend on any project header (headers are few and shared, so
    tracking exact includes is not worth it); asmjit sources only on themselves; the cffi-generated
    module is always rebuilt. Every object also depends on the command that made it (recorded
    beside it by ``record_command``): changed flags or defines rebuild it. ``src`` may be relative
    to the project root (setuptools passes it so).
    """
    if not os.path.exists(obj) or "_native" in os.path.basename(src):
        return True
    try:
        if Path(obj + ".cmd").read_text() != command:
            return True
    except OSError:
        return True
    obj_time = os.path.getmtime(obj)
    src_path = Path(src) if os.path.isabs(src) else ROOT / src
    if obj_time <= src_path.stat().st_mtime:
        return True
    return src_path.resolve().is_relative_to(CSRC) and obj_time <= newest_project_header


def record_command(obj: str, command: str) -> None:
    """Remember the compiler command that made ``obj`` (see ``object_is_stale``)."""
    Path(obj + ".cmd").write_text(command)


def _install_parallel_compile() -> None:
    """Compile one extension's sources in parallel and reuse up-to-date objects.

    setuptools compiles the sources of an extension one after another; with asmjit that is most
    of a minute on 2 cores. This replaces ``CCompiler.compile`` (used by the Unix compilers;
    MSVC has its own ``compile`` and is left alone) with a thread-pool version.
    """
    from concurrent.futures import ThreadPoolExecutor
    from distutils import ccompiler  # type: ignore[import-not-found]

    import setuptools  # noqa: F401  (makes `distutils` resolve to setuptools' copy)

    if getattr(ccompiler.CCompiler.compile, "_nearvm_parallel", False):
        return
    headers = [p for p in CSRC.rglob("*.h")]
    newest_header = max((p.stat().st_mtime for p in headers), default=0.0)

    def compile(self, sources, output_dir=None, macros=None, include_dirs=None, debug=0,  # type: ignore[no-untyped-def]
                extra_preargs=None, extra_postargs=None, depends=None):
        macros, objects, extra_postargs, pp_opts, build = self._setup_compile(
            output_dir, macros, include_dirs, sources, depends, extra_postargs)
        cc_args = self._get_cc_args(pp_opts, debug, extra_preargs)

        def one(obj: str) -> None:
            try:
                src, ext = build[obj]
            except KeyError:
                return
            command = " ".join([*getattr(self, "compiler_so", []), *cc_args, *extra_postargs])
            if not object_is_stale(obj, src, newest_header, command):
                return
            self._compile(obj, src, ext, cc_args, extra_postargs, pp_opts)
            record_command(obj, command)

        jobs = int(os.environ.get("NEARVM_BUILD_JOBS", "0")) or (os.cpu_count() or 2)
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            for _ in pool.map(one, objects):
                pass
        return objects

    compile._nearvm_parallel = True  # type: ignore[attr-defined]
    ccompiler.CCompiler.compile = compile


def make_ffibuilder():  # type: ignore[no-untyped-def]
    from cffi import FFI

    ffi = FFI()
    ffi.cdef(extract_cdef(HEADER.read_text()))
    sources = [str(p.relative_to(ROOT)) for p in core_sources() + asmjit_sources()]
    ffi.set_source(
        "nearvm._native",
        '#include "nearvm.h"\n',
        sources=sources,
        source_extension=".cpp",
        include_dirs=[str(CSRC / "include"), str(CSRC), str(ASMJIT_SRC)],
        define_macros=ASMJIT_DEFINES + [("NEARVM_VERSION", f'"{read_version()}"')],
        extra_compile_args=compile_args(),
        extra_link_args=link_args(),
        depends=build_depends(),
    )
    _install_parallel_compile()
    return ffi


ffibuilder = make_ffibuilder() if os.environ.get("NEARVM_FFIBUILDER_NO_INIT") is None else None

if __name__ == "__main__":
    assert ffibuilder is not None
    ffibuilder.compile(verbose=True)
