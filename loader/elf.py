"""ELF executables and shared objects (ELFCLASS32/64, EM_386/EM_X86_64).

Every check that Linux's binfmt_elf makes before mapping is made here, so that
a malformed file becomes a one-line LoaderError instead of a strange crash
later.  The file header, program headers and the two dynamic tags a run needs
are read with ``struct``: importing pyelftools costs about 18 ms, a fifth of
guise's whole start-up, for fields that are fixed-layout records.  pyelftools
stays the reference the tests cross-check this reader against.
"""
from __future__ import annotations

import struct

from .errors import LoaderError
from .image import Image, Segment, TlsTemplate

PT_LOAD, PT_DYNAMIC, PT_INTERP, PT_PHDR, PT_TLS = 1, 2, 3, 6, 7
PT_GNU_STACK = 0x6474E551
PF_X, PF_W, PF_R = 1, 2, 4
ET_EXEC, ET_DYN = 2, 3
DT_NULL, DT_NEEDED, DT_STRTAB, DT_STRSZ, DT_SONAME = 0, 1, 5, 10, 14
MAX_PHNUM = 4096          # Linux refuses more than 64 KiB of program headers
MACHINES = {62: ("x86_64", 64), 3: ("i386", 32)}          # EM_X86_64, EM_386
MACHINE_NAMES = {0: "EM_NONE", 2: "EM_SPARC", 8: "EM_MIPS", 20: "EM_PPC", 21: "EM_PPC64",
                 22: "EM_S390", 40: "EM_ARM", 50: "EM_IA_64", 183: "EM_AARCH64", 243: "EM_RISCV"}
ET_NAMES = {0: "ET_NONE", 1: "ET_REL", 4: "ET_CORE"}

# e_type, e_machine, e_version, e_entry, e_phoff, e_shoff, e_flags, e_ehsize, e_phentsize, e_phnum
_EHDR = {64: struct.Struct("<HHIQQQIHHH"), 32: struct.Struct("<HHIIIIIHHH")}
# Elf64_Phdr: type, flags, offset, vaddr, (paddr), filesz, memsz, align
_PHDR64 = struct.Struct("<IIQQ8xQQQ")
_DYN = {64: struct.Struct("<qQ"), 32: struct.Struct("<iI")}


def _prot(flags: int) -> int:
    # Same bit order as hw.cpu: READ=1, WRITE=2, EXEC=4
    return (1 if flags & PF_R else 0) | (2 if flags & PF_W else 0) | (4 if flags & PF_X else 0)


def _phdrs(data: bytes, bits: int, phoff: int, phnum: int):
    """(type, flags, offset, vaddr, filesz, memsz, align) of each program header."""
    if bits == 64:
        return [_PHDR64.unpack_from(data, phoff + 56 * i) for i in range(phnum)]
    out = []
    for i in range(phnum):
        # Elf32_Phdr: type, offset, vaddr, paddr, filesz, memsz, flags, align
        ptype, off, vaddr, _paddr, filesz, memsz, flags, align = struct.unpack_from("<8I", data, phoff + 32 * i)
        out.append((ptype, flags, off, vaddr, filesz, memsz, align))
    return out


def parse_elf(data: bytes, path: str = "") -> Image:
    try:
        return _parse(data, path)
    except LoaderError:
        raise
    except (struct.error, ValueError, OverflowError) as e:
        raise LoaderError(f"{path}: malformed ELF file ({e})") from None


