"""Signal delivery: frames on the guest stack, sigreturn, and when signals arrive.

Frames follow Linux's layouts (arch/x86/kernel/signal*.c) so that handlers
with SA_SIGINFO can read siginfo and the interrupted ucontext:
x86-64 rt_sigframe {pretcode; ucontext; siginfo; fxsave area} and, on i386,
sigframe {pretcode; sig; sigcontext; fpstate; extramask; retcode} or
rt_sigframe {pretcode; sig; pinfo; puc; siginfo; ucontext; retcode}.
The full CPU context (x87/SSE included) is also kept on the side, keyed by
frame address, and restored by sigreturn with the general registers re-read
from the frame — so a handler that edits its ucontext is obeyed, and one
that corrupts its frame gets SIGSEGV like on Linux.

When signals arrive:
- a guest fault (SIGSEGV, SIGBUS, SIGILL, SIGFPE) is delivered at once to the
  faulting thread's handler, or ends the process with that signal;
- a signal the guest sends itself, or one from the host, is delivered when the
  current system call returns; a blocking call it interrupts returns EINTR or,
  with SA_RESTART, is restarted after the handler; one that arrived while guest
  code ran is delivered before the next system call is made (dispatch.py), and
  after a sigreturn the next pending one at once;
- a guest spinning without system calls sees host signals at the end of its
  next time slice: the process runs in time slices (threads.TICK) once it has a
  handler for a timer signal (SIGALRM, SIGVTALRM, SIGPROF), a POSIX timer that
  sends signals, or more than one thread.  For other signals a CPU-bound loop
  notices them at its next syscall.
Signals whose disposition is SIG_DFL are left to the host kernel, whose
default action on the emulator is exactly the native one.

Where blocked signals live: in the host kernel.  The guest's mask is mirrored
onto its host thread with the raw rt_sigprocmask system call (glibc's wrapper
and Python's refuse signals 32 and 33, which guest libcs use: glibc and musl
send SIGEV_THREAD timer expirations as signal 32), so a signal the guest has
blocked waits in the kernel with its full siginfo, exactly where the host's
signalfd, rt_sigtimedwait and rt_sigpending look for it.  guise keeps that
invariant at every mask change (``mirror_mask``): a signal guise already took
in but that the guest now blocks is queued back to the kernel
(rt_tgsigqueueinfo, which a process may use on itself with any si_code), and a
signal the guest unblocks is taken out of the kernel (rt_sigtimedwait with a
zero timeout) into the thread's pending set before the unblock, so its
handler runs when the system call returns, in the right thread, with its
siginfo.  A signal guise holds pending stays blocked on the host until it is
delivered, so further instances wait in the kernel: real-time signals keep
their queue (one taken out per delivery), and a timer's overrun count is not
reset by an expiry guise would only merge.  Never mirrored: the CPU's fault
signals, SIGKILL/SIGSTOP, and signal 33, which the host's own glibc needs in
every thread for setuid.

Signals the host delivers to guise's handler carry their siginfo (sender pid
and uid, si_code, SI_TIMER's timer id, overrun and sigev_value, SIGCHLD's
status): Python's C-level handler receives only the signal number, so a
small SA_SIGINFO trampoline copies the kernel's siginfo into a table and then
tail-calls Python's handler (``_capture_siginfo``).
"""
from __future__ import annotations

import ctypes
import os
import resource
import signal as hostsig
import struct
import threading

from . import hostcall

