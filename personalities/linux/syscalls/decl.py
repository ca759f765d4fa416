"""Declaring a syscall: name(s), argument types, support level — once.

The declaration is read by the dispatcher (which handler, how many
arguments), the tracer (how to print each argument), and the generated
compatibility page.  Handlers take the process first, then the raw register
values they declared, and return a result or raise OSError(errno).

Argument type names (see trace.py for how each prints):
  int uint hex fd dirfd path str ptr size off ibuf obuf oflags mode prot mflags
  sig sigset whence clock at
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable

LEVELS = ("full", "partial")


@dataclasses.dataclass(frozen=True)
class SyscallDecl:
    name: str
    fn: Callable
    args: tuple
    ret: str
    level: str
    note: str
    family: str
    abi: str | None


REGISTRY: dict[tuple[str, str | None], SyscallDecl] = {}


def syscall(names, *args: str, ret: str = "int", level: str = "full", note: str = "",
            abi: str | None = None):
    """Register the decorated function under each of ``names`` (a name or a tuple).

    ``abi`` restricts the declaration to one ABI ('x86_64' or 'i386'), for the
    calls whose arguments differ between them (e.g. i386 passes 64-bit offsets
    in two registers).
    """
    if isinstance(names, str):
        names = (names,)
    assert level in LEVELS

    def deco(fn):
        family = fn.__module__.rsplit(".", 1)[-1]
        for name in names:
            REGISTRY[(name, abi)] = SyscallDecl(name, fn, args, ret, level, note, family, abi)
        return fn
    return deco


def lookup(name: str, abi: str) -> SyscallDecl | None:
    return REGISTRY.get((name, abi)) or REGISTRY.get((name, None))
