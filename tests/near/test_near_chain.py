"""The local chain end to end: the shared nearcore contracts through ``nearvm near deploy|call|view``,
persistent SQLite state across processes, atomic calls (even when the process is killed while
committing), the compiled-contract cache, exit codes and JSON output."""

from __future__ import annotations

import base64
import json
import os
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

from near_helpers import contract

import nearvm
from nearvm.near import NearChain

OP = 822_756
ROOT = Path(__file__).resolve().parents[2]


def _child_pythonpath() -> str:
    """PYTHONPATH for child interpreters: the nearvm under test (the tree's, an installed wheel's,
    a cross-built one), then this interpreter's PYTHONPATH."""
    pkg_dir = str(Path(nearvm.__file__).resolve().parents[1])
    return os.pathsep.join(filter(None, [pkg_dir, os.environ.get("PYTHONPATH")]))


def nearvm_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=_child_pythonpath())
    return subprocess.run([sys.executable, "-m", "nearvm", "near", *args], cwd=cwd, capture_output=True,
                          text=True, env=env, check=False, timeout=120)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_shared_contracts_end_to_end_across_processes(tmp_path: Path) -> None:
    tiny = tmp_path / "tiny.wasm"
    tiny.write_bytes(contract("tiny_contract_rs.wasm"))
    ts = tmp_path / "ts.wasm"
    ts.write_bytes(contract("test_contract_ts.wasm"))

    dep = nearvm_cli("deploy", "tiny.near", str(tiny), "--state", "s.db", cwd=tmp_path)
    assert dep.returncode == 0, dep.stderr
    assert "deployed 483 bytes to tiny.near" in dep.stdout
    dep2 = nearvm_cli("deploy", "ts.near", str(ts), "--state", "s.db", "--json", cwd=tmp_path)
    assert dep2.returncode == 0 and json.loads(dep2.stdout)["code_size"] == 13_229

    # benchmark_storage_8b(n=3, start=100): three storage writes and reads, returns 100+101+102
    call = nearvm_cli("call", "tiny.near", "benchmark_storage_8b", "--args-base64", b64(struct.pack("<QQ", 3, 100)),
                      "--state", "s.db", "--json", cwd=tmp_path)
    assert call.returncode == 0, call.stderr
    out = json.loads(call.stdout)
    assert out["status"] == "success"
    assert base64.b64decode(out["return_value"]["base64"]) == struct.pack("<Q", 303)
    assert sum(out["profile"].values()) == out["gas_burnt"] == out["gas_used"]
    # the instructions are the ones counted by hand in test_near_profile: (46n + 75) ops
    assert out["profile"]["wasm_instruction"] == (46 * 3 + 75) * OP
    assert len(out["state_changes"]) == 3

    w = nearvm_cli("call", "ts.near", "try_storage_write", "--args-base64", b64(b"key value"), "--state", "s.db",
                   cwd=tmp_path)
    assert w.returncode == 0, w.stderr
    assert '+ "key" = "value"' in w.stdout and "gas profile (burnt):" in w.stdout
    # a new process sees the state the previous ones committed
    r = nearvm_cli("view", "ts.near", "try_storage_read", "--args-base64", b64(b"key"), "--state", "s.db", "--json",
                   cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert base64.b64decode(json.loads(r.stdout)["return_value"]["base64"]) == b"value"

    p = nearvm_cli("call", "ts.near", "try_panic", "--state", "s.db", cwd=tmp_path)
    assert p.returncode == 1
    assert "HostError::GuestPanic" in p.stdout and "Traceback" not in p.stderr

    with NearChain(tmp_path / "s.db") as chain:
        assert chain.storage("ts.near") == {b"key": b"value"}
        assert chain.state.block_height == 2  # two committed calls (neither the view nor the panic commits)
        # both contracts were compiled once, in the first processes; this process loads them
        chain.call("tiny.near", "benchmark_storage_8b", struct.pack("<QQ", 1, 5))
        assert chain.cache.stats.compiles == 0 and chain.cache.stats.store_hits == 1


def test_cli_usage_errors_and_exit_codes(tmp_path: Path) -> None:
    missing = nearvm_cli("call", "ghost.near", "main", "--state", "s.db", cwd=tmp_path)
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    bad_args = nearvm_cli("call", "ghost.near", "main", "--args", "{not json", "--state", "s.db", cwd=tmp_path)
    assert bad_args.returncode == 2 and "--args is not valid JSON" in bad_args.stderr
    bad_gas = nearvm_cli("call", "ghost.near", "main", "--gas", "lots", cwd=tmp_path)
    assert bad_gas.returncode == 2 and "invalid gas" in bad_gas.stderr
    no_file = nearvm_cli("deploy", "x.near", "nope.wasm", "--state", "s.db", cwd=tmp_path)
    assert no_file.returncode == 2 and "cannot read nope.wasm" in no_file.stderr
    (tmp_path / "garbage.db").write_bytes(b"this is not sqlite" * 100)
    bad_db = nearvm_cli("view", "x.near", "m", "--state", "garbage.db", cwd=tmp_path)
    assert bad_db.returncode == 2 and "not a usable" in bad_db.stderr
    (tmp_path / "bad.wasm").write_bytes(b"\0asm\x01\0\0\0\x05")
    bad_code = nearvm_cli("deploy", "bad.near", "bad.wasm", "--state", "s.db", cwd=tmp_path)
    assert bad_code.returncode == 1 and "does not compile" in bad_code.stdout
    for proc in (missing, bad_args, bad_gas, no_file, bad_db, bad_code):
        assert "Traceback" not in proc.stderr


def test_call_killed_while_committing_changes_nothing(tmp_path: Path, families_wasm: bytes) -> None:
    db = tmp_path / "s.db"
    with NearChain(db) as chain:
        chain.deploy("fam.near", families_wasm)
        chain.call("fam.near", "kv_put", struct.pack("<I", 1) + b"ab")
        before = (chain.storage("fam.near"), chain.account("fam.near"), chain.state.block_height)
    # A process whose call is killed (SIGKILL) after the first row of its commit reached the file.
    script = textwrap.dedent(f"""
        import os, signal, struct
        from nearvm.near import NearChain
        from nearvm.near.state import ChainState
        real_set = ChainState.set
        def set_then_die(self, *args):
            real_set(self, *args)
            os.kill(os.getpid(), signal.SIGKILL)
        ChainState.set = set_then_die
        chain = NearChain({str(db)!r})
        chain.call("fam.near", "kv_put", struct.pack("<I", 1) + b"aZZZ")
    """)
    env = dict(os.environ, PYTHONPATH=_child_pythonpath())
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, check=False, timeout=120)
    assert proc.returncode == -9, proc.stderr
    with NearChain(db) as chain:
        assert (chain.storage("fam.near"), chain.account("fam.near"), chain.state.block_height) == before
        assert chain.call("fam.near", "kv_get", b"a").return_data == b"b"


