"""The Windows guest's address space: regions with protections, reserve/commit
state and allocation bases, as VirtualQuery reports them.

It is duck-compatible with ``loader.mapping.map_image`` (``map``, ``protect``,
``cpu``).  Everything is committed when it is mapped; MEM_RESERVE-only ranges
are recorded but not mapped into the CPU until they are committed.

Committed pages are host memory (hw.memory) handed to every thread's CPU by
pointer, so that all guest threads share one address space (see threads.py).
"""
from __future__ import annotations

import bisect
import dataclasses

from hw import memory as hostmem
from hw.cpu import PAGE_SIZE, page_down, page_up

MEM_COMMIT, MEM_RESERVE, MEM_FREE = 0x1000, 0x2000, 0x10000
MEM_IMAGE, MEM_MAPPED, MEM_PRIVATE = 0x1000000, 0x40000, 0x20000
ALLOC_GRANULARITY = 0x10000

# hw.cpu protection bits -> PAGE_* constants and back
_TO_PAGE = {0: 0x01, 1: 0x02, 3: 0x04, 4: 0x10, 5: 0x20, 7: 0x40, 2: 0x04, 6: 0x40}
_FROM_PAGE = {0x01: 0, 0x02: 1, 0x04: 3, 0x08: 3, 0x10: 4, 0x20: 5, 0x40: 7, 0x80: 7}


def page_protect(prot: int) -> int:
    return _TO_PAGE[prot & 7]


def from_page_protect(value: int) -> int | None:
    """hw.cpu bits of a PAGE_* value (modifiers like PAGE_GUARD ignored), None if invalid."""
    return _FROM_PAGE.get(value & 0xFF)


@dataclasses.dataclass
class Region:
    start: int
    end: int
    prot: int
    alloc_base: int
    alloc_prot: int
    committed: bool
    kind: int
    name: str = ""
    host: int = 0                  # host address of the committed pages (0: reserved only)


