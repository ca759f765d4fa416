"""Guest strings: ANSI (code page 1252, the CP_ACP guise reports) and UTF-16LE.

Reads go page by page until the NUL; a bad pointer raises GuestFault, which the
dispatcher turns into an access violation like Windows'.
"""
from __future__ import annotations

from hw.cpu import PAGE_SIZE

ACP = "cp1252"


def raw(mem, addr: int, wide: bool = False, limit: int = 1 << 24) -> bytes:
    """The bytes before the terminating NUL (two-byte NUL for ``wide``)."""
    if addr == 0:
        from personalities.guestmem import GuestFault
        raise GuestFault(0)
    out = bytearray()
    while len(out) < limit:
        chunk = PAGE_SIZE - (addr & (PAGE_SIZE - 1))
        if wide and chunk % 2:
            chunk += 1
        data = mem.read(addr, chunk)
        if wide:
            for i in range(0, len(data) - 1, 2):
                if data[i] == 0 and data[i + 1] == 0:
                    return bytes(out + data[:i])
        else:
            nul = data.find(b"\0")
            if nul >= 0:
                return bytes(out + data[:nul])
        out += data
        addr += chunk
    return bytes(out[:limit])


def read_a(mem, addr: int) -> str:
    return raw(mem, addr).decode(ACP, "replace")


def read_w(mem, addr: int) -> str:
    return raw(mem, addr, wide=True).decode("utf-16-le", "surrogatepass")


def read(mem, addr: int, wide: bool) -> str:
    return read_w(mem, addr) if wide else read_a(mem, addr)


def encode(text: str, wide: bool) -> bytes:
    """``text`` in the guest's encoding, without the NUL."""
    return text.encode("utf-16-le", "surrogatepass") if wide else text.encode(ACP, "replace")


def decode(data: bytes, wide: bool) -> str:
    return data.decode("utf-16-le", "surrogatepass") if wide else data.decode(ACP, "replace")


def copy_out(mem, buf: int, size: int, text: str, wide: bool) -> tuple[int, bool]:
    """The Windows "buffer of ``size`` characters" contract: if text+NUL fits, write
    it and return (characters written without NUL, True); else (characters needed
    including the NUL, False) and write nothing."""
    data = encode(text, wide)
    unit = 2 if wide else 1
    n = len(data) // unit
    if n + 1 > size:
        return n + 1, False
    mem.write(buf, data + b"\0" * unit)
    return n, True
