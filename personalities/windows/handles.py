"""Kernel object handles: files and the console's standard streams.

A handle names a Python object; file objects own a host descriptor that the
sandbox opened.  Handle values are multiples of 4, like Windows'.
"""
from __future__ import annotations

import os

STD_INPUT, STD_OUTPUT, STD_ERROR = -10, -11, -12


class FileObject:
    """An open file or device: a host descriptor plus what Windows remembers about it."""

    def __init__(self, fd: int, name: str, access: int = 0, append: bool = False, owned: bool = True,
                 pipe_end: bool = False):
        self.fd = fd
        self.name = name
        self.access = access
        self.append = append
        self.owned = owned            # std handles share guise's own 0/1/2: never closed for real
        self.pipe_end = pipe_end      # CreatePipe's: reading at the end is ERROR_BROKEN_PIPE
        try:
            self.console = os.isatty(fd)
        except OSError:
            self.console = False

    def close(self) -> None:
        if self.owned:
            try:
                os.close(self.fd)
            except OSError:
                pass


class HandleTable:
    def __init__(self):
        self.objects: dict[int, object] = {}
        self.next = 0x40

    def add(self, obj) -> int:
        h = self.next
        self.next += 4
        self.objects[h] = obj
        return h

    def get(self, h: int):
        return self.objects.get(h)

    def close(self, h: int) -> bool:
        obj = self.objects.pop(h, None)
        if obj is None:
            return False
        if hasattr(obj, "close") and not any(o is obj for o in self.objects.values()):
            obj.close()
        return True
