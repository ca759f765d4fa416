"""The PE loader: checked against lief on the real samples, then fuzzed.

Every mutated or generated file must end in an Image or a one-line LoaderError,
never another exception; mutated programs that do load are run under guise and
must end with a guest status or one of guise's own, never an internal error.
`make fuzz` raises the example counts through GUISE_FUZZ_EXAMPLES.
"""
from __future__ import annotations

import os
import random
import struct
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import ROOT, SAMPLES, load_or_none
from loader import load_image
from loader import pe as peloader

SEEDS = ["hello-x64.exe", "hello-x86.exe", "files-x64.exe", "printf-x86.exe"]
LONG = int(os.environ.get("GUISE_FUZZ_EXAMPLES", "0"))


def parse(data: bytes):
    return load_or_none(data, "fuzz.exe")


@pytest.mark.parametrize("seed", SEEDS)
def test_parser_agrees_with_lief(seed):
    lief = pytest.importorskip("lief")
    path = SAMPLES / seed
    image = load_image(open(path, "rb"), str(path))
    info = image.details["pe"]
    ref = lief.PE.parse(str(path))
    assert info.image_base == ref.optional_header.imagebase
    assert image.entry == ref.optional_header.addressof_entrypoint
    assert [(s[0], s[1]) for s in info.sections] == [(s.name, s.virtual_address) for s in ref.sections]
    mine = [(d.dll, [(e.name, e.iat_rva) for e in d.entries]) for d in info.imports]
    theirs = [(d.name, [(e.name, e.iat_address) for e in d.entries]) for d in ref.imports]
    assert mine == theirs
    fixups = sorted(rva for rva, _ in info.relocations)
    ref_fixups = sorted(r.virtual_address + e.position for r in ref.relocations for e in r.entries
                        if int(e.type) != 0)
    assert fixups == ref_fixups
    base = info.image_base
    assert [base + cb for cb in info.tls.callbacks] == list(ref.tls.callbacks)
    assert base + info.tls.index_rva == ref.tls.addressof_index


def test_relocate_moves_every_fixup():
    path = SAMPLES / "hello-x86.exe"
    image = load_image(open(path, "rb"), str(path))
    info = image.details["pe"]
    before = bytes(info.memory)
    peloader.relocate(image, 0x10000000)
    delta = 0x10000000 - 0x400000
    for rva, kind in info.relocations:
        assert kind == peloader.REL_HIGHLOW
        old = struct.unpack_from("<I", before, rva)[0]
        assert struct.unpack_from("<I", info.memory, rva)[0] == (old + delta) & 0xFFFFFFFF
    seg = next(s for s in image.segments if s.vaddr == 0x1000)
    assert seg.data == bytes(info.memory[0x1000:0x1000 + seg.filesz])


def pe_offsets(b: bytes) -> int:
    return struct.unpack_from("<I", b, 0x3C)[0] if len(b) >= 0x40 else 0


def mutate(data: bytes, rng: random.Random) -> bytes:
    b = bytearray(data)
    pe = pe_offsets(b)
    for _ in range(rng.randint(1, 8)):
        kind = rng.randrange(5)
        if kind == 0:                                   # bit flip in the headers
            i = rng.randrange(min(0x400, len(b)))
            b[i] ^= 1 << rng.randrange(8)
        elif kind == 1:                                 # header/section-table word with an edge value
            off = pe + rng.randrange(0, 0x200, 4)
            if off + 4 <= len(b):
                struct.pack_into("<I", b, off, rng.choice([0, 1, 0xFFFFFFFF, 0x7FFFFFFF, 0x1000,
                                                           0x80000000, rng.getrandbits(32)]))
        elif kind == 2:                                 # truncation
            b = b[:rng.randrange(len(b) + 1)]
            if not b:
                break
        elif kind == 3:                                 # a data directory entry
            off = pe + 24 + rng.choice([96, 112]) + 8 * rng.choice([0, 1, 5, 9, 13]) + rng.choice([0, 4])
            if off + 4 <= len(b):
                struct.pack_into("<I", b, off, rng.choice([0, 8, 0x10000, 0xFFFFFFF0, rng.getrandbits(20)]))
        else:                                           # anywhere in the image (imports, relocs, TLS)
            if b:
                i = rng.randrange(len(b))
                b[i] = rng.getrandbits(8)
    return bytes(b)


@pytest.mark.parametrize("seed", SEEDS)
def test_mutated_samples(seed):
    data = (SAMPLES / seed).read_bytes()
    rng = random.Random(seed)
    loaded = sum(parse(mutate(data, rng)) is not None for _ in range(400))
    assert loaded > 0


section = st.tuples(st.binary(min_size=8, max_size=8), st.integers(0, (1 << 32) - 1),
                    st.sampled_from([0, 0x1000, 0x2000, 0xFFFFF000, 0x7FFFFFFF]),
                    st.integers(0, 1 << 16), st.integers(0, 1 << 12), st.integers(0, (1 << 32) - 1))