class AddressSpace:
    def __init__(self, cpu, bits: int):
        self.cpu = cpu                  # the first thread's CPU (reads and writes go through it)
        self.cpus = [cpu]               # every thread's CPU maps the same host memory
        self.bits = bits
        self.low = 0x10000
        self.high = 0x7FFF0000 if bits == 32 else 0x7FFFFFFF0000
        self.regions: list[Region] = []      # sorted by start, non-overlapping
        self._starts: list[int] = []

    # -- lookup -------------------------------------------------------------
    def find(self, addr: int) -> Region | None:
        i = bisect.bisect_right(self._starts, addr) - 1
        if i >= 0 and self.regions[i].start <= addr < self.regions[i].end:
            return self.regions[i]
        return None

    def is_free(self, start: int, end: int) -> bool:
        if start < self.low or end > self.high or start >= end:
            return False
        i = bisect.bisect_right(self._starts, start) - 1
        if i >= 0 and self.regions[i].end > start:
            return False
        return i + 1 >= len(self.regions) or self.regions[i + 1].start >= end

    def find_free(self, size: int, hint: int = 0, top_down: bool = False) -> int:
        size = page_up(size)
        g = ALLOC_GRANULARITY
        if top_down:
            cand = (self.high - size) & ~(g - 1)
            for r in reversed(self.regions):
                if r.end <= cand:
                    break
                if r.start < cand + size:
                    cand = (r.start - size) & ~(g - 1)
            if cand >= self.low and self.is_free(cand, cand + size):
                return cand
        cand = max(self.low, (hint + g - 1) & ~(g - 1))
        for r in self.regions:
            if r.end <= cand:
                continue
            if r.start >= cand + size:
                break
            cand = (r.end + g - 1) & ~(g - 1)
        if cand + size > self.high:
            raise MemoryError("address space exhausted")
        return cand

    # -- changes ------------------------------------------------------------
    def _insert(self, r: Region) -> None:
        i = bisect.bisect_left(self._starts, r.start)
        self.regions.insert(i, r)
        self._starts.insert(i, r.start)

    def map(self, start: int, size: int, prot: int, name: str = "", offset: int = 0,
            dev: int = 0, inode: int = 0, kind: int = MEM_PRIVATE, alloc_base: int | None = None) -> None:
        """Commit [start, start+size) with ``prot``; the range must be free."""
        start, end = page_down(start), page_up(start + size)
        host = self._back(start, end, prot)
        base = start if alloc_base is None else alloc_base
        self._insert(Region(start, end, prot, base, prot, True, kind, name, host))

    def _back(self, start: int, end: int, prot: int) -> int:
        """Fresh zeroed host memory for [start, end), mapped into every CPU."""
        host = hostmem.alloc(end - start)
        for cpu in self.cpus:
            cpu.mem_map_ptr(start, end - start, prot, host)
        return host

    def add_cpu(self, cpu) -> None:
        """A new thread's CPU: every committed page, shared."""
        for r in self.regions:
            if r.committed:
                cpu.mem_map_ptr(r.start, r.end - r.start, r.prot, r.host)
        self.cpus.append(cpu)

    def remove_cpu(self, cpu) -> None:
        if cpu in self.cpus and cpu is not self.cpu:
            self.cpus.remove(cpu)

    def reserve(self, start: int, size: int, prot: int, name: str = "") -> None:
        start, end = page_down(start), page_up(start + size)
        self._insert(Region(start, end, prot, start, prot, False, MEM_PRIVATE, name))

    def _split(self, addr: int) -> None:
        r = self.find(addr)
        if r is None or r.start == addr:
            return
        tail = dataclasses.replace(r, start=addr, host=r.host + (addr - r.start) if r.host else 0)
        r.end = addr
        self._insert(tail)

    def _pieces(self, start: int, end: int) -> list[Region]:
        self._split(start)
        self._split(end)
        i = bisect.bisect_left(self._starts, start)
        out = []
        while i < len(self.regions) and self.regions[i].start < end:
            out.append(self.regions[i])
            i += 1
        return out

    def covered(self, start: int, end: int) -> bool:
        pos = start
        for r in self._pieces(start, end):
            if r.start != pos:
                return False
            pos = r.end
        return pos >= end

    def commit(self, start: int, size: int, prot: int) -> None:
        start, end = page_down(start), page_up(start + size)
        for r in self._pieces(start, end):
            if not r.committed:
                r.host = self._back(r.start, r.end, prot)
                r.committed = True
            else:
                for cpu in self.cpus:
                    cpu.mem_protect(r.start, r.end - r.start, prot)
            r.prot = prot

    def protect(self, start: int, size: int, prot: int) -> None:
        start, end = page_down(start), page_up(start + size)
        for r in self._pieces(start, end):
            if r.committed:
                for cpu in self.cpus:
                    cpu.mem_protect(r.start, r.end - r.start, prot)
                r.prot = prot

    def release(self, alloc_base: int) -> bool:
        """VirtualFree(MEM_RELEASE): the whole allocation starting at ``alloc_base``."""
        victims = [r for r in self.regions if r.alloc_base == alloc_base]
        if not victims or victims[0].start != alloc_base:
            return False
        for r in victims:
            if r.committed:
                for cpu in self.cpus:
                    cpu.mem_unmap(r.start, r.end - r.start)
                hostmem.free(r.host, r.end - r.start)
            i = self.regions.index(r)
            del self.regions[i]
            del self._starts[i]
        return True

    def query(self, addr: int):
        """(base, alloc_base, alloc_prot, size, state, prot, type) of the run of pages
        with equal attributes containing ``addr``, as MEMORY_BASIC_INFORMATION."""
        addr = page_down(addr)
        r = self.find(addr)
        if r is None:
            i = bisect.bisect_right(self._starts, addr)
            nxt = self.regions[i].start if i < len(self.regions) else self.high
            return addr, 0, 0, nxt - addr, MEM_FREE, 0x01, 0
        end = r.end
        i = self.regions.index(r) + 1
        while i < len(self.regions):
            n = self.regions[i]
            if n.start != end or n.prot != r.prot or n.committed != r.committed or n.alloc_base != r.alloc_base:
                break
            end = n.end
            i += 1
        state = MEM_COMMIT if r.committed else MEM_RESERVE
        return (addr, r.alloc_base, page_protect(r.alloc_prot), end - addr, state,
                page_protect(r.prot) if r.committed else 0, r.kind)
