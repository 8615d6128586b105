"""The ``nearvm`` command line (also ``python -m nearvm``).

Subcommands: ``run``, ``compile``, ``inspect`` (:mod:`nearvm.tools`) and ``wast``
(:mod:`nearvm.wast`). A user error never shows a Python traceback: it ends with a message on stderr
and the exit code of its kind (:class:`ExitCode`). A wasm trap also prints the wasm backtrace.
"""

from __future__ import annotations

import argparse
import enum
import importlib
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from typing import NoReturn

from ._version import __version__

__all__ = ["CliError", "ExitCode", "ThrowingArgumentParser", "exit_code_of", "main"]


class ExitCode(enum.IntEnum):
    """The exit codes of the ``nearvm`` command (one per kind of outcome)."""

    #: Success.
    OK = 0
    #: Wasm trapped (other than out of gas or interrupted); ``wast``: a script had failures.
    TRAP = 1
    #: Bad command line: unknown option, malformed argument, no such export, wrong argument count.
    USAGE = 2
    #: The module is not valid: malformed binary, invalid module, malformed WebAssembly text.
    COMPILE = 3
    #: An artifact is corrupted, foreign, compiled with other options, or signed with another key.
    ARTIFACT = 4
    #: Imports are missing or of the wrong type.
    LINK = 5
    #: The gas limit was reached.
    OUT_OF_GAS = 6
    #: A file could not be read or written.
    IO = 7
    #: A helper program (``wasm-tools``) is not installed.
    MISSING_TOOL = 8
    #: A bug in nearvm (the message asks for a report and the traceback follows).
    INTERNAL = 70
    #: Stopped by Ctrl-C or ``--timeout``.
    INTERRUPTED = 130


class CliError(Exception):
    """A user error the CLI reports with ``message`` and exits with ``code``."""

    def __init__(self, code: ExitCode, message: str) -> None:
        self.code = code
        super().__init__(message)


class ThrowingArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are :class:`CliError` (ExitCode.USAGE), not ``sys.exit(2)``."""

    def error(self, message: str) -> NoReturn:
        """Raise the parse error as a usage error naming the command's ``--help``."""
        raise CliError(ExitCode.USAGE, f"{message} (see {self.prog} --help)")


def exit_code_of(exc: BaseException) -> ExitCode:
    """The exit code for an exception that ends a command."""
    from .errors import (
        ArtifactError,
        CompileError,
        InstantiationError,
        Interrupted,
        LinkError,
        OutOfGas,
        ToolNotFoundError,
        Trap,
    )

    if isinstance(exc, CliError):
        return exc.code
    for cls, code in ((Interrupted, ExitCode.INTERRUPTED), (OutOfGas, ExitCode.OUT_OF_GAS), (Trap, ExitCode.TRAP),
                      (CompileError, ExitCode.COMPILE), (ArtifactError, ExitCode.ARTIFACT),
                      (LinkError, ExitCode.LINK), (InstantiationError, ExitCode.LINK),
                      (ToolNotFoundError, ExitCode.MISSING_TOOL), (OSError, ExitCode.IO),
                      (KeyboardInterrupt, ExitCode.INTERRUPTED)):
        if isinstance(exc, cls):
            return code
    return ExitCode.INTERNAL


def _message(exc: BaseException) -> str:
    from .errors import NearVMError, Trap

    if isinstance(exc, Trap):
        return f"wasm trap: {exc}"
    if isinstance(exc, CliError):
        return str(exc)
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.filename}: {exc.strerror or exc}"
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    if isinstance(exc, NearVMError):
        return f"{type(exc).__name__}: {exc}"
    return str(exc)


#: subcommand -> (module, function taking (argv) -> exit code, help text)
_SUBCOMMANDS: dict[str, tuple[str, str, str]] = {
    "run": ("nearvm.tools", "main_run", "instantiate a module or artifact and call an export: --invoke NAME ARGS..."),
    "compile": ("nearvm.tools", "main_compile", "compile a module (.wasm or .wat) to an artifact (.nvm)"),
    "inspect": ("nearvm.tools", "main_inspect", "list a module's imports and exports with their types"),
    "wast": ("nearvm.wast", "main", "run WebAssembly spec-test scripts (.wast) with a pass/fail summary"),
    "near": ("nearvm.near.cli", "main", "run NEAR contracts locally: deploy | call | view (SQLite state)"),
}


def _load(name: str) -> Callable[[list[str]], int]:
    module_name, func_name, _ = _SUBCOMMANDS[name]
    func: Callable[[list[str]], int] = getattr(importlib.import_module(module_name), func_name)
    return func


def _parser() -> argparse.ArgumentParser:
    parser = ThrowingArgumentParser(
        prog="nearvm",
        description="Deterministic, gas-metered WebAssembly runtime for blockchain validators.",
        epilog="Exit codes: " + "; ".join(f"{c.value} {c.name.lower().replace('_', ' ')}" for c in ExitCode) + ".",
    )
    parser.add_argument("--version", action="version", version=f"nearvm {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, _, help_text) in _SUBCOMMANDS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``nearvm`` command; returns its exit code (:class:`ExitCode`)."""
    if argv is None and threading.current_thread() is threading.main_thread():
        # The program itself: Ctrl-C must reach it even when started with SIGINT ignored (as a
        # shell does for background jobs), since it is how a user stops a runaway module.
        signal.signal(signal.SIGINT, signal.default_int_handler)
    args = list(sys.argv[1:] if argv is None else argv)
    prog = "nearvm"
    try:
        if not args:
            _parser().print_help()
            return int(ExitCode.USAGE)
        if args[0] in _SUBCOMMANDS:
            prog = f"nearvm {args[0]}"
            return int(_load(args[0])(args[1:]) or 0)
        _parser().parse_args(args)  # --version / --help exit here; anything else is a usage error
        raise CliError(ExitCode.USAGE, f"unknown command {args[0]!r} (see nearvm --help)")
    except SystemExit as e:  # --help / --version
        return int(e.code or 0) if isinstance(e.code, int) or e.code is None else int(ExitCode.USAGE)
    except BaseException as e:  # noqa: BLE001 - every outcome becomes a message and an exit code
        code = exit_code_of(e)
        if code is ExitCode.INTERNAL:
            print(f"{prog}: internal error (please report it): {type(e).__name__}: {e}", file=sys.stderr)
            traceback.print_exc()
        else:
            print(f"{prog}: {_message(e)}", file=sys.stderr)
        return int(code)


if __name__ == "__main__":
    sys.exit(main())
