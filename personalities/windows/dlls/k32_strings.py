"""kernel32's own string helpers (lstr*) and the names of the machine and its
directories (GetComputerName, GetSystemDirectory, GetWindowsDirectory)."""
from __future__ import annotations

import os

from personalities.guestmem import GuestFault
from .. import strings, winerror as W
from .k32_files import fail


def _key(text: str):
    """lstrcmp's order for the common case: case-insensitive first, then lower before upper."""
    return (text.casefold(), text.swapcase())


def _cmp(a: str, b: str, nocase: bool) -> int:
    ka, kb = (a.casefold(), b.casefold()) if nocase else (_key(a), _key(b))
    return (ka > kb) - (ka < kb)


def _guarded(p, work, error: int = 0) -> int:
    """lstrlen, lstrcpy and lstrcat run under a __try on Windows: a bad pointer makes
    them fail (0 or NULL, and for the copies ERROR_INVALID_PARAMETER) instead of
    raising an access violation in the caller."""
    try:
        return work()
    except GuestFault:
        if error:
            p.set_last_error(error)
        return 0


def lstrlenA(p, s):
    return _guarded(p, lambda: len(strings.raw(p.mem, s))) if s else 0


def lstrlenW(p, s):
    return _guarded(p, lambda: len(strings.raw(p.mem, s, wide=True)) // 2) if s else 0


def lstrcmpA(p, a, b):
    return _cmp(strings.read_a(p.mem, a), strings.read_a(p.mem, b), False)


def lstrcmpW(p, a, b):
    return _cmp(strings.read_w(p.mem, a), strings.read_w(p.mem, b), False)


def lstrcmpiA(p, a, b):
    return _cmp(strings.read_a(p.mem, a), strings.read_a(p.mem, b), True)


def lstrcmpiW(p, a, b):
    return _cmp(strings.read_w(p.mem, a), strings.read_w(p.mem, b), True)


def _copy(p, dst, src, wide, n=None):
    unit = 2 if wide else 1
    data = strings.raw(p.mem, src, wide=wide)
    if n is not None:
        if n <= 0:
            return dst
        data = data[:(n - 1) * unit]
    p.mem.write(dst, data + b"\0" * unit)
    return dst


def lstrcpyA(p, dst, src):
    return _guarded(p, lambda: _copy(p, dst, src, False), W.ERROR_INVALID_PARAMETER)


def lstrcpyW(p, dst, src):
    return _guarded(p, lambda: _copy(p, dst, src, True), W.ERROR_INVALID_PARAMETER)


def lstrcpynA(p, dst, src, n):
    return _copy(p, dst, src, False, n)


def lstrcpynW(p, dst, src, n):
    return _copy(p, dst, src, True, n)


def lstrcatA(p, dst, src):
    return _guarded(p, lambda: _copy(p, dst + lstrlenA(p, dst), src, False) and dst, W.ERROR_INVALID_PARAMETER)


def lstrcatW(p, dst, src):
    return _guarded(p, lambda: _copy(p, dst + 2 * lstrlenW(p, dst), src, True) and dst,
                    W.ERROR_INVALID_PARAMETER)


def computer_name(p) -> str:
    """The NetBIOS-style name: the (jail's) host name, upper case, at most 15 characters."""
    name = None
    if p.jail is not None:
        name = getattr(p.jail.config, "hostname", None)
    name = name or os.uname().nodename
    return name.split(".")[0].upper()[:15]


def _sized(p, buf, psize, text, wide):
    """The in/out size contract of GetComputerName: *psize is the buffer's size in
    characters; on success it becomes the length, else the size needed."""
    size = p.mem.u32(psize)
    n, ok = strings.copy_out(p.mem, buf, size, text, wide)
    p.mem.put_u32(psize, n)
    return 1 if ok else fail(p, W.ERROR_BUFFER_OVERFLOW)


def GetComputerNameA(p, buf, psize):
    return _sized(p, buf, psize, computer_name(p), False)


def GetComputerNameW(p, buf, psize):
    return _sized(p, buf, psize, computer_name(p), True)


def _dir(p, buf, size, text, wide):
    p.paths.ensure_prefix()
    return strings.copy_out(p.mem, buf, size, text, wide)[0]


def GetSystemDirectoryA(p, buf, size):
    return _dir(p, buf, size, "C:\\Windows\\system32", False)


def GetSystemDirectoryW(p, buf, size):
    return _dir(p, buf, size, "C:\\Windows\\system32", True)


def GetWindowsDirectoryA(p, buf, size):
    return _dir(p, buf, size, "C:\\Windows", False)


def GetWindowsDirectoryW(p, buf, size):
    return _dir(p, buf, size, "C:\\Windows", True)


def _counted(p, s, n, wide):
    n = n - (1 << 32) if n & 0x80000000 else n
    if n < 0:
        return strings.read(p.mem, s, wide)
    return strings.decode(p.mem.read(s, n * (2 if wide else 1)), wide)


def _compare(p, flags, a, na, b, nb, wide):
    x, y = _counted(p, a, na, wide), _counted(p, b, nb, wide)
    return 2 + _cmp(x, y, bool(flags & 1))     # CSTR_LESS_THAN 1, CSTR_EQUAL 2, CSTR_GREATER_THAN 3


def CompareStringA(p, locale, flags, a, na, b, nb):
    return _compare(p, flags, a, na, b, nb, False)


def CompareStringW(p, locale, flags, a, na, b, nb):
    return _compare(p, flags, a, na, b, nb, True)