SA_SIGINFO, SA_ONSTACK, SA_RESTART = 0x4, 0x08000000, 0x10000000
SA_NODEFER, SA_RESETHAND, SA_RESTORER = 0x40000000, 0x80000000, 0x04000000
SIG_DFL, SIG_IGN = 0, 1
SS_ONSTACK, SS_DISABLE = 1, 2
FAULT_SIGNALS = {hostsig.SIGSEGV, hostsig.SIGBUS, hostsig.SIGILL, hostsig.SIGFPE, hostsig.SIGTRAP}
TIMER_SIGNALS = {hostsig.SIGALRM, hostsig.SIGVTALRM, hostsig.SIGPROF}
UNCATCHABLE = {hostsig.SIGKILL, hostsig.SIGSTOP}
EINTR = 4
SI_USER, SI_KERNEL, SEGV_MAPERR, SEGV_ACCERR, FPE_INTDIV, ILL_ILLOPN = 0, 0x80, 1, 2, 1, 2
SI_QUEUE, SI_TIMER, SI_TKILL = -1, -2, -6
SIGSETXID = 33                   # the host glibc's setuid broadcast signal


class GuestInterrupt(Exception):
    """Raised out of a blocking host call when a signal for the guest arrives."""


def bit(sig: int) -> int:
    return 1 << (sig - 1)


def action(p, sig: int) -> tuple[int, int, int, int]:
    """(handler, flags, restorer, mask) of ``sig`` from the raw sigaction bytes."""
    raw = p.sigactions.get(sig)
    if raw is None:
        return SIG_DFL, 0, 0, 0
    if p.abi.bits == 64:
        return struct.unpack("<QQQQ", raw)
    h, f, r, m = struct.unpack("<IIIQ", raw)
    return h, f, r, m


# -- host side ------------------------------------------------------------------------
def set_disposition(p, sig: int) -> None:
    """Mirror the guest's disposition of ``sig`` onto the emulator process."""
    if sig in UNCATCHABLE or sig in FAULT_SIGNALS and sig != hostsig.SIGTRAP:
        return                      # faults come from the CPU, not from the host
    handler = action(p, sig)[0]
    try:
        if handler == SIG_DFL:
            hostsig.signal(sig, hostsig.SIG_DFL)
        elif handler == SIG_IGN:
            hostsig.signal(sig, hostsig.SIG_IGN)
        else:
            hostsig.signal(sig, _host_handler(p))
            _capture_siginfo(sig)
            if sig in TIMER_SIGNALS:
                run_sliced(p)
    except (ValueError, OSError):    # not the main thread, or a signal Python refuses
        pass


def run_sliced(p) -> None:
    """Let host signals reach a CPU-bound guest: from now on the process runs in
    time slices (see threads), and pending signals are looked at between slices."""
    if not p.group.sliced:
        p.group.sliced = True
        p.cpu.stop()          # back to the run loop, which now runs in slices


def _host_handler(p):
    group = p.group

    def handler(sig, _frame):
        leader = group.leader
        post(leader, sig, info=_take_info(sig))
        if getattr(leader, "blocking", False) and not leader.sigmask & bit(sig):
            raise GuestInterrupt()
    return handler


ALL = (1 << 64) - 1
# never blocked on the host for the guest: faults come from the CPU, not from the host;
# SIGKILL/SIGSTOP cannot be; the host's glibc needs SIGSETXID in every thread
HOSTABLE = ALL & ~(bit(hostsig.SIGKILL) | bit(hostsig.SIGSTOP) | bit(SIGSETXID)
                   | sum(bit(s) for s in FAULT_SIGNALS))
SIG_BLOCK_, SIG_SETMASK_ = 0, 2
NR_RT_SIGPROCMASK, NR_RT_SIGPENDING, NR_RT_SIGTIMEDWAIT = 14, 127, 128
NR_RT_SIGQUEUEINFO, NR_TGKILL, NR_RT_TGSIGQUEUEINFO, NR_RT_SIGSUSPEND = 129, 234, 297, 130


# -- the host kernel's signal calls, on raw 64-bit masks ------------------------------------
def host_sigmask(how: int, mask: int | None) -> int:
    """rt_sigprocmask on the calling host thread; returns the previous mask."""
    old = ctypes.c_uint64()
    new = ctypes.c_uint64(mask) if mask is not None else None
    hostcall.syscall(NR_RT_SIGPROCMASK, how, ctypes.addressof(new) if new is not None else 0,
                     ctypes.addressof(old), 8)
    return old.value


