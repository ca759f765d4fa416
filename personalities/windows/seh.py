"""Windows structured exceptions: CPU faults and RaiseException dispatched to the
guest's handlers as Windows does it.

An exception (a fault the run loop saw, or RaiseException) is written to the
guest stack below the faulting stack pointer as an EXCEPTION_RECORD, a CONTEXT
and EXCEPTION_POINTERS, like KiUserExceptionDispatcher's frame, and the thread
is sent to the DISPATCH stub.  Its generator calls, in order, the vectored
handlers, the frame-based handlers (x64: found by unwinding with the .pdata
tables, see unwind.py; x86: the fs:[0] registration chain) and the unhandled
exception filter.  A handler that continues execution makes the generator raise
Resume with the context to load; nobody handling it raises Unhandled, which ends
the process with the NTSTATUS as its exit code (as Windows' default filter and
wine64 do: the host exit status is its low byte, 0xC0000005 -> 5).

Every guest call the dispatcher (or unwind.py's RtlUnwindEx) makes to a handler is
recorded with the context an unwinder must continue with when it walks out of
that handler through our RESUME stub (the role of KiUserExceptionDispatcher's and
RtlpExecuteHandlerForUnwind's unwind data on Windows).
"""
from __future__ import annotations

import struct

from .errors import (STATUS_ACCESS_VIOLATION, STATUS_BREAKPOINT, STATUS_ILLEGAL_INSTRUCTION,
                     STATUS_INTEGER_DIVIDE_BY_ZERO)

EXCEPTION_NONCONTINUABLE = 0x1
STATUS_INVALID_UNWIND_TARGET = 0xC0000029
EXCEPTION_CONTINUE_EXECUTION = 0xFFFFFFFF       # -1 from a filter or vectored handler
ExceptionContinueExecution = 0
NAMES = {STATUS_ACCESS_VIOLATION: "access violation", STATUS_INTEGER_DIVIDE_BY_ZERO: "integer divide by zero",
         STATUS_BREAKPOINT: "breakpoint", STATUS_ILLEGAL_INSTRUCTION: "illegal instruction"}

# CONTEXT layouts: register -> offset
X64_GPR = ("rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11",
           "r12", "r13", "r14", "r15", "rip")
X64 = dict(size=0x4D0, flags=0x30, full=0x10000B, eflags=0x44, mxcsr=0x34, xmm=0x1A0, nxmm=16,
           regs={r: 0x78 + 8 * i for i, r in enumerate(X64_GPR)}, segs={"cs": (0x38, 0x33), "ss": (0x42, 0x2B)},
           record=0x98)
X86 = dict(size=0x2CC, flags=0x0, full=0x10007, eflags=0xC0, mxcsr=0xCC + 0x18, xmm=0xCC + 0xA0, nxmm=8,
           regs={"edi": 0x9C, "esi": 0xA0, "ebx": 0xA4, "edx": 0xA8, "ecx": 0xAC, "eax": 0xB0,
                 "ebp": 0xB4, "eip": 0xB8, "esp": 0xC4},
           segs={"cs": (0xBC, 0x23), "ss": (0xC8, 0x2B), "fs": (0x90, 0x3B), "ds": (0x98, 0x2B), "es": (0x94, 0x2B)},
           record=0x50)


class Resume(Exception):
    """Load ``context`` (a register dict) and go on there."""

    def __init__(self, context: dict):
        super().__init__("resume")
        self.context = context


class Unhandled(Exception):
    """No handler took the exception: the process ends with ``code``."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code


def layout(t) -> dict:
    return X64 if t.bits == 64 else X86


def sp_name(t) -> str:
    return "rsp" if t.bits == 64 else "esp"


def pc_name(t) -> str:
    return "rip" if t.bits == 64 else "eip"


# -- contexts ----------------------------------------------------------------------------
def capture(t) -> dict:
    """The thread's registers now (inside a trap the pc is where the stub goes on)."""
    L = layout(t)
    ctx = {r: t.cpu.reg(r) for r in L["regs"]}
    ctx["eflags"] = t.cpu.reg("eflags")
    ctx["mxcsr"] = t.cpu.reg("mxcsr")
    for i in range(L["nxmm"]):
        ctx[f"xmm{i}"] = t.cpu.reg(f"xmm{i}")
    return ctx


