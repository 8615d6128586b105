"""Module.deserialize's fast path against the reference decoder (load_artifact).

Module.deserialize decodes only the module section in Python; the section table and the code,
funcs, trap and exec sections are parsed and checked in C (nvm_module_import_artifact). These
tests feed both paths the same hostile artifacts — real JIT output, mutated behind a valid
checksum so the mutations reach the section decoders — and require the same verdict, and
ArtifactError (never another exception, never a crash) for every rejection.
"""

from __future__ import annotations

import hashlib
import struct

import pytest
from artifact_helpers import wat2wasm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nearvm.runtime as rt  # noqa: E402
from nearvm import ArtifactError, Trap, TrapCode
from nearvm import artifact as A
from nearvm.config import Config, GasSchedule

Engine, Module, Store, Instance, Func = rt.Engine, rt.Module, rt.Store, rt.Instance, rt.Func

WAT = """
(module
  (type $t (func (param i32) (result i32)))
  (import "env" "host" (func $host (param i32) (result i32)))
  (import "env" "g0" (global $g0 i32))
  (memory (export "mem") 1 2)
  (global $g (export "g") (mut i32) (i32.const 40))
  (global $h i64 (i64.const -1))
  (table 4 funcref)
  (elem (i32.const 0) $inc $callhost $div)
  (elem funcref (ref.func $inc) (ref.null func))
  (data (i32.const 16) "\\2a\\00\\00\\00")
  (data (global.get $g0) "xy")
  (data "passive bytes")
  (func $inc (export "inc") (param i32) (result i32) local.get 0 i32.const 1 i32.add)
  (func $callhost (export "callhost") (param i32) (result i32) local.get 0 call $host)
  (func $div (export "div") (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_s)
  (func (export "load") (param i32) (result i32) local.get 0 i32.load)
  (func (export "indirect") (param i32 i32) (result i32) local.get 1 local.get 0 call_indirect (type $t))
  (func $start)
  (start $start))
"""

_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_ENGINES: dict[str, object] = {}


def _engine(name: str = "default") -> object:
    e = _ENGINES.get(name)
    if e is None:
        cfg = {"default": Config(), "gas": Config(gas=GasSchedule.uniform(1))}[name]
        # The loader's structural checks are what these tests exercise, on artifacts nobody
        # signed: the engine vouches for them (tests/security covers authentication).
        e = Engine(cfg, allow_unauthenticated_artifacts=True)
        if not e.can_execute:
            pytest.fail(f"this build cannot execute wasm: {e._execution_error()}")
        _ENGINES[name] = e
    return e


_BLOBS: dict[str, bytes] = {}


def _blob(name: str = "default") -> bytes:
    if name not in _BLOBS:
        _BLOBS[name] = Module(_engine(name), wat2wasm(WAT)).serialize()
    return _BLOBS[name]


def _verdicts(blob: bytes, name: str = "default") -> tuple[bool, bool]:
    """(reference accepts, fast path accepts); anything but ArtifactError fails the test."""
    e = _engine(name)
    try:
        ref = A.load_artifact(blob, config_hash=A.config_hash_of(e.config), target=A.host_target(e.config))
    except ArtifactError:
        ref = None
    try:
        mod = Module.deserialize(e, blob)
    except ArtifactError:
        mod = None
    if ref is not None and mod is not None:
        assert mod.info == ref.info
        assert A.export_compiled(mod) == ref.compiled
    return ref is not None, mod is not None


def _reseal_raw(body: bytes | bytearray) -> bytes:
    """An unsigned artifact whose body (header + sections) was edited byte-wise: size and checksum
    fixed up, so the edit reaches whatever reads that byte after the checksum."""
    body = bytearray(body)
    struct.pack_into("<Q", body, 24, len(body) + 32)
    return bytes(body) + hashlib.sha256(body).digest()


def _sections(name: str = "default") -> dict[int, bytes]:
    return A.sections_of(_blob(name))


def _with(section: int, payload: bytes, name: str = "default") -> bytes:
    blob = _blob(name)
    h = A.read_header(blob)
    return A._assemble({**A.sections_of(blob), section: payload}, target=h.target, config_hash=h.config_hash,
                       code_hash=h.code_hash, key=None)


def test_valid_artifact_agrees() -> None:
    assert _verdicts(_blob()) == (True, True)
    assert _verdicts(_blob("gas"), "gas") == (True, True)


