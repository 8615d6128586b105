"""The fuzz driver: runs a target's inputs in a child process with a fixed budget, survives and
records crashes, and reports how many inputs each target tried."""

from __future__ import annotations

import json
import mmap
import os
import struct
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from .targets import TARGETS, Finding

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FINDINGS = ROOT / "fuzz" / "findings"


@dataclass
class Report:
    target: str
    tried: int = 0
    findings: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _record(findings_dir: Path, target: str, seed: int, index: int, data: bytes, what: str) -> str:
    findings_dir.mkdir(parents=True, exist_ok=True)
    stem = findings_dir / f"{target}-{seed}-{index}"
    stem.with_suffix(".bin").write_bytes(data)
    stem.with_suffix(".txt").write_text(f"{what}\nreplay: python -m fuzz replay {target} {seed} {index}\n")
    return f"{target} seed {seed} index {index}: {what.splitlines()[0] if what else '?'}"


def check_one(target: str, seed: int, index: int) -> str | None:
    """Runs one input in this process: None if it behaved, else what went wrong."""
    t = TARGETS[target]
    data = t.make_input(seed, index)
    try:
        t.check(data)
    except Finding as e:
        return f"finding: {e}"
    except Exception:  # noqa: BLE001 - anything else escaping a check is a finding too
        return "unexpected exception:\n" + traceback.format_exc()
    return None


def run_in_process(target: str, seed: int, inputs: int, findings_dir: Path | None = None) -> Report:
    """The smoke-test form: ``inputs`` inputs in this process (no crash protection)."""
    report = Report(target)
    t0 = time.monotonic()
    TARGETS[target].warm_up()
    for index in range(inputs):
        what = check_one(target, seed, index)
        report.tried += 1
        if what is not None:
            data = TARGETS[target].make_input(seed, index)
            report.findings.append(_record(findings_dir or DEFAULT_FINDINGS, target, seed, index, data, what))
    report.seconds = time.monotonic() - t0
    return report


def hang_seconds() -> float:
    """Seconds one input may take before the parent calls it a hang (every target's inputs take
    milliseconds; smith modules are fuel-bounded). NEARVM_FUZZ_HANG_SECONDS overrides 60."""
    return float(os.environ.get("NEARVM_FUZZ_HANG_SECONDS", "60"))


def child_main(target: str, seed: int, start: int, end: int, deadline: float, progress: str,
               findings_dir: str) -> int:
    """Runs inputs [start, end) until the wall-clock deadline; the index being tried is kept in
    the ``progress`` file so the parent can name the input of a crash or a hang."""
    import faulthandler

    faulthandler.enable()
    t = TARGETS[target]
    t.warm_up()
    fd = os.open(progress, os.O_RDWR)
    mm = mmap.mmap(fd, 8)
    tried = 0
    found: list[str] = []
    index = start
    # The driver's own test: die on this input as native code would (tests/fuzz).
    crash_at = int(os.environ.get("NEARVM_FUZZ_SELFTEST_CRASH_AT", "-1"))
    hang_at = int(os.environ.get("NEARVM_FUZZ_SELFTEST_HANG_AT", "-1"))
    hang = hang_seconds()
    for index in range(start, end):
        if time.time() >= deadline:
            break
        struct.pack_into("<q", mm, 0, index)
        # Shortly before the parent gives up on this input, the stack of every thread goes to
        # stderr, which becomes part of the finding.
        faulthandler.dump_traceback_later(max(hang - 2.0, 0.5), exit=False)
        if index == crash_at:
            os.abort()
        if index == hang_at:
            while True:
                time.sleep(1.0)
        what = check_one(target, seed, index)
        faulthandler.cancel_dump_traceback_later()
        tried += 1
        if what is not None:
            found.append(_record(Path(findings_dir), target, seed, index, t.make_input(seed, index), what))
    else:
        index = end
    print(json.dumps({"tried": tried, "findings": found, "next": index}), flush=True)
    return 0


@dataclass
class _ChildResult:
    returncode: int
    stdout: str
    stderr: str
    hung: bool


def _run_watched(cmd: list[str], progress: str, start: int) -> _ChildResult:
    """Runs a campaign child; kills it when the input it is on has not changed for
    hang_seconds() (five times that for the warm-up before its first input)."""
    hang = hang_seconds()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=err, text=True)
        last, since, hung = b"", time.monotonic(), False
        while proc.poll() is None:
            time.sleep(0.2)
            with open(progress, "rb") as f:
                index = f.read(8)
            if index != last:
                last, since = index, time.monotonic()
            elif time.monotonic() - since > (hang if struct.unpack("<q", index)[0] >= start else 5 * hang):
                hung = True
                proc.kill()
                proc.wait()
                break
        out.seek(0)
        err.seek(0)
        return _ChildResult(proc.returncode, out.read(), err.read(), hung)


def run_target(target: str, seed: int, inputs: int | None, seconds: float | None,
               findings_dir: Path = DEFAULT_FINDINGS) -> Report:
    """Runs ``target`` for ``inputs`` inputs or ``seconds`` seconds in child processes."""
    report = Report(target)
    t0 = time.time()
    deadline = t0 + seconds if seconds is not None else float("inf")
    end = inputs if inputs is not None else 1 << 62
    start = 0
    with tempfile.NamedTemporaryFile(prefix="nearvm-fuzz-", delete=False) as f:
        f.write(b"\xff" * 8)
        progress = f.name
    try:
        while start < end and time.time() < deadline:
            with open(progress, "r+b") as f:
                f.write(struct.pack("<q", start - 1))
            cmd = [sys.executable, "-m", "fuzz", "_child", target, str(seed), str(start), str(end),
                   repr(min(deadline, 1e18)), progress, str(findings_dir)]
            proc = _run_watched(cmd, progress, start)
            lines = proc.stdout.strip().splitlines()
            summary = None
            if proc.returncode == 0 and lines:
                try:
                    summary = json.loads(lines[-1])
                except ValueError:
                    summary = None
            if summary is not None:
                report.tried += summary["tried"]
                report.findings += summary["findings"]
                start = summary["next"]
                if start >= end or time.time() >= deadline:
                    break
                continue
            # The child died (a signal in native code, or an abort) or was killed for a hang: the
            # input it was on is a finding.
            with open(progress, "rb") as f:
                index = struct.unpack("<q", f.read(8))[0]
            if index < start:  # died before its first input: nothing to blame, give up
                report.findings.append(f"{target}: the child failed before any input "
                                       f"(exit {proc.returncode}): {proc.stderr[-2000:]}")
                break
            report.tried += index - start + 1
            data = TARGETS[target].make_input(seed, index)
            what = (f"hang (no progress for {hang_seconds():.0f} s)" if proc.hung
                    else f"crash (exit {proc.returncode})")
            report.findings.append(_record(findings_dir, target, seed, index, data,
                                           f"{what}:\n{proc.stderr[-4000:]}"))
            start = index + 1
    finally:
        os.unlink(progress)
    report.seconds = time.time() - t0
    return report
