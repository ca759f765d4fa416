"""printf-family formatting as msvcrt.dll does it (not as C99/ucrt does).

Differences from glibc that programs show: ``long`` is 32 bits (``%ld``),
``%I64d``/``%I32d``/``%I`` sizes, ``%S``/``%C`` are the *other* width's
string/char (wide in printf, narrow in wprintf), exponents have at least three
digits (``1.5e+003``), ``%p`` is zero-padded upper-case hex of pointer width
with no ``0x``, a NULL ``%s`` prints ``(null)``, and ``%n`` still works (msvcrt.dll
predates the printf-count-output switch of msvcr80).  Arguments come from a
:class:`~personalities.windows.spec.VarArgs` cursor.
"""
from __future__ import annotations

import math
from decimal import Decimal, ROUND_HALF_UP

FLAGS = "-+ #0"


def _cstr(mem, addr: int, wide: bool, limit: int | None) -> str:
    if addr == 0:
        return "(null)"
    out = []
    step = 2 if wide else 1
    chunk = 256
    while True:
        data = mem.read(addr, chunk * step)
        for i in range(0, len(data), step):
            c = int.from_bytes(data[i:i + step], "little")
            if c == 0 or (limit is not None and len(out) >= limit):
                return "".join(out)
            out.append(chr(c) if wide else data[i:i + 1].decode("cp1252", "replace"))
        addr += chunk * step


def _fixed(d: Decimal, prec: int) -> str:
    return format(d.quantize(Decimal(1).scaleb(-prec), rounding=ROUND_HALF_UP), "f")


def _sci(d: Decimal, prec: int) -> tuple[str, int]:
    """Mantissa digits and exponent of ``d`` rounded to ``prec`` decimals, ties away from zero."""
    if d == 0:
        return _fixed(d, prec), 0
    exp = d.adjusted()
    m = (d.scaleb(-exp)).quantize(Decimal(1).scaleb(-prec), rounding=ROUND_HALF_UP)
    if m >= 10:
        exp += 1
        m = (d.scaleb(-exp)).quantize(Decimal(1).scaleb(-prec), rounding=ROUND_HALF_UP)
    return format(m, "f"), exp


def _e(d: Decimal, prec: int, alt: bool, edigits: int = 3) -> str:
    mant, exp = _sci(d, prec)
    if alt and "." not in mant:
        mant += "."
    return f"{mant}e{'-' if exp < 0 else '+'}{abs(exp):0{edigits}d}"


def _float(conv: str, value: float, prec: int | None, alt: bool, edigits: int = 3) -> str:
    """``value`` (not negative) formatted as msvcrt does: exact decimal expansion of the
    double, ties rounded away from zero (0.25 -> "0.3" with %.1f), 3-digit exponents."""
    if math.isinf(value) or math.isnan(value):
        return "1.#INF" if math.isinf(value) else "1.#QNAN"
    p = 6 if prec is None else prec
    d = Decimal(value)
    low = conv.lower()
    if low == "f":
        s = _fixed(d, p)
        if alt and "." not in s:
            s += "."
    elif low == "e":
        s = _e(d, p, alt, edigits)
    elif low == "g":
        p = max(p, 1)
        _, exp = _sci(d, p - 1)
        if -4 <= exp < p:
            s = _fixed(d, p - 1 - exp)
        else:
            s = _e(d, p - 1, alt, edigits)
        if not alt:
            mant, e, tail = s.partition("e")
            if "." in mant:
                mant = mant.rstrip("0").rstrip(".")
            s = mant + e + tail
        elif "." not in s.partition("e")[0]:
            mant, e, tail = s.partition("e")
            s = mant + "." + e + tail
    elif low == "a":
        s = float.hex(value)
    else:
        s = str(value)
    return s.upper() if conv.isupper() else s


