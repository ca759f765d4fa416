"""Signal system calls: dispositions, masks, the alternate stack, sigreturn,
sending and waiting.  Delivery itself lives in personalities/linux/signals.py."""
from __future__ import annotations

import os
import signal as hostsig
import struct

from ..abi import s32
from .. import signals as sigs
from .decl import syscall
from .util import einval

SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK = 0, 1, 2
NSIG = 64
KEEP = ~(sigs.bit(hostsig.SIGKILL) | sigs.bit(hostsig.SIGSTOP))
SI_TKILL = -6


@syscall("rt_sigaction", "sig", "ptr", "ptr", "size")
def sys_rt_sigaction(p, sig, act, oldact, sigsetsize):
    sig = s32(sig)
    if sigsetsize != 8 or not 1 <= sig <= NSIG or sig in sigs.UNCATCHABLE and act:
        raise einval()
    size = 3 * p.abi.ptr_size + 8      # handler, flags, restorer, 64-bit mask
    if oldact:
        p.mem.write(oldact, p.sigactions.get(sig, bytes(size)))
    if act:
        p.sigactions[sig] = p.mem.read(act, size)
        sigs.set_disposition(p, sig)
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
            mask = old | new
        elif how == SIG_UNBLOCK:
            mask = old & ~new
        elif how == SIG_SETMASK:
            mask = new
        else:
            raise einval()
        p.sigmask = mask & KEEP
        sigs.mirror_mask(p)
        if p.pending & ~p.sigmask:
            p.sig_flag = True
    if oldp:
        p.mem.put_u64(oldp, old)
    return 0


@syscall("rt_sigpending", "ptr", "size")
def sys_rt_sigpending(p, setp, size):
    p.mem.put_u64(setp, (p.pending | p.group.leader.pending) & p.sigmask)
    return 0


def _wait_for_signal(p):
    """Sleep until a signal for the guest arrives (the host handler interrupts us)."""
    with p.group.unlocked(p):
        while True:
            hostsig.pause()


@syscall("rt_sigsuspend", "ptr", "size")
def sys_rt_sigsuspend(p, maskp, size):
    if size != 8:
        raise einval()
    old = p.sigmask
    p.sigmask = p.mem.u64(maskp) & KEEP
    sigs.mirror_mask(p)
    try:
        _wait_for_signal(p)
    except sigs.GuestInterrupt:
        pass
    p.cpu.set_reg(p.abi.result_reg, -4 & p.abi.mask)      # -EINTR, seen after the handler
    sigs.deliver_pending(p, True, None, saved_mask=old)
    if p.sigmask != old and not p.shadow:
        p.sigmask = old
        sigs.mirror_mask(p)
    return None


def _sigtimedwait(p, setp, infop, tsp, size, ts_struct):
    if size != 8:
        raise einval()
    want = p.mem.u64(setp) & KEEP
    timeout = None
    if tsp:
        sec, nsec = ts_struct.unpack(p.mem.read(tsp, ts_struct.size))
        if sec < 0 or not 0 <= nsec < 1_000_000_000:
            raise einval()
        timeout = sec + nsec / 1e9
    for holder in (p, p.group.leader):                # already taken in by guise
        ready = holder.pending & want
        if ready:
            sig = (ready & -ready).bit_length()
            holder.pending &= ~sigs.bit(sig)
            if infop:
                p.mem.write(infop, sigs._siginfo(p, sig, holder.sig_codes.pop(sig, 0), 0))
            return sig
    host_set = [s for s in range(1, 65) if want & sigs.bit(s) and s in sigs._VALID]
    with p.group.unlocked(p, interruptible=False):
        info = hostsig.sigtimedwait(host_set, timeout) if timeout is not None else hostsig.sigwaitinfo(host_set)
    if info is None:
        raise OSError(11, "Resource temporarily unavailable")
    if infop:
        raw = struct.pack("<iii", info.si_signo, info.si_errno, info.si_code) + \
            (bytes(4) if p.abi.bits == 64 else b"") + struct.pack("<iI", info.si_pid, info.si_uid)
        p.mem.write(infop, raw.ljust(128, b"\0"))
    return info.si_signo


