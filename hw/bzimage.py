"""The kernel inside a bzImage, unpacked on the host.

A bzImage is a small decompressor with the real kernel (``vmlinux``, an ELF
file) compressed inside it.  Entered at ``startup_64`` the decompressor
unpacks that ELF in guest memory and jumps to it; on unicorn that costs
seconds of emulated CPU for what the host does in a tenth of one.  So guise
does what Firecracker does with a vmlinux and QEMU does on its PVH path: it
finds the compressed payload through the setup header (``payload_offset``
and ``payload_length``, boot protocol 2.08+, measured from the end of the
setup sectors), decompresses it with Python, and hands the ELF's PT_LOAD
segments to ``hw/linuxboot.py``, which puts them at their physical addresses
and enters the kernel proper's own ``startup_64`` (the ELF entry) with the
zero page, as the 64-bit boot protocol allows ("directly from a 64-bit boot
loader").  The kernel proper fixes up its page tables for wherever it was
loaded, so no relocation is done here; KASLR, which only the decompressor
does, is skipped.

Formats, told by their magic bytes: gzip, bzip2, lzma, xz (Python's own
zlib, bz2, lzma), lz4 (the legacy frames the kernel's build writes, through
the ``lz4`` package) and zstd (the ``zstandard`` package).  LZO has no
maintained Python decompressor: such a kernel, like one whose payload is not
recognised, raises ``NoHostDecompressor`` and the caller falls back to the
kernel's own decompressor in the guest.  A recognised payload that does not
decompress, or that is not an x86-64 ELF, is a corrupt kernel
(``CorruptKernel``): the in-guest decompressor would fail on it too.
"""
from __future__ import annotations

import bz2
import lzma
import struct
import zlib
from dataclasses import dataclass

from .boot import BootError

LZ4_LEGACY_MAGIC = 0x184C2102
LZ4_LEGACY_BLOCK = 8 << 20          # the legacy format's fixed block size (uncompressed)
PT_LOAD = 1


class NoHostDecompressor(Exception):
    """The payload is in a format the host cannot unpack: boot it the old way."""


class CorruptKernel(BootError):
    """The payload is damaged, or holds no loadable x86-64 kernel."""


@dataclass
class Segment:
    paddr: int
    data: bytes
    memsz: int


@dataclass
class Vmlinux:
    """The kernel proper, ready to be copied into guest RAM."""
    fmt: str
    size: int                       # bytes decompressed
    entry: int                      # physical address of its startup_64
    segments: list[Segment]

    @property
    def base(self) -> int:
        return min(s.paddr for s in self.segments)

    @property
    def end(self) -> int:
        return max(s.paddr + s.memsz for s in self.segments)


def compressed_payload(data: bytes, setup_end: int) -> bytes:
    offset, length = struct.unpack_from("<II", data, 0x248)
    start = setup_end + offset
    if not length or start + length > len(data):
        raise CorruptKernel(f"the setup header's payload ({length} bytes at {start:#x}) is not inside the file")
    return data[start:start + length]


def _lz4(payload: bytes) -> bytes:
    try:
        import lz4.block
    except ImportError:
        raise NoHostDecompressor("LZ4 payload and no lz4 package") from None
    out, off, end = [], 4, len(payload) - 4        # the last 4 bytes: the uncompressed size
    while off + 4 <= end:
        n = struct.unpack_from("<I", payload, off)[0]
        off += 4
        if n == LZ4_LEGACY_MAGIC:                   # a second stream, concatenated
            continue
        if off + n > end:
            raise CorruptKernel(f"corrupt lz4 payload: a block of {n} bytes runs past its end")
        try:
            out.append(lz4.block.decompress(payload[off:off + n], uncompressed_size=LZ4_LEGACY_BLOCK))
        except lz4.block.LZ4BlockError as e:
            raise CorruptKernel(f"corrupt lz4 payload: {e}") from None
        off += n
    return b"".join(out)


def _zstd(payload: bytes) -> bytes:
    try:
        import zstandard
    except ImportError:
        raise NoHostDecompressor("zstd payload and no zstandard package") from None
    try:
        d = zstandard.ZstdDecompressor(max_window_size=1 << 31).decompressobj()
        return d.decompress(payload)
    except zstandard.ZstdError as e:
        raise CorruptKernel(f"corrupt zstd payload: {e}") from None


