"""Memory: brk, mmap/mmap2, munmap, mprotect, mremap, madvise, msync.

Guest RAM is host memory (hw.memory): anonymous mappings are host anonymous
mappings (MAP_SHARED ones stay shared across fork), and file mappings are the
host kernel's mappings of the same file, so MAP_SHARED writes reach the file.
"""
from __future__ import annotations

import fcntl
import os

from hw import memory as hostmem
from hw.cpu import PAGE_SIZE, PROT_READ, PROT_WRITE, PROT_EXEC, page_up
from ..abi import s32
from .decl import syscall
from .util import einval

MAP_SHARED, MAP_PRIVATE, MAP_SHARED_VALIDATE = 0x01, 0x02, 0x03
MAP_FIXED, MAP_ANONYMOUS, MAP_GROWSDOWN = 0x10, 0x20, 0x100
MAP_32BIT, MAP_NORESERVE, MAP_POPULATE, MAP_FIXED_NOREPLACE = 0x40, 0x4000, 0x8000, 0x100000
MREMAP_MAYMOVE, MREMAP_FIXED, MREMAP_DONTUNMAP = 1, 2, 4
MADV_DONTNEED, MADV_FREE = 4, 8
ENOMEM = 12


def _enomem():
    return OSError(ENOMEM, "Cannot allocate memory")


def do_mmap(p, addr, length, prot, flags, fd, offset):
    mm = p.mm
    if length == 0 or offset % PAGE_SIZE or addr % PAGE_SIZE and flags & MAP_FIXED:
        raise einval()
    maptype = flags & 0x0F
    if maptype not in (MAP_SHARED, MAP_PRIVATE, MAP_SHARED_VALIDATE):
        raise einval()
    size = page_up(length)
    if size == 0 or size > mm.limit:
        raise _enomem()
    prot &= PROT_READ | PROT_WRITE | PROT_EXEC
    anonymous = bool(flags & MAP_ANONYMOUS)
    host = None
    if not anonymous:
        host = p.fds.get(s32(fd))
        st = os.fstat(host)
        mode = fcntl.fcntl(host, fcntl.F_GETFL)
        if mode & 3 == os.O_WRONLY:
            raise OSError(13, "Permission denied")
        if maptype != MAP_PRIVATE and prot & PROT_WRITE and mode & 3 != os.O_RDWR:
            raise OSError(13, "Permission denied")
        if (st.st_mode & 0o170000) == 0o040000:
            raise OSError(19, "No such device")
    if flags & (MAP_FIXED | MAP_FIXED_NOREPLACE):
        start = addr
        if start + size > mm.limit or start < mm.mmap_floor:
            raise _enomem() if flags & MAP_FIXED_NOREPLACE else einval()
        if flags & MAP_FIXED_NOREPLACE and not flags & MAP_FIXED and mm.overlaps(start, start + size):
            raise OSError(17, "File exists")
    else:
        start = addr & ~(PAGE_SIZE - 1)
        if not (start and mm.is_free(start, start + size)):
            top = 0x80000000 if flags & MAP_32BIT and p.abi.bits == 64 else None
            start = mm.find_free(size, top)
    shared = maptype != MAP_PRIVATE
    if host is None:
        mm.map(start, size, prot, shared=shared)
    else:
        mm.map(start, size, prot, name=os.fsdecode(p.fs_path_of_fd(host)), offset=offset,
               shared=shared, dev=st.st_dev, inode=st.st_ino, fd=host,
               writable_file=(mode & 3) == os.O_RDWR)
    return start


@syscall("mmap", "ptr", "size", "prot", "mflags", "fd", "off", abi="x86_64")
def sys_mmap(p, addr, length, prot, flags, fd, off):
    return do_mmap(p, addr, length, prot, flags, fd, off)


@syscall("mmap2", "ptr", "size", "prot", "mflags", "fd", "uint")
def sys_mmap2(p, addr, length, prot, flags, fd, pgoff):
    return do_mmap(p, addr, length, prot, flags, fd, pgoff * PAGE_SIZE)


