"""The artifact container: round trip, reproducibility, header checks, HMAC, bounds checks."""

from __future__ import annotations

import dataclasses
import os
import struct
import subprocess
import sys

import pytest
from artifact_helpers import SMALL_WAT, load, make, reseal, wat2wasm

from nearvm import ArtifactError, TrapCode
from nearvm import artifact as A
from nearvm.config import Config, GasSchedule
from nearvm.wasm import translate


def _strip(info):
    info = dataclasses.replace(info)
    info.program = b""
    info.customs = []
    return info


NEAR_WAT = SMALL_WAT.replace('(import "env" "g" (global $ig i32))', "")


@pytest.mark.parametrize("name", ["default", "near", "gas"])
def test_round_trip(name: str) -> None:
    cfg = {"default": Config(), "near": Config.near(), "gas": Config(gas=GasSchedule.uniform(3))}[name]
    text = NEAR_WAT if name == "near" else SMALL_WAT
    blob, info, cc, meta = make(cfg, text)
    art = load(blob, cfg)
    assert art.info == _strip(info)
    assert art.compiled == cc
    assert art.exec_meta == meta
    assert art.exec_meta.gas_enabled == (cfg.gas is not None)
    assert len(art.exec_meta.frame_costs) == len(cc.func_offsets)
    assert art.header.nearvm_version == A.__version__
    assert art.header.code_hash == A.code_hash_of(wat2wasm(text))
    assert art.header.target == A.host_target(cfg)


def test_reproducible_in_process_and_across_processes() -> None:
    a = make()[0]
    b = make()[0]
    assert a == b
    # The child imports the nearvm this process runs (the tree's, or a built/cross-built one).
    pkg_dir = os.path.dirname(os.path.dirname(os.path.abspath(A.__file__)))
    code = (f"import sys; sys.path[:0] = ['tests/artifact', 'tests', {pkg_dir!r}]\n"
            "from artifact_helpers import make\n"
            "sys.stdout.buffer.write(make()[0])\n")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    for seed in ("1", "2"):
        out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, check=True,
                             env={**os.environ, "PYTHONHASHSEED": seed}).stdout
        assert out == a


def test_empty_module() -> None:
    blob, info, cc, _ = make(text="(module)")
    art = load(blob)
    assert art.compiled.code == b"" and art.info.exports == []


def test_many_minimal_items() -> None:
    """Counts are checked against the smallest encoding of each item (no false rejections)."""
    text = ("(module (type (func)) " + "(elem funcref) " * 70 + '(data "") ' * 70 + "(memory 0) "
            + "(global i32 (i32.const 0)) " * 70 + '(func (export "") ) ' + "(table 0 funcref))")
    blob, info, cc, _ = make(text=text)
    art = load(blob)
    assert len(art.info.elems) == 70 and len(art.info.datas) == 70 and len(art.info.global_inits) == 70


def test_every_truncation_is_rejected() -> None:
    blob = make()[0]
    for n in range(len(blob)):
        with pytest.raises(ArtifactError):
            load(blob[:n])
    with pytest.raises(ArtifactError):
        load(blob + b"\0")


def test_every_bit_flip_is_rejected() -> None:
    blob = make()[0]
    for i in range(len(blob)):
        for bit in range(8):
            bad = bytearray(blob)
            bad[i] ^= 1 << bit
            with pytest.raises(ArtifactError):
                load(bytes(bad))


def test_header_mismatches() -> None:
    cfg = Config()
    blob = make(cfg)[0]
    with pytest.raises(ArtifactError, match="magic"):
        load(b"\0asm" + blob[4:])
    with pytest.raises(ArtifactError, match="format version"):
        load(reseal(blob, format_version=A.FORMAT_VERSION + 1))
    with pytest.raises(ArtifactError, match="nearvm 9.9.9"):
        load(reseal(blob, nearvm_version="9.9.9"))
    assert load(reseal(blob, nearvm_version="9.9.9"), nearvm_version=None).header.nearvm_version == "9.9.9"
    with pytest.raises(ArtifactError, match="different Config"):
        load(blob, Config.near())
    with pytest.raises(ArtifactError, match="different Config"):
        load(blob, Config(stack_budget=1024))
    with pytest.raises(ArtifactError, match="feature set"):
        load(reseal(blob, features=0))


def _foreign_targets() -> list[A.Target]:
    host = A.host_target()
    out = []
    other_isa = "aarch64" if host.isa == "x86_64" else "x86_64"
    out.append(A.Target(other_isa, host.os_abi, A.DEFAULT_BASELINE[other_isa]))
    other_abi = "win64" if host.os_abi != "win64" else "sysv"
    out.append(A.Target(host.isa, other_abi, host.baseline))
    return out


@pytest.mark.parametrize("target", _foreign_targets(), ids=lambda t: f"{t.isa}-{t.os_abi}")
def test_foreign_target_rejected(target: A.Target) -> None:
    blob = make(target=target)[0]
    with pytest.raises(ArtifactError, match="artifact for"):
        load(blob)
    # ...but it is a well-formed artifact for that target.
    assert load(blob, target=target, cpu_features=A.BASELINES[target.baseline][2]).info.exports


