"""msvcrt time: time/_time32/_time64 and clock (milliseconds since the process began,
CLOCKS_PER_SEC being 1000 on Windows)."""
from __future__ import annotations

import time as _t

_START = _t.monotonic()


def time(p, out):
    """msvcrt.dll's time(): a 64-bit time_t on x64, 32-bit on x86."""
    now = int(_t.time())
    if out:
        p.mem.write(out, now.to_bytes(8 if p.bits == 64 else 4, "little"))
    return now


def time32(p, out):
    now = int(_t.time()) & 0xFFFFFFFF
    if out:
        p.mem.put_u32(out, now)
    return now


def time64(p, out):
    now = int(_t.time())
    if out:
        p.mem.put_u64(out, now)
    return now


def clock(p):
    return int((_t.monotonic() - _START) * 1000)