def test_every_byte_of_the_c_parsed_sections() -> None:
    """Every byte of the section table and the funcs/trap/exec sections set to 0x00, 0xFF and
    +1 (checksum fixed up): same verdict from C as from the reference decoder."""
    blob = _blob()
    body = blob[:-32]
    secs = _sections()
    module_len = len(secs[A.SEC_MODULE])
    code_end = A.HEADER_SIZE + 16 + module_len + 16 + len(secs[A.SEC_CODE])
    positions = list(range(A.HEADER_SIZE, A.HEADER_SIZE + 16))  # the module section's entry
    positions += range(A.HEADER_SIZE + 16 + module_len, A.HEADER_SIZE + 32 + module_len)  # code's entry
    positions += range(code_end, len(body))  # funcs, traps, exec sections with their entries
    disagreements = []
    for pos in positions:
        for value in {0x00, 0xFF, (body[pos] + 1) & 0xFF} - {body[pos]}:
            edited = bytearray(body)
            edited[pos] = value
            ref, fast = _verdicts(_reseal_raw(edited))
            if ref != fast:
                disagreements.append((pos, value, ref, fast))
    assert not disagreements


def test_section_payload_truncations_and_extensions() -> None:
    for section in (A.SEC_FUNCS, A.SEC_TRAPS, A.SEC_EXEC):
        payload = _sections()[section]
        for cut in range(0, len(payload), max(1, len(payload) // 40)):
            assert _verdicts(_with(section, payload[:cut])) == (False, False), (section, cut)
        assert _verdicts(_with(section, payload + b"\0")) == (False, False), section
    code = _sections()[A.SEC_CODE]
    for cut in range(0, len(code), max(1, len(code) // 40)):  # rejected once a function leaves it
        ref, fast = _verdicts(_with(A.SEC_CODE, code[:cut]))
        assert ref == fast and not fast, cut
    assert _verdicts(_with(A.SEC_CODE, code + b"\xcc" * 100)) == (True, True)  # padding after the last function


def _funcs_payload(nimp: int, offsets: list[int], sizes: list[int]) -> bytes:
    return struct.pack(f"<II{len(offsets)}II{len(sizes)}I", nimp, len(offsets), *offsets, len(sizes), *sizes)


def test_c_function_and_trap_checks() -> None:
    ref = A.load_artifact(_blob(), config_hash=A.config_hash_of(Config()))
    cc = ref.compiled
    offs, sizes, nimp = list(cc.func_offsets), list(cc.func_sizes), cc.n_imported_funcs
    n_code = len(cc.code)
    sites = list(A._SITE.iter_unpack(cc.trap_table))
    assert sites, "the module has trap sites"

    def traps(rows: list[tuple[int, int, int, int]]) -> bytes:
        return struct.pack("<I", len(rows)) + b"".join(A._SITE.pack(*row) for row in rows)

    bad_funcs = [
        _funcs_payload(nimp, offs, sizes[:-1] + [0]),                      # empty function
        _funcs_payload(nimp, offs[:-1] + [n_code - 1], sizes),             # leaves the code
        _funcs_payload(nimp, offs[:-1] + [0xFFFF_FFFF], sizes),            # offset + size overflows 32 bits
        _funcs_payload(nimp, [offs[1]] + offs[1:], sizes),                 # overlap
        _funcs_payload(nimp + 1, offs, sizes),                             # import count
        _funcs_payload(nimp, offs[:-1], sizes[:-1]),                       # function count
        struct.pack("<II", nimp, 0xFFFF_FFFF),                             # count past the section
    ]
    for payload in bad_funcs:
        assert _verdicts(_with(A.SEC_FUNCS, payload)) == (False, False), payload.hex()
    # Reversed function order (still disjoint) is fine: C sorts when the offsets do not ascend.
    order = sorted(range(len(offs)), key=lambda i: -offs[i])
    assert len(order) > 1
    first = sites[0]
    bad_traps = [
        traps(sites[::-1]) if len(sites) > 1 else traps([sites[0], (0, 1, nimp, 0)]),  # unsorted
        traps([(first[0], max(TrapCode) + 1, first[2], first[3])]),                   # trap code
        traps([(first[0], first[1], 0, first[3])]),                                   # imported function
        traps([(first[0], first[1], nimp + len(offs), first[3])]),                    # no such function
        traps([(n_code + 5, first[1], first[2], first[3])]),                          # pc past the code
        traps([(offs[first[2] - nimp] + sizes[first[2] - nimp], first[1], first[2], 0)]),  # pc past its function
        struct.pack("<I", 0xFFFF_FFFF),                                               # count past the section
        traps(sites)[:-1],                                                            # torn record
    ]
    for payload in bad_traps:
        assert _verdicts(_with(A.SEC_TRAPS, payload)) == (False, False), payload.hex()
    assert _verdicts(_with(A.SEC_TRAPS, traps([]))) == (True, True)  # no trap sites is valid
    n_local = len(offs)
    bad_exec = [
        struct.pack("<IQII", 2, 0, 0, 0),                                   # gas flag
        struct.pack("<IQ", 0, 0) + struct.pack("<II", 1, 1) + struct.pack("<I", 0),  # one cost, n functions
        struct.pack("<IQI", 0, 0, 0),                                       # truncated
        struct.pack("<IQII", 0, 0, 0xFFFF_FFFF, 0),                         # count past the section
        struct.pack("<IQII", 0, 0, 0, 0) + b"\0",                           # trailing
    ]
    for payload in bad_exec:
        assert _verdicts(_with(A.SEC_EXEC, payload)) == (False, False), payload.hex()
    good_exec = struct.pack(f"<IQI{n_local}II{n_local}I", 1, 77, n_local, *range(n_local), n_local, *range(n_local))
    assert _verdicts(_with(A.SEC_EXEC, good_exec)) == (True, True)


def test_section_table_reaches_c() -> None:
    secs = _sections()
    blob = _blob()
    h = A.read_header(blob)

    def assemble(sections: dict[int, bytes]) -> bytes:
        return A._assemble(sections, target=h.target, config_hash=h.config_hash, code_hash=h.code_hash, key=None)

    for bad in (
        {k: v for k, v in secs.items() if k != A.SEC_TRAPS},                  # missing
        {k: secs[k] for k in (1, 2, 4, 3, 5)},                               # out of order
        {**secs, 9: b"extra"},                                              # unknown
        {k: secs[k] for k in (2, 1, 3, 4, 5)},                               # module section not first
    ):
        assert _verdicts(assemble(bad)) == (False, False)
    body = bytearray(blob[:-32])
    struct.pack_into("<I", body, 20, 6)  # a section count that does not match
    assert _verdicts(_reseal_raw(body)) == (False, False)
    body = bytearray(blob[:-32])
    struct.pack_into("<Q", body, A.HEADER_SIZE + 8, 1 << 40)  # module section length past the end
    assert _verdicts(_reseal_raw(body)) == (False, False)


@_SETTINGS
@given(section=st.sampled_from([A.SEC_MODULE, A.SEC_FUNCS, A.SEC_TRAPS, A.SEC_EXEC, A.SEC_CODE]),
       edits=st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, 255)), max_size=6),
       cut=st.one_of(st.none(), st.integers(0, 1 << 16)),
       insert=st.binary(max_size=24))
def test_fuzz_resealed_sections_agree(section: int, edits: list[tuple[int, int]], cut: int | None,
                                      insert: bytes) -> None:
    payload = bytearray(_sections()[section])
    for pos, val in edits:
        if payload:
            payload[pos % len(payload)] = val
    if cut is not None and payload:
        c = cut % len(payload)
        payload = payload[:c] + bytearray(insert) + payload[c:]
    ref, fast = _verdicts(_with(section, bytes(payload)))
    assert ref == fast


@_SETTINGS
@given(st.binary(max_size=1024), st.booleans())
def test_fuzz_random_bytes(data: bytes, with_magic: bool) -> None:
    blob = (A.MAGIC + data) if with_magic else data
    with pytest.raises(ArtifactError):
        Module.deserialize(_engine(), blob)


def test_truncations_and_bit_flips_of_a_real_artifact() -> None:
    e = _engine()
    blob = _blob()
    for n in range(0, len(blob), 3):
        with pytest.raises(ArtifactError):
            Module.deserialize(e, blob[:n])
    for i in range(0, len(blob), 5):
        bad = bytearray(blob)
        bad[i] ^= 1 << (i % 8)
        with pytest.raises(ArtifactError):
            Module.deserialize(e, bytes(bad))


def test_precise_errors_through_the_fast_path() -> None:
    e = _engine()
    blob = _blob()
    h = A.read_header(blob)
    secs = A.sections_of(blob)

    def reseal(**kw: object) -> bytes:
        return A._assemble(secs, target=h.target, config_hash=kw.pop("config_hash", h.config_hash),  # type: ignore[arg-type]
                           code_hash=h.code_hash, key=None, **kw)  # type: ignore[arg-type]

    with pytest.raises(ArtifactError, match="nearvm 9.9.9"):
        Module.deserialize(e, reseal(nearvm_version="9.9.9"))
    with pytest.raises(ArtifactError, match="format version"):
        Module.deserialize(e, reseal(format_version=A.FORMAT_VERSION + 1))
    with pytest.raises(ArtifactError, match="different Config"):
        Module.deserialize(e, reseal(config_hash=b"\1" * 32))
    with pytest.raises(ArtifactError, match="feature set"):
        Module.deserialize(e, reseal(features=0))
    with pytest.raises(ArtifactError, match="checksum"):
        Module.deserialize(e, blob[:-1] + bytes([blob[-1] ^ 1]))
    with pytest.raises(ArtifactError, match="magic"):
        Module.deserialize(e, b"\0asm" + blob[4:])
    keyed = Engine(Config(), artifact_key=b"fast-load test key, 32 bytes long")
    signed = Module(keyed, wat2wasm(WAT)).serialize()
    assert Module.deserialize(keyed, signed).exports
    assert Module.deserialize(keyed, bytearray(signed)).exports
    assert Module.deserialize(keyed, memoryview(signed)).exports
    with pytest.raises(ArtifactError, match="HMAC"):
        Module.deserialize(keyed, blob)
    forged = A._assemble(A.sections_of(signed), target=h.target, config_hash=h.config_hash,
                         code_hash=h.code_hash, key=b"another key, also long enough..")
    with pytest.raises(ArtifactError, match="HMAC"):
        Module.deserialize(keyed, forged)
    assert Module.deserialize(e, signed).exports  # the checksum alone still covers a signed artifact


def _run(engine: object, module: object) -> list[object]:
    store = Store(engine)
    host = Func(store, module.imports[0][2], lambda x: x * 2)
    g0 = rt.Global(store, module.imports[1][2], 32)
    inst = Instance(store, module, {"env": {"host": host, "g0": g0}})
    ex = inst.exports
    out: list[object] = [ex["inc"](41), ex["callhost"](21), ex["load"](16), ex["indirect"](0, 5),
                         ex["indirect"](1, 5), bytes(ex["mem"].data[32:34])]
    for name, args in (("div", (1, 0)), ("load", (70_000,)), ("indirect", (9, 1))):
        with pytest.raises(Trap) as ei:
            ex[name](*args)
        out.append(ei.value.code)
    return out


def test_loaded_module_runs_and_reserializes() -> None:
    for name in ("default", "gas"):
        e = _engine(name)
        blob = _blob(name)
        m = Module.deserialize(e, blob)
        assert _run(e, m) == [42, 42, 42, 6, 10, b"xy", TrapCode.INTEGER_DIVIDE_BY_ZERO,
                              TrapCode.MEMORY_OUT_OF_BOUNDS, TrapCode.TABLE_OUT_OF_BOUNDS]
        assert m.serialize() == blob  # the exec section, kept raw, re-encodes identically


def test_code_regions_are_reused_correctly() -> None:
    """Freed code regions are recycled by the next load of a similar size: each load must run
    its own code, and traps (registry, trap sites) must resolve for the new code."""
    e = _engine()
    variants = []
    for k in range(6):
        text = WAT.replace("i32.const 1 i32.add", f"i32.const {k + 1} i32.add")
        variants.append(Module(e, wat2wasm(text)).serialize())
    for _ in range(3):
        for k, blob in enumerate(variants):
            m = Module.deserialize(e, blob)
            out = _run(e, m)
            assert out[0] == 41 + k + 1
            assert out[6:] == [TrapCode.INTEGER_DIVIDE_BY_ZERO, TrapCode.MEMORY_OUT_OF_BOUNDS,
                               TrapCode.TABLE_OUT_OF_BOUNDS]
            del m, out
    # Many modules alive at once, then freed in a different order than loaded.
    alive = [Module.deserialize(e, variants[k % len(variants)]) for k in range(40)]
    for k in (list(range(0, 40, 2)) + list(range(1, 40, 2))):
        alive[k] = None  # type: ignore[call-overload]
    assert _run(e, Module.deserialize(e, variants[0]))[0] == 42


def test_loader_arguments_are_checked_in_c() -> None:
    """The C entry point bounds-checks what Python hands it about the module section, too."""
    ffi, lib = rt._ffi.ffi, rt._ffi.lib
    e = _engine()
    blob = _blob()
    body_end = len(blob) - 32
    mod_len = struct.unpack_from("<Q", blob, A.HEADER_SIZE + 8)[0]
    start = A.HEADER_SIZE + 16
    r = A._R(blob[start:start + mod_len], "module")
    info = A._decode_module(r)
    tids = ffi.new("uint32_t[]", [e._type_id(t) for t in info.types])
    nf, nimp = len(info.func_types), info.num_imported_funcs

    def call(ft_off: int = start + r.func_types_at, n_funcs: int = nf, n_imported: int = nimp,
             n_types: int = len(info.types), spans: list[int] | None = None) -> int:
        out = ffi.new("nvm_module_t**")
        err = ffi.new("char[]", 256)
        spans = r.data_at if spans is None else spans
        arr = ffi.new("uint64_t[]", [v + start if i % 2 == 0 else v for i, v in enumerate(spans)] or [0])
        status = lib.nvm_module_import_artifact(e._ptr, blob, body_end, ft_off, n_funcs, n_imported, tids,
                                                n_types, arr, len(spans) // 2, ffi.NULL, out, err, 256)
        if status == 0:
            lib.nvm_module_free(out[0])
        return int(status)

    assert call() == 0
    for kw in ({"ft_off": 0}, {"ft_off": body_end - 4}, {"ft_off": start + mod_len - 2},
               {"n_funcs": nf + 1}, {"n_funcs": 0xFFFF_FFFF}, {"n_imported": nf + 1}, {"n_imported": nimp + 1},
               {"n_types": 1}, {"spans": [mod_len - 1, 2]}, {"spans": [0, 1 << 62]}, {"spans": [1 << 63, 1]}):
        assert call(**kw) == lib.NVM_ERR_INVALID, kw  # type: ignore[arg-type]


def test_array_import_entry_point_checks() -> None:
    """nvm_module_import (tables as arrays rather than a blob) applies the same checks."""
    ffi, lib = rt._ffi.ffi, rt._ffi.lib
    e = _engine()
    cc = A.load_artifact(_blob(), config_hash=A.config_hash_of(Config())).compiled
    info = Module.deserialize(e, _blob()).info
    tids = [e._type_id(t) for t in info.types]
    ftids = [tids[t] for t in info.func_types]

    def call(offsets: list[int], sizes: list[int], sites: bytes) -> int:
        out = ffi.new("nvm_module_t**")
        err = ffi.new("char[]", 256)
        n_sites = len(sites) // 16
        status = lib.nvm_module_import(
            e._ptr, cc.code, len(cc.code), ffi.new("uint32_t[]", offsets or [0]), ffi.new("uint32_t[]", sizes or [0]),
            len(offsets), cc.n_imported_funcs, ffi.from_buffer("uint32_t[]", sites) if n_sites else ffi.NULL, n_sites,
            ffi.new("uint32_t[]", tids), len(tids), ffi.new("uint32_t[]", ftids), len(ftids), ffi.NULL, ffi.NULL, 0,
            out, err, 256)
        if status == 0:
            lib.nvm_module_free(out[0])
        return int(status)

    offs, sizes = list(cc.func_offsets), list(cc.func_sizes)
    assert call(offs, sizes, cc.trap_table) == 0
    assert call(offs, sizes[:-1] + [0], cc.trap_table) == lib.NVM_ERR_INVALID
    assert call(offs[:-1] + [len(cc.code)], sizes, cc.trap_table) == lib.NVM_ERR_INVALID
    assert call(offs[:-1], sizes[:-1], cc.trap_table) == lib.NVM_ERR_INVALID  # function count
    first = A._SITE.unpack_from(cc.trap_table)
    bad_site = A._SITE.pack(first[0], 99, first[2], first[3])
    assert call(offs, sizes, bad_site) == lib.NVM_ERR_INVALID


def test_signed_artifact_is_hashed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A verified HMAC covers the checksum: deserialize hashes the blob once (the HMAC), not
    twice. Unsigned loads still check the checksum."""
    key = b"k" * 32
    keyed = Engine(Config(), artifact_key=key)
    signed = Module(keyed, wat2wasm(WAT)).serialize()
    hashed: list[int] = []
    real_sha256 = hashlib.sha256

    def counting_sha256(data: bytes = b"", *args: object, **kw: object) -> object:
        hashed.append(len(data))
        return real_sha256(data, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(A.hashlib, "sha256", counting_sha256)
    assert Module.deserialize(keyed, signed).exports
    assert max(hashed, default=0) < len(signed) // 2
    hashed.clear()
    assert Module.deserialize(_engine(), signed).exports  # no key: the checksum is checked
    assert max(hashed) >= len(signed) - 2 * 32 - A.HEADER_SIZE
