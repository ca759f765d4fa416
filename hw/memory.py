"""Host memory that backs guest RAM.

Guest pages live in mappings this process makes with mmap(2) and hands to the
CPU back end by pointer (``Cpu.mem_map_ptr``).  That gives three things for
free: several CPUs (guest threads) can share one address space; fork(2) of
the emulator copies private pages and shares MAP_SHARED ones exactly as the
guest asked; and file mappings are the host kernel's own, so MAP_SHARED writes
reach the file and other processes.  It also lets system calls move bytes
straight between a host descriptor and guest memory.
"""
from __future__ import annotations

import ctypes
import os

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mmap.restype = ctypes.c_void_p
_libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                       ctypes.c_long]
_libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
_libc.msync.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
_libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]

PROT_READ, PROT_WRITE = 1, 2
MAP_SHARED, MAP_PRIVATE, MAP_ANONYMOUS, MAP_NORESERVE = 0x01, 0x02, 0x20, 0x4000
MS_SYNC, MADV_DONTNEED = 4, 4
_FAILED = ctypes.c_void_p(-1).value


def _check(addr) -> int:
    if addr is None or addr == _FAILED:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return addr


def alloc(size: int, shared: bool = False) -> int:
    """Zeroed anonymous memory; shared=True survives fork as shared memory."""
    flags = (MAP_SHARED if shared else MAP_PRIVATE) | MAP_ANONYMOUS | MAP_NORESERVE
    return _check(_libc.mmap(None, size, PROT_READ | PROT_WRITE, flags, -1, 0))


def map_file(fd: int, offset: int, size: int, shared: bool, writable: bool) -> int:
    """The host kernel's mapping of a file (private copy-on-write, or shared)."""
    prot = PROT_READ | (PROT_WRITE if writable or not shared else 0)
    flags = MAP_SHARED if shared else MAP_PRIVATE
    return _check(_libc.mmap(None, size, prot, flags, fd, offset))


def free(addr: int, size: int) -> None:
    _libc.munmap(addr, size)


def sync(addr: int, size: int) -> None:
    if _libc.msync(addr, size, MS_SYNC) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def discard(addr: int, size: int) -> None:
    """MADV_DONTNEED: private anonymous pages read back as zero."""
    _libc.madvise(addr, size, MADV_DONTNEED)


def view(addr: int, size: int):
    """A writable buffer over host memory (for readv/writev straight into guest RAM)."""
    return (ctypes.c_char * size).from_address(addr)
