"""PE32 and PE32+ executables (IMAGE_FILE_MACHINE_I386 / AMD64).

The headers, section table, import, base-relocation and TLS directories are
read here with ``struct`` rather than through lief: importing lief costs about
0.3 s of start-up (the issue's budget for a whole hello.exe is 0.5 s) and a C++
parser fed a mutated file is a host crash waiting to happen, which the fuzz
tests forbid.  lief stays the oracle the tests compare this parser with.

Every read is bounds-checked, so a malformed or truncated file is a one-line
:class:`LoaderError`.  The image is laid out in memory order (RVA-indexed) once,
then imports, relocations and TLS are read from that layout just as the
Windows loader reads them from the mapped view.
"""
from __future__ import annotations

import dataclasses
import struct
from typing import Optional

from .errors import LoaderError
from .image import Image, Segment

MACHINES = {0x14C: ("i386", 32), 0x8664: ("x86_64", 64)}
MAGIC = {0x10B: 32, 0x20B: 64}
SCN_EXEC, SCN_READ, SCN_WRITE = 0x20000000, 0x40000000, 0x80000000
FILE_EXECUTABLE, FILE_DLL = 0x0002, 0x2000
MAX_IMAGE = 1 << 30            # SizeOfImage beyond this is refused (a Windows loader would too)
MAX_SECTIONS = 96              # the PE limit
MAX_IMPORT_DLLS = 4096
MAX_IMPORTS_PER_DLL = 1 << 16
SUBSYSTEMS = {1: "native", 2: "windows-gui", 3: "windows-console", 9: "windows-ce-gui",
              10: "efi-application"}
DIR_EXPORT, DIR_IMPORT, DIR_RESOURCE, DIR_BASERELOC, DIR_TLS, DIR_DELAY_IMPORT = 0, 1, 2, 5, 9, 13
MAX_RESOURCES = 1 << 16
REL_ABSOLUTE, REL_HIGH, REL_LOW, REL_HIGHLOW, REL_DIR64 = 0, 1, 2, 3, 10


@dataclasses.dataclass
class ImportEntry:
    """One imported function: by ``name`` (with its ``hint``) or by ``ordinal``."""
    name: Optional[str]
    ordinal: Optional[int]
    iat_rva: int            # where the loader writes the bound address

    @property
    def label(self) -> str:
        return self.name if self.name is not None else f"#{self.ordinal}"


@dataclasses.dataclass
class ImportDll:
    dll: str
    entries: list[ImportEntry]
    delayed: bool = False


@dataclasses.dataclass
class PeTls:
    """IMAGE_TLS_DIRECTORY with the addresses turned into RVAs."""
    raw_start: int
    raw_end: int
    index_rva: int
    zero_fill: int
    callbacks: list[int]    # RVAs


@dataclasses.dataclass
class PeInfo:
    machine: int
    image_base: int
    size_of_image: int
    size_of_headers: int
    subsystem: int
    dll_characteristics: int
    characteristics: int
    stack_reserve: int
    stack_commit: int
    imports: list[ImportDll]
    relocations: list[tuple[int, int]]      # (rva, type) of every non-absolute fixup
    tls: Optional[PeTls]
    exports: dict                           # name -> rva (only what the export table names)
    sections: list[tuple[str, int, int, int]]  # (name, rva, size, prot)
    memory: bytearray                       # the image laid out at its preferred base
    resources: dict = dataclasses.field(default_factory=dict)  # (type, name, lang) -> (rva, size)
    export_ordinals: dict = dataclasses.field(default_factory=dict)  # ordinal -> rva, named or not
    export_range: tuple = (0, 0)            # an export rva inside it is a forwarder's "DLL.name"

    @property
    def is_dll(self) -> bool:
        return bool(self.characteristics & FILE_DLL)


