"""DLLs as data: each emulated DLL is one table of :class:`Export` rows, like a
Wine ``.spec`` file: export name, calling convention, argument kinds, return
kind, the Python function that implements it and how complete it is.

The argument kinds drive three things from one declaration: how the dispatcher
fetches arguments for each ABI (a 64-bit ``i64`` is one slot on x64 and two on
x86), how many bytes a stdcall stub pops, and how ``--trace`` prints the call.

Kinds: ``int``/``uint``/``long`` (32-bit), ``ptr``/``size``/``handle`` (pointer
sized), ``i64`` (64-bit), ``f64`` (a double: xmm0-3 on x64, two slots on x86), ``str``/``wstr`` (pointers to NUL-terminated
ANSI/UTF-16 strings, printed as text by the tracer) and a final ``...`` for
variadic functions, whose implementation receives a :class:`VarArgs` cursor.
"""
from __future__ import annotations

import dataclasses
from typing import Callable, Optional

FULL, PARTIAL = "full", "partial"


@dataclasses.dataclass(frozen=True)
class Export:
    name: str
    impl: Optional[Callable]          # None: declared but not implemented (stops when called)
    args: tuple = ()
    ret: str = "int"                  # int, uint, ptr, handle, bool, void, i64, size, double
    conv: str = "stdcall"             # x86 only: stdcall (callee pops) or cdecl; x64 has one ABI
    data: int = 0                     # a data export of this many bytes (the IAT gets its address)
    init: Optional[Callable] = None   # data exports: fills the storage once the process exists
    level: str = FULL
    note: str = ""

    @property
    def variadic(self) -> bool:
        return bool(self.args) and self.args[-1] == "..."

    def slots(self, bits: int) -> int:
        """Stack slots the fixed arguments take on x86 (what a stdcall stub pops / 4)."""
        return sum(2 if (k in ("i64", "f64") and bits == 32) else 1 for k in self.args if k != "...")


def fn(name: str, impl, args: str = "", ret: str = "int", conv: str = "stdcall",
       level: str = FULL, note: str = "") -> Export:
    return Export(name, impl, tuple(args.split()), ret, conv, level=level, note=note)


def cdecl(name: str, impl, args: str = "", ret: str = "int", level: str = FULL, note: str = "") -> Export:
    return fn(name, impl, args, ret, "cdecl", level, note)


def data(name: str, size: int, init=None, note: str = "") -> Export:
    return Export(name, None, (), "void", "cdecl", data=size, init=init, note=note)


@dataclasses.dataclass
class Dll:
    """One emulated module: its canonical file name and its exports by name."""
    name: str
    exports: dict
    ordinals: dict = dataclasses.field(default_factory=dict)   # ordinal -> export name

    @classmethod
    def of(cls, name: str, rows: list[Export], ordinals: Optional[dict] = None) -> "Dll":
        table = {}
        for row in rows:
            if row.name in table:
                raise ValueError(f"{name}: {row.name} declared twice")
            table[row.name] = row
        return cls(name, table, ordinals or {})


class VarArgs:
    """The variadic arguments of a call (or a ``va_list``): ``slot(i)`` reads the
    i-th pointer-sized slot; doubles and 64-bit integers take two slots on x86."""

    def __init__(self, slot: Callable[[int], int], bits: int, index: int = 0):
        self.slot, self.bits, self.i = slot, bits, index

    def int(self) -> int:
        v = self.slot(self.i)
        self.i += 1
        return v

    def i64(self) -> int:
        if self.bits == 64:
            return self.int()
        lo = self.int()
        return lo | (self.int() << 32)

    def double(self) -> float:
        import struct
        return struct.unpack("<d", self.i64().to_bytes(8, "little"))[0]