def host_pending() -> int:
    """Signals pending in the host kernel for this thread or the process."""
    out = ctypes.c_uint64()
    hostcall.syscall(NR_RT_SIGPENDING, ctypes.addressof(out), 8)
    return out.value


def host_sigtimedwait(mask: int, timeout_ns: int | None) -> tuple[int, bytes]:
    """Take one of ``mask`` out of the host kernel: (signal, host siginfo).
    OSError(EAGAIN) when the timeout passes, OSError(EINTR) when a handler ran."""
    m = ctypes.c_uint64(mask)
    info = ctypes.create_string_buffer(128)
    ts = None
    if timeout_ns is not None:
        ts = (ctypes.c_long * 2)(timeout_ns // 1_000_000_000, timeout_ns % 1_000_000_000)
    sig = hostcall.syscall(NR_RT_SIGTIMEDWAIT, ctypes.addressof(m), ctypes.addressof(info),
                           ctypes.addressof(ts) if ts is not None else 0, 8)
    return sig, info.raw


def host_sigsuspend(mask: int) -> None:
    """rt_sigsuspend: atomically set the host mask and wait for a handler to run."""
    m = ctypes.c_uint64(mask)
    try:
        hostcall.syscall(NR_RT_SIGSUSPEND, ctypes.addressof(m), 8)
    except OSError:
        pass


def host_queue(tgid: int, tid: int | None, sig: int, info: bytes) -> None:
    """rt_(tg)sigqueueinfo with a host-layout siginfo."""
    buf = ctypes.create_string_buffer(bytes(info[:128]).ljust(128, b"\0"), 128)
    if tid is None:
        hostcall.syscall(NR_RT_SIGQUEUEINFO, tgid, sig, ctypes.addressof(buf))
    else:
        hostcall.syscall(NR_RT_TGSIGQUEUEINFO, tgid, tid, sig, ctypes.addressof(buf))


def host_tgkill(tgid: int, tid: int, sig: int) -> None:
    hostcall.syscall(NR_TGKILL, tgid, tid, sig)


def kill_info(sig: int, code: int = SI_USER, value: int = 0) -> bytes:
    """A host-layout siginfo as kill/tgkill/sigqueue from this process make it."""
    return struct.pack("<iii4xiIQ", sig, 0, code, os.getpid(), os.getuid(), value).ljust(128, b"\0")


def mirror_mask(p) -> None:
    """Block on the host thread what the guest thread blocks (see the module docstring:
    blocked signals live in the host kernel), and what guise holds pending for it
    (the kernel keeps further instances queued, as Linux keeps an RT signal's, until
    guise has delivered this one).  Signals the guest now unblocks are taken out of
    the kernel first, into ``p.pending`` with their siginfo; signals guise holds that
    the guest now blocks are queued back to the kernel once the mask is set.
    Runs on ``p``'s own host thread."""
    blocked = p.sigmask & HOSTABLE
    want = blocked | p.pending & HOSTABLE
    have = p.host_mask
    if want == have and not p.pending & blocked:
        return
    if have < 0:
        have = host_sigmask(SIG_BLOCK_, None)
    opened = have & ~want
    if opened:
        _take_from_kernel(p, opened)
        want = blocked | p.pending & HOSTABLE
    if want != have:
        host_sigmask(SIG_SETMASK_, want)
    p.host_mask = want
    held = p.pending & blocked
    if held:
        _give_to_kernel(p, held)


def _take_from_kernel(p, mask: int) -> None:
    left = mask & ~p.pending
    while left:
        try:
            sig, info = host_sigtimedwait(left, 0)
        except OSError:
            return
        post(p, sig, info=info)
        left &= ~bit(sig)


def _give_to_kernel(p, mask: int) -> None:
    for sig in range(1, 65):
        if mask & bit(sig):
            info = p.sig_infos.pop(sig, None) or kill_info(sig, p.sig_codes.pop(sig, SI_USER))
            p.sig_codes.pop(sig, None)
            try:
                host_queue(os.getpid(), p.tid, sig, info)
            except OSError:
                continue                      # stays with guise
            p.pending &= ~bit(sig)


def initial_mask() -> int:
    """The signal mask the emulator inherited: like a program after execve, the guest starts with it."""
    try:
        return host_sigmask(SIG_BLOCK_, None) & HOSTABLE
    except OSError:
        return 0


# -- siginfo of signals delivered to guise's host handlers ---------------------------------
class _SigAction(ctypes.Structure):
    """glibc's struct sigaction on x86-64."""
    _fields_ = [("handler", ctypes.c_void_p), ("mask", ctypes.c_ulong * 16), ("flags", ctypes.c_int),
                ("restorer", ctypes.c_void_p)]


_libc = ctypes.CDLL(None, use_errno=True)
_libc.mmap.restype = ctypes.c_void_p
_libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
_libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
_INFO = ctypes.create_string_buffer(65 * 128)     # slot ``sig`` at sig*128
_INFO_ADDR = ctypes.addressof(_INFO)
_tramp: list = []                                 # [trampoline address, Python's C handler]


def _make_trampoline(py_handler: int) -> int | None:
    """x86-64 code: copy the 128-byte siginfo (rsi) to _INFO[sig*128], then jump to
    Python's handler with the signal number (rdi) unchanged.  Only registers that a
    signal handler may clobber are used; the stack is untouched (a tail call)."""
    code = (b"\x48\x89\xfa"                          # mov rdx, rdi
            b"\x48\x89\xf8"                          # mov rax, rdi
            b"\x48\xc1\xe0\x07"                      # shl rax, 7
            b"\x48\xbf" + struct.pack("<Q", _INFO_ADDR) +   # movabs rdi, _INFO
            b"\x48\x01\xc7"                          # add rdi, rax
            b"\xb9\x10\x00\x00\x00"                  # mov ecx, 16
            b"\xfc"                                  # cld
            b"\xf3\x48\xa5"                          # rep movsq
            b"\x48\x89\xd7"                          # mov rdi, rdx
            b"\x48\xb8" + struct.pack("<Q", py_handler) +   # movabs rax, handler
            b"\xff\xe0")                             # jmp rax
    page = _libc.mmap(None, 4096, 3, 0x22, -1, 0)     # PROT_READ|WRITE, MAP_PRIVATE|ANONYMOUS
    if not page or page == ctypes.c_void_p(-1).value:
        return None
    ctypes.memmove(page, code, len(code))
    if _libc.mprotect(page, 4096, 5) != 0:          # PROT_READ|EXEC
        return None
    return page


def _capture_siginfo(sig: int) -> None:
    """Route the host's delivery of ``sig`` through the trampoline (after Python's own
    sigaction installed its handler), so guise's handler can read the siginfo."""
    cur = _SigAction()
    if _libc.sigaction(sig, None, ctypes.byref(cur)) != 0:
        return
    h = cur.handler or 0
    if h in (0, 1) or (_tramp and h == _tramp[0]):
        return
    if not _tramp:
        t = _make_trampoline(h)
        if t is None:
            return
        _tramp[:] = [t, h]
    if h != _tramp[1]:
        return
    cur.handler = _tramp[0]
    cur.flags |= SA_SIGINFO
    _libc.sigaction(sig, ctypes.byref(cur), None)


def _take_info(sig: int) -> bytes | None:
    """The siginfo the trampoline saved for ``sig``, once."""
    if not 0 < sig < 65:
        return None
    addr = _INFO_ADDR + sig * 128
    raw = ctypes.string_at(addr, 128)
    if int.from_bytes(raw[:4], "little") != sig:
        return None
    ctypes.memset(addr, 0, 4)
    return raw


def guest_siginfo(p, info: bytes) -> bytes:
    """A host (x86-64 layout) siginfo as the guest's ABI lays it out."""
    if p.abi.bits == 64:
        return info[:128].ljust(128, b"\0")
    signo, err, code = struct.unpack_from("<iii", info)
    u = info[16:]
    if code > 0 and signo == hostsig.SIGCHLD:
        body = u[0:12] + u[16:20] + u[24:28]            # pid, uid, status, utime, stime
    elif code > 0 and signo == hostsig.SIGIO:
        body = u[0:4] + u[8:12]                         # band, fd
    elif code > 0 and signo in FAULT_SIGNALS:
        body = u[0:4]                                   # addr
    else:
        body = u[0:8] + u[8:12]                         # pid/tid, uid/overrun, sigval
    return (struct.pack("<iii", signo, err, code) + body).ljust(128, b"\0")


def host_siginfo(p, info: bytes) -> bytes:
    """The guest's siginfo (as rt_sigqueueinfo takes it) in the host's layout."""
    if p.abi.bits == 64:
        return info[:128]
    signo, err, code = struct.unpack_from("<iii", info)
    u = info[12:]
    return (struct.pack("<iii4x", signo, err, code) + u[0:8] + u[8:12] + bytes(4)).ljust(128, b"\0")


# -- posting and choosing ----------------------------------------------------------------
def post(p, sig: int, code: int = 0, info: bytes | None = None) -> None:
    """Make ``sig`` pending for thread ``p``, with its si_code or its whole host siginfo.
    A standard signal already pending keeps its first siginfo, as on Linux."""
    p.sig_flag = True
    if p.pending & bit(sig):
        return
    p.pending |= bit(sig)
    if info is not None:
        p.sig_infos[sig] = info
        p.sig_codes.pop(sig, None)
    else:
        p.sig_infos.pop(sig, None)
        if code:
            p.sig_codes[sig] = code
        else:
            p.sig_codes.pop(sig, None)


def take_pending(p, sig: int) -> bytes:
    """Remove ``sig`` from ``p``'s pending set; its host-layout siginfo."""
    p.pending &= ~bit(sig)
    info = p.sig_infos.pop(sig, None)
    code = p.sig_codes.pop(sig, SI_USER)
    return info if info is not None else kill_info(sig, code)


def next_signal(p) -> int:
    ready = p.pending & ~p.sigmask
    if not ready:
        return 0
    for sig in (hostsig.SIGSEGV, hostsig.SIGBUS, hostsig.SIGILL, hostsig.SIGFPE):
        if ready & bit(sig):
            return sig
    return (ready & -ready).bit_length()


def die(sig: int) -> None:
    """The default action of a deadly signal, on the emulator itself."""
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ValueError, OSError):
        pass
    try:
        hostsig.signal(sig, hostsig.SIG_DFL)
    except (ValueError, OSError):   # 32 and 33: the host's glibc keeps them, at SIG_DFL for 32
        pass
    host_sigmask(1, bit(sig))       # SIG_UNBLOCK, raw: Python's refuses 32 and 33
    os.kill(os.getpid(), sig)