class _View:
    """Bounds-checked little-endian reads from a bytes-like buffer."""

    def __init__(self, data, path: str, what: str):
        self.data, self.path, self.what = data, path, what

    def _need(self, off: int, n: int) -> None:
        if off < 0 or off + n > len(self.data):
            raise LoaderError(f"{self.path}: truncated or malformed PE ({self.what} at {off:#x} "
                              f"beyond {len(self.data):#x})")

    def u16(self, off: int) -> int:
        self._need(off, 2)
        return struct.unpack_from("<H", self.data, off)[0]

    def u32(self, off: int) -> int:
        self._need(off, 4)
        return struct.unpack_from("<I", self.data, off)[0]

    def u64(self, off: int) -> int:
        self._need(off, 8)
        return struct.unpack_from("<Q", self.data, off)[0]

    def cstr(self, off: int, limit: int = 512) -> str:
        self._need(off, 1)
        end = self.data.find(b"\0", off, off + limit)
        if end < 0:
            raise LoaderError(f"{self.path}: unterminated name in {self.what} at {off:#x}")
        return bytes(self.data[off:end]).decode("latin-1")


def parse_pe(data: bytes, path: str = "") -> Image:
    """The Image of a PE file; LoaderError with one line if it is malformed."""
    try:
        return _parse(data, path)
    except LoaderError:
        raise
    except (struct.error, ValueError, IndexError, OverflowError, MemoryError) as e:
        raise LoaderError(f"{path}: malformed PE file ({type(e).__name__})") from None


def _prot(chars: int) -> int:
    # hw.cpu bit order: READ=1, WRITE=2, EXEC=4
    return (1 if chars & (SCN_READ | SCN_EXEC) else 0) | (2 if chars & SCN_WRITE else 0) \
        | (4 if chars & SCN_EXEC else 0)