def render(fmt: str, args, mem, bits: int, wide: bool = False, exponent_digits: int = 3) -> str:
    """The formatted text; ``fmt`` is already decoded, ``wide`` says whether this is a
    w-function (then %s is wide and %S narrow); ucrt prints two exponent digits."""
    out = []
    i, n = 0, len(fmt)
    while i < n:
        c = fmt[i]
        if c != "%":
            j = fmt.find("%", i)
            j = n if j < 0 else j
            out.append(fmt[i:j])
            i = j
            continue
        i += 1
        if i >= n:
            break
        if fmt[i] == "%":
            out.append("%")
            i += 1
            continue
        flags = ""
        while i < n and fmt[i] in FLAGS:
            flags += fmt[i]
            i += 1
        width = None
        if i < n and fmt[i] == "*":
            width = _s32(args.int())
            if width < 0:
                flags += "-"
                width = -width
            i += 1
        else:
            j = i
            while i < n and fmt[i].isdigit():
                i += 1
            width = int(fmt[j:i]) if i > j else None
        prec = None
        if i < n and fmt[i] == ".":
            i += 1
            if i < n and fmt[i] == "*":
                prec = _s32(args.int())
                prec = None if prec < 0 else prec
                i += 1
            else:
                j = i
                while i < n and fmt[i].isdigit():
                    i += 1
                prec = int(fmt[j:i]) if i > j else 0
        size = ""
        while i < n:
            if fmt.startswith("I64", i):
                size, i = "64", i + 3
            elif fmt.startswith("I32", i):
                size, i = "32", i + 3
            elif fmt[i] == "I":
                size, i = ("64" if bits == 64 else "32"), i + 1
            elif fmt.startswith("ll", i):
                size, i = "64", i + 2
            elif fmt[i] in "hlwLzjt":
                ch = fmt[i]
                size = {"h": "h", "l": "l", "w": "l", "L": "64", "z": "ptr", "j": "64", "t": "ptr"}[ch] \
                    if size != "h" or ch != "h" else "hh"
                i += 1
            else:
                break
        if i >= n:
            break
        conv = fmt[i]
        i += 1
        if conv == "n":                  # msvcrt.dll (unlike msvcr80+) still honours %n
            count = len("".join(out).encode("utf-16-le" if wide else "cp1252", "replace")) // (2 if wide else 1)
            where = args.int()
            mem.write(where, count.to_bytes({"h": 2, "hh": 1, "64": 8}.get(size, 4), "little"))
            continue
        out.append(_one(conv, flags, width, prec, size, args, mem, bits, wide, exponent_digits))
    return "".join(out)


def _s32(v: int) -> int:
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v & 0x80000000 else v


def _int_arg(args, size: str, bits: int, signed: bool) -> int:
    if size == "64" or (size == "ptr" and bits == 64):
        v = args.i64()
        width = 64
    else:
        v = args.int()
        width = 16 if size in ("h", "hh") else 32     # msvcrt reads hh as h
    v &= (1 << width) - 1
    if signed and v >> (width - 1):
        v -= 1 << width
    return v


def _pad(body: str, sign: str, flags: str, width: int | None, zero_ok: bool) -> str:
    text = sign + body
    if width is None or len(text) >= width:
        return text
    if "-" in flags:
        return text.ljust(width)
    if "0" in flags and zero_ok:
        return sign + body.rjust(width - len(sign), "0")
    return text.rjust(width)


def _one(conv, flags, width, prec, size, args, mem, bits, wide, edigits=3) -> str:
    if conv in "di":
        v = _int_arg(args, size, bits, True)
        body = str(abs(v))
        if prec is not None:
            body = "" if (prec == 0 and v == 0) else body.zfill(prec)
        sign = "-" if v < 0 else "+" if "+" in flags else " " if " " in flags else ""
        return _pad(body, sign, flags, width, prec is None)
    if conv in "uxXo":
        v = _int_arg(args, size, bits, False)
        body = str(v) if conv == "u" else format(v, conv)
        if prec is not None:
            body = "" if (prec == 0 and v == 0) else body.zfill(prec)
        prefix = ""
        if "#" in flags and v:
            prefix = {"x": "0x", "X": "0X", "o": "0"}.get(conv, "")
            if conv == "o" and body.startswith("0"):
                prefix = ""
        return _pad(body, prefix, flags, width, prec is None)
    if conv == "p":
        v = _int_arg(args, "ptr", bits, False)
        digits = 16 if bits == 64 else 8
        body = format(v, "X").zfill(digits)
        return _pad(body, "", flags, width, False)
    if conv in "eEfFgGaA":
        v = args.double()
        body = _float(conv, abs(v), prec, "#" in flags, edigits)
        sign = "-" if math.copysign(1, v) < 0 else \
            "+" if "+" in flags else " " if " " in flags else ""
        return _pad(body, sign, flags, width, body[:1].isdigit())
    if conv in "sS":
        is_wide = (conv == "s") == wide
        if size == "l":
            is_wide = True
        elif size == "h":
            is_wide = False
        body = _cstr(mem, args.int(), is_wide, prec)
        if prec is not None:
            body = body[:prec]
        return _pad(body, "", flags.replace("0", ""), width, False)
    if conv in "cC":
        v = args.int()
        is_wide = (conv == "c") == wide
        if size == "l":
            is_wide = True
        elif size == "h":
            is_wide = False
        ch = chr(v & 0xFFFF) if is_wide else bytes([v & 0xFF]).decode("cp1252", "replace")
        return _pad(ch, "", flags.replace("0", ""), width, False)
    return conv

