"""strace-style tracing of Linux syscalls (``--trace``) and JSON Lines (``--trace-json``).

Only used when asked for: the dispatcher swaps in a traced table, so the
default path pays nothing for this module.
"""
from __future__ import annotations

import errno
import json
import os

from personalities.guestmem import GuestFault
from .abi import s32

STRSIZE = 32
OFLAGS = [(0o1, "O_WRONLY"), (0o2, "O_RDWR"), (0o100, "O_CREAT"), (0o200, "O_EXCL"),
          (0o400, "O_NOCTTY"), (0o1000, "O_TRUNC"), (0o2000, "O_APPEND"), (0o4000, "O_NONBLOCK"),
          (0o10000, "O_DSYNC"), (0o40000, "O_DIRECT"), (0o100000, "O_LARGEFILE"),
          (0o200000, "O_DIRECTORY"), (0o400000, "O_NOFOLLOW"), (0o1000000, "O_NOATIME"),
          (0o2000000, "O_CLOEXEC"), (0o10000000, "O_PATH"), (0o20000000, "O_TMPFILE")]
PROTS = [(1, "PROT_READ"), (2, "PROT_WRITE"), (4, "PROT_EXEC")]
MFLAGS = [(0x1, "MAP_SHARED"), (0x2, "MAP_PRIVATE"), (0x10, "MAP_FIXED"), (0x20, "MAP_ANONYMOUS"),
          (0x100, "MAP_GROWSDOWN"), (0x800, "MAP_DENYWRITE"), (0x4000, "MAP_NORESERVE"),
          (0x8000, "MAP_POPULATE"), (0x20000, "MAP_STACK"), (0x100000, "MAP_FIXED_NOREPLACE")]
WHENCE = {0: "SEEK_SET", 1: "SEEK_CUR", 2: "SEEK_END", 3: "SEEK_DATA", 4: "SEEK_HOLE"}
CLOCKS = {0: "CLOCK_REALTIME", 1: "CLOCK_MONOTONIC", 2: "CLOCK_PROCESS_CPUTIME_ID",
          3: "CLOCK_THREAD_CPUTIME_ID", 4: "CLOCK_MONOTONIC_RAW", 5: "CLOCK_REALTIME_COARSE",
          6: "CLOCK_MONOTONIC_COARSE", 7: "CLOCK_BOOTTIME"}


def quote(data: bytes, limit: int = STRSIZE) -> str:
    out = []
    for b in data[:limit]:
        c = chr(b)
        if c == '"':
            out.append('\\"')
        elif c == "\\":
            out.append("\\\\")
        elif c == "\n":
            out.append("\\n")
        elif c == "\t":
            out.append("\\t")
        elif 32 <= b < 127:
            out.append(c)
        else:
            out.append(f"\\{b:o}")
    return '"' + "".join(out) + '"' + ("..." if len(data) > limit else "")


def flags(value: int, table, zero: str = "0") -> str:
    names, rest = [], value
    for bit, name in table:
        if value & bit == bit:
            names.append(name)
            rest &= ~bit
    if rest:
        names.append(hex(rest))
    return "|".join(names) if names else zero


class Tracer:
    def __init__(self, stream=None, json_stream=None, tag_pid: bool = False):
        self.stream = stream
        self.json_stream = json_stream
        self.tag_pid = tag_pid

    # -- formatting of one argument ----------------------------------------------------
    def fmt(self, p, kind: str, value: int, args, i: int, ret=None) -> str:
        try:
            if kind in ("fd", "int", "dirfd", "sig"):
                v = s32(value)
                if kind == "dirfd" and v == -100:
                    return "AT_FDCWD"
                return str(v)
            if kind in ("uint", "size"):
                return str(value)
            if kind == "off":
                return str(p.abi.slong(value))
            if kind == "mode":
                return "0" + format(value & 0o7777, "o")
            if kind in ("path", "str"):
                return quote(p.mem.cstr(value), 4096) if value else "NULL"
            if kind == "ibuf":
                n = args[i + 1] if i + 1 < len(args) else 0
                return quote(p.mem.read(value, min(n, STRSIZE + 1)))
            if kind == "obuf":
                if ret is None or ret < 0:
                    return f"{value:#x}"
                return quote(p.mem.read(value, min(ret, STRSIZE + 1)))
            if kind == "oflags":
                acc = {0: "O_RDONLY", 1: "O_WRONLY", 2: "O_RDWR"}.get(value & 3, "O_ACCMODE")
                rest = flags(value & ~3, OFLAGS[2:], "")
                return acc + ("|" + rest if rest else "")
            if kind == "prot":
                return flags(value, PROTS, "PROT_NONE")
            if kind == "mflags":
                return flags(value, MFLAGS)
            if kind == "whence":
                return WHENCE.get(value, str(value))
            if kind == "clock":
                return CLOCKS.get(value, str(value))
            if kind == "ptr":
                return "NULL" if value == 0 else f"{value:#x}"
        except (GuestFault, OSError):
            return f"{value:#x}"
        return f"{value:#x}"

    def _line(self, p, text: str) -> None:
        if self.stream is not None:
            prefix = f"[pid {p.pid}] " if self.tag_pid else ""
            self.stream.write(prefix + text + "\n")
            self.stream.flush()

    # -- dispatcher interface ------------------------------------------------------
    def enter(self, p, decl, args):
        # output buffers are printed after the call; everything else now
        pre = [None if k == "obuf" else self.fmt(p, k, v, args, i)
               for i, (k, v) in enumerate(zip(decl.args, args))]
        return pre, args

    def leave(self, p, decl, call, ret) -> None:
        pre, args = call
        shown = [s if s is not None else self.fmt(p, k, v, args, i, ret)
                 for i, (s, k, v) in enumerate(zip(pre, decl.args, args))]
        if decl.name in ("open", "openat") and not args[-2] & 0o20000100:
            shown.pop()          # like strace: the mode only matters with O_CREAT/O_TMPFILE
        self._emit(p, decl.name, shown, args, ret, decl.ret)

    def unimplemented(self, p, nr, args, ret) -> None:
        name = p.syscall_name(nr)
        shown = [f"{a:#x}" for a in args[:6]]
        self._emit(p, name, shown, args, ret, "int", note=" (not implemented)")

    def _emit(self, p, name, shown, args, ret, rtype, note="") -> None:
        if ret is None:
            rtext, err = "?", None
        else:
            sret = ret - (1 << p.abi.bits) if ret >= 1 << (p.abi.bits - 1) else ret
            if -4096 < sret < 0:
                err = -sret
                rtext = f"-1 {errno.errorcode.get(err, str(err))} ({os.strerror(err)})"
            else:
                err = None
                rtext = f"{sret:#x}" if rtype == "ptr" or name in ("mmap", "mmap2", "brk") else str(sret)
        self._line(p, f"{name}({', '.join(shown)}) = {rtext}{note}")
        if self.json_stream is not None:
            obj = {"pid": p.pid, "syscall": name, "args": shown,
                   "ret": None if ret is None else (-1 if err else sret), "errno":
                   errno.errorcode.get(err) if err else None, "implemented": not note}
            self.json_stream.write(json.dumps(obj) + "\n")
            self.json_stream.flush()

    def exit_line(self, p, text: str) -> None:
        self._line(p, text)
