"""kernel32: the process (exit, command line, environment, start-up info, last error)
and time.  Modules: k32_modules.  Threads, TLS slots and synchronisation: k32_thread, k32_sync."""
from __future__ import annotations

import os
import time

from .. import strings, winerror as W
from ..errors import ProcessExit
from .k32_files import fail

EPOCH_DELTA = 116444736000000000      # 100-ns ticks from 1601-01-01 to 1970-01-01


def ExitProcess(p, code):
    """The program's DLLs are detached (last initialised first), then msvcrt, which
    flushes its streams."""
    from . import crt_stdio
    from .. import modules
    yield from modules.detach_all(p)
    crt_stdio.flush_all(p)
    raise ProcessExit(code)


def GetCommandLineA(p):
    return _cached_string(p, "cmdline_a", p.command_line, False)


def GetCommandLineW(p):
    return _cached_string(p, "cmdline_w", p.command_line, True)


def _cached_string(p, key: str, text: str, wide: bool) -> int:
    addr = p.state.get(key)
    if addr is None:
        data = strings.encode(text, wide) + (b"\0\0" if wide else b"\0")
        addr = p.heap.alloc(len(data))
        p.mem.write(addr, data)
        p.state[key] = addr
    return addr


# -- environment ------------------------------------------------------------------------
def environment(p) -> dict:
    """NAME -> (name as given, value); Windows names are case-insensitive."""
    env = p.state.get("env")
    if env is None:
        env = {}
        for item in p.env:
            name, sep, value = item.partition("=")
            if sep and name:
                env.setdefault(name.upper(), (name, value))
        p.state["env"] = env
    return env


def _getenv(p, name, buf, size, wide):
    key = strings.read(p.mem, name, wide).upper()
    hit = environment(p).get(key)
    if hit is None:
        return fail(p, W.ERROR_ENVVAR_NOT_FOUND)
    return strings.copy_out(p.mem, buf, size, hit[1], wide)[0]


def GetEnvironmentVariableA(p, name, buf, size):
    return _getenv(p, name, buf, size, False)


def GetEnvironmentVariableW(p, name, buf, size):
    return _getenv(p, name, buf, size, True)


def _setenv(p, name, value, wide):
    key = strings.read(p.mem, name, wide)
    env = environment(p)
    if value:
        env[key.upper()] = (key, strings.read(p.mem, value, wide))
    else:
        env.pop(key.upper(), None)
    return 1


def SetEnvironmentVariableA(p, name, value):
    return _setenv(p, name, value, False)


def SetEnvironmentVariableW(p, name, value):
    return _setenv(p, name, value, True)


def _env_block(p, wide):
    text = "".join(f"{n}={v}\0" for n, v in sorted(environment(p).values(), key=lambda kv: kv[0].upper()))
    data = strings.encode(text + "\0", wide)
    addr = p.heap.alloc(len(data) + 2)
    p.mem.write(addr, data + b"\0\0")
    return addr


def GetEnvironmentStringsA(p):
    return _env_block(p, False)


def GetEnvironmentStringsW(p):
    return _env_block(p, True)


def FreeEnvironmentStrings(p, block):
    p.heap.free(block)
    return 1


# -- start-up ---------------------------------------------------------------------------
def GetStartupInfo(p, info):
    size = 104 if p.bits == 64 else 68
    p.mem.write(info, size.to_bytes(4, "little") + bytes(size - 4))


def SetUnhandledExceptionFilter(p, fn):
    old = p.state.get("unhandled_filter", 0)
    p.state["unhandled_filter"] = fn
    return old


def GetLastError(p):
    return p.last_error()


def SetLastError(p, code):
    p.set_last_error(code)


def GetCurrentProcessId(p):
    return p.pid


def GetCurrentThreadId(p):
    return p.tid


def GetCurrentProcess(p):
    return (1 << p.bits) - 1


def GetCurrentThread(p):
    return (1 << p.bits) - 2


# -- time ----------------------------------------------------------------------------------
def GetTickCount(p):
    return int(time.monotonic() * 1000) & 0xFFFFFFFF


def GetTickCount64(p):
    return int(time.monotonic() * 1000)


