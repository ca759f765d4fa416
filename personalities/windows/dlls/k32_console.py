"""kernel32 console: the standard handles as Windows shows them when they are a
console (a terminal here) and when they are redirected, where console-only calls
fail with ERROR_INVALID_HANDLE as on Windows."""
from __future__ import annotations

from .. import strings, sync, winerror as W
from .k32_files import _file, fail, os_fail, write_all


def GetConsoleMode(p, h, pmode):
    f = _file(p, h)
    if f is None or not f.console:
        return fail(p, W.ERROR_INVALID_HANDLE)
    p.mem.put_u32(pmode, 0x3 if h == p.std[0] else 0x7)
    return 1


def _write_console(p, h, buf, n, pwritten, wide):
    f = _file(p, h)
    if f is None or not f.console:
        return fail(p, W.ERROR_INVALID_HANDLE)
    data = p.mem.read(buf, n * (2 if wide else 1))
    text = strings.decode(data, wide)
    write_all(p, f, text.encode("utf-8", "replace"))
    if pwritten:
        p.mem.put_u32(pwritten, n)
    return 1


def WriteConsoleA(p, h, buf, n, pwritten, reserved):
    return _write_console(p, h, buf, n, pwritten, False)


def WriteConsoleW(p, h, buf, n, pwritten, reserved):
    return _write_console(p, h, buf, n, pwritten, True)




def GetConsoleCP(p):
    return 437


def GetConsoleOutputCP(p):
    return 437


def SetConsoleMode(p, h, mode):
    f = _file(p, h)
    return 1 if (f is not None and f.console) else fail(p, W.ERROR_INVALID_HANDLE)


def GetConsoleScreenBufferInfo(p, h, info):
    """80x25 window on an 80x300 buffer, for a terminal; redirected handles fail."""
    f = _file(p, h)
    if f is None or not f.console:
        return fail(p, W.ERROR_INVALID_HANDLE)
    import struct
    p.mem.write(info, struct.pack("<hhhhHhhhhhh", 80, 300, 0, 0, 7, 0, 0, 79, 24, 80, 300))
    return 1


def SetConsoleTextAttribute(p, h, attr):
    return SetConsoleMode(p, h, 0)


def SetConsoleTitle(p, title):
    return 1


def _read_console(p, h, buf, n, pread, wide):
    """A line from the terminal; a redirected handle is not a console (programs such as
    cmd.exe then fall back to ReadFile)."""
    f = _file(p, h)
    if f is None or not f.console:
        return fail(p, W.ERROR_INVALID_HANDLE)
    try:
        data = sync.read_host(p, f.fd, 4096)
    except OSError as e:
        return os_fail(p, e)
    text = data.decode("utf-8", "replace").replace("\r\n", "\n").replace("\n", "\r\n")[:n]
    p.mem.write(buf, strings.encode(text, wide))
    if pread:
        p.mem.put_u32(pread, len(text))
    return 1


def ReadConsoleA(p, h, buf, n, pread, control):
    return _read_console(p, h, buf, n, pread, False)


def ReadConsoleW(p, h, buf, n, pread, control):
    return _read_console(p, h, buf, n, pread, True)