def deliver_pending(p, in_trap: bool, restart: int | None = None, saved_mask: int | None = None) -> None:
    """Deliver every deliverable pending signal to thread ``p`` (registers are live)."""
    p.sig_flag = False
    while True:
        sig = next_signal(p)
        if not sig:
            p.sig_flag = bool(p.pending & ~p.sigmask)
            mirror_mask(p)
            return
        info = take_pending(p, sig)
        handler, flags, restorer, mask = action(p, sig)
        if handler == SIG_IGN:
            continue
        if handler == SIG_DFL:
            if sig in (hostsig.SIGCHLD, hostsig.SIGURG, hostsig.SIGWINCH, hostsig.SIGCONT):
                continue
            die(sig)
            continue
        if restart is not None and flags & SA_RESTART and in_trap:
            # re-run the interrupted call after the handler, as the kernel does
            p.cpu.set_reg(p.cpu.pc_reg, p.cpu.resume_pc() - 2)
            p.cpu.set_reg(p.abi.result_reg, restart)
            in_trap = False
        setup_frame(p, sig, handler, flags, restorer, mask, guest_siginfo(p, info), in_trap,
                    saved_mask)
        in_trap = False
        saved_mask = None


def deliver_at_trap(p, ret: int, restart: int | None) -> None:
    """At the end of a system call: store its result, then run pending handlers."""
    p.cpu.set_reg(p.abi.result_reg, ret & p.abi.mask)
    deliver_pending(p, True, restart)
    return None


