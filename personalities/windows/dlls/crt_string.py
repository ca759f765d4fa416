"""msvcrt strings, memory blocks, character classes, number parsing and malloc.

Implemented over guest memory in bulk (one read per page or block), so that a
memcpy of a megabyte is two host calls, not a million."""
from __future__ import annotations

from .. import strings
from .crt_errno import set_errno

ERANGE = 34
PAGE = 0x1000


def _s32(v: int) -> int:
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v >> 31 else v


def _cmp(a: bytes, b: bytes) -> int:
    return (a > b) - (a < b)


def strlen(p, s):
    return len(strings.raw(p.mem, s))


def wcslen(p, s):
    return len(strings.raw(p.mem, s, wide=True)) // 2


def strcmp(p, a, b):
    return _cmp(strings.raw(p.mem, a), strings.raw(p.mem, b))


def strncmp(p, a, b, n):
    return _cmp(strings.raw(p.mem, a, limit=n)[:n], strings.raw(p.mem, b, limit=n)[:n])


def stricmp(p, a, b):
    return _cmp(strings.raw(p.mem, a).lower(), strings.raw(p.mem, b).lower())


def strnicmp(p, a, b, n):
    return _cmp(strings.raw(p.mem, a, limit=n)[:n].lower(), strings.raw(p.mem, b, limit=n)[:n].lower())


def strcpy(p, dst, src):
    p.mem.write(dst, strings.raw(p.mem, src) + b"\0")
    return dst


def strncpy(p, dst, src, n):
    data = strings.raw(p.mem, src, limit=n)[:n]
    p.mem.write(dst, data + bytes(n - len(data)))
    return dst


def strcat(p, dst, src):
    end = dst + len(strings.raw(p.mem, dst))
    p.mem.write(end, strings.raw(p.mem, src) + b"\0")
    return dst


def strncat(p, dst, src, n):
    end = dst + len(strings.raw(p.mem, dst))
    p.mem.write(end, strings.raw(p.mem, src, limit=n)[:n] + b"\0")
    return dst


def _char(p, s, c, last: bool):
    """strchr/strrchr: the address of the first (last) byte ``c``, or of the NUL for 0."""
    data = strings.raw(p.mem, s)
    c &= 0xFF
    if c == 0:
        return s + len(data)
    i = data.rfind(bytes([c])) if last else data.find(bytes([c]))
    return s + i if i >= 0 else 0


def strchr(p, s, c):
    return _char(p, s, c, False)


def strrchr(p, s, c):
    return _char(p, s, c, True)


def strstr(p, s, sub):
    i = strings.raw(p.mem, s).find(strings.raw(p.mem, sub))
    return s + i if i >= 0 else 0


def strdup(p, s):
    data = strings.raw(p.mem, s) + b"\0"
    a = p.heap.alloc(len(data))
    p.mem.write(a, data)
    return a


def memcpy(p, dst, src, n):
    if n:
        p.mem.write(dst, p.mem.read(src, n))
    return dst


def memset(p, dst, c, n):
    if n:
        p.mem.write(dst, bytes([c & 0xFF]) * n)
    return dst


def memcmp(p, a, b, n):
    return _cmp(p.mem.read(a, n), p.mem.read(b, n)) if n else 0


def memchr(p, s, c, n):
    i = p.mem.read(s, n).find(bytes([c & 0xFF])) if n else -1
    return s + i if i >= 0 else 0


# -- ctype ("C" locale) ---------------------------------------------------------------
def _ctype(test):
    def f(p, c):
        c &= 0xFFFFFFFF
        return 1 if c < 128 and test(chr(c)) else 0
    return f


isalpha = _ctype(str.isalpha)
isdigit = _ctype(str.isdigit)
isalnum = _ctype(str.isalnum)
isspace = _ctype(lambda ch: ch in " \t\n\v\f\r")
isupper = _ctype(str.isupper)
islower = _ctype(str.islower)
isxdigit = _ctype(lambda ch: ch in "0123456789abcdefABCDEF")
isprint = _ctype(lambda ch: 32 <= ord(ch) < 127)
ispunct = _ctype(lambda ch: 32 < ord(ch) < 127 and not ch.isalnum())