@syscall("mmap", "ptr", abi="i386")
def sys_old_mmap(p, args):
    """i386's original mmap takes a pointer to its six arguments."""
    import struct
    addr, length, prot, flags, fd, off = struct.unpack("<6I", p.mem.read(args, 24))
    return do_mmap(p, addr, length, prot, flags, fd, off)


@syscall("munmap", "ptr", "size")
def sys_munmap(p, addr, length):
    if addr % PAGE_SIZE or length == 0:
        raise einval()
    p.mm.unmap(addr, page_up(length))
    return 0


@syscall("mprotect", "ptr", "size", "prot")
def sys_mprotect(p, addr, length, prot):
    if addr % PAGE_SIZE:
        raise einval()
    if length == 0:
        return 0
    p.mm.protect(addr, page_up(length), prot & (PROT_READ | PROT_WRITE | PROT_EXEC))
    return 0


@syscall("brk", "ptr")
def sys_brk(p, addr):
    if addr == 0:
        return p.mm.brk
    return p.mm.set_brk(addr)


@syscall("mremap", "ptr", "size", "size", "hex", "ptr")
def sys_mremap(p, old, old_size, new_size, flags, new_addr):
    mm = p.mm
    if old % PAGE_SIZE or flags & ~7 or new_size == 0:
        raise einval()
    old_size, new_size = page_up(old_size), page_up(new_size)
    vma = mm.extent(old)
    if vma is None or old + old_size > vma.end:
        raise OSError(14, "Bad address")
    if flags & MREMAP_FIXED:
        if not flags & MREMAP_MAYMOVE:
            raise einval()
        target = new_addr
    elif new_size <= old_size:
        if new_size < old_size:
            mm.unmap(old + new_size, old_size - new_size)
        return old
    elif mm.is_free(old + old_size, old + new_size):
        mm.map(old + old_size, new_size - old_size, vma.prot, vma.name)
        return old
    elif flags & MREMAP_MAYMOVE:
        target = mm.find_free(new_size)
    else:
        raise _enomem()
    data = p.cpu.mem_read(old, min(old_size, new_size))
    mm.map(target, new_size, vma.prot | PROT_WRITE, vma.name, vma.offset, vma.shared,
           vma.dev, vma.inode)
    p.cpu.mem_write(target, data)
    if not vma.prot & PROT_WRITE:
        mm.protect(target, new_size, vma.prot)
    if not flags & MREMAP_DONTUNMAP:
        mm.unmap(old, old_size)
    return target


@syscall("madvise", "ptr", "size", "int", level="partial",
         note="MADV_DONTNEED/MADV_FREE drop private pages (they read back as zero or as the file); "
              "other advice is accepted")
def sys_madvise(p, addr, length, advice):
    if addr % PAGE_SIZE:
        raise einval()
    if advice in (MADV_DONTNEED, MADV_FREE) and length:
        end = addr + page_up(length)
        for v in p.mm.overlaps(addr, end):
            if not v.shared:
                lo, hi = max(v.start, addr), min(v.end, end)
                hostmem.discard(v.host + (lo - v.start), hi - lo)
    return 0


@syscall("msync", "ptr", "size", "hex")
def sys_msync(p, addr, length, flags):
    if addr % PAGE_SIZE:
        raise einval()
    end = addr + page_up(length)
    for v in p.mm.overlaps(addr, end):
        if v.shared and v.inode:
            lo, hi = max(v.start, addr), min(v.end, end)
            hostmem.sync(v.host + (lo - v.start), hi - lo)
    return 0


@syscall(("mlock", "munlock"), "ptr", "size")
def sys_mlock(p, addr, length):
    return 0


@syscall(("mlockall", "munlockall"), "hex")
def sys_mlockall(p, flags=0):
    return 0


@syscall("mincore", "ptr", "size", "ptr")
def sys_mincore(p, addr, length, vec):
    if addr % PAGE_SIZE:
        raise einval()
    pages = page_up(length) // PAGE_SIZE
    pos = addr
    for v in p.mm.overlaps(addr, addr + pages * PAGE_SIZE):
        if v.start > pos:
            raise _enomem()
        pos = v.end
    if pos < addr + pages * PAGE_SIZE:
        raise _enomem()
    p.mem.write(vec, b"\x01" * pages)
    return 0
