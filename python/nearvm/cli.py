"""The ``nearvm`` command line (also ``python -m nearvm``).

Subcommands are registered by the layer that implements them; a subcommand whose layer is not
available in this build says so instead of failing obscurely.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

from ._version import __version__

#: subcommand -> (module, function taking (argv) -> exit code, help text)
_SUBCOMMANDS: dict[str, tuple[str, str, str]] = {
    "wast": ("nearvm.wast", "main", "run WebAssembly spec-test scripts (.wast) with a pass/fail summary"),
    "run": ("nearvm.tools", "main_run", "run a module or artifact: --invoke NAME ARGS..."),
    "inspect": ("nearvm.tools", "main_inspect", "list a module's imports and exports"),
    "compile": ("nearvm.tools", "main_compile", "compile a module to an artifact (.nvm)"),
    "near": ("nearvm.near.cli", "main", "run NEAR contracts locally: deploy | call | view (SQLite state)"),
    "bench": ("benchmarks.__main__", "main", "run the benchmark harness against the peers"),
}


def _load(name: str) -> Callable[[list[str]], int] | None:
    module_name, func_name, _ = _SUBCOMMANDS[name]
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    func = getattr(module, func_name, None)
    return func if callable(func) else None


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(
        prog="nearvm",
        description="Deterministic, gas-metered WebAssembly runtime for blockchain validators.",
    )
    parser.add_argument("--version", action="version", version=f"nearvm {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, _, help_text) in _SUBCOMMANDS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    if not args:
        parser.print_help()
        return 2
    if args[0] in _SUBCOMMANDS:
        func = _load(args[0])
        if func is None:
            print(f"nearvm: '{args[0]}' is not available in this build", file=sys.stderr)
            return 2
        return int(func(args[1:]) or 0)
    parser.parse_args(args)  # handles --version / --help / unknown commands
    return 2


if __name__ == "__main__":
    sys.exit(main())
