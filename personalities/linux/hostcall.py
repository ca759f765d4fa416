"""Blocking host system calls made through libc, so that a signal arriving for
the guest shows up as EINTR (OSError) rather than being retried or racing
with a completed call (see threads.Blocking)."""
from __future__ import annotations

import ctypes
import os
import resource

_libc = ctypes.CDLL(None, use_errno=True)
_libc.read.restype = ctypes.c_ssize_t
_libc.read.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t]


class _Rusage(ctypes.Structure):
    _fields_ = [("ru_utime", ctypes.c_long * 2), ("ru_stime", ctypes.c_long * 2)] + \
        [(f"f{i}", ctypes.c_long) for i in range(14)]


def _err():
    e = ctypes.get_errno()
    return OSError(e, os.strerror(e))


def buffer(size: int):
    return ctypes.create_string_buffer(max(size, 1))


def read(fd: int, dest, count: int) -> int:
    """read(2) into a host address or a ctypes buffer; OSError(EINTR) when interrupted."""
    n = _libc.read(fd, dest, count)
    if n < 0:
        raise _err()
    return n


def wait4(pid: int, options: int):
    """(pid, raw status, rusage-like object) as os.wait4, but EINTR is reported, not retried."""
    status = ctypes.c_int()
    ru = _Rusage()
    got = _libc.wait4(pid, ctypes.byref(status), options, ctypes.byref(ru))
    if got < 0:
        raise _err()
    usage = resource.struct_rusage((ru.ru_utime[0] + ru.ru_utime[1] / 1e6, ru.ru_stime[0] + ru.ru_stime[1] / 1e6,
                                    *[getattr(ru, f"f{i}") for i in range(14)]))
    return got, status.value, usage


_libc.syscall.restype = ctypes.c_long
SYS_futex_host = 202          # the emulator itself always runs on x86-64


def futex(addr: int, op: int, val: int, timeout_ns: int | None, addr2: int, val3: int,
          count2: int = 0) -> int:
    """The host futex on host memory.  ``timeout_ns`` is a timespec for WAIT-style
    operations; for REQUEUE/WAKE_OP the kernel takes ``count2`` in that slot."""
    ts = None
    if timeout_ns is not None:
        ts = (ctypes.c_long * 2)(timeout_ns // 1_000_000_000, timeout_ns % 1_000_000_000)
    slot = ctypes.cast(ts, ctypes.c_void_p) if ts is not None else ctypes.c_void_p(count2)
    r = _libc.syscall(SYS_futex_host, ctypes.c_void_p(addr), op, ctypes.c_uint(val & 0xFFFFFFFF), slot,
                      ctypes.c_void_p(addr2), ctypes.c_uint(val3 & 0xFFFFFFFF))
    if r < 0:
        raise _err()
    return r


PR_SET_NAME, PR_GET_NAME = 15, 16


def set_comm(name: bytes) -> None:
    """Name the calling host thread (/proc/self/comm, ps): the guest process is this host
    process, so the kernel's own procfs then shows the guest's name, not the emulator's."""
    _libc.prctl(PR_SET_NAME, ctypes.c_char_p(bytes(name[:15])), 0, 0, 0)


def get_comm() -> bytes:
    out = ctypes.create_string_buffer(16)
    _libc.prctl(PR_GET_NAME, out, 0, 0, 0)
    return out.value


def syscall(nr: int, *args: int) -> int:
    """A host (x86-64) system call with integer arguments; OSError on failure."""
    r = _libc.syscall(ctypes.c_long(nr), *[ctypes.c_long(a) for a in args])
    if r < 0:
        raise _err()
    return r