def test_nearvm_run_near_provides_the_host_memory(tmp_path: Path) -> None:
    from wasm_text import wat2wasm

    mod = tmp_path / "m.wasm"
    mod.write_bytes(wat2wasm('(module (import "env" "block_index" (func $bi (result i64))) (memory 1)'
                             ' (func (export "add") (param i32 i32) (result i32)'
                             '   (i32.store (i32.const 65536) (local.get 0)) (i32.add (i32.load (i32.const 65536))'
                             '   (local.get 1)))'
                             ' (func (export "host") (drop (call $bi))))'))
    env = dict(os.environ, PYTHONPATH=_child_pythonpath())
    run = [sys.executable, "-m", "nearvm", "run", "--near", "--gas-limit", "1000000000", str(mod), "--invoke"]
    ok = subprocess.run([*run, "add", "2", "3"], capture_output=True, text=True, env=env, check=False, timeout=120)
    assert ok.returncode == 0 and ok.stdout.strip() == "5", ok.stderr
    host = subprocess.run([*run, "host"], capture_output=True, text=True, env=env, check=False, timeout=120)
    assert host.returncode == 1 and "nearvm near call" in host.stderr and "Traceback" not in host.stderr


def test_two_processes_writing_the_same_account_lose_nothing(tmp_path: Path, families_wasm: bytes) -> None:
    db = tmp_path / "s.db"
    with NearChain(db) as chain:
        chain.deploy("fam.near", families_wasm)
        base_usage = chain.account("fam.near").storage_usage
    script = textwrap.dedent(f"""
        import struct, sys
        from nearvm.near import NearChain
        with NearChain({str(db)!r}) as chain:
            for i in range(15):
                key = f"{{sys.argv[1]}}{{i:02d}}".encode()
                assert chain.call("fam.near", "kv_put", struct.pack("<I", len(key)) + key + b"v").ok
    """)
    env = dict(os.environ, PYTHONPATH=_child_pythonpath())
    procs = [subprocess.Popen([sys.executable, "-c", script, tag], env=env, stderr=subprocess.PIPE)
             for tag in ("a", "b")]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    with NearChain(db) as chain:
        assert len(chain.storage("fam.near")) == 30
        # every call's storage-usage update survived: 30 records of a 3-byte key, a 1-byte value, 40 bytes
        assert chain.account("fam.near").storage_usage == base_usage + 30 * (3 + 1 + 40)
        assert chain.state.block_height == 30
