"""``python -m fuzz run|replay`` (see README.md in this folder)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .run import DEFAULT_FINDINGS, check_one, child_main, run_target
from .targets import TARGETS


def main(argv: list[str]) -> int:
    if argv and argv[0] == "_child":
        target, seed, start, end, deadline, progress, findings = argv[1:8]
        return child_main(target, int(seed), int(start), int(end), float(deadline), progress, findings)
    p = argparse.ArgumentParser(prog="python -m fuzz", description="nearvm's fuzz campaigns")
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="run targets with a fixed budget each")
    r.add_argument("--targets", default="all", help=f"comma-separated: {','.join(TARGETS)} (default all)")
    r.add_argument("--seed", type=int, default=1)
    budget = r.add_mutually_exclusive_group(required=True)
    budget.add_argument("--inputs", type=int, help="inputs per target")
    budget.add_argument("--seconds", type=float, help="seconds per target")
    r.add_argument("--findings", type=Path, default=DEFAULT_FINDINGS, help="where findings are written")
    rp = sub.add_parser("replay", help="run one input again, in this process")
    rp.add_argument("target", choices=sorted(TARGETS))
    rp.add_argument("seed", type=int)
    rp.add_argument("index", type=int)
    args = p.parse_args(argv)
    if args.cmd == "replay":
        what = check_one(args.target, args.seed, args.index)
        print(what or "ok")
        return 0 if what is None else 1
    names = list(TARGETS) if args.targets == "all" else args.targets.split(",")
    unknown = [n for n in names if n not in TARGETS]
    if unknown:
        p.error(f"unknown target(s): {', '.join(unknown)}")
    total = 0
    print(f"{'target':<14}{'inputs':>12}{'findings':>10}{'seconds':>10}{'inputs/s':>11}")
    for name in names:
        rep = run_target(name, args.seed, args.inputs, args.seconds, args.findings)
        rate = rep.tried / rep.seconds if rep.seconds else 0.0
        print(f"{name:<14}{rep.tried:>12}{len(rep.findings):>10}{rep.seconds:>10.1f}{rate:>11.1f}", flush=True)
        for f in rep.findings:
            print(f"  {f}")
        total += len(rep.findings)
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
