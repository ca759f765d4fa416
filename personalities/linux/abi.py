"""The two Linux x86 ABIs: trap registers, syscall numbers and struct layouts.

Handlers are written once and ask the process's ``abi`` for anything whose
layout differs between x86-64 and i386 (struct stat, timespec, iovec, …).
"""
from __future__ import annotations

import os
import struct

from . import numbers

# st_mode type bits -> d_type / statx need these
S_IFMT = 0o170000


def s32(x: int) -> int:
    """Interpret a register value as a C int (both ABIs pass ints in 32 bits)."""
    x &= 0xFFFFFFFF
    return x - (1 << 32) if x & 0x80000000 else x


def s64(x: int) -> int:
    x &= 0xFFFFFFFFFFFFFFFF
    return x - (1 << 64) if x & (1 << 63) else x


def _ns(t: float, ns: int) -> tuple[int, int]:
    return ns // 1_000_000_000, ns % 1_000_000_000


def _ns32(t: float, ns: int) -> tuple[int, int]:
    """i386 stat fields are unsigned longs: the kernel stores the low 32 bits of the seconds."""
    return (ns // 1_000_000_000) & 0xFFFFFFFF, ns % 1_000_000_000


class Abi:
    name: str
    bits: int
    arch: str
    trap: str
    arg_regs: tuple
    result_reg: str
    numbers: dict
    platform: bytes

    def __init__(self):
        self.ptr_size = self.bits // 8
        self.mask = (1 << self.bits) - 1
        self.names = {nr: name for name, nr in self.numbers.items()}
        p = "Q" if self.bits == 64 else "I"
        self.iovec = struct.Struct("<" + p + p)
        self.long = struct.Struct("<q" if self.bits == 64 else "<i")
        self.ulong = struct.Struct("<" + p)
        self.timespec = struct.Struct("<qq" if self.bits == 64 else "<ii")
        self.timeval = self.timespec
        self.timespec64 = struct.Struct("<qq")

    def slong(self, x: int) -> int:
        """A register as a C long (off_t on x86-64, 32-bit off_t on i386)."""
        return s64(x) if self.bits == 64 else s32(x)


class X86_64(Abi):
    name, bits, arch, trap = "x86_64", 64, "x86_64", "syscall"
    arg_regs = ("rax", "rdi", "rsi", "rdx", "r10", "r8", "r9")
    result_reg = "rax"
    numbers = numbers.X86_64
    platform = b"x86_64"
    _stat = struct.Struct("<QQQIIIIQqqqqQqQqQqqq")     # seconds signed: times before 1970

    def pack_stat(self, st: os.stat_result) -> bytes:
        return self._stat.pack(st.st_dev, st.st_ino, st.st_nlink, st.st_mode, st.st_uid,
                               st.st_gid, 0, st.st_rdev, st.st_size, st.st_blksize, st.st_blocks,
                               *_ns(0, st.st_atime_ns), *_ns(0, st.st_mtime_ns),
                               *_ns(0, st.st_ctime_ns), 0, 0, 0)

    pack_stat64 = pack_stat


class I386(Abi):
    name, bits, arch, trap = "i386", 32, "i386", "int80"
    arg_regs = ("eax", "ebx", "ecx", "edx", "esi", "edi", "ebp")
    result_reg = "eax"
    numbers = numbers.I386
    platform = b"i686"
    _stat64 = struct.Struct("<Q4sIIIIIQ4sqIQIIIIIIQ")
    _stat = struct.Struct("<IIHHHHIIIIIIIIIIII")

    def pack_stat64(self, st: os.stat_result) -> bytes:
        return self._stat64.pack(st.st_dev, b"", st.st_ino & 0xFFFFFFFF, st.st_mode, st.st_nlink,
                                 st.st_uid, st.st_gid, st.st_rdev, b"", st.st_size, st.st_blksize,
                                 st.st_blocks, *_ns32(0, st.st_atime_ns), *_ns32(0, st.st_mtime_ns),
                                 *_ns32(0, st.st_ctime_ns), st.st_ino)

    def pack_stat(self, st: os.stat_result) -> bytes:
        """The old 32-bit struct stat: EOVERFLOW where a field does not fit, like Linux."""
        if st.st_ino >> 32 or st.st_size >> 31 or st.st_blocks >> 32:
            raise OSError(75, "Value too large for defined data type")
        return self._stat.pack(st.st_dev & 0xFFFFFFFF, st.st_ino, st.st_mode & 0xFFFF,
                               min(st.st_nlink, 0xFFFF), st.st_uid & 0xFFFF, st.st_gid & 0xFFFF,
                               st.st_rdev & 0xFFFFFFFF, st.st_size, st.st_blksize, st.st_blocks,
                               *_ns32(0, st.st_atime_ns), *_ns32(0, st.st_mtime_ns),
                               *_ns32(0, st.st_ctime_ns), 0, 0)


ABIS = {"x86_64": X86_64(), "i386": I386()}