def _parse(data: bytes, path: str) -> Image:
    f = _View(data, path, "header")
    if len(data) < 0x40 or data[:2] != b"MZ":
        raise LoaderError(f"{path}: truncated DOS header")
    pe = f.u32(0x3C)
    if pe + 24 > len(data) or data[pe:pe + 4] != b"PE\0\0":
        raise LoaderError(f"{path}: MZ file without a PE header (DOS or NE/LE executable)")
    machine, nsect = f.u16(pe + 4), f.u16(pe + 6)
    opt_size, chars = f.u16(pe + 20), f.u16(pe + 22)
    if machine not in MACHINES:
        raise LoaderError(f"{path}: PE for machine {machine:#x}, guise runs x86 (i386, AMD64)")
    arch, bits = MACHINES[machine]
    opt = pe + 24
    magic = f.u16(opt)
    if MAGIC.get(magic) != bits:
        raise LoaderError(f"{path}: optional header magic {magic:#x} does not match machine {machine:#x}")
    if not chars & FILE_EXECUTABLE:
        raise LoaderError(f"{path}: PE file is not marked executable (an object file?)")
    if nsect == 0 or nsect > MAX_SECTIONS:
        raise LoaderError(f"{path}: bad section count {nsect}")
    entry = f.u32(opt + 16)
    if bits == 32:
        image_base = f.u32(opt + 28)
        stack_reserve, stack_commit = f.u32(opt + 72), f.u32(opt + 76)
        ndirs_off, dirs = opt + 92, opt + 96
    else:
        image_base = f.u64(opt + 24)
        stack_reserve, stack_commit = f.u64(opt + 72), f.u64(opt + 80)
        ndirs_off, dirs = opt + 108, opt + 112
    sect_align, file_align = f.u32(opt + 32), f.u32(opt + 36)
    size_of_image, size_of_headers = f.u32(opt + 56), f.u32(opt + 60)
    subsystem, dll_chars = f.u16(opt + 68), f.u16(opt + 70)
    ndirs = min(f.u32(ndirs_off), 16)
    if dirs + 8 * ndirs > opt + opt_size:
        raise LoaderError(f"{path}: data directories lie outside the optional header")
    if sect_align == 0 or sect_align & (sect_align - 1) or file_align == 0 or file_align & (file_align - 1):
        raise LoaderError(f"{path}: section/file alignment is not a power of two")
    if image_base & 0xFFFF:
        raise LoaderError(f"{path}: image base {image_base:#x} is not 64 KiB aligned")
    if size_of_image == 0 or size_of_image > MAX_IMAGE:
        raise LoaderError(f"{path}: bad SizeOfImage {size_of_image:#x}")
    if image_base + size_of_image > (1 << bits):
        raise LoaderError(f"{path}: image does not fit the {bits}-bit address space")
    if size_of_headers > size_of_image or size_of_headers > len(data):
        raise LoaderError(f"{path}: bad SizeOfHeaders {size_of_headers:#x}")
    if entry >= size_of_image:
        raise LoaderError(f"{path}: entry point {entry:#x} lies outside the image")
    size_of_image = (size_of_image + 0xFFF) & ~0xFFF
    ddir = [(f.u32(dirs + 8 * i), f.u32(dirs + 8 * i + 4)) for i in range(ndirs)] + [(0, 0)] * (16 - ndirs)

    # lay the image out in memory order
    mem = bytearray(size_of_image)
    mem[:size_of_headers] = data[:size_of_headers]
    sect_table = opt + opt_size
    sections = []
    small = sect_align < 0x1000          # the whole image is one RWX view, as Windows maps it
    for i in range(nsect):
        s = sect_table + 40 * i
        f._need(s, 40)
        name = bytes(data[s:s + 8]).rstrip(b"\0").decode("latin-1")
        vsize, rva, rawsize, rawptr = struct.unpack_from("<IIII", data, s + 8)
        schars = f.u32(s + 36)
        if vsize == 0:
            vsize = rawsize
        if rva % min(sect_align, 0x1000) and not small:
            raise LoaderError(f"{path}: section {name!r} address {rva:#x} is not aligned")
        if rva + vsize > size_of_image or rva < size_of_headers and vsize:
            raise LoaderError(f"{path}: section {name!r} lies outside the image")
        take = min(rawsize, vsize)
        rawptr &= ~0x1FF if file_align >= 0x200 else ~0
        if take and rawptr + take > len(data):
            raise LoaderError(f"{path}: section {name!r} extends beyond the end of the file")
        if take:
            mem[rva:rva + take] = data[rawptr:rawptr + take]
        sections.append((name, rva, vsize, _prot(schars)))
    ordered = sorted(sections, key=lambda s: s[1])
    for a, b in zip(ordered, ordered[1:]):
        if a[2] and b[2] and a[1] + a[2] > b[1]:
            raise LoaderError(f"{path}: sections {a[0]!r} and {b[0]!r} overlap")

    m = _View(mem, path, "image")
    imports = _imports(m, ddir[DIR_IMPORT], bits, path, delayed=False)
    imports += _imports(m, ddir[DIR_DELAY_IMPORT], bits, path, delayed=True)
    relocs = _relocations(m, ddir[DIR_BASERELOC], size_of_image, path)
    tls = _tls(m, ddir[DIR_TLS], bits, image_base, size_of_image, path)
    # Windows reads exports and resources only when asked (GetProcAddress, LoadString):
    # damage there does not stop a program from loading, so here it only empties them
    exports, export_ordinals = _lenient(lambda: _exports(m, ddir[DIR_EXPORT], path)) or ({}, {})
    resources = _lenient(lambda: _resources(m, ddir[DIR_RESOURCE], size_of_image, path))

    if small:
        segments = [Segment(0, size_of_image, size_of_image, 0, 7)]
    else:
        hdr = (size_of_headers + 0xFFF) & ~0xFFF
        segments = [Segment(0, hdr, hdr, 0, 1)]
        for name, rva, vsize, prot in sections:
            if vsize:
                size = (vsize + 0xFFF) & ~0xFFF
                segments.append(Segment(rva, size, size, rva, prot))
    info = PeInfo(machine=machine, image_base=image_base, size_of_image=size_of_image,
                  size_of_headers=size_of_headers, subsystem=subsystem, dll_characteristics=dll_chars,
                  characteristics=chars, stack_reserve=stack_reserve, stack_commit=stack_commit,
                  imports=imports, relocations=relocs, tls=tls, exports=exports,
                  sections=sections, memory=mem, resources=resources,
                  export_ordinals=export_ordinals, export_range=ddir[DIR_EXPORT])
    image = Image(format="pe", arch=arch, bits=bits, entry=entry, segments=segments,
                  position_independent=True, kind="dll" if chars & FILE_DLL else "exec",
                  needed=[d.dll for d in imports], abi="windows", path=path,
                  details={"pe": info})
    _fill(image)
    return image


def _lenient(read):
    try:
        return read()
    except LoaderError:
        return {}


def _fill(image: Image) -> None:
    """Copy the laid-out bytes into the segments (again after a rebase)."""
    mem = image.details["pe"].memory
    for seg in image.segments:
        seg.data = bytes(mem[seg.vaddr:seg.vaddr + seg.filesz])