def _parse(data: bytes, path: str) -> Image:
    if len(data) < 52:
        raise LoaderError(f"{path}: truncated ELF header")
    if data[4] not in (1, 2):
        raise LoaderError(f"{path}: bad ELF class {data[4]}")
    if data[5] != 1:
        raise LoaderError(f"{path}: not a little-endian ELF file")
    elfclass = 64 if data[4] == 2 else 32
    if len(data) < 16 + _EHDR[elfclass].size:
        raise LoaderError(f"{path}: truncated ELF header")
    etype, machine, _version, entry, phoff, _shoff, _flags, _ehsize, phentsize, phnum = \
        _EHDR[elfclass].unpack_from(data, 16)
    if machine not in MACHINES:
        name = MACHINE_NAMES.get(machine, machine)
        raise LoaderError(f"{path}: ELF for machine {name}, guise runs x86 (EM_386, EM_X86_64)")
    arch, bits = MACHINES[machine]
    if bits != elfclass:
        raise LoaderError(f"{path}: ELF class {elfclass} does not match machine "
                          f"{'EM_X86_64' if machine == 62 else 'EM_386'}")
    if etype not in (ET_EXEC, ET_DYN):
        raise LoaderError(f"{path}: ELF type {ET_NAMES.get(etype, etype)} is not executable")
    if phnum == 0 or phnum > MAX_PHNUM:
        raise LoaderError(f"{path}: bad program header count {phnum}")
    if phentsize != (56 if bits == 64 else 32):
        raise LoaderError(f"{path}: bad program header size {phentsize}")
    if phoff + phnum * phentsize > len(data):
        raise LoaderError(f"{path}: program headers lie beyond the end of the file")

    limit = 1 << bits
    segments: list[Segment] = []
    interp = None
    tls = None
    exec_stack = False
    phdr_vaddr = None
    dynamic = None
    for i, (ptype, pflags, off, vaddr, filesz, memsz, align) in enumerate(_phdrs(data, bits, phoff, phnum)):
        if ptype == PT_LOAD:
            if filesz > memsz:
                raise LoaderError(f"{path}: segment {i} has p_filesz > p_memsz")
            if off + filesz > len(data):
                raise LoaderError(f"{path}: segment {i} extends beyond the end of the file")
            if vaddr + memsz >= limit or vaddr + memsz < vaddr:
                raise LoaderError(f"{path}: segment {i} does not fit the {bits}-bit address space")
            if (vaddr - off) % 0x1000:
                raise LoaderError(f"{path}: segment {i} offset and address are not congruent modulo the page size")
            segments.append(Segment(vaddr, memsz, filesz, off, _prot(pflags), data[off:off + filesz]))
        elif ptype == PT_INTERP:
            if off + filesz > len(data) or filesz == 0 or filesz > 4096:
                raise LoaderError(f"{path}: bad PT_INTERP")
            raw = data[off:off + filesz].split(b"\0", 1)[0]
            interp = raw.decode("utf-8", "surrogateescape")
            if not interp:
                raise LoaderError(f"{path}: empty PT_INTERP")
        elif ptype == PT_TLS:
            tls = TlsTemplate(vaddr, filesz, memsz, max(1, align))
        elif ptype == PT_GNU_STACK:
            exec_stack = bool(pflags & PF_X)
        elif ptype == PT_PHDR:
            phdr_vaddr = vaddr
        elif ptype == PT_DYNAMIC:
            dynamic = (off, filesz)
    if not segments:
        raise LoaderError(f"{path}: no loadable segments")
    ordered = sorted(segments, key=lambda s: s.vaddr)
    for a, b in zip(ordered, ordered[1:]):
        if a.vaddr + a.memsz > (b.vaddr & ~0xFFF):
            raise LoaderError(f"{path}: loadable segments overlap")
    if phdr_vaddr is None:
        for s in segments:
            if s.offset <= phoff < s.offset + s.filesz:
                phdr_vaddr = s.vaddr + (phoff - s.offset)
                break
    needed, soname = _needed(data, bits, dynamic, segments) if dynamic else ([], None)
    return Image(format="elf", arch=arch, bits=bits, entry=entry, segments=segments,
                 position_independent=(etype == ET_DYN), kind="dyn" if etype == ET_DYN else "exec",
                 interpreter=interp, needed=needed, soname=soname, tls=tls, exec_stack=exec_stack,
                 phdr_vaddr=phdr_vaddr, phentsize=phentsize, phnum=phnum, path=path)


def _needed(data: bytes, bits: int, dynamic: tuple[int, int], segments: list[Segment]):
    """DT_NEEDED names and DT_SONAME from the dynamic segment.  A broken one is the
    dynamic linker's business, as on Linux: whatever cannot be read is left out."""
    off, size = dynamic
    dyn = _DYN[bits]
    tags, strtab, strsz = [], None, None
    end = min(off + size, len(data))
    for pos in range(off, end - dyn.size + 1, dyn.size):
        tag, val = dyn.unpack_from(data, pos)
        if tag == DT_NULL:
            break
        if tag in (DT_NEEDED, DT_SONAME):
            tags.append((tag, val))
        elif tag == DT_STRTAB:
            strtab = val
        elif tag == DT_STRSZ:
            strsz = val
    base = None
    for seg in segments:                 # DT_STRTAB is an address: find it in the file
        if strtab is not None and seg.vaddr <= strtab < seg.vaddr + seg.filesz:
            base = seg.offset + (strtab - seg.vaddr)
    needed, soname = [], None
    if base is None:
        return needed, soname
    limit = min(len(data), base + strsz) if strsz else len(data)
    for tag, val in tags:
        start = base + val
        stop = data.find(b"\0", start, limit)
        if start >= limit or stop < 0:
            continue
        name = data[start:stop].decode("utf-8", "surrogateescape")
        if tag == DT_NEEDED:
            needed.append(name)
        else:
            soname = name
    return needed, soname