def capture_caller(t, pop: int = 0) -> dict:
    """Inside an API trap: the caller's context as if the call had returned (the stub's
    return address popped, and ``pop`` argument bytes for an x86 stdcall)."""
    ctx = capture(t)
    sp = ctx[sp_name(t)]
    ctx[pc_name(t)] = t.mem.ptr(sp)
    ctx[sp_name(t)] = sp + t.ptr + pop
    return ctx


def write_context(t, addr: int, ctx: dict) -> None:
    L = layout(t)
    buf = bytearray(L["size"])
    struct.pack_into("<I", buf, L["flags"], L["full"])
    fmt = "<Q" if t.bits == 64 else "<I"
    for r, off in L["regs"].items():
        struct.pack_into(fmt, buf, off, ctx[r])
    struct.pack_into("<I", buf, L["eflags"], ctx["eflags"])
    struct.pack_into("<I", buf, L["mxcsr"], ctx["mxcsr"])
    if t.bits == 64:
        struct.pack_into("<I", buf, 0x100 + 0x18, ctx["mxcsr"])      # FltSave.MxCsr too
    for name, (off, value) in L["segs"].items():
        struct.pack_into("<H", buf, off, value)
    for i in range(L["nxmm"]):
        buf[L["xmm"] + 16 * i:L["xmm"] + 16 * i + 16] = ctx[f"xmm{i}"].to_bytes(16, "little")
    t.mem.write(addr, bytes(buf))


def read_context(t, addr: int) -> dict:
    L = layout(t)
    buf = t.mem.read(addr, L["size"])
    fmt = "<Q" if t.bits == 64 else "<I"
    ctx = {r: struct.unpack_from(fmt, buf, off)[0] for r, off in L["regs"].items()}
    ctx["eflags"] = struct.unpack_from("<I", buf, L["eflags"])[0]
    ctx["mxcsr"] = struct.unpack_from("<I", buf, L["mxcsr"])[0]
    for i in range(L["nxmm"]):
        ctx[f"xmm{i}"] = int.from_bytes(buf[L["xmm"] + 16 * i:L["xmm"] + 16 * i + 16], "little")
    return ctx


# ContextFlags groups (the architecture bit aside): which registers each brings
CONTEXT_CONTROL, CONTEXT_INTEGER, CONTEXT_FLOATING_POINT, CONTEXT_EXTENDED_REGISTERS = 0x1, 0x2, 0x8, 0x20
_GROUPS = {64: {CONTEXT_CONTROL: ("rip", "rsp", "eflags"),
                CONTEXT_INTEGER: tuple(r for r in X64_GPR if r not in ("rip", "rsp")),
                CONTEXT_FLOATING_POINT: ("mxcsr",) + tuple(f"xmm{i}" for i in range(16))},
           32: {CONTEXT_CONTROL: ("ebp", "eip", "esp", "eflags"),
                CONTEXT_INTEGER: ("edi", "esi", "ebx", "edx", "ecx", "eax"),
                CONTEXT_EXTENDED_REGISTERS: ("mxcsr",) + tuple(f"xmm{i}" for i in range(8))}}


def merge_context(t, regs: dict, addr: int) -> dict:
    """``regs`` with the register groups that the CONTEXT at ``addr`` selects in its
    ContextFlags replaced by its values (SetThreadContext)."""
    flags = t.mem.u32(addr + layout(t)["flags"])
    new = read_context(t, addr)
    out = dict(regs)
    for bit, names in _GROUPS[t.bits].items():
        if flags & bit:
            out.update((r, new[r]) for r in names)
    return out


def load(t, ctx: dict) -> int:
    """Put ``ctx`` into the CPU; the pc to run from.  API frames (generator
    implementations waiting on guest calls) below the new stack pointer are gone."""
    for r, v in ctx.items():
        if r != pc_name(t):
            t.cpu.set_reg(r, v)
    sp = ctx[sp_name(t)]
    t.pending = [f for f in t.pending if f[1] >= sp]
    t.seh_calls = [c for c in t.seh_calls if c[0].at >= sp]
    return ctx[pc_name(t)]


def write_record(t, addr: int, code: int, flags: int, address: int, params=(), nested: int = 0) -> None:
    if t.bits == 64:
        data = struct.pack("<IIQQI4x", code, flags, nested, address, len(params))
        data += struct.pack(f"<{len(params)}Q", *params)
    else:
        data = struct.pack("<IIIII", code, flags, nested, address, len(params))
        data += struct.pack(f"<{len(params)}I", *params)
    t.mem.write(addr, data.ljust(layout(t)["record"], b"\0"))


