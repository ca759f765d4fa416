"""User and group identity: the guest sees the invoking user's ids."""
from __future__ import annotations

import os

from ..abi import s32
from .decl import syscall


@syscall(("getuid", "getuid32"))
def sys_getuid(p):
    return os.getuid()


@syscall(("geteuid", "geteuid32"))
def sys_geteuid(p):
    return os.geteuid()


@syscall(("getgid", "getgid32"))
def sys_getgid(p):
    return os.getgid()


@syscall(("getegid", "getegid32"))
def sys_getegid(p):
    return os.getegid()


@syscall(("getresuid", "getresuid32"), "ptr", "ptr", "ptr")
def sys_getresuid(p, r, e, s):
    for addr, v in zip((r, e, s), os.getresuid()):
        p.mem.put_u32(addr, v)
    return 0


@syscall(("getresgid", "getresgid32"), "ptr", "ptr", "ptr")
def sys_getresgid(p, r, e, s):
    for addr, v in zip((r, e, s), os.getresgid()):
        p.mem.put_u32(addr, v)
    return 0


@syscall(("getgroups", "getgroups32"), "int", "ptr")
def sys_getgroups(p, size, lst):
    groups = os.getgroups()
    size = s32(size)
    if size == 0:
        return len(groups)
    if size < len(groups):
        raise OSError(22, "Invalid argument")
    p.mem.write(lst, b"".join(g.to_bytes(4, "little") for g in groups))
    return len(groups)


@syscall("getgroups", "int", "ptr", abi="i386")
def sys_getgroups16(p, size, lst):
    groups = os.getgroups()
    size = s32(size)
    if size == 0:
        return len(groups)
    if size < len(groups):
        raise OSError(22, "Invalid argument")
    p.mem.write(lst, b"".join((g & 0xFFFF).to_bytes(2, "little") for g in groups))
    return len(groups)


def _set_same(current, *wanted):
    """set*id calls: allowed when they change nothing (the guest cannot gain privileges)."""
    for w in wanted:
        w = s32(w)
        if w != -1 and w not in current:
            raise OSError(1, "Operation not permitted")
    return 0


@syscall(("setuid", "setuid32"), "int", level="partial", note="only to the current ids")
def sys_setuid(p, uid):
    return _set_same(os.getresuid(), uid)


@syscall(("setgid", "setgid32"), "int", level="partial", note="only to the current ids")
def sys_setgid(p, gid):
    return _set_same(os.getresgid(), gid)


@syscall(("setresuid", "setresuid32", "setreuid", "setreuid32"), "int", "int", "int",
         level="partial", note="only to the current ids")
def sys_setresuid(p, r, e, s=0xFFFFFFFF):
    return _set_same(os.getresuid(), r, e, s)


@syscall(("setresgid", "setresgid32", "setregid", "setregid32"), "int", "int", "int",
         level="partial", note="only to the current ids")
def sys_setresgid(p, r, e, s=0xFFFFFFFF):
    return _set_same(os.getresgid(), r, e, s)