def _imports(m: _View, d: tuple[int, int], bits: int, path: str, delayed: bool) -> list[ImportDll]:
    rva, size = d
    if rva == 0:
        return []
    m.what = "delay-import directory" if delayed else "import directory"
    out = []
    step, desc_size = bits // 8, 32 if delayed else 20
    flag = 1 << (bits - 1)
    read = m.u64 if bits == 64 else m.u32
    for n in range(MAX_IMPORT_DLLS + 1):
        if n == MAX_IMPORT_DLLS:
            raise LoaderError(f"{path}: import directory is not terminated")
        desc = rva + desc_size * n
        if delayed:
            attrs, name_rva, _hmod, iat, ilt = (m.u32(desc + 4 * k) for k in range(5))
            if name_rva == 0:
                break
            if not attrs & 1:       # old VC6 layout holds VAs: not supported, skip nothing silently
                raise LoaderError(f"{path}: delay-import descriptor uses virtual addresses (old format)")
        else:
            ilt, _ts, _fwd, name_rva, iat = (m.u32(desc + 4 * k) for k in range(5))
            if name_rva == 0 and iat == 0:
                break
        dll = m.cstr(name_rva)
        lookup = ilt or iat
        entries = []
        for k in range(MAX_IMPORTS_PER_DLL + 1):
            if k == MAX_IMPORTS_PER_DLL:
                raise LoaderError(f"{path}: import list of {dll} is not terminated")
            v = read(lookup + step * k)
            if v == 0:
                break
            if v & flag:
                entries.append(ImportEntry(None, v & 0xFFFF, iat + step * k))
            else:
                hint_rva = v & 0x7FFFFFFF
                m.u16(hint_rva)
                entries.append(ImportEntry(m.cstr(hint_rva + 2), None, iat + step * k))
        out.append(ImportDll(dll, entries, delayed))
    return out


def _relocations(m: _View, d: tuple[int, int], size_of_image: int, path: str) -> list[tuple[int, int]]:
    rva, size = d
    out = []
    if rva == 0 or size == 0:
        return out
    m.what = "base relocations"
    end = rva + size
    m._need(rva, size)
    pos = rva
    while pos + 8 <= end:
        page, block = m.u32(pos), m.u32(pos + 4)
        if block < 8 or pos + block > end or block & 1:
            raise LoaderError(f"{path}: bad base-relocation block at {pos:#x}")
        for off in range(pos + 8, pos + block, 2):
            e = m.u16(off)
            kind, target = e >> 12, page + (e & 0xFFF)
            if kind == REL_ABSOLUTE:
                continue
            if kind not in (REL_HIGH, REL_LOW, REL_HIGHLOW, REL_DIR64):
                raise LoaderError(f"{path}: unsupported base-relocation type {kind}")
            if target + (8 if kind == REL_DIR64 else 4) > size_of_image:
                raise LoaderError(f"{path}: base relocation at {target:#x} lies outside the image")
            out.append((target, kind))
        pos += block
    return out


def _tls(m: _View, d: tuple[int, int], bits: int, base: int, size: int, path: str) -> Optional[PeTls]:
    rva, _size = d
    if rva == 0:
        return None
    m.what = "TLS directory"
    read, step = (m.u64, 8) if bits == 64 else (m.u32, 4)
    start, end, index, cbs = (read(rva + step * k) for k in range(4))
    zero_fill = m.u32(rva + 4 * step)

    def to_rva(va: int, what: str) -> int:
        if va == 0:
            return 0
        if not base <= va < base + size:
            raise LoaderError(f"{path}: TLS {what} {va:#x} lies outside the image")
        return va - base
    start_r, end_r = to_rva(start, "data start"), to_rva(end, "data end") if end else 0
    if end_r < start_r:
        raise LoaderError(f"{path}: TLS data ends before it starts")
    callbacks = []
    if cbs:
        pos = to_rva(cbs, "callback array")
        for k in range(1024):
            v = read(pos + step * k)
            if v == 0:
                break
            callbacks.append(to_rva(v, "callback"))
        else:
            raise LoaderError(f"{path}: TLS callback array is not terminated")
    return PeTls(start_r, end_r, to_rva(index, "index"), zero_fill, callbacks)


