"""Boot protocols: putting a kernel into guest RAM the way a boot loader would.

Multiboot 1 (the GNU spec): a 32-bit ELF kernel with the multiboot header
(magic 0x1BADB002) in its first 8 KiB is loaded at its physical addresses and
entered in flat 32-bit protected mode with EAX = 0x2BADB002 and EBX = the
address of a multiboot information structure (memory sizes and the command
line).
"""
from __future__ import annotations

import io
import struct

HEADER_MAGIC, LOADER_MAGIC = 0x1BADB002, 0x2BADB002
INFO_ADDR = 0x9000                 # the information structure, below 640 KiB
CMDLINE_ADDR = 0x9800
INFO_MEM, INFO_CMDLINE = 0x001, 0x004


class BootError(Exception):
    """A kernel that cannot be booted: one line for the user."""


class Loaded:
    def __init__(self, entry: int, regs: dict):
        self.entry, self.regs = entry, regs


def multiboot(data: bytes, ram, ram_size: int, cmdline: str = "") -> Loaded:
    """Load multiboot kernel ``data`` into ``ram`` (an object with ``write(addr, bytes)``)."""
    from elftools.common.exceptions import ELFError     # here: a Linux boot, which imports
    from elftools.elf.elffile import ELFFile            # BootError, need not pay 30 ms for it
    head = data[:8192]
    for off in range(0, len(head) - 12, 4):
        magic, flags, checksum = struct.unpack_from("<III", head, off)
        if magic == HEADER_MAGIC and (magic + flags + checksum) & 0xFFFFFFFF == 0:
            break
    else:
        raise BootError("not a multiboot kernel (no multiboot header in its first 8 KiB)")
    if flags & 0x10000:
        raise BootError("multiboot a.out kludge (address fields) is not supported; use an ELF kernel")
    try:
        elf = ELFFile(io.BytesIO(data))
        if elf.elfclass != 32 or elf["e_machine"] != "EM_386":
            raise BootError("a multiboot kernel must be a 32-bit x86 ELF")
        for seg in elf.iter_segments():
            if seg["p_type"] != "PT_LOAD":
                continue
            addr, size = seg["p_paddr"], seg["p_memsz"]
            if addr < 0x100000 and addr + size > 0xA0000 or addr + size > ram_size:
                raise BootError(f"segment at {addr:#x} (+{size:#x}) does not fit in guest RAM")
            body = seg.data()
            ram.write(addr, body + bytes(size - len(body)))
        entry = elf["e_entry"]
    except (ELFError, struct.error, ValueError) as e:
        raise BootError(f"malformed kernel ELF: {e}") from None
    lower, upper = 640, (ram_size - (1 << 20)) // 1024
    cmd = cmdline.encode() + b"\0"
    ram.write(CMDLINE_ADDR, cmd)
    info = struct.pack("<IIII", INFO_MEM | INFO_CMDLINE, lower, upper, 0) + struct.pack("<I", CMDLINE_ADDR)
    ram.write(INFO_ADDR, info.ljust(88, b"\0"))
    return Loaded(entry, {"eax": LOADER_MAGIC, "ebx": INFO_ADDR})
