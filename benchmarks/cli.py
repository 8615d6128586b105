"""``python -m benchmarks [run] [--quick] ...`` and ``python -m benchmarks compare A.json B.json``."""

from __future__ import annotations

import argparse
import datetime as _dt
import sys
from pathlib import Path

from . import peers, report, runner, wasmgen
from .workloads import WORKLOADS

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def _csv(s: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in s.split(",") if x.strip())


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in ("run", "compare", "-h", "--help"):
        argv.insert(0, "run")
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description="nearvm benchmark harness")
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="build the workloads, run every peer, write a report (the default)")
    r.add_argument("--quick", action="store_true", help="few repetitions, small sizes (< 3 minutes)")
    r.add_argument("--out", type=Path, default=None, help="output directory (default benchmarks/results/<timestamp>)")
    r.add_argument("--peers", type=_csv, default=peers.PEERS, help=f"subset of {','.join(peers.PEERS)}")
    r.add_argument("--workloads", type=_csv, default=tuple(w.name for w in WORKLOADS),
                   help=f"subset of {','.join(w.name for w in WORKLOADS)}")
    r.add_argument("--shapes", type=_csv, default=wasmgen.SHAPES, help=f"subset of {','.join(wasmgen.SHAPES)}")
    r.add_argument("--no-scaling", action="store_true", help="skip the compile-time scaling runs")
    c = sub.add_parser("compare", help="compare two results.json files")
    c.add_argument("a", type=Path)
    c.add_argument("b", type=Path)
    c.add_argument("--out", type=Path, default=None, help="also write the comparison to this Markdown file")
    args = ap.parse_args(argv)

    if args.cmd == "compare":
        text = report.compare(args.a, args.b)
        sys.stdout.write(text)
        if args.out:
            args.out.write_text(text)
        return 0

    unknown = [p for p in args.peers if p not in peers.PEERS]
    unknown += [w for w in args.workloads if w not in {x.name for x in WORKLOADS}]
    unknown += [s for s in args.shapes if s not in wasmgen.SHAPES]
    if unknown:
        ap.error(f"unknown name(s): {', '.join(unknown)}")
    plan = runner.Plan.make(args.quick)
    plan.peers = args.peers
    plan.workloads = args.workloads
    plan.shapes = args.shapes
    plan.scaling = not args.no_scaling
    data = runner.Run(plan).execute()
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out_dir = args.out or RESULTS_DIR / f"{stamp}{'-quick' if args.quick else ''}"
    md = report.save(data, out_dir)
    sys.stdout.write(md.read_text())
    sys.stderr.write(f"\nwrote {out_dir}/results.json, report.md and plots\n")
    return 0
