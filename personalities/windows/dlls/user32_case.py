"""user32 case mapping and character classes: CharUpper/CharLower (and their Buff
forms), IsCharUpper/IsCharLower/IsCharAlpha/IsCharAlphaNumeric, A and W.

The W forms work on UTF-16 code units with the simple (one character to one
character) mappings: a character whose case has no single-character form, like
"ß" in upper case, stays as it is.  The A forms work in the ANSI code page
(1252): a byte is decoded, mapped, and written back only if the result is a
byte of that code page too (so "ÿ" becomes 0x9F "Ÿ", and "µ" stays).  A byte the
code page leaves undefined is no letter.

CharUpper and CharLower take either a string, changed in place and returned,
or one character in the low word of a "pointer" whose high word is zero, and
then return the changed character.
"""
from __future__ import annotations

from .. import strings


def _char_a(b: int) -> str | None:
    try:
        return bytes([b]).decode(strings.ACP)
    except UnicodeDecodeError:
        return None


def _map(ch: str, upper: bool) -> str:
    m = ch.upper() if upper else ch.lower()
    return m if len(m) == 1 else ch


def _map_a(data: bytes, upper: bool) -> bytes:
    out = bytearray()
    for b in data:
        ch = _char_a(b)
        try:
            out += _map(ch, upper).encode(strings.ACP) if ch is not None else bytes([b])
        except UnicodeEncodeError:
            out.append(b)
    return bytes(out)


def _map_w(data: bytes, upper: bool) -> bytes:
    text = data.decode("utf-16-le", "surrogatepass")
    return "".join(_map(ch, upper) for ch in text).encode("utf-16-le", "surrogatepass")


def _case(p, s: int, upper: bool, wide: bool) -> int:
    if s >> 16 == 0:                 # one character, not a pointer
        if wide:
            return ord(_map(chr(s & 0xFFFF), upper))
        return _map_a(bytes([s & 0xFF]), upper)[0]
    data = strings.raw(p.mem, s, wide)
    p.mem.write(s, _map_w(data, upper) if wide else _map_a(data, upper))
    return s


def _buff(p, s: int, n: int, upper: bool, wide: bool) -> int:
    if n:
        data = p.mem.read(s, 2 * n if wide else n)
        p.mem.write(s, _map_w(data, upper) if wide else _map_a(data, upper))
    return n


def case_export(upper: bool, wide: bool):
    """CharUpper/CharLower in one of their forms."""
    return lambda p, s: _case(p, s, upper, wide)


def buff_export(upper: bool, wide: bool):
    """CharUpperBuff/CharLowerBuff in one of their forms."""
    return lambda p, s, n: _buff(p, s, n, upper, wide)


# -- classes (C1_UPPER, C1_LOWER, C1_ALPHA, C1_DIGIT as GetStringType has them) ---------
def _alnum(ch: str) -> bool:
    return ch.isalpha() or ch.isdigit()


def _test(test, c: int, wide: bool) -> int:
    ch = chr(c & 0xFFFF) if wide else _char_a(c & 0xFF)
    return 1 if ch is not None and test(ch) else 0


CLASSES = {"IsCharUpper": str.isupper, "IsCharLower": str.islower, "IsCharAlpha": str.isalpha,
           "IsCharAlphaNumeric": _alnum}


def class_export(test, wide: bool):
    """IsCharUpper/IsCharLower/IsCharAlpha/IsCharAlphaNumeric in one of their forms."""
    return lambda p, c: _test(test, c, wide)
