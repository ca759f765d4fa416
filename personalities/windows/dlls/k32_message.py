"""FormatMessage: message text from a string, the program's message table or the
system's, with %1..%99 inserts (optionally %n!printf-format!), %0, %n, %%, the
width mask, and FORMAT_MESSAGE_ALLOCATE_BUFFER (freed with LocalFree)."""
from __future__ import annotations

import re

from .. import printf, strings, winerror as W
from ..spec import VarArgs
from .k32_files import fail

ALLOCATE_BUFFER, IGNORE_INSERTS, FROM_STRING = 0x100, 0x200, 0x400
FROM_HMODULE, FROM_SYSTEM, ARGUMENT_ARRAY, MAX_WIDTH_MASK = 0x800, 0x1000, 0x2000, 0xFF
RT_MESSAGETABLE = 11
ERROR_MR_MID_NOT_FOUND = 317

# the system's texts for the errors programs most often report
SYSTEM = {
    0: "The operation completed successfully.", 1: "Invalid function.",
    2: "The system cannot find the file specified.", 3: "The system cannot find the path specified.",
    5: "Access is denied.", 6: "The handle is invalid.", 8: "Not enough memory resources are available to process this command.",
    18: "There are no more files.", 32: "The process cannot access the file because it is being used by another process.",
    80: "The file exists.", 87: "The parameter is incorrect.", 112: "There is not enough space on the disk.",
    122: "The data area passed to a system call is too small.", 123: "The filename, directory name, or volume label syntax is incorrect.",
    126: "The specified module could not be found.", 127: "The specified procedure could not be found.",
    145: "The directory is not empty.", 183: "Cannot create a file when that file already exists.",
    203: "The system could not find the environment option that was entered.",
}
_INSERT = re.compile(r"%(?:([1-9][0-9]?)(?:!([^!]*)!)?|(.))", re.S)


def _message_table(p, module: int, msgid: int) -> str | None:
    if module not in (0, p.image_base):
        return None
    from .user32_strings import pick_language
    tables = {k[2]: v for k, v in p.info.resources.items() if k[0] == RT_MESSAGETABLE}
    for lang in ([pick_language(tables)] if tables else []):
        rva, _size = tables[lang]
        base = p.image_base + rva
        for b in range(p.mem.u32(base)):
            low, high, off = (p.mem.u32(base + 4 + 12 * b + 4 * k) for k in range(3))
            if low <= msgid <= high:
                pos = base + off
                for _ in range(msgid - low):
                    pos += int.from_bytes(p.mem.read(pos, 2), "little")
                length, flags = int.from_bytes(p.mem.read(pos, 2), "little"), int.from_bytes(p.mem.read(pos + 2, 2), "little")
                raw = p.mem.read(pos + 4, length - 4)
                return (raw.decode("utf-16-le", "replace") if flags & 1 else raw.decode("cp1252", "replace")).split("\0")[0]
    return None


def _source(p, flags, source, msgid, wide):
    if flags & FROM_STRING:
        return strings.read(p.mem, source, wide)
    if flags & FROM_HMODULE:
        text = _message_table(p, source, msgid)
        if text is not None:
            return text
    if flags & FROM_SYSTEM and msgid in SYSTEM:
        return SYSTEM[msgid] + "\r\n"
    return None


def _expand(p, text: str, flags: int, args: int, wide: bool) -> str:
    width = flags & MAX_WIDTH_MASK
    if flags & ARGUMENT_ARRAY:
        def slot(i, base=args):
            return p.mem.ptr(base + p.ptr * i)
    elif args:
        va = p.mem.ptr(args)            # a va_list*: the caller's va_list

        def slot(i, base=va):
            return p.mem.ptr(base + p.ptr * i) if p.bits == 64 else p.mem.u32(base + 4 * i)
    else:
        slot = None
    out = []
    pos = 0
    text = re.sub(r"(?<!\r)\n", "\r\n", text)     # bare line feeds of the source become CR LF
    for m in _INSERT.finditer(text):
        out.append(text[pos:m.start()])
        pos = m.end()
        num, fmt, ch = m.group(1), m.group(2), m.group(3)
        if num:
            if flags & IGNORE_INSERTS or slot is None:
                out.append(m.group(0))
                continue
            fmt = fmt or "s"
            cursor = VarArgs(slot, p.bits, int(num) - 1)
            out.append(printf.render("%" + fmt, cursor, p.mem, p.bits, wide))
        elif ch == "0":
            return "".join(out)
        elif ch == "n":
            out.append("\r\n")
        elif ch in ("r",):
            out.append("\r")
        elif ch == "t":
            out.append("\t")
        else:
            out.append(ch)
    out.append(text[pos:])
    result = "".join(out)
    if width == MAX_WIDTH_MASK:
        result = result.replace("\r\n", " ")
    return result


def _format(p, flags, source, msgid, lang, buf, size, args, wide):
    text = _source(p, flags, source, msgid, wide)
    if text is None:
        return fail(p, ERROR_MR_MID_NOT_FOUND)
    result = _expand(p, text, flags, args, wide)
    data = strings.encode(result, wide) + (b"\0\0" if wide else b"\0")
    n = len(result if not wide else data[:-2].decode("utf-16-le", "surrogatepass"))
    if flags & ALLOCATE_BUFFER:
        addr = p.heap.alloc(max(len(data), size * (2 if wide else 1)))
        p.mem.write(addr, data)
        p.mem.put_ptr(buf, addr)
        return n
    if n + 1 > size:
        return fail(p, W.ERROR_INSUFFICIENT_BUFFER)
    p.mem.write(buf, data)
    return n


def FormatMessageA(p, flags, source, msgid, lang, buf, size, args):
    return _format(p, flags, source, msgid, lang, buf, size, args, False)


def FormatMessageW(p, flags, source, msgid, lang, buf, size, args):
    return _format(p, flags, source, msgid, lang, buf, size, args, True)


def LocalAlloc(p, flags, size):
    return p.heap.alloc(size, zero=bool(flags & 0x40))


def LocalFree(p, addr):
    if addr and not p.heap.free(addr):
        return addr
    return 0
