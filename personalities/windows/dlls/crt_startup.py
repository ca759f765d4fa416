"""msvcrt start-up and shut-down: what mingw-w64's crtexe calls before and after
main (__getmainargs, _initterm, _onexit/atexit, exit/_cexit), the CRT's data
exports (_iob, _fmode, _acmdln, __initenv...), locale "C", signal (errno: crt_errno)."""
from __future__ import annotations

from .. import cmdline, strings
from ..errors import ProcessExit
from ..process import Call
from . import crt_stdio
from .crt_errno import set_errno

EINVAL = 22
SIGNALS = {2, 4, 8, 11, 15, 21, 22}


def _state(p) -> dict:
    return p.state.setdefault("crt", {"onexit": [], "signals": {}, "env_ptrs": {}})


def _data(p, name: str) -> int:
    return p.resolve("msvcrt.dll", name)


def _strings_array(p, items: list[str], wide: bool) -> int:
    """A NULL-terminated array of fresh NUL-terminated strings."""
    arr = p.heap.alloc(p.ptr * (len(items) + 1), zero=True)
    for i, s in enumerate(items):
        data = strings.encode(s, wide) + (b"\0\0" if wide else b"\0")
        a = p.heap.alloc(len(data))
        p.mem.write(a, data)
        p.mem.put_ptr(arr + p.ptr * i, a)
    return arr


def _getmainargs(p, pargc, pargv, penv, wide: bool):
    st = _state(p)
    argv = cmdline.split(p.command_line)
    from .k32_process import environment
    env = [f"{n}={v}" for n, v in environment(p).values()]
    argv_ptr = _strings_array(p, argv, wide)
    env_ptr = _strings_array(p, env, wide)
    p.mem.put_u32(pargc, len(argv))
    p.mem.put_ptr(pargv, argv_ptr)
    p.mem.put_ptr(penv, env_ptr)
    st["argc"], st["argv" + ("w" if wide else "")], st["env" + ("w" if wide else "")] = \
        len(argv), argv_ptr, env_ptr
    for name, value, size in (("__argc", len(argv), 4), ("__initenv" if not wide else "__winitenv", env_ptr, p.ptr),
                              ("__argv" if not wide else "__wargv", argv_ptr, p.ptr),
                              ("_environ" if not wide else "_wenviron", env_ptr, p.ptr)):
        addr = p.modules.get("msvcrt.dll").addresses.get(name) if "msvcrt.dll" in p.modules else None
        if addr:
            p.mem.write(addr, value.to_bytes(size, "little"))
    return 0


def getmainargs(p, pargc, pargv, penv, wildcard, startinfo):
    return _getmainargs(p, pargc, pargv, penv, False)


def wgetmainargs(p, pargc, pargv, penv, wildcard, startinfo):
    return _getmainargs(p, pargc, pargv, penv, True)


def set_app_type(p, kind):
    _state(p)["app_type"] = kind


def setusermatherr(p, fn):
    _state(p)["matherr"] = fn


def initterm(p, start, end):
    """Call every non-NULL function pointer in [start, end), in order."""
    addr = start
    while addr < end:
        f = p.mem.ptr(addr)
        if f:
            yield Call(f)
        addr += p.ptr


def initterm_e(p, start, end):
    addr = start
    while addr < end:
        f = p.mem.ptr(addr)
        if f:
            r = (yield Call(f)) & 0xFFFFFFFF
            if r:
                return r
        addr += p.ptr
    return 0


def onexit(p, fn):
    _state(p)["onexit"].append(fn)
    return fn


def atexit(p, fn):
    _state(p)["onexit"].append(fn)
    return 0


def dllonexit(p, fn, pbegin, pend):
    _state(p)["onexit"].append(fn)
    return fn


def _run_onexit(p):
    handlers = _state(p)["onexit"]
    while handlers:
        yield Call(handlers.pop())


def exit_(p, code):
    from .k32_process import ExitProcess
    yield from _run_onexit(p)
    crt_stdio.flush_all(p)
    yield from ExitProcess(p, code)


def _exit(p, code):
    raise ProcessExit(code)


def cexit(p):
    yield from _run_onexit(p)
    crt_stdio.flush_all(p)


def c_exit(p):
    crt_stdio.flush_all(p)


def amsg_exit(p, n):
    crt_stdio.emergency(p, f"\r\nruntime error R60{n:02d}\r\n".encode())
    raise ProcessExit(255)


def abort(p):
    crt_stdio.flush_all(p)
    crt_stdio.emergency(p, b"\r\nThis application has requested the Runtime to terminate it in an unusual way.\r\n"
                           b"Please contact the application's support team for more information.\r\n")
    raise ProcessExit(3)


def signal(p, sig, handler):
    if sig not in SIGNALS:
        set_errno(p, EINVAL)
        return (1 << p.bits) - 1        # SIG_ERR
    handlers = _state(p)["signals"]
    old = handlers.get(sig, 0)
    handlers[sig] = handler
    return old


def p_fmode(p):
    return _data(p, "_fmode")


def p_commode(p):
    return _data(p, "_commode")


def p_acmdln(p):
    return _data(p, "_acmdln")


def p_wcmdln(p):
    return _data(p, "_wcmdln")


def iob_func(p):
    return _data(p, "_iob")


def lc_codepage(p):
    return 0


def mb_cur_max(p):
    return 1


# -- data exports: filled when the program (or a getter) first asks for them --------------
def init_acmdln(p, addr):
    from .k32_process import GetCommandLineA
    p.mem.put_ptr(addr, GetCommandLineA(p))


def init_wcmdln(p, addr):
    from .k32_process import GetCommandLineW
    p.mem.put_ptr(addr, GetCommandLineW(p))


def init_one(p, addr):
    p.mem.put_u32(addr, 1)


def init_iob(p, addr):
    crt_stdio.init_iob(p, addr)


# -- locale "C" ---------------------------------------------------------------------------
def setlocale(p, category, locale):
    st = _state(p)
    if locale:
        name = strings.read_a(p.mem, locale)
        if name not in ("C", ""):
            return 0
    if "locale_name" not in st:
        st["locale_name"] = p.heap.alloc(2)
        p.mem.write(st["locale_name"], b"C\0")
    return st["locale_name"]


def localeconv(p):
    st = _state(p)
    if "lconv" not in st:
        texts = [".", "", "", "", "", "", "", "", "", ""]
        conv = p.heap.alloc(p.ptr * 10 + 8, zero=True)
        for i, t in enumerate(texts):
            a = p.heap.alloc(len(t) + 1, zero=True)
            p.mem.write(a, t.encode() + b"\0")
            p.mem.put_ptr(conv + p.ptr * i, a)
        p.mem.write(conv + p.ptr * 10, b"\x7f" * 8)      # CHAR_MAX: "not available"
        st["lconv"] = conv
    return st["lconv"]


def getenv(p, name):
    from .k32_process import environment
    key = strings.read_a(p.mem, name).upper()
    hit = environment(p).get(key)
    if hit is None:
        return 0
    cache = _state(p)["env_ptrs"]
    if key not in cache or cache[key][0] != hit[1]:
        data = strings.encode(hit[1], False) + b"\0"
        a = p.heap.alloc(len(data))
        p.mem.write(a, data)
        cache[key] = (hit[1], a)
    return cache[key][1]