def record_flags(t, rec: int) -> int:
    return t.mem.u32(rec + 4)


def set_record_flags(t, rec: int, flags: int) -> None:
    t.mem.put_u32(rec + 4, flags)


# -- raising ------------------------------------------------------------------------------
def begin(t, code: int, flags: int, address: int, params, ctx: dict) -> None:
    """Write the exception below the context's stack pointer and send the thread to
    the DISPATCH stub (works inside a trap and from the run loop)."""
    L = layout(t)
    size = L["size"] + L["record"] + 4 * t.ptr       # + EXCEPTION_POINTERS, x86 dispatcher context
    base = (ctx[sp_name(t)] - size - 0x40) & ~0x3F
    ctx_addr, rec_addr = base, base + L["size"]
    ptrs = rec_addr + L["record"]
    write_context(t, ctx_addr, ctx)
    write_record(t, rec_addr, code, flags, address, params)
    t.mem.put_ptr(ptrs, rec_addr)
    t.mem.put_ptr(ptrs + t.ptr, ctx_addr)
    t.exception = (rec_addr, ctx_addr, ptrs)
    t.cpu.set_reg(sp_name(t), base - 0x28)
    t.cpu.set_reg(pc_name(t), t.dispatch_stub)


def from_fault(t, stop) -> bool:
    """A CPU fault in guest code becomes an exception for the guest's handlers;
    False when there is no stack left to dispatch it on."""
    params = ()
    if stop.kind == "fault":
        code = STATUS_ACCESS_VIOLATION
        params = ({"write": 1, "exec": 8}.get(stop.access, 0), stop.address)
    elif stop.kind == "interrupt" and stop.intno == 0:
        code = STATUS_INTEGER_DIVIDE_BY_ZERO
    elif stop.kind == "interrupt" and stop.intno == 3:
        code = STATUS_BREAKPOINT
    elif stop.kind in ("invalid-insn", "interrupt"):
        code = STATUS_ILLEGAL_INSTRUCTION
    else:
        return False
    ctx = capture(t)
    ctx[pc_name(t)] = stop.pc
    from personalities.guestmem import GuestFault
    try:
        begin(t, code, 0, stop.pc, params, ctx)
    except GuestFault:
        return False
    return True


def from_api_fault(t, fault) -> bool:
    """An API implementation touched a bad guest pointer (errors.AccessViolation): the
    access violation is raised as if the API's own code had faulted, at its stub, so
    a handler that continues execution calls it again, as Windows re-runs the
    faulting instruction.  False when there is no stack left to dispatch it on."""
    from personalities.guestmem import GuestFault
    from .process import STUB
    ctx = capture(t)
    stub = ctx[pc_name(t)] & ~(STUB - 1)
    if stub == t.resume_stub and t.pending:      # in the part of a generator API after a guest call
        _gen, sp, ret = t.pending.pop()
        ctx[sp_name(t)], stub = sp, ret & ~(STUB - 1)
    sp = ctx[sp_name(t)]
    t.pending = [f for f in t.pending if f[1] > sp]
    ctx[pc_name(t)] = stub
    try:
        begin(t, STATUS_ACCESS_VIOLATION, 0, stub, (int(fault.write), fault.address), ctx)
    except GuestFault:
        return False
    return True


def RaiseException(p, code, flags, nargs, args):
    params = [p.mem.ptr(args + p.ptr * i) for i in range(min(nargs, 15))] if args else []
    ctx = capture_caller(p, 16 if p.bits == 32 else 0)
    begin(p, code, flags & EXCEPTION_NONCONTINUABLE, ctx[pc_name(p)], params, ctx)


