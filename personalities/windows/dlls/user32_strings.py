"""user32 string resources (LoadString) read from the program's own resource
directory: RT_STRING blocks of 16 counted UTF-16 strings, block (id >> 4) + 1."""
from __future__ import annotations

from .. import strings, winerror as W
from .k32_files import fail

RT_STRING = 6
ERROR_RESOURCE_NAME_NOT_FOUND = 1814


def pick_language(langs) -> int:
    """The resource language a US-English Windows picks: neutral, en-US, any English,
    else the first."""
    for want in (0, 0x409, 0x800, 0x400):
        if want in langs:
            return want
    english = [lang for lang in langs if isinstance(lang, int) and lang & 0x3FF == 9]
    return english[0] if english else sorted(langs, key=repr)[0]


def find_string(p, module: int, uid: int):
    """(address, length in characters) of string ``uid`` in ``module``'s resources."""
    if module not in (0, p.image_base):
        return None
    res = p.info.resources
    block = (uid >> 4) + 1
    hits = {k[2]: v for k, v in res.items() if k[0] == RT_STRING and k[1] == block}
    if not hits:
        return None
    rva, size = hits[pick_language(hits)]
    pos, end = p.image_base + rva, p.image_base + rva + size
    for _ in range(uid & 15):
        n = p.mem.read(pos, 2)
        pos += 2 + 2 * int.from_bytes(n, "little")
        if pos >= end:
            return None
    n = int.from_bytes(p.mem.read(pos, 2), "little")
    return (pos + 2, n) if n else None


def LoadStringW(p, module, uid, buf, size):
    hit = find_string(p, module, uid)
    if hit is None:
        if buf and size:
            p.mem.write(buf, b"\0\0")
        return fail(p, ERROR_RESOURCE_NAME_NOT_FOUND)
    addr, n = hit
    if size == 0:               # a pointer to the read-only resource itself
        p.mem.put_ptr(buf, addr)
        return n
    keep = min(n, size - 1)
    p.mem.write(buf, p.mem.read(addr, 2 * keep) + b"\0\0")
    return keep


def LoadStringA(p, module, uid, buf, size):
    hit = find_string(p, module, uid)
    if hit is None or size == 0:
        if buf and size:
            p.mem.write(buf, b"\0")
        return fail(p, ERROR_RESOURCE_NAME_NOT_FOUND if hit is None else W.ERROR_INVALID_PARAMETER)
    addr, n = hit
    text = strings.encode(p.mem.read(addr, 2 * n).decode("utf-16-le", "replace"), False)[:size - 1]
    p.mem.write(buf, text + b"\0")
    return len(text)


def _wsprintf(p, buf, fmt, args, wide):
    """wsprintf: printf's integer/string/char conversions (no floating point), at most
    1024 characters, NUL-terminated; returns the characters stored."""
    from .. import printf
    text = printf.render(strings.read(p.mem, fmt, wide), args, p.mem, p.bits, wide)[:1023]
    p.mem.write(buf, strings.encode(text, wide) + (b"\0\0" if wide else b"\0"))
    return len(text)


def wsprintfW(p, buf, fmt, args):
    return _wsprintf(p, buf, fmt, args, True)


def wsprintfA(p, buf, fmt, args):
    return _wsprintf(p, buf, fmt, args, False)