def QueryPerformanceCounter(p, out):
    p.mem.put_u64(out, time.monotonic_ns() // 100)
    return 1


def QueryPerformanceFrequency(p, out):
    p.mem.put_u64(out, 10_000_000)
    return 1


def GetSystemTimeAsFileTime(p, out):
    p.mem.put_u64(out, time.time_ns() // 100 + EPOCH_DELTA)


def SetConsoleCtrlHandler(p, fn, add):
    return 1


def GetACP(p):
    return 1252


def GetOEMCP(p):
    return 437


def IsDBCSLeadByteEx(p, codepage, byte):
    from .k32_nls import is_lead_byte
    return int(is_lead_byte(codepage, byte & 0xFF))


def IsDBCSLeadByte(p, byte):
    return IsDBCSLeadByteEx(p, 0, byte)


def IsProcessorFeaturePresent(p, feature):
    # PF_XMMI_INSTRUCTIONS_AVAILABLE (6), PF_XMMI64 (10), PF_NX_ENABLED (12), PF_SSE3 (13)
    return 1 if feature in (6, 10, 12, 13) else 0


def RtlGetVersion(p, info):
    """OSVERSIONINFOW: size, major, minor, build, platform (then the service-pack text)."""
    from ..teb import WINDOWS_VERSION
    major, minor, build = WINDOWS_VERSION
    for k, v in enumerate((major, minor, build, 2)):
        p.mem.put_u32(info + 4 + 4 * k, v)
    p.mem.write(info + 20, bytes(256))
    return 0                          # STATUS_SUCCESS


def _bad_string(p, s, limit, wide):
    try:
        strings.raw(p.mem, s, wide=wide, limit=max(limit, 1) * (2 if wide else 1))
    except Exception:
        return 1
    return 0


def IsBadStringPtrA(p, s, limit):
    return _bad_string(p, s, limit, False)


def IsBadStringPtrW(p, s, limit):
    return _bad_string(p, s, limit, True)


def expand(p, text: str) -> str:
    """%NAME% replaced by its value (names case-insensitive); unknown names stay as written."""
    import re
    env = environment(p)
    return re.sub(r"%([^%]+)%", lambda m: env[m.group(1).upper()][1] if m.group(1).upper() in env
                  else m.group(0), text)


def _expand_env(p, src, buf, size, wide):
    """Returns characters including the NUL, as ExpandEnvironmentStrings does."""
    text = expand(p, strings.read(p.mem, src, wide))
    n = len(strings.encode(text, wide)) // (2 if wide else 1) + 1
    if buf and size >= n:
        p.mem.write(buf, strings.encode(text, wide) + (b"\0\0" if wide else b"\0"))
    return n


def ExpandEnvironmentStringsA(p, src, buf, size):
    return _expand_env(p, src, buf, size, False)


def ExpandEnvironmentStringsW(p, src, buf, size):
    return _expand_env(p, src, buf, size, True)


def _systemtime(p, out, t):
    import struct
    p.mem.write(out, struct.pack("<8H", t.tm_year, t.tm_mon, (t.tm_wday + 1) % 7, t.tm_mday,
                                 t.tm_hour, t.tm_min, t.tm_sec, int(time.time() * 1000) % 1000))


def GetLocalTime(p, out):
    _systemtime(p, out, time.localtime())


def GetSystemTime(p, out):
    _systemtime(p, out, time.gmtime())


def FileTimeToLocalFileTime(p, src, dst):
    ticks = p.mem.u64(src)
    secs = (ticks - EPOCH_DELTA) / 1e7
    offset = time.localtime(secs).tm_gmtoff if -1e10 < secs < 1e10 else 0
    p.mem.put_u64(dst, ticks + offset * 10_000_000)
    return 1


def FileTimeToSystemTime(p, src, out):
    ticks = p.mem.u64(src)
    if ticks >> 63:
        return fail(p, W.ERROR_INVALID_PARAMETER)
    secs, rem = divmod(ticks - EPOCH_DELTA, 10_000_000)
    import struct
    t = time.gmtime(secs) if -62135596800 <= secs < 253402300800 else None
    if t is None:
        return fail(p, W.ERROR_INVALID_PARAMETER)
    p.mem.write(out, struct.pack("<8H", t.tm_year, t.tm_mon, (t.tm_wday + 1) % 7, t.tm_mday,
                                 t.tm_hour, t.tm_min, t.tm_sec, rem // 10_000))
    return 1


def DuplicateHandle(p, src_proc, h, dst_proc, out, access, inherit, options):
    """Within this process only: a new handle to the same object (files get their own
    host descriptor, as a duplicated Windows handle closes independently)."""
    import os as _os
    from ..handles import FileObject
    me = (1 << p.bits) - 1
    if src_proc not in (me, 0xFFFFFFFF) or dst_proc not in (me, 0xFFFFFFFF):
        return fail(p, W.ERROR_ACCESS_DENIED)
    obj = p.handles.get(h)
    if obj is None:
        return fail(p, W.ERROR_INVALID_HANDLE)
    if isinstance(obj, FileObject):
        obj = FileObject(_os.dup(obj.fd), obj.name, obj.access, obj.append, owned=True)
    new = p.handles.add(obj)
    if options & 1:                  # DUPLICATE_CLOSE_SOURCE
        p.handles.close(h)
    if out:
        p.mem.put_ptr(out, new)
    return 1
