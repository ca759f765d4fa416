"""user32's walk over ANSI strings one character at a time (CharNext/CharPrev and
their Ex forms).

A character of an ANSI string is one byte, or two where the code page is a
double-byte one (932, 936, 949, 950, 1361) and the byte is a lead byte.  A lead
byte followed by the terminating NUL is a character on its own, and the NUL
itself is never stepped over: CharNext at the end returns the end.  Programs
lean on this to find the end of a line without splitting a character (Wine's
cmd.exe reads a script or a redirected stdin that way).  The code page is the
caller's (CP_ACP, CP_OEMCP and CP_THREAD_ACP stand for 1252 and 437 here); the
flags of the Ex forms do nothing on Windows either.
"""
from __future__ import annotations

from .k32_nls import CP_ACP, is_lead_byte


def char_next(p, cp: int, s: int) -> int:
    lead = p.mem.read(s, 1)[0]
    if lead == 0:
        return s
    if is_lead_byte(cp, lead) and p.mem.read(s + 1, 1)[0] != 0:
        return s + 2
    return s + 1


def char_prev(p, cp: int, start: int, s: int) -> int:
    """The start of the character before ``s``, found by walking from ``start`` (a
    double-byte string cannot be walked backwards); ``start`` if ``s`` is not past it."""
    while start < s and p.mem.read(start, 1)[0] != 0:
        nxt = char_next(p, cp, start)
        if nxt >= s:
            break
        start = nxt
    return start


def CharNextExA(p, cp, s, flags):
    return char_next(p, cp & 0xFFFF, s)


def CharNextA(p, s):
    return char_next(p, CP_ACP, s)


def CharPrevExA(p, cp, start, s, flags):
    return char_prev(p, cp & 0xFFFF, start, s)


def CharPrevA(p, start, s):
    return char_prev(p, CP_ACP, start, s)