def dispatch(t, *_args):
    """The DISPATCH stub: vectored handlers, frame handlers, the unhandled filter."""
    from .process import Call
    rec, ctx_addr, ptrs = t.exception
    for handler in list(t.kernel.vectored.values()):
        if (yield Call(handler, (ptrs,))) & 0xFFFFFFFF == EXCEPTION_CONTINUE_EXECUTION:
            raise Resume(read_context(t, ctx_addr))
    if t.bits == 64:
        from . import unwind
        handled = yield from unwind.dispatch(t, rec, ctx_addr)
    else:
        handled = yield from _dispatch_chain(t, rec, ctx_addr)
    if handled:
        raise Resume(read_context(t, ctx_addr))
    filt = t.state.get("unhandled_filter", 0)
    if filt and (yield Call(filt, (ptrs,))) & 0xFFFFFFFF == EXCEPTION_CONTINUE_EXECUTION:
        raise Resume(read_context(t, ctx_addr))
    code, address = t.mem.u32(rec), t.mem.ptr(rec + (0x10 if t.bits == 64 else 0xC))
    what = NAMES.get(code, "exception")
    extra = ""
    if code == STATUS_ACCESS_VIOLATION:
        info = rec + (0x20 if t.bits == 64 else 0x14)
        kind = {0: "read", 1: "write", 8: "exec"}.get(t.mem.ptr(info), "access")
        extra = f": {kind} at {t.mem.ptr(info + t.ptr):#x}"
    raise Unhandled(code, f"unhandled exception {code:#x} ({what}){extra} (pc {address:#x})")


def _dispatch_chain(t, rec, ctx_addr):
    """x86: the handlers on the fs:[0] chain, innermost first; True when one
    continues execution."""
    from .process import Call
    frame = t.mem.ptr(t.teb)
    disp = t.exception[2] + 2 * t.ptr
    while frame != 0xFFFFFFFF and t.stack_lo <= frame < t.stack_hi and not frame & 3:
        handler = t.mem.ptr(frame + 4)
        call = Call(handler, (rec, frame, ctx_addr, disp))
        t.seh_calls.append((call, read_context(t, ctx_addr)))
        r = (yield call) & 0xFFFFFFFF
        t.seh_calls.pop()
        if r == ExceptionContinueExecution:
            return True
        frame = t.mem.ptr(frame)
    return False


def RtlUnwind(p, target_frame, target_ip, rec, retval):
    """Unwind to ``target_frame``: x86 calls the handler of every fs:[0] registration
    above it with EXCEPTION_UNWINDING (EXCEPTION_EXIT_UNWIND too when there is no
    target) and unlinks it, then returns ``retval`` to the caller, as MSVC's
    ``_except_handler3``/``_global_unwind2`` expect; the target's own handler is not
    called.  x64 does RtlUnwindEx's walk with no context record."""
    from . import unwind as U
    from .process import Call
    if p.bits == 64:
        yield from U.unwind_to(p, capture_caller(p), target_frame, target_ip, rec, retval)
        return
    if not rec:
        rec = p.heap.alloc(X86["record"], zero=True)
        write_record(p, rec, U.STATUS_UNWIND, 0, capture_caller(p, 16)["eip"])
    set_record_flags(p, rec, record_flags(p, rec) | U.EXCEPTION_UNWINDING
                     | (0 if target_frame else U.EXCEPTION_EXIT_UNWIND))
    ctx = capture_caller(p, 16)
    ctx_buf = p.heap.alloc(X86["size"], zero=True)
    disp = p.heap.alloc(4, zero=True)
    try:
        frame = p.mem.ptr(p.teb)
        while frame != 0xFFFFFFFF and frame != target_frame:
            if not (p.stack_lo <= frame < p.stack_hi) or frame & 3 or (target_frame and frame > target_frame):
                raise Unhandled(U.STATUS_BAD_STACK if not target_frame or frame < target_frame
                                else STATUS_INVALID_UNWIND_TARGET,
                                f"RtlUnwind: frame {frame:#x} on the way to {target_frame:#x} is not valid")
            write_context(p, ctx_buf, ctx)
            call = Call(p.mem.ptr(frame + 4), (rec, frame, ctx_buf, disp))
            p.seh_calls.append((call, ctx))
            yield call
            p.seh_calls.pop()
            frame = p.mem.ptr(frame)
            p.mem.put_ptr(p.teb, frame)
        if target_frame and frame != target_frame:
            raise Unhandled(STATUS_INVALID_UNWIND_TARGET, f"RtlUnwind: {target_frame:#x} is not on the fs:[0] chain")
    finally:
        p.heap.free(ctx_buf)
        p.heap.free(disp)
    return retval


def AddVectoredExceptionHandler(p, first, handler):
    k = p.kernel
    k.veh_next += 1
    key = k.veh_next
    items = list(k.vectored.items())
    items.insert(0 if first else len(items), (key, handler))
    k.vectored = dict(items)
    return key


def RemoveVectoredExceptionHandler(p, key):
    return int(p.kernel.vectored.pop(key, None) is not None)