def deliver_before(p) -> None:
    """At a system call trap, before the call: run the pending handlers with the
    registers of the ``syscall``/``int 0x80`` instruction itself (number included),
    so the call is made when they return."""
    p.cpu.set_reg(p.cpu.pc_reg, p.cpu.resume_pc() - 2)
    deliver_pending(p, False)
    return None


def deliver_fault(p, sig: int, code: int, addr: int) -> bool:
    """A CPU fault: run the guest's handler (True), or report that the process must die."""
    handler, flags, restorer, mask = action(p, sig)
    if handler in (SIG_DFL, SIG_IGN) or p.sigmask & bit(sig):
        return False
    setup_frame(p, sig, handler, flags, restorer, mask, _siginfo(p, sig, code, addr), False)
    return True


def _siginfo(p, sig: int, code: int, addr: int) -> bytes:
    if code <= 0:          # sent by a process: sender's pid and uid
        body = struct.pack("<iii", sig, 0, code) + (b"\0" * 4 if p.abi.bits == 64 else b"") \
            + struct.pack("<iI", os.getpid(), os.getuid())
    else:
        ptr = "<Q" if p.abi.bits == 64 else "<I"
        body = struct.pack("<iii", sig, 0, code) + (b"\0" * 4 if p.abi.bits == 64 else b"") \
            + struct.pack(ptr, addr)
    return body.ljust(128, b"\0")