@settings(max_examples=max(LONG, 800), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bits=st.sampled_from([32, 64]), machine=st.sampled_from([0x14C, 0x8664, 0x1C0, 0]),
       chars=st.integers(0, 0xFFFF), entry=st.integers(0, (1 << 32) - 1),
       size_of_image=st.sampled_from([0, 0x1000, 0x4000, 0x100000, 0xFFFFFFFF]),
       salign=st.sampled_from([0, 0x200, 0x1000, 0x1001]),
       dirs=st.lists(st.tuples(st.integers(0, 0x8000), st.integers(0, 0x1000)), max_size=16),
       sections=st.lists(section, max_size=5), tail=st.binary(max_size=128))
def test_structured_pe(bits, machine, chars, entry, size_of_image, salign, dirs, sections, tail):
    opt_size = 0xF0 if bits == 64 else 0xE0
    opt = bytearray(opt_size)
    struct.pack_into("<H", opt, 0, 0x20B if bits == 64 else 0x10B)
    struct.pack_into("<I", opt, 16, entry)
    if bits == 64:
        struct.pack_into("<Q", opt, 24, 0x140000000)
    else:
        struct.pack_into("<I", opt, 28, 0x400000)
    struct.pack_into("<IIIIII", opt, 32, salign, 0x200, 0, 0, 0, 0)
    struct.pack_into("<II", opt, 56, size_of_image, 0x400)
    nd = 108 if bits == 64 else 92
    struct.pack_into("<I", opt, nd, len(dirs))
    for i, (rva, size) in enumerate(dirs):
        struct.pack_into("<II", opt, nd + 4 + 8 * i, rva, size)
    coff = struct.pack("<HHIIIHH", machine, len(sections), 0, 0, 0, opt_size, chars)
    table = b"".join(name + struct.pack("<IIIIIIHHI", vs, va, rs, rp, 0, 0, 0, 0, ch)
                     for name, vs, va, rs, rp, ch in sections)
    dos = bytearray(0x40)
    dos[:2] = b"MZ"
    struct.pack_into("<I", dos, 0x3C, 0x40)
    data = bytes(dos) + b"PE\0\0" + coff + bytes(opt) + table
    parse(data + bytes(max(0, 0x400 - len(data))) + tail + bytes(0x2000))


ALLOWED = {122, 126, 127}


def test_mutated_programs_run_without_host_crash(tmp_path):
    """Mutated programs that still load run to a guest status or a guise status,
    never an internal error or a traceback."""
    rng = random.Random(4321)
    data = (SAMPLES / "hello-x64.exe").read_bytes()
    ran = 0
    for i in range(30):
        f = tmp_path / f"m{i}.exe"
        f.write_bytes(mutate(data, rng))
        f.chmod(0o755)
        try:
            p = subprocess.run([sys.executable, "-m", "guise", "run", "--", str(f)], cwd=tmp_path,
                               capture_output=True, timeout=20,
                               env={**os.environ, "GUISE_WINDOWS_PREFIX": str(tmp_path / "prefix"),
                                    "PYTHONPATH": str(ROOT)})
        except subprocess.TimeoutExpired:
            continue                    # a mutated guest may loop for ever, as it would on Windows
        assert b"Traceback" not in p.stderr, p.stderr.decode()[-2000:]
        assert p.returncode != 125, (i, p.stderr)
        assert p.returncode >= 0
        ran += p.returncode not in ALLOWED
    assert ran > 0


WINE_CMD = "/usr/lib/x86_64-linux-gnu/wine/x86_64-windows/cmd.exe"


def test_resources_of_a_real_program_and_their_mutants():
    """cmd.exe (Wine's) carries string and version resources: the tree is read, and
    mutants of it still end in an Image or a LoaderError."""
    if not os.path.exists(WINE_CMD):
        pytest.fail(f"{WINE_CMD} is missing: it comes with Debian's wine64 package")
    data = open(WINE_CMD, "rb").read()
    info = parse(data).details["pe"]
    assert any(k[0] == 6 for k in info.resources)          # RT_STRING blocks
    lief = pytest.importorskip("lief")
    ref = lief.PE.parse(WINE_CMD)
    assert sum(1 for k in info.resources if k[0] == 6) == \
        sum(len(n.childs) for t in ref.resources.childs if t.id == 6 for n in t.childs)
    rng = random.Random("cmd")
    sect = ref.get_section(".rsrc")
    lo, hi = sect.offset, sect.offset + min(sect.size, 0x2000)    # the directory tree is at the start
    for _ in range(300):
        b = bytearray(data)
        for _ in range(rng.randint(1, 6)):
            i = rng.randrange(lo, hi)
            b[i] = rng.choice([0, 0xFF, 0x80, rng.getrandbits(8)])
        parse(bytes(b))
