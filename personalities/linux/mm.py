"""The guest's address space: the list of mappings (VMAs) and the CPU's memory.

Linux semantics kept here: page granularity, MAP_FIXED replacing what was
there, top-down placement below the stack, partial munmap/mprotect splitting a
mapping, brk growing a heap after the program's bss.  ``/proc/self/maps`` is
rendered from the same list.
"""
from __future__ import annotations

import bisect
import dataclasses

from hw import memory as hostmem
from hw.cpu import PAGE_SIZE, PROT_READ, PROT_WRITE, PROT_EXEC, page_down, page_up, CpuError


def _start(v) -> int:
    return v.start


@dataclasses.dataclass
class Vma:
    start: int
    end: int
    prot: int
    name: str = ""
    offset: int = 0
    shared: bool = False
    dev: int = 0
    inode: int = 0
    host: int = 0          # host address backing ``start`` (hw.memory)
    # False for a shared mapping of a file opened read-only: Linux refuses to make it
    # writable (mprotect EACCES), and the host pages behind it are read-only too
    may_write: bool = True


def _compatible(a: Vma, b: Vma) -> bool:
    """Would Linux show these adjacent mappings as one?"""
    return (a.end == b.start and a.prot == b.prot and a.name == b.name and a.shared == b.shared
            and a.inode == b.inode and a.dev == b.dev and a.may_write == b.may_write
            and (a.inode == 0 or a.offset + (a.end - a.start) == b.offset))


def _piece(v: Vma, lo: int, hi: int, **changes) -> Vma:
    """The part [lo, hi) of ``v``, with file offset and host address moved along."""
    return dataclasses.replace(v, start=lo, end=hi, offset=v.offset + (lo - v.start),
                               host=v.host + (lo - v.start), **changes)