# -- frames ------------------------------------------------------------------------------
GREGS64 = ("r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rdi", "rsi", "rbp", "rbx",
           "rdx", "rax", "rcx", "rsp", "rip", "eflags")
GREGS32 = ("edi", "esi", "ebp", "esp", "ebx", "edx", "ecx", "eax")


def _fxsave(p) -> bytes:
    """An FXSAVE image of the x87/SSE state (what handlers may inspect)."""
    cpu = p.cpu
    img = bytearray(512)
    struct.pack_into("<HH", img, 0, cpu.reg("fpcw"), cpu.reg("fpsw"))
    struct.pack_into("<I", img, 24, cpu.reg("mxcsr"))
    struct.pack_into("<I", img, 28, 0xFFFF)
    for i in range(8 if p.abi.bits == 32 else 16):
        struct.pack_into("<16s", img, 160 + 16 * i, cpu.reg(f"xmm{i}").to_bytes(16, "little"))
    return bytes(img)


def _on_altstack(p, sp: int) -> bool:
    alt = getattr(p, "altstack_info", None)
    return bool(alt) and alt[0] <= sp < alt[0] + alt[2]


def setup_frame(p, sig, handler, flags, restorer, mask, info: bytes, in_trap: bool,
                saved_mask: int | None = None) -> None:
    cpu = p.cpu
    sp_reg = "rsp" if p.abi.bits == 64 else "esp"
    sp = cpu.reg(sp_reg)
    alt = getattr(p, "altstack_info", None)
    use_alt = flags & SA_ONSTACK and alt and not alt[1] & SS_DISABLE and not _on_altstack(p, sp)
    if use_alt:
        sp = alt[0] + alt[2]
    elif p.abi.bits == 64:
        sp -= 128                                   # the red zone
    saved = cpu.save_context()
    old_mask = p.sigmask if saved_mask is None else saved_mask
    stack_t = (alt[0], (SS_ONSTACK if _on_altstack(p, sp - 1) else 0) | (alt[1] & SS_DISABLE), alt[2]) \
        if alt else (0, SS_DISABLE, 0)
    if p.abi.bits == 64:
        frame = _frame64(p, sp, sig, restorer, info, old_mask, stack_t)
    else:
        frame = _frame32(p, sp, sig, restorer, flags, info, old_mask, stack_t)
    p.shadow[frame] = (saved, old_mask, flags & SA_SIGINFO or p.abi.bits == 64)
    if len(p.shadow) > 4096:                         # frames abandoned by longjmp
        p.shadow.pop(next(iter(p.shadow)))
    cpu.set_reg(cpu.pc_reg, handler)
    flags_reg = "eflags"
    cpu.set_reg(flags_reg, cpu.reg(flags_reg) & ~0x400 & ~0x100)   # DF and TF cleared
    p.sigmask = old_mask | mask | (0 if flags & SA_NODEFER else bit(sig))
    p.sigmask &= ~(bit(hostsig.SIGKILL) | bit(hostsig.SIGSTOP))
    mirror_mask(p)
    if flags & SA_RESETHAND:
        p.sigactions.pop(sig, None)
        set_disposition(p, sig)