def test_cpu_features_and_baseline() -> None:
    host = A.host_target()
    blob = make()[0]
    with pytest.raises(ArtifactError, match="lacks features"):
        load(blob, cpu_features=[])
    needed = A.BASELINES[host.baseline][2]
    assert load(blob, cpu_features=needed)
    with pytest.raises(ArtifactError, match=needed[-1]):
        load(blob, cpu_features=needed[:-1])
    if host.isa == "x86_64":
        v3 = A.Target("x86_64", host.os_abi, "x86-64-v3")
        blob3 = make(target=v3)[0]
        with pytest.raises(ArtifactError, match="avx2"):
            load(blob3, cpu_features=A.BASELINES["x86-64-v2"][2])
        with pytest.raises(ArtifactError, match="baseline"):
            load(blob3, target=host, cpu_features=A.BASELINES["x86-64-v3"][2])


def test_host_cpu_probe() -> None:
    feats = A.host_cpu_features()
    host = A.host_target()
    assert set(A.BASELINES[host.baseline][2]) <= feats  # this library needs its baseline anyway
    assert load(make()[0])  # default probe accepts our own artifacts


def test_hmac() -> None:
    key = b"engine secret"
    signed = make(key=key)[0]
    unsigned = make()[0]
    assert load(signed, key=key).info.exports
    assert load(signed).info.exports  # the checksum alone still covers it
    with pytest.raises(ArtifactError, match="HMAC"):
        load(signed, key=b"other key")
    with pytest.raises(ArtifactError, match="HMAC"):
        load(unsigned, key=key)
    # Tampered and re-checksummed but not re-signed: the checksum passes, the HMAC does not.
    secs = A.sections_of(signed)
    secs[A.SEC_CODE] = b"\xcc" + secs[A.SEC_CODE][1:]
    forged = reseal(signed, secs, key=b"attacker key")
    with pytest.raises(ArtifactError, match="HMAC"):
        load(forged, key=key)
    for n in range(0, len(signed), 7):
        with pytest.raises(ArtifactError):
            load(signed[:n], key=key)


def test_hmac_checked_before_parsing() -> None:
    # Garbage of any shape is an HMAC failure when a key is set: nothing else is looked at.
    for junk in (b"", b"x" * 10, A.MAGIC + b"\xff" * 300):
        with pytest.raises(ArtifactError):
            load(junk, key=b"k")
    with pytest.raises(ArtifactError, match="HMAC"):
        load(A.MAGIC + b"\xff" * 300, key=b"k")


# ---- bounds checks behind a valid checksum -----------------------------------------------------

def _edit(section: int, fn) -> bytes:
    blob = make()[0]
    secs = A.sections_of(blob)
    secs[section] = fn(secs[section])
    return reseal(blob, secs)


def _funcs(nimp: int, offsets: list[int], sizes: list[int]) -> bytes:
    return struct.pack(f"<II{len(offsets)}II{len(sizes)}I", nimp, len(offsets), *offsets, len(sizes), *sizes)


def test_function_table_checks() -> None:
    blob, info, cc, _ = make()
    n = len(cc.func_offsets)
    nimp = cc.n_imported_funcs
    code_len = len(cc.code)
    cases = {
        "overlap": _funcs(nimp, [0, 16, 64], [32, 32, 32]),
        "out of range": _funcs(nimp, [0, 32, code_len - 8], [32, 32, 32]),
        "huge offset": _funcs(nimp, [0, 32, 0xFFFFFFF0], [32, 32, 32]),
        "empty function": _funcs(nimp, [0, 32, 64], [32, 0, 32]),
        "wrong count": _funcs(nimp, [0, 32], [32, 32]),
        "wrong imports": _funcs(nimp + 1, [0, 32, 64], [32, 32, 32]),
        "huge count": struct.pack("<II", nimp, 0xFFFFFFFF),
        "trailing": _funcs(nimp, list(cc.func_offsets), list(cc.func_sizes)) + b"\0",
    }
    assert n == 3
    for name, payload in cases.items():
        bad = reseal(blob, {**A.sections_of(blob), A.SEC_FUNCS: payload})
        with pytest.raises(ArtifactError):
            load(bad)
        assert name


def test_trap_site_checks() -> None:
    blob, info, cc, _ = make()
    nimp = cc.n_imported_funcs

    def sites(*s: tuple[int, int, int, int]) -> bytes:
        return struct.pack("<I", len(s)) + b"".join(struct.pack("<IIII", *x) for x in s)

    good = sites((5, 1, nimp, 0), (37, 0, nimp + 1, 0))  # 0: a helper's dynamic trap code
    assert load(reseal(blob, {**A.sections_of(blob), A.SEC_TRAPS: good}))
    for payload in (
        sites((37, 1, nimp + 1, 0), (5, 1, nimp, 0)),         # unsorted
        sites((5, max(TrapCode) + 1, nimp, 0)),               # unknown trap code
        sites((5, 99, nimp, 0)),                              # unknown trap code
        sites((5, 1, 0, 0)),                                  # an imported function
        sites((5, 1, nimp + 5, 0)),                           # no such function
        sites((40, 1, nimp, 0)),                              # pc in another function
        sites((10_000, 1, nimp + 2, 0)),                      # pc past the code
        struct.pack("<I", 1_000_000),                         # count past the section
    ):
        with pytest.raises(ArtifactError):
            load(reseal(blob, {**A.sections_of(blob), A.SEC_TRAPS: payload}))


