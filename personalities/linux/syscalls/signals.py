"""Signal system calls: dispositions, masks, the alternate stack, sigreturn,
sending and waiting.  Delivery itself lives in personalities/linux/signals.py."""
from __future__ import annotations

import errno
import os
import signal as hostsig
import struct
import time as hosttime

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
    """In Linux's order: the new action is read (EFAULT changes nothing), installed,
    and only then is the old one written out (EFAULT after the change)."""
    sig = s32(sig)
    if sigsetsize != 8 or not 1 <= sig <= NSIG or sig in sigs.UNCATCHABLE and act:
        raise einval()
    size = 3 * p.abi.ptr_size + 8      # handler, flags, restorer, 64-bit mask
    new = p.mem.read(act, size) if act else None
    old = p.sigactions.get(sig, bytes(size))
    if new is not None:
        p.sigactions[sig] = new
        sigs.set_disposition(p, sig)
    if oldact:
        p.mem.write(oldact, old)
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
    """Blocked signals wait in the host kernel (signals.mirror_mask) or, briefly, with guise."""
    if size > 8:
        raise einval()
    pending = p.pending | p.group.leader.pending | sigs.host_pending()
    p.mem.write(setp, (pending & p.sigmask).to_bytes(8, "little")[:size])
    return 0


def _wait_for_signal(p):
    """Sleep until a signal for thread ``p`` is pending and unblocked.

    Without a race: every signal is blocked on the host while guise looks at what it
    has already taken in (running Python's handlers first); rt_sigsuspend then unblocks
    the guest's mask and sleeps in one step, so a signal cannot slip in between the
    look and the sleep (it would be caught by the handler and the sleep never end)."""
    want = p.host_mask
    with p.group.unlocked(p, interruptible=False):
        try:
            while True:
                sigs.host_sigmask(sigs.SIG_SETMASK_, sigs.HOSTABLE)
                hostsig.pthread_sigmask(hostsig.SIG_BLOCK, ())     # runs the pending Python handlers
                if p.pending & ~p.sigmask:
                    return
                sigs.host_sigsuspend(want)
        finally:
            sigs.host_sigmask(sigs.SIG_SETMASK_, want)


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
    """Blocked signals wait in the host kernel: the host's rt_sigtimedwait takes them out
    with their siginfo (a raw call, so signal 32 — glibc's and musl's SIGEV_THREAD timer
    signal — can be waited for too)."""
    if size != 8:
        raise einval()
    want = p.mem.u64(setp) & KEEP
    timeout = None
    if tsp:
        sec, nsec = ts_struct.unpack(p.mem.read(tsp, ts_struct.size))
        if sec < 0 or not 0 <= nsec < 1_000_000_000:
            raise einval()
        timeout = sec * 1_000_000_000 + nsec
    for holder in (p, p.group.leader):                # already taken in by guise
        ready = holder.pending & want
        if ready:
            sig = (ready & -ready).bit_length()
            info = sigs.take_pending(holder, sig)
            sigs.mirror_mask(p)
            if infop:
                p.mem.write(infop, sigs.guest_siginfo(p, info))
            return sig
    deadline = None if timeout is None else hosttime.monotonic_ns() + timeout
    while True:
        left = None if deadline is None else max(0, deadline - hosttime.monotonic_ns())
        with p.group.unlocked(p, interruptible=False):
            try:
                sig, info = sigs.host_sigtimedwait(want, left)
            except OSError as e:
                if e.errno != errno.EINTR:
                    raise
                sig = 0
        if sig:
            break
        # a handler ran on the host: a signal for the guest ends the wait with EINTR
        hostsig.pthread_sigmask(hostsig.SIG_BLOCK, ())       # runs the pending Python handlers
        if p.pending & ~p.sigmask:
            raise OSError(errno.EINTR, "Interrupted system call")
    if infop:
        p.mem.write(infop, sigs.guest_siginfo(p, info))
    return sig


@syscall("rt_sigtimedwait", "ptr", "ptr", "ptr", "size")
def sys_rt_sigtimedwait(p, setp, infop, tsp, size):
    return _sigtimedwait(p, setp, infop, tsp, size, p.abi.timespec)


@syscall("rt_sigtimedwait_time64", "ptr", "ptr", "ptr", "size")
def sys_rt_sigtimedwait64(p, setp, infop, tsp, size):
    return _sigtimedwait(p, setp, infop, tsp, size, p.abi.timespec64)


@syscall("pause")
def sys_pause(p):
    """Returns EINTR after the handler, never restarted (not even with SA_RESTART)."""
    _wait_for_signal(p)
    p.cpu.set_reg(p.abi.result_reg, -4 & p.abi.mask)
    sigs.deliver_pending(p, True, None)
    return None