def _frame64(p, sp, sig, restorer, info, old_mask, stack_t) -> int:
    cpu, mem = p.cpu, p.mem
    fp = (sp - 512) & ~63
    mem.write(fp, _fxsave(p))
    frame = ((fp - (8 + 304 + 128)) & ~15) - 8
    greg = [cpu.reg(r) for r in GREGS64]
    segs = struct.pack("<HHHH", cpu.reg("cs"), 0, 0, cpu.reg("ss"))
    mctx = struct.pack("<18Q", *greg) + segs + struct.pack("<QQQQQ", 0, 0, old_mask, 0, fp) + bytes(64)
    uc = struct.pack("<QQQi4xQ", 6, 0, stack_t[0], stack_t[1], stack_t[2]) + mctx + struct.pack("<Q", old_mask)
    mem.write(frame, struct.pack("<Q", restorer) + uc + info)
    cpu.set_reg("rdi", sig)
    cpu.set_reg("rsi", frame + 8 + 304)
    cpu.set_reg("rdx", frame + 8)
    cpu.set_reg("rax", 0)
    cpu.set_reg("rsp", frame)
    return frame


def _sigcontext32(p, old_mask, fp) -> bytes:
    cpu = p.cpu
    segs = [cpu.reg(s) for s in ("gs", "fs", "es", "ds")]
    g = {r: cpu.reg(r) for r in GREGS32}
    return struct.pack("<4I8I", *segs, g["edi"], g["esi"], g["ebp"], g["esp"], g["ebx"], g["edx"],
                       g["ecx"], g["eax"]) + \
        struct.pack("<IIIIIIIIII", 0, 0, cpu.reg("eip"), cpu.reg("cs"), cpu.reg("eflags"),
                    g["esp"], cpu.reg("ss"), fp, old_mask & 0xFFFFFFFF, 0)


