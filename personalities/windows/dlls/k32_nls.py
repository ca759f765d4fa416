"""kernel32 code-page conversion: MultiByteToWideChar and WideCharToMultiByte for
CP_ACP (1252 here), CP_OEMCP (437), CP_UTF8 and any code page Python knows."""
from __future__ import annotations

import codecs

from .. import strings, winerror as W
from .k32_files import fail

CP_ACP, CP_OEMCP, CP_MACCP, CP_THREAD_ACP, CP_UTF7, CP_UTF8 = 0, 1, 2, 3, 65000, 65001
ACP, OEMCP = 1252, 437
# the double-byte code pages and their lead-byte ranges (what GetCPInfo reports in LeadByte)
LEAD_BYTES = {932: ((0x81, 0x9F), (0xE0, 0xFC)), 936: ((0x81, 0xFE),), 949: ((0x81, 0xFE),),
              950: ((0x81, 0xFE),), 1361: ((0x84, 0xD3), (0xD8, 0xDE), (0xE0, 0xF9))}


def actual(cp: int) -> int:
    """The code page a pseudo code page (CP_ACP, CP_OEMCP, CP_THREAD_ACP) stands for."""
    return {CP_ACP: ACP, CP_THREAD_ACP: ACP, CP_OEMCP: OEMCP}.get(cp, cp)


def is_lead_byte(cp: int, byte: int) -> bool:
    """True if ``byte`` starts a two-byte character in code page ``cp``."""
    return any(lo <= byte <= hi for lo, hi in LEAD_BYTES.get(actual(cp), ()))


def codec(cp: int) -> str | None:
    name = {CP_ACP: "cp1252", CP_THREAD_ACP: "cp1252", CP_OEMCP: "cp437", CP_MACCP: "mac_roman",
            CP_UTF7: "utf-7", CP_UTF8: "utf-8"}.get(cp, f"cp{cp}")
    try:
        codecs.lookup(name)
    except LookupError:
        return None
    return name


def MultiByteToWideChar(p, cp, flags, src, srclen, dst, dstlen):
    name = codec(cp)
    if name is None:
        return fail(p, W.ERROR_INVALID_PARAMETER)
    srclen = srclen - (1 << 32) if srclen & 0x80000000 else srclen
    if srclen < 0:
        data = strings.raw(p.mem, src) + b"\0"
    else:
        data = p.mem.read(src, srclen)
    out = data.decode(name, "replace").encode("utf-16-le", "surrogatepass")
    n = len(out) // 2
    if dstlen == 0:
        return n
    if n > dstlen:
        return fail(p, W.ERROR_INSUFFICIENT_BUFFER)
    p.mem.write(dst, out)
    return n


def WideCharToMultiByte(p, cp, flags, src, srclen, dst, dstlen, default, used_default):
    name = codec(cp)
    if name is None:
        return fail(p, W.ERROR_INVALID_PARAMETER)
    srclen = srclen - (1 << 32) if srclen & 0x80000000 else srclen
    if srclen < 0:
        text = strings.read_w(p.mem, src) + "\0"
    else:
        text = p.mem.read(src, 2 * srclen).decode("utf-16-le", "surrogatepass")
    fallback = strings.raw(p.mem, default).decode("latin-1") if (default and cp != CP_UTF8) else "?"
    used = False
    out = bytearray()
    for ch in text:
        try:
            out += ch.encode(name)
        except UnicodeEncodeError:
            out += fallback.encode("latin-1", "replace")
            used = True
    if used_default and cp != CP_UTF8:
        p.mem.put_u32(used_default, 1 if used else 0)
    if dstlen == 0:
        return len(out)
    if len(out) > dstlen:
        return fail(p, W.ERROR_INSUFFICIENT_BUFFER)
    p.mem.write(dst, bytes(out))
    return len(out)
