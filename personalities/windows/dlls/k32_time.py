"""kernel32: dates and times as text (GetDateFormat, GetTimeFormat) in the one locale
guise has, English (United States), whatever LCID the caller names: short date
``M/d/yyyy``, long date ``dddd, MMMM d, yyyy``, time ``h:mm:ss tt``.

A format is a picture: runs of the letters d, M, y, g (dates) or h, H, m, s, t
(times) stand for fields, text in single quotes is literal ('' is a quote), and
everything else is copied."""
from __future__ import annotations

import datetime
import struct
import time

from .. import strings, winerror as W
from .k32_files import fail

SHORT_DATE, LONG_DATE, TIME = "M/d/yyyy", "dddd, MMMM d, yyyy", "h:mm:ss tt"
DATE_SHORTDATE, DATE_LONGDATE = 0x1, 0x2
TIME_NOMINUTESORSECONDS, TIME_NOSECONDS, TIME_NOTIMEMARKER, TIME_FORCE24HOURFORMAT = 1, 2, 4, 8
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")


def _tokens(picture: str):
    """(letter run, or None for literal text, text)."""
    i = 0
    while i < len(picture):
        c = picture[i]
        if c == "'":
            end = i + 1
            text = ""
            while end < len(picture):
                if picture[end] == "'":
                    if picture[end + 1:end + 2] == "'":
                        text += "'"
                        end += 2
                        continue
                    break
                text += picture[end]
                end += 1
            yield None, text
            i = end + 1
        elif c.isalpha():
            j = i
            while j < len(picture) and picture[j] == c:
                j += 1
            yield c, picture[i:j]
            i = j
        else:
            yield None, c
            i += 1


def format_date(picture: str, d: datetime.date) -> str:
    out = []
    for letter, run in _tokens(picture):
        n = len(run)
        if letter == "d":
            out.append(str(d.day) if n == 1 else f"{d.day:02d}" if n == 2 else
                       DAYS[d.weekday()][:3] if n == 3 else DAYS[d.weekday()])
        elif letter == "M":
            out.append(str(d.month) if n == 1 else f"{d.month:02d}" if n == 2 else
                       MONTHS[d.month - 1][:3] if n == 3 else MONTHS[d.month - 1])
        elif letter == "y":
            out.append(str(d.year % 100) if n == 1 else f"{d.year % 100:02d}" if n == 2 else f"{d.year}")
        elif letter == "g":
            out.append("A.D.")
        else:
            out.append(run)
    return "".join(out)


def format_time(picture: str, hour: int, minute: int, second: int, flags: int = 0) -> str:
    """The fields the flags leave out go with the separator before them, as Windows does."""
    out: list[tuple[str | None, str]] = []
    for letter, run in _tokens(picture):
        n = len(run)
        drop = (letter in ("m", "s") and flags & TIME_NOMINUTESORSECONDS) or \
            (letter == "s" and flags & TIME_NOSECONDS) or \
            (letter == "t" and flags & (TIME_NOTIMEMARKER | TIME_FORCE24HOURFORMAT))
        if drop:
            while out and out[-1][0] is None:       # the separator in front of it
                out.pop()
            continue
        if letter in ("h", "H"):
            h = hour if letter == "H" or flags & TIME_FORCE24HOURFORMAT else (hour % 12 or 12)
            out.append((letter, str(h) if n == 1 else f"{h:02d}"))
        elif letter == "m":
            out.append((letter, str(minute) if n == 1 else f"{minute:02d}"))
        elif letter == "s":
            out.append((letter, str(second) if n == 1 else f"{second:02d}"))
        elif letter == "t":
            mark = "AM" if hour < 12 else "PM"
            out.append((letter, mark[0] if n == 1 else mark))
        else:
            out.append((None, run))
    return "".join(text for _, text in out)


def _systemtime(p, st: int) -> tuple[int, ...] | None:
    """(year, month, day, hour, minute, second) of a SYSTEMTIME, or now (local) for NULL."""
    if not st:
        t = time.localtime()
        return t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec
    year, month, _wday, day, hour, minute, second, _ms = struct.unpack("<8H", p.mem.read(st, 16))
    return year, month, day, hour, minute, second


def _out(p, text: str, buf: int, size: int, wide: bool) -> int:
    if size == 0:
        return len(strings.encode(text, wide)) // (2 if wide else 1) + 1
    n, ok = strings.copy_out(p.mem, buf, size, text, wide)
    return n + 1 if ok else fail(p, W.ERROR_INSUFFICIENT_BUFFER)


def _date(p, flags, st, fmt, buf, size, wide):
    year, month, day = _systemtime(p, st)[:3]
    try:
        d = datetime.date(year, month, day)
    except ValueError:
        return fail(p, W.ERROR_INVALID_PARAMETER)
    picture = strings.read(p.mem, fmt, wide) if fmt else LONG_DATE if flags & DATE_LONGDATE else SHORT_DATE
    return _out(p, format_date(picture, d), buf, size, wide)


def GetDateFormatW(p, lcid, flags, st, fmt, buf, size):
    return _date(p, flags, st, fmt, buf, size, True)


def GetDateFormatA(p, lcid, flags, st, fmt, buf, size):
    return _date(p, flags, st, fmt, buf, size, False)


def GetDateFormatEx(p, locale, flags, st, fmt, buf, size, calendar):
    return _date(p, flags, st, fmt, buf, size, True)


def _time(p, flags, st, fmt, buf, size, wide):
    _, _, _, hour, minute, second = _systemtime(p, st)
    if hour > 23 or minute > 59 or second > 59:
        return fail(p, W.ERROR_INVALID_PARAMETER)
    picture = strings.read(p.mem, fmt, wide) if fmt else TIME
    return _out(p, format_time(picture, hour, minute, second, flags), buf, size, wide)


def GetTimeFormatW(p, lcid, flags, st, fmt, buf, size):
    return _time(p, flags, st, fmt, buf, size, True)


def GetTimeFormatA(p, lcid, flags, st, fmt, buf, size):
    return _time(p, flags, st, fmt, buf, size, False)


def GetTimeFormatEx(p, locale, flags, st, fmt, buf, size):
    return _time(p, flags, st, fmt, buf, size, True)