def _frame32(p, sp, sig, restorer, flags, info, old_mask, stack_t) -> int:
    cpu, mem = p.cpu, p.mem
    fp = (sp - 512) & ~63
    mem.write(fp, _fxsave(p))
    if flags & SA_SIGINFO:
        size = 4 + 4 + 4 + 4 + 128 + 116 + 8
        frame = ((fp - size + 4) & ~15) - 4
        uc = struct.pack("<IIIII", 6, 0, *stack_t) + _sigcontext32(p, old_mask, fp) + struct.pack("<Q", old_mask)
        retcode = b"\xb8" + struct.pack("<I", 173) + b"\xcd\x80\x00"      # mov eax,173; int 0x80
        mem.write(frame, struct.pack("<IiII", restorer, sig, frame + 16, frame + 144) + info + uc + retcode)
        cpu.set_reg("edx", frame + 16)
        cpu.set_reg("ecx", frame + 144)
    else:
        size = 4 + 4 + 88 + 624 + 4 + 8
        frame = ((fp - size + 4) & ~15) - 4
        retcode = b"\x58\xb8" + struct.pack("<I", 119) + b"\xcd\x80"      # pop eax; mov eax,119; int 0x80
        mem.write(frame, struct.pack("<Ii", restorer, sig) + _sigcontext32(p, old_mask, fp) + bytes(624)
                  + struct.pack("<I", (old_mask >> 32) & 0xFFFFFFFF) + retcode)
    cpu.set_reg("eax", sig)
    cpu.set_reg("esp", frame)
    return frame


# -- sigreturn ------------------------------------------------------------------------------
class BadFrame(Exception):
    """sigreturn found no frame of ours where the stack points: the guest gets SIGSEGV."""


def sigreturn(p, rt: bool) -> None:
    cpu = p.cpu
    sp = cpu.reg("rsp" if p.abi.bits == 64 else "esp")
    if p.abi.bits == 64:
        frame = sp - 8
        mctx = frame + 8 + 40
    elif rt:
        frame = sp - 4
        mctx = frame + 144 + 20
    else:
        frame = sp - 8                               # the handler popped pretcode, retcode popped sig
        mctx = frame + 8
    saved = p.shadow.pop(frame, None)
    if saved is None:
        raise BadFrame()
    ctx, old_mask, _ = saved
    try:
        if p.abi.bits == 64:
            raw = p.mem.read(mctx, 18 * 8 + 8 + 32 + 8)
            greg = struct.unpack_from("<18Q", raw)
            cs, fpstate = struct.unpack_from("<H", raw, 18 * 8)[0], struct.unpack_from("<Q", raw, 18 * 8 + 40)[0]
            ok = (cs | 3) == cpu.reg("cs") | 3
            mask = p.mem.u64(frame + 8 + 296)
        else:
            raw = p.mem.read(mctx, 88)
            v = struct.unpack("<22I", raw)
            cs, fpstate = v[15], v[19]
            ok = (cs | 3) & 0xFFFF == cpu.reg("cs") | 3 and (v[18] | 3) & 0xFFFF == cpu.reg("ss") | 3
            mask = p.mem.u64(frame + 144 + 108) if rt else (v[20] | p.mem.u32(mctx + 88 + 624) << 32)
        # Linux loads the code segment and the FPU state named by the frame; a garbage
        # selector or FPU pointer makes it fail (badframe, SIGSEGV)
        if fpstate:
            ok = ok and not fpstate & 15 if p.abi.bits == 64 else ok
            p.mem.read(fpstate, 512)
    except Exception:
        raise BadFrame() from None
    if not ok:
        raise BadFrame()
    cpu.restore_context(ctx)
    if p.abi.bits == 64:
        for name, value in zip(GREGS64, greg):
            if name == "eflags":
                value = (cpu.reg("eflags") & ~0x40DD5) | (value & 0x40DD5)
            cpu.set_reg(name, value)
    else:
        for name, value in zip(GREGS32, v[4:12]):
            cpu.set_reg(name, value)
        cpu.set_reg("eip", v[14])
        cpu.set_reg("eflags", (cpu.reg("eflags") & ~0x40DD5) | (v[16] & 0x40DD5))
    p.sigmask = mask & ~(bit(hostsig.SIGKILL) | bit(hostsig.SIGSTOP))
    mirror_mask(p)
    if p.pending & ~p.sigmask:
        p.sig_flag = True


def is_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()
