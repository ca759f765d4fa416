"""What the Universal CRT (ucrtbase.dll, the api-ms-win-crt-* sets) does differently
from msvcrt: start-up through _configure_*_argv / __p___argv, opaque FILE* from
__acrt_iob_func, onexit tables, and the __stdio_common_* printf entry points whose
first argument selects legacy (msvcrt) or C99 behaviour."""
from __future__ import annotations

from .. import cmdline, printf, strings
from ..process import Call
from . import crt_startup as S, crt_stdio as IO

# _CRT_INTERNAL_PRINTF_* options
LEGACY_VSPRINTF_NULL_TERMINATION = 0x1
STANDARD_SNPRINTF_BEHAVIOR = 0x2
LEGACY_WIDE_SPECIFIERS = 0x4
LEGACY_THREE_DIGIT_EXPONENTS = 0x10


def _args(p, wide: bool):
    st = S._state(p)
    key = "u_argv_w" if wide else "u_argv"
    if key not in st:
        argv = cmdline.split(p.command_line)
        st[key] = S._strings_array(p, argv, wide)
        st["u_argc"] = len(argv)
    return st[key]


def _cell(p, name: str, value: int, size: int) -> int:
    st = S._state(p)
    if name not in st:
        st[name] = p.heap.alloc(size, zero=True)
        p.mem.write(st[name], value.to_bytes(size, "little"))
    return st[name]


def configure_narrow_argv(p, mode):
    _args(p, False)
    return 0


def configure_wide_argv(p, mode):
    _args(p, True)
    return 0


def initialize_environment(p):
    return 0


def _env(p, wide: bool) -> int:
    from .k32_process import environment
    st = S._state(p)
    key = "u_env_w" if wide else "u_env"
    if key not in st:
        st[key] = S._strings_array(p, [f"{n}={v}" for n, v in environment(p).values()], wide)
    return st[key]


def initial_narrow_environment(p):
    return _env(p, False)


def initial_wide_environment(p):
    return _env(p, True)


def p_argc(p):
    _args(p, False)
    return _cell(p, "u_argc_cell", S._state(p)["u_argc"], 4)


def p_argv(p):
    return _cell(p, "u_argv_cell", _args(p, False), p.ptr)


def p_wargv(p):
    return _cell(p, "u_wargv_cell", _args(p, True), p.ptr)


def acrt_iob_func(p, index):
    return IO.std_stream(p, index) if index < 3 else 0


# -- onexit tables (_onexit_table_t: first, last, end pointers) -----------------------
def _tables(p) -> dict:
    return S._state(p).setdefault("onexit_tables", {})


def initialize_onexit_table(p, table):
    _tables(p)[table] = []
    return 0


def register_onexit_function(p, table, fn):
    _tables(p).setdefault(table, []).append(fn)
    return 0


def execute_onexit_table(p, table):
    fns = _tables(p).get(table, [])
    while fns:
        yield Call(fns.pop())
    return 0


def crt_atexit(p, fn):
    S._state(p)["onexit"].append(fn)
    return 0


# -- __stdio_common_* -----------------------------------------------------------------
def _text(p, options: int, fmt: int, va: int, wide: bool) -> bytes:
    legacy = bool(options & LEGACY_THREE_DIGIT_EXPONENTS)
    text = printf.render(strings.read(p.mem, fmt, wide), IO._va(p, va), p.mem, p.bits, wide,
                         exponent_digits=3 if legacy else 2)
    return strings.encode(text, wide)


def common_vfprintf(p, options, fp, fmt, locale, va):
    return IO._out(p, fp, _text(p, options, fmt, va, False))


def common_vfwprintf(p, options, fp, fmt, locale, va):
    data = _text(p, options, fmt, va, True)
    text = data.decode("utf-16-le", "surrogatepass")
    r = IO._out(p, fp, strings.encode(text, False))
    return len(text) if r >= 0 else -1


def _sprintf(p, options, buf, count, fmt, va, wide):
    data = _text(p, options, fmt, va, wide)
    unit = 2 if wide else 1
    n = len(data) // unit
    if buf == 0:
        return n
    if options & STANDARD_SNPRINTF_BEHAVIOR:        # C99: truncate, terminate, return the full length
        if count:
            keep = min(n, count - 1)
            p.mem.write(buf, data[:keep * unit] + b"\0" * unit)
        return n
    if n < count:
        p.mem.write(buf, data + b"\0" * unit)
        return n
    if count:
        p.mem.write(buf, data[:count * unit])
        if options & LEGACY_VSPRINTF_NULL_TERMINATION:
            p.mem.write(buf + (count - 1) * unit, b"\0" * unit)
    return -1 if n > count or not options & LEGACY_VSPRINTF_NULL_TERMINATION else n


def common_vsprintf(p, options, buf, count, fmt, locale, va):
    return _sprintf(p, options, buf, count, fmt, va, False)


def common_vswprintf(p, options, buf, count, fmt, locale, va):
    return _sprintf(p, options, buf, count, fmt, va, True)


def set_new_mode(p, mode):
    return 0


def configthreadlocale(p, mode):
    return 0                       # "per-thread locale disabled" before and after


def set_fmode(p, mode):
    p.mem.put_u32(p.resolve("msvcrt.dll", "_fmode"), mode)
    return 0