def toupper(p, c):
    c = _s32(c)
    return c - 32 if 97 <= c <= 122 else c


def tolower(p, c):
    c = _s32(c)
    return c + 32 if 65 <= c <= 90 else c


# -- numbers -----------------------------------------------------------------------------
def _parse_int(p, s: int, base: int, bits: int, signed: bool, endptr: int = 0) -> int:
    data = strings.raw(p.mem, s, limit=4096)
    i, n = 0, len(data)
    while i < n and data[i] in b" \t\n\v\f\r":
        i += 1
    neg = False
    if i < n and data[i] in b"+-":
        neg = data[i] == 45
        i += 1
    if base in (0, 16) and data[i:i + 2].lower() == b"0x" and i + 2 < n and \
            chr(data[i + 2]).lower() in "0123456789abcdef":
        base, i = 16, i + 2
    elif base == 0:
        base = 8 if data[i:i + 1] == b"0" else 10
    start, value = i, 0
    while i < n:
        ch = chr(data[i]).lower()
        d = int(ch, 36) if ch.isalnum() else 99
        if d >= base:
            break
        value = value * base + d
        i += 1
    if i == start:
        if endptr:
            p.mem.put_ptr(endptr, s)
        return 0
    if endptr:
        p.mem.put_ptr(endptr, s + i)
    if signed:
        lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
        v = -value if neg else value
        if v < lo or v > hi:
            set_errno(p, ERANGE)
            return lo if neg else hi
        return v
    if value > (1 << bits) - 1:
        set_errno(p, ERANGE)
        return (1 << bits) - 1
    return (-value) & ((1 << bits) - 1) if neg else value


def atoi(p, s):
    return _wrap(p, s, 32)


def _wrap(p, s: int, bits: int) -> int:
    """atoi/atol: no range check promised; msvcrt saturates like strtol."""
    return _parse_int(p, s, 10, bits, True)


def atol(p, s):
    return _wrap(p, s, 32)


def atoi64(p, s):
    return _wrap(p, s, 64)


def strtol(p, s, endptr, base):
    return _parse_int(p, s, base, 32, True, endptr)


def strtoul(p, s, endptr, base):
    return _parse_int(p, s, base, 32, False, endptr)


def strtoi64(p, s, endptr, base):
    return _parse_int(p, s, base, 64, True, endptr)


def strtoui64(p, s, endptr, base):
    return _parse_int(p, s, base, 64, False, endptr)


def abs_(p, v):
    return abs(_s32(v))


# -- malloc ------------------------------------------------------------------------------
def malloc(p, n):
    return p.heap.alloc(n)


def calloc(p, n, size):
    total = n * size
    if total >> (p.bits - 1):
        set_errno(p, 12)
        return 0
    return p.heap.alloc(total, zero=True)


def free(p, addr):
    if addr:
        p.heap.free(addr)


def realloc(p, addr, n):
    if addr == 0:
        return p.heap.alloc(n)
    if n == 0:
        p.heap.free(addr)
        return 0
    return p.heap.realloc(addr, n)


def msize(p, addr):
    size = p.heap.size(addr)
    return (1 << p.bits) - 1 if size is None else size


def strerror(p, n):
    from .crt_startup import _state
    st = _state(p)
    text = MESSAGES.get(_s32(n), "Unknown error").encode() + b"\0"
    buf = st.get("strerror_buf")
    if buf is None:
        buf = st["strerror_buf"] = p.heap.alloc(96)
    p.mem.write(buf, text[:95] + b"\0")
    return buf


