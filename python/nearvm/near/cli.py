"""``nearvm near deploy|call|view``: run NEAR contracts against a local SQLite state file.

Exit codes: 0 success, 1 the contract failed (or does not compile), 2 a usage error (bad
arguments, unknown account, unreadable file). ``--json`` prints one JSON document on stdout.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import re
import sys
from collections.abc import Sequence
from typing import Any

from ..errors import NearVMError
from .errors import NearUsageError
from .runtime import DEFAULT_GAS, NearChain, Outcome

EXIT_OK = 0
EXIT_CONTRACT_FAILURE = 1
EXIT_USAGE = 2

_GAS_UNITS = {"": 1, "gas": 1, "ggas": 10**9, "g": 10**9, "tgas": 10**12, "t": 10**12, "pgas": 10**15, "p": 10**15}


def _gas(text: str) -> int:
    m = re.fullmatch(r"\s*(\d+)\s*([a-zA-Z]*)\s*", text)
    if m is None or m.group(2).lower() not in _GAS_UNITS:
        raise argparse.ArgumentTypeError(f"invalid gas {text!r} (an integer, optionally with Ggas/Tgas/Pgas)")
    return int(m.group(1)) * _GAS_UNITS[m.group(2).lower()]


def _yocto(text: str) -> int:
    m = re.fullmatch(r"\s*(\d+)(?:\.(\d{1,24}))?\s*(NEAR|near|yocto)?\s*", text)
    if m is None or (m.group(2) and (m.group(3) or "").lower() != "near"):
        raise argparse.ArgumentTypeError(f"invalid amount {text!r} (yoctoNEAR as an integer, or e.g. 1.5NEAR)")
    if (m.group(3) or "").lower() == "near":
        frac = (m.group(2) or "").ljust(24, "0")
        return int(m.group(1)) * 10**24 + int(frac)
    return int(m.group(1))


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="nearvm near", description="Run NEAR contracts locally with NEAR's gas, "
                                "errors and limits; state lives in a SQLite file.")
    sub = p.add_subparsers(dest="cmd", metavar="COMMAND", required=True)

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--state", default="near-state.db", help="SQLite state file (default: near-state.db)")
        sp.add_argument("--json", action="store_true", help="print one JSON document")

    d = sub.add_parser("deploy", help="deploy a contract to an account (created if needed)")
    d.add_argument("account")
    d.add_argument("wasm", help="contract .wasm file")
    common(d)

    for name, helptext in (("call", "call a method (may change state)"), ("view", "call a view method")):
        c = sub.add_parser(name, help=helptext)
        c.add_argument("account")
        c.add_argument("method")
        g = c.add_mutually_exclusive_group()
        g.add_argument("--args", help="arguments as JSON text (passed to the contract as bytes)")
        g.add_argument("--args-base64", help="arguments as base64")
        if name == "call":
            c.add_argument("--gas", type=_gas, default=DEFAULT_GAS, help="prepaid gas (default 300Tgas)")
            c.add_argument("--deposit", type=_yocto, default=0, help="attached deposit in yoctoNEAR (or 1.5NEAR)")
            c.add_argument("--signer", default="alice.near", help="signer account id (default alice.near)")
        common(c)
    return p


def _args_bytes(ns: argparse.Namespace) -> bytes:
    if ns.args_base64 is not None:
        try:
            return base64.b64decode(ns.args_base64, validate=True)
        except binascii.Error as e:
            raise NearUsageError(f"--args-base64 is not valid base64: {e}") from None
    if ns.args is not None:
        try:
            json.loads(ns.args)
        except ValueError as e:
            raise NearUsageError(f"--args is not valid JSON: {e} (use --args-base64 for raw bytes)") from None
        return ns.args.encode()
    return b""


def _show_bytes(b: bytes | None) -> str:
    if b is None:
        return "(none)"
    try:
        text = b.decode("utf-8")
        if text.isprintable():
            return json.dumps(text)
    except UnicodeDecodeError:
        pass
    return "0x" + b.hex()


def _print_outcome(o: Outcome) -> None:
    out = sys.stdout.write
    out(f"status: {'success' if o.ok else 'failure'}{' (view)' if o.view else ''}\n")
    if o.error is not None:
        out(f"error: {o.error}\n")
    if o.return_data is not None:
        try:
            shown = json.dumps(json.loads(o.return_data.decode("utf-8")))
        except (UnicodeDecodeError, ValueError):
            shown = "0x" + o.return_data.hex()
        out(f"return: {shown}\n")
    elif o.return_promise is not None:
        out(f"return: the result of receipt #{o.return_promise}\n")
    for line in o.logs:
        out(f"log: {line}\n")
    out(f"gas burnt: {o.gas_burnt:,} ({o.gas_burnt / 1e12:.4f} Tgas)\n")
    out(f"gas used:  {o.gas_used:,} ({o.gas_used / 1e12:.4f} Tgas)\n")
    out("gas profile (burnt):\n")
    width = max(len(k) for k in o.profile)
    for k, v in o.profile.items():
        if v:
            out(f"  {k:<{width}}  {v:>22,}\n")
    out(f"  {'total':<{width}}  {sum(o.profile.values()):>22,}\n")
    if o.state_changes:
        out("state changes:\n")
        for key, old, new in o.state_changes:
            if old is None:
                out(f"  + {_show_bytes(key)} = {_show_bytes(new)}\n")
            elif new is None:
                out(f"  - {_show_bytes(key)} (was {_show_bytes(old)})\n")
            else:
                out(f"  ~ {_show_bytes(key)}: {_show_bytes(old)} -> {_show_bytes(new)}\n")
    for i, r in enumerate(o.receipts):
        deps = f" after {r.depends_on}" if r.depends_on else ""
        out(f"receipt #{i} -> {r.receiver_id}{deps}: {json.dumps([a.to_json() for a in r.actions])}\n")


def main(argv: Sequence[str] | None = None) -> int:
    ns = _parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        chain = NearChain(ns.state)
    except (NearVMError, OSError) as e:
        print(f"nearvm near: {e}", file=sys.stderr)
        return EXIT_USAGE
    try:
        result: dict[str, Any]
        if ns.cmd == "deploy":
            try:
                with open(ns.wasm, "rb") as f:
                    code = f.read()
            except OSError as e:
                raise NearUsageError(f"cannot read {ns.wasm}: {e.strerror}") from None
            dep = chain.deploy(ns.account, code)
            result = dep.to_json()
            if ns.json:
                print(json.dumps(result, indent=2))
            else:
                print(f"deployed {dep.code_size} bytes to {dep.account_id} (sha256 {dep.code_hash.hex()}), "
                      f"storage usage {dep.storage_usage} bytes")
                if dep.compile_error is not None:
                    print(f"the contract does not compile; every call will fail with: {dep.compile_error}")
            return EXIT_OK if dep.compile_error is None else EXIT_CONTRACT_FAILURE
        args = _args_bytes(ns)
        if ns.cmd == "call":
            outcome = chain.call(ns.account, ns.method, args, gas=ns.gas, deposit=ns.deposit, signer=ns.signer)
        else:
            outcome = chain.view(ns.account, ns.method, args)
        if ns.json:
            print(json.dumps(outcome.to_json(), indent=2))
        else:
            _print_outcome(outcome)
        return EXIT_OK if outcome.ok else EXIT_CONTRACT_FAILURE
    except NearUsageError as e:
        print(f"nearvm near: {e}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        chain.close()