@syscall("rt_sigtimedwait", "ptr", "ptr", "ptr", "size")
def sys_rt_sigtimedwait(p, setp, infop, tsp, size):
    return _sigtimedwait(p, setp, infop, tsp, size, p.abi.timespec)


@syscall("rt_sigtimedwait_time64", "ptr", "ptr", "ptr", "size")
def sys_rt_sigtimedwait64(p, setp, infop, tsp, size):
    return _sigtimedwait(p, setp, infop, tsp, size, p.abi.timespec64)


@syscall("pause")
def sys_pause(p):
    _wait_for_signal(p)


@syscall("sigaltstack", "ptr", "ptr")
def sys_sigaltstack(p, ss, old):
    st = struct.Struct("<Qi4xQ" if p.abi.bits == 64 else "<IiI")
    if old:
        cur = p.altstack_info or (0, sigs.SS_DISABLE, 0)
        on = sigs._on_altstack(p, p.cpu.reg("rsp" if p.abi.bits == 64 else "esp"))
        p.mem.write(old, st.pack(cur[0], (sigs.SS_ONSTACK if on else cur[1] & sigs.SS_DISABLE), cur[2]))
    if ss:
        sp, flags, size = st.unpack(p.mem.read(ss, st.size))
        if flags & ~(sigs.SS_DISABLE | (1 << 31)):
            raise einval()
        if flags & sigs.SS_DISABLE:
            p.altstack_info = None
        else:
            if size < 2048:
                raise OSError(12, "Cannot allocate memory")
            p.altstack_info = (sp, 0, size)
    return 0


def _sigreturn(p, rt):
    try:
        sigs.sigreturn(p, rt)
    except sigs.BadFrame:
        sigs.die(hostsig.SIGSEGV)
    return None


@syscall("rt_sigreturn")
def sys_rt_sigreturn(p):
    return _sigreturn(p, True)


@syscall("sigreturn", abi="i386")
def sys_sigreturn(p):
    return _sigreturn(p, False)


def _to_self(p, sig) -> None:
    """A signal this process sends itself: handled by the guest, or the host's default."""
    if not sig:
        return
    handler = sigs.action(p, sig)[0]
    if handler in (sigs.SIG_DFL, sigs.SIG_IGN) and sig not in sigs.FAULT_SIGNALS:
        os.kill(p.pid, sig)
        return
    if handler == sigs.SIG_IGN:
        return
    if handler == sigs.SIG_DFL:
        sigs.die(sig)
        return
    sigs.post(p, sig)


@syscall("kill", "int", "sig")
def sys_kill(p, pid, sig):
    pid, sig = s32(pid), s32(sig)
    if not 0 <= sig <= NSIG:
        raise einval()
    if pid == p.pid:
        _to_self(p, sig)
        return 0
    os.kill(pid, sig)
    if pid in (0, -1) or pid == -os.getpgrp():
        _to_self(p, 0)
    return 0


@syscall("tgkill", "int", "int", "sig")
def sys_tgkill(p, tgid, tid, sig):
    tgid, tid, sig = s32(tgid), s32(tid), s32(sig)
    if not 0 <= sig <= NSIG or tgid <= 0 or tid <= 0:
        raise einval()
    if tgid != p.pid:
        raise OSError(3, "No such process")
    return sys_tkill(p, tid, sig)


@syscall("tkill", "int", "sig")
def sys_tkill(p, tid, sig):
    tid, sig = s32(tid), s32(sig)
    target = p.group.threads.get(tid) or (p if tid == p.tid else None)
    if target is None:
        raise OSError(3, "No such process")
    if not sig:
        return 0
    handler = sigs.action(p, sig)[0]
    if handler in (sigs.SIG_DFL, sigs.SIG_IGN):
        _to_self(p, sig)
        return 0
    sigs.post(target, sig, SI_TKILL)
    return 0
