"""Signal state: dispositions, the blocked mask, the alternate stack.

Level 'partial' until the signals issue: the state is kept exactly (so
programs that save and restore handlers work), but no handler is ever run —
a signal the host delivers is handled by the host's default action.
"""
from __future__ import annotations

import os
import signal as hostsig

from ..abi import s32
from .decl import syscall
from .util import einval

SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK = 0, 1, 2
NSIG = 64


@syscall("rt_sigaction", "sig", "ptr", "ptr", "size", level="partial",
         note="dispositions recorded, handlers not yet delivered")
def sys_rt_sigaction(p, sig, act, oldact, sigsetsize):
    sig = s32(sig)
    if not 1 <= sig <= NSIG or sig in (hostsig.SIGKILL, hostsig.SIGSTOP) and act:
        raise einval()
    size = 3 * p.abi.ptr_size + 8      # handler, flags, restorer, 64-bit mask
    if oldact:
        p.mem.write(oldact, p.sigactions.get(sig, bytes(size)))
    if act:
        p.sigactions[sig] = p.mem.read(act, size)
    return 0


@syscall("rt_sigprocmask", "int", "ptr", "ptr", "size")
def sys_rt_sigprocmask(p, how, setp, oldp, sigsetsize):
    how = s32(how)
    if sigsetsize != 8:
        raise einval()
    old = p.sigmask
    if setp:
        new = p.mem.u64(setp)
        if how == SIG_BLOCK:
            p.sigmask |= new
        elif how == SIG_UNBLOCK:
            p.sigmask &= ~new
        elif how == SIG_SETMASK:
            p.sigmask = new
        else:
            raise einval()
        p.sigmask &= ~((1 << (hostsig.SIGKILL - 1)) | (1 << (hostsig.SIGSTOP - 1)))
    if oldp:
        p.mem.put_u64(oldp, old)
    return 0


@syscall("sigaltstack", "ptr", "ptr", level="partial", note="recorded, not yet used")
def sys_sigaltstack(p, ss, old):
    size = 3 * p.abi.ptr_size if p.abi.bits == 32 else 24
    if old:
        p.mem.write(old, getattr(p, "altstack", None) or (bytes(p.abi.ptr_size) + (2).to_bytes(4, "little")
                                                           + bytes(size - p.abi.ptr_size - 4)))
    if ss:
        p.altstack = p.mem.read(ss, size)
    return 0


@syscall(("kill", "tkill"), "int", "sig", level="partial", note="signals to itself end it by default action")
def sys_kill(p, pid, sig):
    pid, sig = s32(pid), s32(sig)
    os.kill(pid, sig)
    return 0


@syscall("tgkill", "int", "int", "sig", level="partial", note="signals to itself end it by default action")
def sys_tgkill(p, tgid, tid, sig):
    if s32(tgid) != p.pid or s32(tid) != p.pid:
        raise OSError(3, "No such process")
    return sys_kill(p, tid, sig)
