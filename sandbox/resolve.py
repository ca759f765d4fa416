"""The host kernel's openat2(2) with RESOLVE_IN_ROOT, for resolving a path inside one tree.

Linux 5.6+ can resolve a whole path as if the directory fd were ``/``: ``..``
and absolute symlinks stop at it, and RESOLVE_NO_MAGICLINKS refuses
``/proc/*/fd``-style links, all atomically in the kernel.  The jail uses it as
the fast path when a path stays inside one plain directory tree; anywhere the
jail stacks layers or shows other directories (binds, tmpfs, devices) the
component walk in ``jailfs`` resolves instead, and is the only strategy where
openat2 is missing.  ``GUISE_RESOLVER=walk`` forces the walk (tests run both).
"""
from __future__ import annotations

import ctypes
import errno
import os

RESOLVE_NO_XDEV = 0x01
RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_NO_SYMLINKS = 0x04
RESOLVE_BENEATH = 0x08
RESOLVE_IN_ROOT = 0x10
SYS_openat2 = 437                          # x86-64, the emulator's own ABI
_RETRIES = 16                              # EAGAIN: a host rename or mount raced the walk


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64)]


_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def openat2(dirfd: int, path: bytes, flags: int, mode: int = 0,
            resolve: int = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) -> int:
    """openat2(2); OSError with the kernel's errno on failure.

    With RESOLVE_IN_ROOT the kernel answers EAGAIN when a rename or mount anywhere on
    the host raced a ``..`` in the path, and asks the caller to retry: a guest's
    open(2) never fails that way, so the retry is made here.
    """
    how = _OpenHow(flags | os.O_CLOEXEC, mode if flags & (os.O_CREAT | os.O_TMPFILE) else 0, resolve)
    for _ in range(_RETRIES):
        fd = _libc.syscall(ctypes.c_long(SYS_openat2), ctypes.c_long(dirfd), ctypes.c_char_p(path),
                           ctypes.byref(how), ctypes.c_size_t(ctypes.sizeof(how)))
        if fd >= 0:
            return fd
        e = ctypes.get_errno()
        if e != errno.EAGAIN:
            break
    raise OSError(e, os.strerror(e))


def _probe() -> bool:
    try:
        os.close(openat2(-100, b"/", os.O_PATH))
        return True
    except OSError:
        return False


AVAILABLE = _probe() and os.environ.get("GUISE_RESOLVER", "") != "walk"
