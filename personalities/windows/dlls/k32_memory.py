"""kernel32 memory: the process heap (HeapAlloc & co.) and virtual memory
(VirtualAlloc/Free/Protect/Query) over the process's AddressSpace."""
from __future__ import annotations

from .. import winerror as W
from ..vmem import MEM_COMMIT, MEM_RESERVE, from_page_protect
from .k32_files import fail

HEAP_ZERO_MEMORY = 0x8
MEM_RELEASE, MEM_DECOMMIT = 0x8000, 0x4000


def GetProcessHeap(p):
    return p.heap.base


def HeapCreate(p, options, initial, maximum):
    return p.heap.base            # one heap serves every handle in this slice


def HeapDestroy(p, heap):
    return 1


def HeapAlloc(p, heap, flags, size):
    return p.heap.alloc(size, zero=bool(flags & HEAP_ZERO_MEMORY))


def HeapFree(p, heap, flags, addr):
    if addr == 0:
        return 1
    return 1 if p.heap.free(addr) else fail(p, W.ERROR_INVALID_PARAMETER)


def HeapReAlloc(p, heap, flags, addr, size):
    old = p.heap.size(addr)
    new = p.heap.realloc(addr, size)
    if new and flags & HEAP_ZERO_MEMORY and old is not None and size > old:
        p.mem.write(new + old, bytes(size - old))
    return new


def HeapSize(p, heap, flags, addr):
    size = p.heap.size(addr)
    return (1 << p.bits) - 1 if size is None else size


def VirtualAlloc(p, addr, size, kind, protect):
    prot = from_page_protect(protect)
    if prot is None or size == 0 or not kind & (MEM_COMMIT | MEM_RESERVE):
        return fail(p, W.ERROR_INVALID_PARAMETER)
    space = p.space
    if addr:
        start = addr & ~0xFFF
        end = (addr + size + 0xFFF) & ~0xFFF
        if space.covered(start, end):
            if kind & MEM_COMMIT:
                space.commit(start, end - start, prot)
            return start
        start = addr & ~0xFFFF
        if not space.is_free(start, end):
            return fail(p, W.ERROR_INVALID_PARAMETER)
    else:
        try:
            start = space.find_free(size)
        except MemoryError:
            return fail(p, W.ERROR_NOT_ENOUGH_MEMORY)
        end = start + ((size + 0xFFF) & ~0xFFF)
    if kind & MEM_COMMIT:
        space.map(start, end - start, prot, name="[VirtualAlloc]")
    else:
        space.reserve(start, end - start, prot, name="[VirtualAlloc]")
    return start


def VirtualFree(p, addr, size, kind):
    if kind & MEM_RELEASE:
        if size != 0 or not p.space.release(addr):
            return fail(p, W.ERROR_INVALID_PARAMETER)
        return 1
    if kind & MEM_DECOMMIT:
        return 1                  # pages stay mapped; their contents are not promised anyway
    return fail(p, W.ERROR_INVALID_PARAMETER)


def VirtualProtect(p, addr, size, protect, pold):
    prot = from_page_protect(protect)
    start, end = addr & ~0xFFF, (addr + size + 0xFFF) & ~0xFFF
    if prot is None or not p.space.covered(start, end):
        return fail(p, W.ERROR_INVALID_PARAMETER if prot is None else W.ERROR_NOACCESS)
    info = p.space.query(start)
    if pold:
        p.mem.put_u32(pold, info[5])
    p.space.protect(start, end - start, prot)
    return 1


def VirtualQuery(p, addr, buf, length):
    base, alloc_base, alloc_prot, size, state, prot, kind = p.space.query(addr)
    if p.bits == 64:
        need = 48
        data = (base.to_bytes(8, "little") + alloc_base.to_bytes(8, "little")
                + alloc_prot.to_bytes(4, "little") + bytes(4) + size.to_bytes(8, "little")
                + state.to_bytes(4, "little") + prot.to_bytes(4, "little") + kind.to_bytes(4, "little")
                + bytes(4))
    else:
        need = 28
        data = b"".join(v.to_bytes(4, "little") for v in (base, alloc_base, alloc_prot, size, state,
                                                           prot, kind))
    if length < need:
        return fail(p, W.ERROR_INSUFFICIENT_BUFFER)
    p.mem.write(buf, data)
    return need
