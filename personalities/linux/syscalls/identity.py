"""User and group identity: the guest sees the invoking user's ids, or the
unprivileged identity an --untrusted jail shows it (sandbox/policy.py)."""
from __future__ import annotations

import os

from ..abi import s32
from .decl import syscall


def _shown(p):
    """The (uid, gid) a jail shows instead of the host's, or None."""
    policy = p.jail.policy if p.jail is not None else None
    return policy.identity if policy is not None else None


def _uids(p):
    shown = _shown(p)
    return (shown[0],) * 3 if shown else os.getresuid()


def _gids(p):
    shown = _shown(p)
    return (shown[1],) * 3 if shown else os.getresgid()


def _groups(p):
    shown = _shown(p)
    return [shown[1]] if shown else os.getgroups()


@syscall(("getuid", "getuid32"))
def sys_getuid(p):
    return _uids(p)[0]


@syscall(("geteuid", "geteuid32"))
def sys_geteuid(p):
    return _uids(p)[1]


@syscall(("getgid", "getgid32"))
def sys_getgid(p):
    return _gids(p)[0]


@syscall(("getegid", "getegid32"))
def sys_getegid(p):
    return _gids(p)[1]


@syscall(("getresuid", "getresuid32"), "ptr", "ptr", "ptr")
def sys_getresuid(p, r, e, s):
    for addr, v in zip((r, e, s), _uids(p)):
        p.mem.put_u32(addr, v)
    return 0


@syscall(("getresgid", "getresgid32"), "ptr", "ptr", "ptr")
def sys_getresgid(p, r, e, s):
    for addr, v in zip((r, e, s), _gids(p)):
        p.mem.put_u32(addr, v)
    return 0


@syscall(("getgroups", "getgroups32"), "int", "ptr")
def sys_getgroups(p, size, lst):
    groups = _groups(p)
    size = s32(size)
    if size == 0:
        return len(groups)
    if size < len(groups):
        raise OSError(22, "Invalid argument")
    p.mem.write(lst, b"".join(g.to_bytes(4, "little") for g in groups))
    return len(groups)


@syscall("getgroups", "int", "ptr", abi="i386")
def sys_getgroups16(p, size, lst):
    groups = _groups(p)
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
    return _set_same(_uids(p), uid)


@syscall(("setgid", "setgid32"), "int", level="partial", note="only to the current ids")
def sys_setgid(p, gid):
    return _set_same(_gids(p), gid)


@syscall(("setresuid", "setresuid32", "setreuid", "setreuid32"), "int", "int", "int",
         level="partial", note="only to the current ids")
def sys_setresuid(p, r, e, s=0xFFFFFFFF):
    return _set_same(_uids(p), r, e, s)


@syscall(("setresgid", "setresgid32", "setregid", "setregid32"), "int", "int", "int",
         level="partial", note="only to the current ids")
def sys_setresgid(p, r, e, s=0xFFFFFFFF):
    return _set_same(_gids(p), r, e, s)
