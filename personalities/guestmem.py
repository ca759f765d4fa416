"""The one accessor layer for guest memory used by every personality.

A bad guest pointer becomes :class:`GuestFault`; the Linux personality turns
that into EFAULT and the Windows one into an access violation.  Nothing else
reads or writes guest memory.
"""
from __future__ import annotations

import struct

from hw.cpu import MemoryFault, PAGE_SIZE


class GuestFault(Exception):
    def __init__(self, address: int, write: bool = False):
        super().__init__(f"bad guest address {address:#x}")
        self.address = address
        self.write = write              # a store, not a load (Windows reports which)


class GuestMemory:
    def __init__(self, cpu, bits: int):
        self.cpu = cpu
        self.bits = bits
        self.ptr_size = bits // 8
        self._ptr = struct.Struct("<Q" if bits == 64 else "<I")
        self._read = cpu.mem_read
        self._write = cpu.mem_write

    def read(self, addr: int, size: int) -> bytes:
        if size <= 0:
            return b""
        try:
            return self._read(addr, size)
        except MemoryFault:
            raise GuestFault(addr) from None
        except OverflowError:
            raise GuestFault(addr) from None

    def write(self, addr: int, data: bytes) -> None:
        if not data:
            return
        try:
            self._write(addr, data)
        except (MemoryFault, OverflowError):
            raise GuestFault(addr, write=True) from None

    def cstr(self, addr: int, limit: int = 4096) -> bytes:
        """A NUL-terminated string; OSError(ENAMETOOLONG) past ``limit`` bytes."""
        if addr == 0:
            raise GuestFault(0)
        out = b""
        while True:
            chunk = PAGE_SIZE - (addr & (PAGE_SIZE - 1))
            data = self.read(addr, chunk)
            nul = data.find(b"\0")
            if nul >= 0:
                out += data[:nul]
                if len(out) >= limit:
                    raise OSError(36, "File name too long")
                return out
            out += data
            if len(out) >= limit:
                raise OSError(36, "File name too long")
            addr += chunk

    def u32(self, addr: int) -> int:
        return int.from_bytes(self.read(addr, 4), "little")

    def u64(self, addr: int) -> int:
        return int.from_bytes(self.read(addr, 8), "little")

    def ptr(self, addr: int) -> int:
        return self._ptr.unpack(self.read(addr, self.ptr_size))[0]

    def put_u32(self, addr: int, v: int) -> None:
        self.write(addr, (v & 0xFFFFFFFF).to_bytes(4, "little"))

    def put_u64(self, addr: int, v: int) -> None:
        self.write(addr, (v & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "little"))

    def put_ptr(self, addr: int, v: int) -> None:
        self.write(addr, self._ptr.pack(v & ((1 << self.bits) - 1)))

    def ptr_array(self, addr: int, limit: int = 1 << 17) -> list[int]:
        """A NULL-terminated array of pointers (argv, envp)."""
        out = []
        while True:
            v = self.ptr(addr)
            if v == 0:
                return out
            out.append(v)
            if len(out) > limit:
                raise OSError(7, "Argument list too long")
            addr += self.ptr_size
