"""shell32.dll as data: what console programs take from it.

CommandLineToArgvW splits a command line with the shell's rules (cmdline.split
with ``shell``: a doubled quote inside quotes ends the quoting) into one
LocalAlloc block, the pointer array (NULL-terminated) followed by the strings,
so one LocalFree releases it.  An empty line stands for the program's own path.
"""
from __future__ import annotations

from .. import cmdline, strings, winerror as W
from ..spec import Dll, fn
from .k32_files import fail


def CommandLineToArgvW(p, line, pcount):
    if not pcount:
        return fail(p, W.ERROR_INVALID_PARAMETER)
    text = strings.read_w(p.mem, line) if line else ""
    args = cmdline.split(text, shell=True) if text else [p.exe_windows]
    table = p.ptr * (len(args) + 1)
    data = [strings.encode(a, True) + b"\0\0" for a in args]
    block = p.heap.alloc(table + sum(map(len, data)))
    pos = block + table
    for i, d in enumerate(data):
        p.mem.put_ptr(block + i * p.ptr, pos)
        p.mem.write(pos, d)
        pos += len(d)
    p.mem.put_ptr(block + len(args) * p.ptr, 0)
    p.mem.put_u32(pcount, len(args))
    return block


ROWS = [
    fn("CommandLineToArgvW", CommandLineToArgvW, "wstr ptr", "ptr"),
]

DLL = Dll.of("shell32.dll", ROWS)