# msvcrt's _sys_errlist texts (the ones that differ from glibc's are why this is a table)
MESSAGES = {
    0: "No error", 1: "Operation not permitted", 2: "No such file or directory", 3: "No such process",
    4: "Interrupted function call", 5: "Input/output error", 6: "No such device or address",
    7: "Arg list too long", 8: "Exec format error", 9: "Bad file descriptor", 10: "No child processes",
    11: "Resource temporarily unavailable", 12: "Not enough space", 13: "Permission denied",
    14: "Bad address", 16: "Resource device", 17: "File exists", 18: "Improper link", 19: "No such device",
    20: "Not a directory", 21: "Is a directory", 22: "Invalid argument", 23: "Too many open files in system",
    24: "Too many open files", 25: "Inappropriate I/O control operation", 27: "File too large",
    28: "No space left on device", 29: "Invalid seek", 30: "Read-only file system", 31: "Too many links",
    32: "Broken pipe", 33: "Domain error", 34: "Result too large", 36: "Resource deadlock avoided",
    38: "Filename too long", 39: "No locks available", 40: "Function not implemented",
    41: "Directory not empty", 42: "Illegal byte sequence",
}


def qsort(p, base, n, size, compare):
    """A stable merge sort whose comparisons call the guest's function (a generator:
    each ``yield Call`` runs ``compare`` on the guest CPU).  The elements are compared
    in a scratch copy, then written back in order."""
    from ..process import Call
    if n < 2 or size == 0:
        return
    data = p.mem.read(base, n * size)
    tmp = p.heap.alloc(n * size)
    p.mem.write(tmp, data)
    order = list(range(n))
    width = 1
    while width < n:
        merged = []
        for lo in range(0, n, 2 * width):
            a, b = order[lo:lo + width], order[lo + width:lo + 2 * width]
            i = j = 0
            while i < len(a) and j < len(b):
                r = yield Call(compare, (tmp + a[i] * size, tmp + b[j] * size))
                if _s32(r) <= 0:
                    merged.append(a[i])
                    i += 1
                else:
                    merged.append(b[j])
                    j += 1
            merged += a[i:] + b[j:]
        order = merged
        width *= 2
    p.mem.write(base, b"".join(data[k * size:(k + 1) * size] for k in order))
    p.heap.free(tmp)


def strcspn(p, s, reject):
    data, stop = strings.raw(p.mem, s), set(strings.raw(p.mem, reject))
    return next((i for i, b in enumerate(data) if b in stop), len(data))


def strspn(p, s, accept):
    data, ok = strings.raw(p.mem, s), set(strings.raw(p.mem, accept))
    return next((i for i, b in enumerate(data) if b not in ok), len(data))


# -- wide strings -------------------------------------------------------------------
def _w(p, s) -> str:
    return strings.read_w(p.mem, s)


def wcscmp(p, a, b):
    x, y = _w(p, a), _w(p, b)
    return (x > y) - (x < y)


def wcsicmp(p, a, b):
    x, y = _w(p, a).lower(), _w(p, b).lower()
    return (x > y) - (x < y)


def wcscpy(p, dst, src):
    p.mem.write(dst, strings.raw(p.mem, src, wide=True) + b"\0\0")
    return dst


def wcsdup(p, s):
    data = strings.raw(p.mem, s, wide=True) + b"\0\0"
    a = p.heap.alloc(len(data))
    p.mem.write(a, data)
    return a


def wcschr(p, s, c):
    i = _w(p, s).find(chr(c & 0xFFFF)) if c & 0xFFFF else wcslen(p, s)
    return s + 2 * i if i >= 0 else 0


def wcsrchr(p, s, c):
    i = _w(p, s).rfind(chr(c & 0xFFFF)) if c & 0xFFFF else wcslen(p, s)
    return s + 2 * i if i >= 0 else 0


def srand(p, seed):
    p.state["rand"] = seed & 0xFFFFFFFF


def rand(p):
    """msvcrt's generator: seed = seed * 214013 + 2531011, the high 15 bits out."""
    seed = (p.state.get("rand", 1) * 214013 + 2531011) & 0xFFFFFFFF
    p.state["rand"] = seed
    return (seed >> 16) & 0x7FFF


def wcspbrk(p, s, accept):
    text, ok = _w(p, s), set(_w(p, accept))
    i = next((k for k, ch in enumerate(text) if ch in ok), -1)
    return s + 2 * i if i >= 0 else 0


