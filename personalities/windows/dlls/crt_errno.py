"""The CRT's errno and _doserrno, one pair per guest thread as msvcrt keeps them.

``_errno()`` and ``__doserrno()`` return the address of the calling thread's
own variable (mingw's ``errno`` macro is ``*_errno()``), so two threads that
fail at once each read their own cause back.  The pair lives in a small block on
the process heap made at the thread's first use (zero: a new thread starts
with errno 0); threads are told apart by their thread id, which is never
reused within a process.

A CRT function that fails because the system said no sets both, the way msvcrt
does: ``_doserrno`` gets the Win32 error and errno the C error msvcrt maps it
to.  Windows' errno numbers are the CRT's, not Linux's (ENOTEMPTY is 41 there),
so a host failure goes through the Win32 error first.
"""
from __future__ import annotations

from .. import winerror as W

EPERM, ENOENT, E2BIG, ENOEXEC, EBADF, ECHILD, EAGAIN, ENOMEM, EACCES = 1, 2, 7, 8, 9, 10, 11, 12, 13
EEXIST, EXDEV, EINVAL, EMFILE, ENOSPC, EPIPE, ENOTEMPTY = 17, 18, 22, 24, 28, 32, 41

# Win32 error -> the errno msvcrt sets for it (its DOS error map); any other is EINVAL
DOS_TO_ERRNO = {
    2: ENOENT, 3: ENOENT, 4: EMFILE, 5: EACCES, 6: EBADF, 7: ENOMEM, 8: ENOMEM, 9: ENOMEM,
    10: E2BIG, 11: ENOEXEC, 15: ENOENT, 16: EACCES, 17: EXDEV, 18: ENOENT, 33: EACCES, 53: ENOENT,
    65: EACCES, 67: ENOENT, 80: EEXIST, 82: EACCES, 83: EACCES, 89: EAGAIN, 108: EACCES, 109: EPIPE,
    112: ENOSPC, 114: EBADF, 128: ECHILD, 129: ECHILD, 130: EBADF, 132: EACCES, 145: ENOTEMPTY,
    158: EACCES, 161: ENOENT, 164: EAGAIN, 167: EACCES, 183: EEXIST, 206: ENOENT, 215: EAGAIN,
    1816: ENOMEM,
}
DOS_TO_ERRNO.update({e: EACCES for e in range(19, 37)})        # write-protect .. sharing-buffer
DOS_TO_ERRNO.update({e: ENOEXEC for e in range(188, 203)})     # the bad-executable errors


def _block(p) -> int:
    """The calling thread's pair: errno at +0, _doserrno at +4."""
    blocks = p.state.setdefault("crt_errno", {})
    addr = blocks.get(p.tid)
    if addr is None:
        addr = blocks[p.tid] = p.heap.alloc(8, zero=True)
    return addr


def errno_ptr(p) -> int:
    return _block(p)


def doserrno_ptr(p) -> int:
    return _block(p) + 4


def set_errno(p, value: int) -> None:
    p.mem.put_u32(_block(p), value)


def set_os_error(p, e: OSError) -> None:
    """A CRT call failed because the system did: _doserrno and errno from ``e``."""
    dos = W.from_errno(e.errno)
    block = _block(p)
    p.mem.put_u32(block + 4, dos)
    p.mem.put_u32(block, DOS_TO_ERRNO.get(dos, EINVAL))


def _get(p, out, addr) -> int:
    if not out:
        return EINVAL
    p.mem.put_u32(out, p.mem.u32(addr))
    return 0


def get_errno(p, out):
    return _get(p, out, errno_ptr(p))


def get_doserrno(p, out):
    return _get(p, out, doserrno_ptr(p))


def set_errno_export(p, value):
    set_errno(p, value)
    return 0


def set_doserrno(p, value):
    p.mem.put_u32(doserrno_ptr(p), value)
    return 0