def _stream(make, name: str):
    """A decompressor of Python's own that stops at the end of its stream
    (what follows is the 4-byte size the kernel's build appends)."""
    def run(payload: bytes) -> bytes:
        d = make()
        try:
            out = d.decompress(payload)
        except (OSError, EOFError, ValueError, zlib.error, lzma.LZMAError) as e:
            raise CorruptKernel(f"corrupt {name} payload: {e}") from None
        if not d.eof:
            raise CorruptKernel(f"corrupt {name} payload: it ends before its stream does")
        return out
    return run


FORMATS = [     # (magic, name, decompressor)
    (b"\x1f\x8b", "gzip", _stream(lambda: zlib.decompressobj(16 + zlib.MAX_WBITS), "gzip")),
    (b"BZh", "bzip2", _stream(bz2.BZ2Decompressor, "bzip2")),
    (b"\x5d\x00\x00", "lzma", _stream(lambda: lzma.LZMADecompressor(lzma.FORMAT_ALONE), "lzma")),
    (b"\xfd7zXZ\x00", "xz", _stream(lambda: lzma.LZMADecompressor(lzma.FORMAT_XZ), "xz")),
    (struct.pack("<I", LZ4_LEGACY_MAGIC), "lz4", _lz4),
    (b"\x28\xb5\x2f\xfd", "zstd", _zstd),
]
NOT_ON_HOST = {b"\x89LZO": "LZO"}


def decompress(payload: bytes) -> tuple[str, bytes]:
    """(format, vmlinux) of a bzImage's payload; the kernel's build appends the
    vmlinux's size as the payload's last 4 bytes, which every format must match."""
    for magic, name, run in FORMATS:
        if payload.startswith(magic):
            out = run(payload)
            want = struct.unpack_from("<I", payload, len(payload) - 4)[0]
            if len(out) != want:
                raise CorruptKernel(f"corrupt {name} payload: it unpacks to {len(out)} bytes, "
                                    f"the kernel's build recorded {want}")
            return name, out
    for magic, name in NOT_ON_HOST.items():
        if payload.startswith(magic):
            raise NoHostDecompressor(f"{name} payload: no host decompressor")
    raise NoHostDecompressor(f"payload in an unknown format (magic {payload[:4].hex()})")


def parse_vmlinux(fmt: str, blob: bytes) -> Vmlinux:
    """The PT_LOAD segments (physical addresses) and entry of an x86-64 ELF."""
    if blob[:4] != b"\x7fELF" or len(blob) < 64 or blob[4] != 2 or blob[5] != 1 \
            or struct.unpack_from("<H", blob, 18)[0] != 62:
        raise CorruptKernel(f"the {fmt} payload is not an x86-64 ELF kernel")
    entry, phoff = struct.unpack_from("<QQ", blob, 24)
    phentsize, phnum = struct.unpack_from("<HH", blob, 54)
    if phentsize < 56 or phoff + phnum * phentsize > len(blob):
        raise CorruptKernel("the kernel ELF's program headers are outside it")
    segments, phys_entry = [], None
    for i in range(phnum):
        kind, _, off, vaddr, paddr, filesz, memsz = struct.unpack_from("<IIQQQQQ", blob, phoff + i * phentsize)
        if kind != PT_LOAD:
            continue
        if off + filesz > len(blob) or filesz > memsz:
            raise CorruptKernel(f"the kernel ELF's segment at {paddr:#x} is outside it")
        segments.append(Segment(paddr, blob[off:off + filesz], memsz))
        if paddr <= entry < paddr + memsz:          # vmlinux's entry is physical...
            phys_entry = entry
        elif phys_entry is None and vaddr <= entry < vaddr + memsz:     # ...or, in some builds, virtual
            phys_entry = paddr + entry - vaddr
    if not segments or phys_entry is None:
        raise CorruptKernel(f"the kernel ELF's entry {entry:#x} is in none of its segments")
    return Vmlinux(fmt, len(blob), phys_entry, segments)


def unpack(data: bytes, setup_end: int) -> Vmlinux:
    fmt, blob = decompress(compressed_payload(data, setup_end))
    return parse_vmlinux(fmt, blob)