def test_module_section_checks() -> None:
    cfg = Config()
    wasm = wat2wasm(SMALL_WAT)
    base = translate(wasm, cfg)
    cc_ok = make()[2]

    def build(info) -> bytes:
        mod = A._encode_module(info)
        blob = make()[0]
        return reseal(blob, {**A.sections_of(blob), A.SEC_MODULE: mod})

    def variant(**changes):
        info = dataclasses.replace(base, **changes)
        return build(info)

    from nearvm.wasm.module import DataSegment, ElemSegment, Export

    bad_variants = [
        variant(exports=base.exports + [Export("x", "func", 99)]),
        variant(exports=base.exports + [Export("a", "func", 1)]),  # duplicate name
        variant(exports=base.exports + [Export("t", "table", 5)]),
        variant(start=99),
        variant(start=base.num_imported_funcs),  # $a has params
        variant(func_types=base.func_types[:-1] + [77]),
        variant(global_inits=base.global_inits[:-1]),
        variant(global_inits=[("global.get", 9)] + base.global_inits[1:]),
        variant(global_inits=base.global_inits[:-1] + [("ref.func", 1000)]),
        variant(elems=base.elems + [ElemSegment("active", base.elems[0].elem_type, (), 3, ("i32.const", 0))]),
        variant(elems=base.elems + [ElemSegment("passive", base.elems[0].elem_type, (), 1, None)]),
        variant(datas=base.datas + [DataSegment("active", b"x", 4, ("i32.const", 0))]),
        variant(data_count=7),
        variant(func_names={99: "nope"}),
        variant(body_offsets=base.body_offsets[:-1]),
        variant(num_imported_funcs=0),
        variant(num_imported_globals=0),
    ]
    for blob in bad_variants:
        with pytest.raises(ArtifactError):
            load(blob)
    assert load(variant()).compiled == cc_ok
    # Raw-level garbage in the module section: bad kinds, value types, UTF-8, limits.
    mod = A._encode_module(base)
    for i in range(0, len(mod), 3):
        for v in (0x00, 0x7F, 0xFF):
            edited = mod[:i] + bytes([v]) + mod[i + 1:]
            blob = make()[0]
            try:
                load(reseal(blob, {**A.sections_of(blob), A.SEC_MODULE: edited}))
            except ArtifactError:
                pass


def test_section_table_checks() -> None:
    blob = make()[0]
    secs = A.sections_of(blob)
    for bad in (
        {k: v for k, v in secs.items() if k != A.SEC_TRAPS},              # missing
        dict(sorted(secs.items(), reverse=True)),                         # out of order
        {**secs, 9: b"extra"},                                            # unknown
    ):
        with pytest.raises(ArtifactError, match="section"):
            load(reseal(blob, bad))
    # A section length pointing past the end (checksum fixed up).
    h = A.HEADER_SIZE
    raw = bytearray(blob[:-32])
    struct.pack_into("<Q", raw, h + 8, 1 << 40)
    raw += __import__("hashlib").sha256(bytes(raw)).digest()
    with pytest.raises(ArtifactError, match="overruns"):
        load(bytes(raw))


def test_exec_meta_checks() -> None:
    for payload in (
        struct.pack("<IQII", 2, 0, 0, 0),            # gas flag 2
        struct.pack("<IQ", 0, 0) + struct.pack("<II", 1, 64) + struct.pack("<I", 0),  # 1 frame cost for 3 funcs
        struct.pack("<IQ", 0, 0),                    # truncated
    ):
        with pytest.raises(ArtifactError):
            load(_edit(A.SEC_EXEC, lambda _p, payload=payload: payload))


def test_build_rejects_inconsistent_inputs() -> None:
    blob, info, cc, meta = make()
    bad = dataclasses.replace(cc, func_sizes=(32, 32, 10_000))
    with pytest.raises(ValueError):
        A.build_artifact(info, bad, config_hash=b"\0" * 32, code_hash=b"\0" * 32, target=A.host_target())


def test_read_header() -> None:
    blob = make(key=b"k")[0]
    h = A.read_header(blob)
    assert h.has_hmac and h.total_size == len(blob) and h.format_version == A.FORMAT_VERSION
    with pytest.raises(ArtifactError):
        A.read_header(blob[:50])


def test_exec_meta_from_program() -> None:
    cfg = Config.near()
    info = translate(wat2wasm(NEAR_WAT), cfg)
    meta = A.exec_meta_from_program(info.program, cfg.stack_budget)
    assert meta.gas_enabled and meta.stack_budget == cfg.stack_budget
    # $div: 64 + 2 params * 4 + max 2 operands * 4 = 80
    assert meta.frame_costs[2] == 80 and meta.max_stacks[2] == 2
    with pytest.raises(ValueError):
        A.exec_meta_from_program(b"junk")