def towlower(p, c):
    return ord(chr(c & 0xFFFF).lower()[0]) if len(chr(c & 0xFFFF).lower()) == 1 else c & 0xFFFF


def towupper(p, c):
    return ord(chr(c & 0xFFFF).upper()[0]) if len(chr(c & 0xFFFF).upper()) == 1 else c & 0xFFFF


def iswspace(p, c):
    return 1 if chr(c & 0xFFFF).isspace() else 0


def iswdigit(p, c):
    return 1 if 0x30 <= (c & 0xFFFF) <= 0x39 else 0


def iswalpha(p, c):
    return 1 if chr(c & 0xFFFF).isalpha() else 0


def wcsncmp(p, a, b, n):
    x, y = _w(p, a)[:n], _w(p, b)[:n]
    return (x > y) - (x < y)


def wcsnicmp(p, a, b, n):
    x, y = _w(p, a)[:n].lower(), _w(p, b)[:n].lower()
    return (x > y) - (x < y)


def wcsstr(p, s, sub):
    i = _w(p, s).find(_w(p, sub))
    return s + 2 * i if i >= 0 else 0


def wcscspn(p, s, reject):
    text, stop = _w(p, s), set(_w(p, reject))
    return next((i for i, ch in enumerate(text) if ch in stop), len(text))


def wcsupr(p, s):
    text = _w(p, s)
    p.mem.write(s, "".join(ch.upper() if len(ch.upper()) == 1 else ch for ch in text).encode("utf-16-le", "surrogatepass"))
    return s


def wcsrev(p, s):
    """In place, by UTF-16 unit as msvcrt does (a surrogate pair comes out swapped)."""
    data = strings.raw(p.mem, s, wide=True)
    units = [data[i:i + 2] for i in range(0, len(data), 2)]
    p.mem.write(s, b"".join(reversed(units)))
    return s


def strrev(p, s):
    data = strings.raw(p.mem, s)
    p.mem.write(s, data[::-1])
    return s


def _splitpath(p, path, drive, directory, fname, ext, wide):
    """Drive ("C:"), directory (to the last slash), name and extension (from the last dot
    of the last component) into the buffers given, each NUL-terminated."""
    text = strings.read(p.mem, path, wide)
    d = text[:2] if text[1:2] == ":" else ""
    rest = text[len(d):]
    cut = max(rest.rfind("\\"), rest.rfind("/")) + 1
    folder, name = rest[:cut], rest[cut:]
    dot = name.rfind(".")
    stem, extension = (name[:dot], name[dot:]) if dot >= 0 else (name, "")
    for buf, part in ((drive, d), (directory, folder), (fname, stem), (ext, extension)):
        if buf:
            p.mem.write(buf, strings.encode(part, wide) + (b"\0\0" if wide else b"\0"))


def splitpath(p, path, drive, directory, fname, ext):
    _splitpath(p, path, drive, directory, fname, ext, False)


def wsplitpath(p, path, drive, directory, fname, ext):
    _splitpath(p, path, drive, directory, fname, ext, True)


def _wide_int(p, s, endptr, base, bits, signed):
    """wcstol/wcstoul: the digits are ASCII, so parse a narrow copy and map the end back."""
    text = _w(p, s)
    narrow = "".join(ch if ord(ch) < 128 else "\x01" for ch in text).encode("ascii")
    tmp = p.heap.alloc(len(narrow) + 1)
    p.mem.write(tmp, narrow + b"\0")
    end = p.heap.alloc(p.ptr, zero=True)
    v = _parse_int(p, tmp, base, bits, signed, end)
    if endptr:
        p.mem.put_ptr(endptr, s + 2 * (p.mem.ptr(end) - tmp))
    p.heap.free(tmp)
    p.heap.free(end)
    return v


def wcstol(p, s, endptr, base):
    return _wide_int(p, s, endptr, base, 32, True)


def wcstoul(p, s, endptr, base):
    return _wide_int(p, s, endptr, base, 32, False)