@syscall("sigaltstack", "ptr", "ptr")
def sys_sigaltstack(p, ss, old):
    """In Linux's order: read the new stack (EFAULT changes nothing), change it, then
    write the old one out."""
    st = struct.Struct("<Qi4xQ" if p.abi.bits == 64 else "<IiI")
    cur = p.altstack_info or (0, sigs.SS_DISABLE, 0)
    on = sigs._on_altstack(p, p.cpu.reg("rsp" if p.abi.bits == 64 else "esp"))
    before = st.pack(cur[0], (sigs.SS_ONSTACK if on else cur[1] & sigs.SS_DISABLE), cur[2])
    if ss:
        sp, flags, size = st.unpack(p.mem.read(ss, st.size))
        if on:
            raise OSError(1, "Operation not permitted")
        if flags & ~(sigs.SS_DISABLE | sigs.SS_ONSTACK | (1 << 31)):
            raise einval()
        if flags & sigs.SS_DISABLE:
            p.altstack_info = None
        else:
            if size < 2048:
                raise OSError(12, "Cannot allocate memory")
            p.altstack_info = (sp, 0, size)
    if old:
        p.mem.write(old, before)
    return 0


def _sigreturn(p, rt):
    """Back to the interrupted context; a signal pending and unblocked there (the next
    queued real-time signal, say) is delivered at once, as Linux does on that return."""
    try:
        sigs.sigreturn(p, rt)
    except sigs.BadFrame:
        sigs.die(hostsig.SIGSEGV)
    if p.pending & ~p.sigmask:
        sigs.deliver_pending(p, False)
    return None


@syscall("rt_sigreturn")
def sys_rt_sigreturn(p):
    return _sigreturn(p, True)


@syscall("sigreturn", abi="i386")
def sys_sigreturn(p):
    return _sigreturn(p, False)


def _to_self(p, sig) -> None:
    """A signal this process sends itself: handled by the guest, or the host's default.
    A blocked one goes to the host kernel, where blocked signals wait (sigwait, signalfd)."""
    if not sig:
        return
    handler = sigs.action(p, sig)[0]
    if handler in (sigs.SIG_DFL, sigs.SIG_IGN) and sig not in sigs.FAULT_SIGNALS \
            or p.sigmask & sigs.HOSTABLE & sigs.bit(sig):
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
    if p.jail is not None and p.jail.config.jailed:
        return _kill_in_jail(p, pid, sig)
    os.kill(pid, sig)
    if pid in (0, -1) or pid == -os.getpgrp():
        _to_self(p, 0)
    return 0


def _kill_in_jail(p, pid, sig):
    """kill() of a jailed guest reaches only its jail's processes (one by one, as a
    process group may hold host processes too); outside ones are ESRCH."""
    for target in p.jail.signal_targets(pid, p.pid):
        if target == p.pid:
            _to_self(p, sig)
            continue
        try:
            os.kill(target, sig)
        except ProcessLookupError:
            pass
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
    if target.sigmask & sigs.HOSTABLE & sigs.bit(sig):
        sigs.host_tgkill(p.pid, target.tid, sig)     # waits in the kernel for that thread
        return 0
    if handler in (sigs.SIG_DFL, sigs.SIG_IGN):
        _to_self(p, sig)
        return 0
    sigs.post(target, sig, SI_TKILL)
    return 0


def _sigqueueinfo(p, tgid, tid, sig, uinfo):
    tgid, sig = s32(tgid), s32(sig)
    info = sigs.host_siginfo(p, p.mem.read(uinfo, 128))
    if not 0 <= sig <= NSIG:
        raise einval()
    info = struct.pack("<i", sig) + info[4:]          # the kernel sets si_signo itself
    target = p.group.threads.get(tid) if tid is not None else p
    if tgid != p.pid and p.jail is not None and p.jail.config.jailed:
        p.jail.targets("process", tgid, p.pid, "rt_sigqueueinfo")     # ESRCH outside the jail
    if tgid == p.pid and target is not None and sig and not target.sigmask & sigs.bit(sig) \
            and sigs.action(p, sig)[0] not in (sigs.SIG_DFL, sigs.SIG_IGN):
        sigs.post(target, sig, info=info)
        return 0
    sigs.host_queue(tgid, tid, sig, info)
    return 0


@syscall("rt_sigqueueinfo", "int", "sig", "ptr")
def sys_rt_sigqueueinfo(p, tgid, sig, uinfo):
    """sigqueue(): the host kernel's, with the guest's siginfo in the host's layout (it
    checks, as for any process, that only a process itself may forge si_code)."""
    return _sigqueueinfo(p, tgid, None, sig, uinfo)


@syscall("rt_tgsigqueueinfo", "int", "int", "sig", "ptr")
def sys_rt_tgsigqueueinfo(p, tgid, tid, sig, uinfo):
    return _sigqueueinfo(p, tgid, s32(tid), sig, uinfo)