def _exports(m: _View, d: tuple[int, int], path: str) -> tuple[dict, dict]:
    """(name -> rva, ordinal -> rva); an ordinal is the export's index plus the
    directory's ordinal base, and an unused slot (rva 0) is no export."""
    rva, size = d
    if rva == 0:
        return {}, {}
    m.what = "export directory"
    base, nfunc, nnames = m.u32(rva + 16), m.u32(rva + 20), m.u32(rva + 24)
    funcs, names, ords = m.u32(rva + 28), m.u32(rva + 32), m.u32(rva + 36)
    if nnames > 1 << 16 or nfunc > 1 << 16:
        raise LoaderError(f"{path}: export directory too large")
    by_ordinal = {}
    for i in range(nfunc):
        f = m.u32(funcs + 4 * i)
        if f:
            by_ordinal[(base + i) & 0xFFFF] = f
    out = {}
    for i in range(nnames):
        idx = m.u16(ords + 2 * i)
        if idx >= nfunc:
            raise LoaderError(f"{path}: export ordinal {idx} out of range")
        out[m.cstr(m.u32(names + 4 * i))] = m.u32(funcs + 4 * idx)
    return out, by_ordinal


def _resources(m: _View, d: tuple[int, int], size_of_image: int, path: str) -> dict:
    """The three-level resource tree (type, name, language) flattened to a dict; ids
    are ints, names are upper-case strings (lookups are case-insensitive)."""
    root, _size = d
    out: dict = {}
    if root == 0:
        return out
    m.what = "resource directory"

    def entries(rva: int):
        named, ids = m.u16(rva + 12), m.u16(rva + 14)
        if named + ids > MAX_RESOURCES:
            raise LoaderError(f"{path}: resource directory too large")
        for i in range(named + ids):
            e = rva + 16 + 8 * i
            name, target = m.u32(e), m.u32(e + 4)
            if name & 0x80000000:
                off = root + (name & 0x7FFFFFFF)
                n = m.u16(off)
                m._need(off + 2, 2 * n)
                key = bytes(m.data[off + 2:off + 2 + 2 * n]).decode("utf-16-le", "replace").upper()
            else:
                key = name & 0xFFFF
            yield key, target

    for tkey, t in entries(root):
        if not t & 0x80000000:
            continue
        for nkey, n in entries(root + (t & 0x7FFFFFFF)):
            if not n & 0x80000000:
                continue
            for lkey, leaf in entries(root + (n & 0x7FFFFFFF)):
                if leaf & 0x80000000:
                    continue
                data_rva, size = m.u32(root + leaf), m.u32(root + leaf + 4)
                if data_rva + size > size_of_image:
                    raise LoaderError(f"{path}: resource data lies outside the image")
                out[(tkey, nkey, lkey)] = (data_rva, size)
                if len(out) > MAX_RESOURCES:
                    raise LoaderError(f"{path}: too many resources")
    return out


def relocate(image: Image, new_base: int) -> None:
    """Apply the base relocations so the image runs at ``new_base`` (Windows does this
    when the preferred base is taken).  LoaderError if the image has been stripped of
    its relocations (IMAGE_FILE_RELOCS_STRIPPED) and cannot move."""
    info: PeInfo = image.details["pe"]
    delta = new_base - info.image_base
    if delta == 0:
        return
    if info.characteristics & 0x0001:
        raise LoaderError(f"{image.path}: cannot move to {new_base:#x}: relocations are stripped")
    mem = info.memory
    mask = (1 << image.bits) - 1
    for rva, kind in info.relocations:
        if kind == REL_DIR64:
            v = struct.unpack_from("<Q", mem, rva)[0]
            struct.pack_into("<Q", mem, rva, (v + delta) & 0xFFFFFFFFFFFFFFFF)
        elif kind == REL_HIGHLOW:
            v = struct.unpack_from("<I", mem, rva)[0]
            struct.pack_into("<I", mem, rva, (v + delta) & 0xFFFFFFFF)
        elif kind == REL_HIGH:
            v = struct.unpack_from("<H", mem, rva)[0]
            struct.pack_into("<H", mem, rva, ((v << 16) + delta) >> 16 & 0xFFFF)
        elif kind == REL_LOW:
            v = struct.unpack_from("<H", mem, rva)[0]
            struct.pack_into("<H", mem, rva, (v + delta) & 0xFFFF)
    info.image_base = new_base & mask
    _fill(image)