class AddressSpace:
    # The guest's RLIMIT_AS, enforced here rather than on the host process (whose own
    # address space is the emulator's).  Class-wide: one guest process per host process,
    # and the limit outlives execve as on Linux.
    as_limit: int | None = None
    # The jail's Limits when it limits memory: told this process's mapped total after
    # every change, it refuses growth past the jail-wide limit (ENOMEM).
    quota = None

    def __init__(self, cpu, bits: int):
        self.cpu = cpu                  # the first thread's CPU (it also reads/writes for us)
        self.cpus = [cpu]               # every thread's CPU maps the same host memory
        self.bits = bits
        self.vmas: list[Vma] = []
        if bits == 64:
            self.stack_top = 0x7FFFFFFFF000
            self.mmap_top = 0x7FFFF7FFF000
            self.limit = 0x7FFFFFFFF000
        else:
            self.stack_top = 0xFFFDE000
            self.mmap_top = 0xF7FFF000
            self.limit = 0xFFFFE000    # the top page holds the GDT on i386
        self.mmap_floor = 0x10000
        self.brk_start = 0
        self.brk = 0
        self.mapped_bytes = 0

    # -- queries -------------------------------------------------------------
    def overlaps(self, start: int, end: int) -> list[Vma]:
        i = max(bisect.bisect_right(self.vmas, start, key=_start) - 1, 0)
        out = []
        for v in self.vmas[i:]:
            if v.start >= end:
                break
            if v.end > start:
                out.append(v)
        return out

    def is_free(self, start: int, end: int) -> bool:
        return start >= self.mmap_floor and end <= self.limit and not self.overlaps(start, end)

    def find_free(self, size: int, top: int | None = None) -> int:
        """Highest free page-aligned range of ``size`` bytes below ``top`` (top-down, like Linux)."""
        hi = top if top is not None else self.mmap_top
        for v in reversed(self.vmas):
            if v.start >= hi:
                continue
            if v.end <= hi - size and hi - size >= self.mmap_floor:
                return hi - size
            hi = min(hi, v.start)
        if hi - size >= self.mmap_floor:
            return hi - size
        raise OSError(12, "Cannot allocate memory")

    def find(self, addr: int) -> Vma | None:
        i = bisect.bisect_right(self.vmas, addr, key=_start) - 1
        if i >= 0 and self.vmas[i].start <= addr < self.vmas[i].end:
            return self.vmas[i]
        return None

    # -- changes -------------------------------------------------------------
    def map(self, start: int, size: int, prot: int, name: str = "", offset: int = 0,
            shared: bool = False, dev: int = 0, inode: int = 0, fd: int | None = None,
            writable_file: bool = False) -> int:
        """Map pages at ``start``, replacing whatever was there.

        Anonymous pages are fresh zeroed host memory (shared with forked
        children when ``shared``); with ``fd`` they are the host kernel's mapping
        of that file at ``offset``.
        """
        end = start + size
        if self.as_limit is not None or self.quota is not None:
            replaced = sum(min(v.end, end) - max(v.start, start) for v in self.overlaps(start, end))
            if self.as_limit is not None and self.mapped_bytes - replaced + size > self.as_limit:
                raise OSError(12, "Cannot allocate memory")
            if self.quota is not None:
                self.quota.set_mem(self.mapped_bytes - replaced + size)
        self._unmap(start, size)
        try:
            if fd is None:
                host = hostmem.alloc(size, shared)
            else:
                host = hostmem.map_file(fd, offset, size, shared, writable_file)
        except OSError:
            if self.quota is not None:
                self.quota.set_mem(self.mapped_bytes)
            raise
        try:
            for cpu in self.cpus:
                cpu.mem_map_ptr(start, size, prot, host)
        except CpuError:
            for cpu in self.cpus:
                try:
                    cpu.mem_unmap(start, size)
                except CpuError:
                    pass
            hostmem.free(host, size)
            if self.quota is not None:
                self.quota.set_mem(self.mapped_bytes)
            raise OSError(12, "Cannot allocate memory") from None
        vma = Vma(start, end, prot, name, offset, shared, dev, inode, host,
                  may_write=not (fd is not None and shared and not writable_file))
        bisect.insort(self.vmas, vma, key=_start)
        self.mapped_bytes += size
        return start

    def unmap(self, start: int, size: int) -> None:
        before = self.mapped_bytes
        self._unmap(start, size)
        if self.quota is not None and self.mapped_bytes != before:
            self.quota.set_mem(self.mapped_bytes)

    def _unmap(self, start: int, size: int) -> None:
        end = start + size
        for v in self.overlaps(start, end):
            lo, hi = max(v.start, start), min(v.end, end)
            for cpu in self.cpus:
                cpu.mem_unmap(lo, hi - lo)
            hostmem.free(v.host + (lo - v.start), hi - lo)
            self.mapped_bytes -= hi - lo
            self.vmas.remove(v)
            if v.start < lo:
                bisect.insort(self.vmas, _piece(v, v.start, lo), key=_start)
            if hi < v.end:
                bisect.insort(self.vmas, _piece(v, hi, v.end), key=_start)

    def add_cpu(self, cpu) -> None:
        """A new thread's CPU: map every existing page into it."""
        for v in self.vmas:
            cpu.mem_map_ptr(v.start, v.end - v.start, v.prot, v.host)
        self.cpus.append(cpu)

    def remove_cpu(self, cpu) -> None:
        if cpu in self.cpus and len(self.cpus) > 1:
            self.cpus.remove(cpu)
            if self.cpu is cpu:
                self.cpu = self.cpus[0]

    def release(self) -> None:
        """Give all host memory back (after execve replaced this address space)."""
        for v in self.vmas:
            hostmem.free(v.host, v.end - v.start)
        self.vmas = []

    def host_range(self, addr: int, size: int, prot: int) -> int | None:
        """Host address of guest [addr, addr+size) when it lies in one data mapping that
        allows ``prot``, else None (callers then take the checked, copying path).

        Executable mappings are excluded: bytes written behind the CPU's back
        there could leave stale translated code.
        """
        v = self.find(addr)
        if v is None or addr + size > v.end or v.prot & prot != prot or v.prot & PROT_EXEC:
            return None
        return v.host + (addr - v.start)

    def protect(self, start: int, size: int, prot: int) -> None:
        end = start + size
        covered = self.overlaps(start, end)
        # Linux: ENOMEM if any page in the range is unmapped
        pos = start
        for v in covered:
            if v.start > pos:
                raise OSError(12, "Cannot allocate memory")
            pos = v.end
        if pos < end:
            raise OSError(12, "Cannot allocate memory")
        if prot & PROT_WRITE and not all(v.may_write for v in covered):
            raise OSError(13, "Permission denied")
        for v in covered:
            lo, hi = max(v.start, start), min(v.end, end)
            for cpu in self.cpus:
                cpu.mem_protect(lo, hi - lo, prot)
            self.vmas.remove(v)
            pieces = []
            if v.start < lo:
                pieces.append(_piece(v, v.start, lo))
            pieces.append(_piece(v, lo, hi, prot=prot))
            if hi < v.end:
                pieces.append(_piece(v, hi, v.end))
            for piece in pieces:
                bisect.insort(self.vmas, piece, key=_start)
        self._merge(start, end)

    def _merge(self, start: int, end: int) -> None:
        """Join neighbours that Linux would show as one mapping (same protection and backing).

        Needed for behaviour, not looks: mremap works within one mapping, so an
        mprotect that splits a mapping and a second one that restores it must
        leave a single mapping again.
        """
        i = max(bisect.bisect_right(self.vmas, start, key=_start) - 2, 0)
        while i + 1 < len(self.vmas):
            a, b = self.vmas[i], self.vmas[i + 1]
            if a.start > end:
                break
            if _compatible(a, b) and a.host + (a.end - a.start) == b.host:
                a.end = b.end
                del self.vmas[i + 1]
            else:
                i += 1

    # -- brk -----------------------------------------------------------------
    def set_brk_start(self, addr: int) -> None:
        self.brk_start = self.brk = page_up(addr)

    def set_brk(self, new: int) -> int:
        """brk(2): grow or shrink the heap; return the (possibly unchanged) break."""
        if new < self.brk_start:
            return self.brk
        old_top, new_top = page_up(self.brk), page_up(new)
        if new_top > old_top:
            if not self.is_free(old_top, new_top):
                return self.brk
            try:
                self.map(old_top, new_top - old_top, PROT_READ | PROT_WRITE, "[heap]")
            except OSError:
                return self.brk
        elif new_top < old_top:
            self.unmap(new_top, old_top - new_top)
        self.brk = new
        return new

    # -- rendering -------------------------------------------------------------
    def logical(self) -> list[Vma]:
        """The mappings as Linux would list them: compatible neighbours joined.

        Our own list keeps pieces apart where their host memory is not
        contiguous (e.g. a heap grown by brk in steps).
        """
        out: list[Vma] = []
        for v in self.vmas:
            if out and _compatible(out[-1], v):
                out[-1] = dataclasses.replace(out[-1], end=v.end)
            else:
                out.append(v)
        return out

    def extent(self, addr: int) -> Vma | None:
        """The logical mapping (see ``logical``) containing ``addr``."""
        for v in self.logical():
            if v.start <= addr < v.end:
                return v
        return None

    def maps_text(self) -> bytes:
        lines = []
        for v in self.logical():
            perms = ("r" if v.prot & PROT_READ else "-") + ("w" if v.prot & PROT_WRITE else "-") \
                + ("x" if v.prot & PROT_EXEC else "-") + ("s" if v.shared else "p")
            dev = f"{(v.dev >> 8) & 0xfff:02x}:{v.dev & 0xff:02x}"
            head = f"{v.start:08x}-{v.end:08x} {perms} {v.offset:08x} {dev} {v.inode}"
            lines.append(f"{head:<72} {v.name}".rstrip() if v.name else head)
        return ("\n".join(lines) + "\n").encode()


def round_size(size: int) -> int:
    return page_up(size) if size else 0


__all__ = ["AddressSpace", "Vma", "PAGE_SIZE", "page_down", "page_up", "round_size"]
