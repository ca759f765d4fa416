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
  with SA_RESTART, is restarted after the handler;
- a guest spinning without system calls sees host signals at the end of its
  next time slice: the process runs in instruction-count slices once it has a
  handler for a timer signal (SIGALRM, SIGVTALRM, SIGPROF), or more than one
  thread.  For other signals a CPU-bound loop notices them at its next syscall.
Signals whose disposition is SIG_DFL are left to the host kernel, whose
default action on the emulator is exactly the native one.
"""
from __future__ import annotations

import os
import resource
import signal as hostsig
import struct
import threading

SA_SIGINFO, SA_ONSTACK, SA_RESTART = 0x4, 0x08000000, 0x10000000
SA_NODEFER, SA_RESETHAND, SA_RESTORER = 0x40000000, 0x80000000, 0x04000000
SIG_DFL, SIG_IGN = 0, 1
SS_ONSTACK, SS_DISABLE = 1, 2
FAULT_SIGNALS = {hostsig.SIGSEGV, hostsig.SIGBUS, hostsig.SIGILL, hostsig.SIGFPE, hostsig.SIGTRAP}
TIMER_SIGNALS = {hostsig.SIGALRM, hostsig.SIGVTALRM, hostsig.SIGPROF}
UNCATCHABLE = {hostsig.SIGKILL, hostsig.SIGSTOP}
EINTR = 4
SI_USER, SI_KERNEL, SEGV_MAPERR, SEGV_ACCERR, FPE_INTDIV, ILL_ILLOPN = 0, 0x80, 1, 2, 1, 2


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
            if sig in TIMER_SIGNALS and not p.group.sliced:
                p.group.sliced = True
                p.cpu.stop()          # back to the run loop, which now runs in slices
    except (ValueError, OSError):    # not the main thread, or a signal Python refuses
        pass


def _host_handler(p):
    group = p.group

    def handler(sig, _frame):
        leader = group.leader
        leader.pending |= bit(sig)
        leader.sig_flag = True
        if getattr(leader, "blocking", False) and not leader.sigmask & bit(sig):
            raise GuestInterrupt()
    return handler


_VALID = set(hostsig.valid_signals())


def mirror_mask(p) -> None:
    """Block on the host thread what the guest thread blocks, so that a signal the
    guest has blocked (and may collect with sigtimedwait) waits in the host kernel
    instead of taking the host's default action.  Faults are never blocked: they
    come from the CPU, not from the host."""
    if p.sigmask == p.host_mask:
        return
    blocked = [s for s in range(1, 65) if p.sigmask & bit(s) and s in _VALID
               and s not in FAULT_SIGNALS and s not in UNCATCHABLE]
    hostsig.pthread_sigmask(hostsig.SIG_SETMASK, blocked)
    p.host_mask = p.sigmask


# -- posting and choosing ----------------------------------------------------------------
def post(p, sig: int, code: int = 0) -> None:
    p.pending |= bit(sig)
    p.sig_flag = True
    if code:
        p.sig_codes[sig] = code


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
    except ValueError:
        pass
    hostsig.pthread_sigmask(hostsig.SIG_UNBLOCK, [sig])
    os.kill(os.getpid(), sig)


def deliver_pending(p, in_trap: bool, restart: int | None = None, saved_mask: int | None = None) -> None:
    """Deliver every deliverable pending signal to thread ``p`` (registers are live)."""
    p.sig_flag = False
    while True:
        sig = next_signal(p)
        if not sig:
            p.sig_flag = bool(p.pending & ~p.sigmask)
            return
        p.pending &= ~bit(sig)
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
        code = p.sig_codes.pop(sig, SI_USER)
        setup_frame(p, sig, handler, flags, restorer, mask, _siginfo(p, sig, code, 0), in_trap,
                    saved_mask)
        in_trap = False
        saved_mask = None


def deliver_at_trap(p, ret: int, restart: int | None) -> None:
    """At the end of a system call: store its result, then run pending handlers."""
    p.cpu.set_reg(p.abi.result_reg, ret & p.abi.mask)
    deliver_pending(p, True, restart)
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
    cpu, mem = p.cpu, p.mem
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
            raw = p.mem.read(mctx, 18 * 8)
            greg = struct.unpack("<18Q", raw)
            mask = p.mem.u64(frame + 8 + 296)
        else:
            raw = p.mem.read(mctx, 88)
            v = struct.unpack("<22I", raw)
            mask = p.mem.u64(frame + 144 + 108) if rt else (v[20] | p.mem.u32(mctx + 88 + 624) << 32)
    except Exception:
        raise BadFrame() from None
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
