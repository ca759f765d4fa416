"""ELF executables and shared objects (ELFCLASS32/64, EM_386/EM_X86_64) via pyelftools.

Every check that Linux's binfmt_elf makes before mapping is made here, so that
a malformed file becomes a one-line LoaderError instead of a strange crash
later; pyelftools' own exceptions on truncated input are folded into the same
error.
"""
from __future__ import annotations

import io

from .errors import LoaderError
from .image import Image, Segment, TlsTemplate

PT_LOAD, PT_DYNAMIC, PT_INTERP, PT_PHDR, PT_TLS = 1, 2, 3, 6, 7
PT_GNU_STACK = 0x6474E551
PF_X, PF_W, PF_R = 1, 2, 4
MAX_PHNUM = 4096          # Linux refuses more than 64 KiB of program headers
MACHINES = {"EM_X86_64": ("x86_64", 64), "EM_386": ("i386", 32)}


def _prot(flags: int) -> int:
    # Same bit order as hw.cpu: READ=1, WRITE=2, EXEC=4
    return (1 if flags & PF_R else 0) | (2 if flags & PF_W else 0) | (4 if flags & PF_X else 0)


def parse_elf(data: bytes, path: str = "") -> Image:
    try:
        return _parse(data, path)
    except LoaderError:
        raise
    except Exception as e:   # pyelftools raises many types on corrupt input
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise LoaderError(f"{path}: malformed ELF file ({msg})") from None


def _parse(data: bytes, path: str) -> Image:
    from elftools.elf.elffile import ELFFile
    if len(data) < 52:
        raise LoaderError(f"{path}: truncated ELF header")
    if data[4] not in (1, 2):
        raise LoaderError(f"{path}: bad ELF class {data[4]}")
    if data[5] != 1:
        raise LoaderError(f"{path}: not a little-endian ELF file")
    elf = ELFFile(io.BytesIO(data))
    machine = elf["e_machine"]
    if machine not in MACHINES:
        raise LoaderError(f"{path}: ELF for machine {machine}, guise runs x86 (EM_386, EM_X86_64)")
    arch, bits = MACHINES[machine]
    if (bits == 64) != (elf.elfclass == 64):
        raise LoaderError(f"{path}: ELF class {elf.elfclass} does not match machine {machine}")
    etype = elf["e_type"]
    if etype not in ("ET_EXEC", "ET_DYN"):
        raise LoaderError(f"{path}: ELF type {etype} is not executable")
    phnum, phentsize, phoff = elf["e_phnum"], elf["e_phentsize"], elf["e_phoff"]
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
    for i in range(phnum):
        ph = elf.get_segment(i).header
        ptype = ph["p_type"]
        off, filesz, memsz, vaddr = ph["p_offset"], ph["p_filesz"], ph["p_memsz"], ph["p_vaddr"]
        if ptype == "PT_LOAD":
            if filesz > memsz:
                raise LoaderError(f"{path}: segment {i} has p_filesz > p_memsz")
            if off + filesz > len(data):
                raise LoaderError(f"{path}: segment {i} extends beyond the end of the file")
            if vaddr + memsz >= limit or vaddr + memsz < vaddr:
                raise LoaderError(f"{path}: segment {i} does not fit the {bits}-bit address space")
            if (vaddr - off) % 0x1000:
                raise LoaderError(f"{path}: segment {i} offset and address are not congruent modulo the page size")
            segments.append(Segment(vaddr, memsz, filesz, off, _prot(ph["p_flags"]),
                                    data[off:off + filesz]))
        elif ptype == "PT_INTERP":
            if off + filesz > len(data) or filesz == 0 or filesz > 4096:
                raise LoaderError(f"{path}: bad PT_INTERP")
            raw = data[off:off + filesz].split(b"\0", 1)[0]
            interp = raw.decode("utf-8", "surrogateescape")
            if not interp:
                raise LoaderError(f"{path}: empty PT_INTERP")
        elif ptype == "PT_TLS":
            tls = TlsTemplate(vaddr, filesz, memsz, max(1, ph["p_align"]))
        elif ptype == "PT_GNU_STACK":
            exec_stack = bool(ph["p_flags"] & PF_X)
        elif ptype == "PT_PHDR":
            phdr_vaddr = vaddr
        elif ptype == "PT_DYNAMIC":
            dynamic = elf.get_segment(i)
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
    needed, soname = [], None
    if dynamic is not None:
        try:
            for tag in dynamic.iter_tags():
                if tag.entry.d_tag == "DT_NEEDED":
                    needed.append(tag.needed)
                elif tag.entry.d_tag == "DT_SONAME":
                    soname = tag.soname
        except Exception:
            pass   # a broken dynamic section is the dynamic linker's business, as on Linux
    return Image(format="elf", arch=arch, bits=bits, entry=elf["e_entry"], segments=segments,
                 position_independent=(etype == "ET_DYN"), kind="dyn" if etype == "ET_DYN" else "exec",
                 interpreter=interp, needed=needed, soname=soname, tls=tls, exec_stack=exec_stack,
                 phdr_vaddr=phdr_vaddr, phentsize=phentsize, phnum=phnum, path=path)
