"""The process heap behind HeapAlloc and malloc: blocks carved from big mapped
chunks, freed blocks kept in exact-size free lists.

The bookkeeping lives in Python (no headers in guest memory), so a guest that
overruns a block cannot corrupt the allocator itself; HeapSize/_msize read the
recorded size.
"""
from __future__ import annotations

from hw.cpu import PROT_READ, PROT_WRITE

CHUNK = 64 << 20
ALIGN = 16


class Heap:
    def __init__(self, space, name: str = "heap"):
        self.space = space
        self.name = name
        self.sizes: dict[int, int] = {}        # live block -> requested size
        self.caps: dict[int, int] = {}         # live block -> capacity
        self.free_lists: dict[int, list[int]] = {}
        self.next = self.end = 0
        self.base = self._grow(CHUNK)

    def _grow(self, need: int) -> int:
        size = max(CHUNK, (need + 0xFFFF) & ~0xFFFF)
        base = self.space.find_free(size)
        self.space.map(base, size, PROT_READ | PROT_WRITE, name=self.name)
        self.next, self.end = base, base + size
        return base

    def alloc(self, n: int, zero: bool = False) -> int:
        cap = max(ALIGN, (n + ALIGN - 1) & ~(ALIGN - 1))
        bucket = self.free_lists.get(cap)
        if bucket:
            addr = bucket.pop()
            if zero:
                self.space.cpu.mem_write(addr, bytes(cap))
        else:
            if self.next + cap > self.end:
                self._grow(cap)
            addr = self.next
            self.next += cap
        self.sizes[addr] = n
        self.caps[addr] = cap
        return addr

    def free(self, addr: int) -> bool:
        cap = self.caps.pop(addr, None)
        if cap is None:
            return False
        del self.sizes[addr]
        self.free_lists.setdefault(cap, []).append(addr)
        return True

    def size(self, addr: int) -> int | None:
        return self.sizes.get(addr)

    def realloc(self, addr: int, n: int) -> int:
        """Grow or shrink in place when the capacity allows, else move the bytes."""
        cap = self.caps.get(addr)
        if cap is None:
            return 0
        if n <= cap:
            self.sizes[addr] = n
            return addr
        new = self.alloc(n)
        old = self.sizes[addr]
        self.space.cpu.mem_write(new, self.space.cpu.mem_read(addr, old))
        self.free(addr)
        return new
