"""x64 table-based exception handling: function tables (.pdata of each mapped image,
RtlAddFunctionTable), virtual unwinding by the UNWIND_INFO codes, the frame walk
of exception dispatch, RtlUnwindEx and msvcrt's __C_specific_handler.

Formats are Microsoft's documented x64 exception-handling structures
(RUNTIME_FUNCTION, UNWIND_INFO and UNWIND_CODE, DISPATCHER_CONTEXT, the C scope
table).  Language handlers (gcc's __gxx_personality_seh0, __C_specific_handler)
run as Windows runs them: in phase 1 with the original context, in phase 2 with
EXCEPTION_UNWINDING and each frame's own context, EXCEPTION_TARGET_UNWIND at the
target.  Not done: epilogue detection (a fault inside a function's epilogue
unwinds as if in its body) and collided unwinds beyond the nested RtlUnwindEx
that gcc and __C_specific_handler make.
"""
from __future__ import annotations

import bisect
import struct

from . import seh
from .seh import Resume, Unhandled
from .vmem import MEM_IMAGE

UNW_FLAG_EHANDLER, UNW_FLAG_UHANDLER, UNW_FLAG_CHAININFO = 1, 2, 4
EXCEPTION_UNWINDING, EXCEPTION_EXIT_UNWIND, EXCEPTION_TARGET_UNWIND = 0x2, 0x4, 0x20
STATUS_UNWIND = 0xC0000027
STATUS_BAD_STACK = 0xC0000028
REGS = ("rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11",
        "r12", "r13", "r14", "r15")
DISPATCHER_CONTEXT = 0x50
EXCEPTION_EXECUTE_HANDLER = 1


# -- function tables -----------------------------------------------------------------------
def _image_table(t, base: int):
    """(begins, entry addresses) of the image at ``base`` from its exception directory."""
    cache = t.state.setdefault("pdata", {})
    if base not in cache:
        begins, entries = [], []
        try:
            if t.mem.read(base, 2) == b"MZ":
                pe = base + t.mem.u32(base + 0x3C)
                if t.mem.read(pe, 4) == b"PE\0\0" and t.mem.u32(pe + 24) & 0xFFFF == 0x20B:
                    rva, size = struct.unpack("<II", t.mem.read(pe + 24 + 112 + 3 * 8, 8))
                    raw = t.mem.read(base + rva, size - size % 12) if rva else b""
                    for i in range(0, len(raw), 12):
                        begins.append(struct.unpack_from("<I", raw, i)[0] + base)
                        entries.append(base + rva + i)
        except Exception:        # a header that does not parse: no table
            begins, entries = [], []
        cache[base] = (begins, entries)
    return cache[base]


def lookup(t, pc: int):
    """(image base, RUNTIME_FUNCTION address) of the function holding ``pc``, or None."""
    for base, table, count in t.state.get("dyn_tables", ()):
        for i in range(count):
            begin, end = struct.unpack("<II", t.mem.read(table + 12 * i, 8))
            if base + begin <= pc < base + end:
                return base, table + 12 * i
    region = t.space.find(pc)
    if region is None or region.kind != MEM_IMAGE:
        return None
    base = region.alloc_base
    begins, entries = _image_table(t, base)
    i = bisect.bisect_right(begins, pc) - 1
    if i < 0:
        return None
    if pc < base + t.mem.u32(entries[i] + 4):
        return base, entries[i]
    return None


# -- virtual unwinding ------------------------------------------------------------------------
def _slots(op: int, info: int) -> int:
    if op == 1:
        return 2 if info == 0 else 3
    if op in (4, 6, 7, 8):
        return 2
    if op in (5, 9):
        return 3
    return 1


def virtual_unwind(t, base: int, entry: int, ctx: dict, kind: int):
    """Unwind ``ctx`` (in place) out of the function at RUNTIME_FUNCTION ``entry``;
    (handler or 0, handler data, establisher frame)."""
    mem = t.mem
    pc = ctx["rip"]
    begin, _end, unwind = struct.unpack("<III", mem.read(entry, 12))
    offset = pc - (base + begin)
    frame = None
    machframe = False
    while True:
        ui = base + unwind
        head = mem.read(ui, 4)
        flags, prolog, count, fr = head[0] >> 3, head[1], head[2], head[3]
        freg, foff = fr & 15, (fr >> 4) * 16
        codes = mem.read(ui + 4, 2 * count)
        if frame is None:
            frame = ctx["rsp"]
            if freg:
                set_at = next((codes[2 * i] for i in range(count) if codes[2 * i + 1] & 15 == 3), 0)
                if offset >= prolog or offset >= set_at:
                    frame = ctx[REGS[freg]] - foff
        i = 0
        while i < count:
            at, op, info = codes[2 * i], codes[2 * i + 1] & 15, codes[2 * i + 1] >> 4
            n = _slots(op, info)
            if offset < prolog and at > offset:          # that prologue step did not run yet
                i += n
                continue
            slot16 = struct.unpack_from("<H", codes, 2 * i + 2)[0] if n >= 2 else 0
            slot32 = struct.unpack_from("<I", codes, 2 * i + 2)[0] if n >= 3 else 0
            if op == 0:                                       # PUSH_NONVOL
                ctx[REGS[info]] = mem.u64(ctx["rsp"])
                ctx["rsp"] += 8
            elif op == 1:                                     # ALLOC_LARGE
                ctx["rsp"] += slot16 * 8 if info == 0 else slot32
            elif op == 2:                                     # ALLOC_SMALL
                ctx["rsp"] += info * 8 + 8
            elif op == 3:                                     # SET_FPREG
                ctx["rsp"] = ctx[REGS[freg]] - foff
            elif op == 4:                                     # SAVE_NONVOL
                ctx[REGS[info]] = mem.u64(frame + slot16 * 8)
            elif op == 5:                                     # SAVE_NONVOL_FAR
                ctx[REGS[info]] = mem.u64(frame + slot32)
            elif op == 8:                                     # SAVE_XMM128
                ctx[f"xmm{info}"] = int.from_bytes(mem.read(frame + slot16 * 16, 16), "little")
            elif op == 9:                                     # SAVE_XMM128_FAR
                ctx[f"xmm{info}"] = int.from_bytes(mem.read(frame + slot32, 16), "little")
            elif op == 10:                                    # PUSH_MACHFRAME
                sp = ctx["rsp"] + (8 if info else 0)
                ctx["rip"], ctx["rsp"] = mem.u64(sp), mem.u64(sp + 24)
                machframe = True
            i += n
        tail = ui + 4 + 2 * ((count + 1) & ~1)
        if not flags & UNW_FLAG_CHAININFO:
            break
        begin, _end, unwind = struct.unpack("<III", mem.read(tail, 12))
        offset = 1 << 62                                      # a chained prologue ran in full
    if not machframe:
        ctx["rip"] = mem.u64(ctx["rsp"])
        ctx["rsp"] += 8
    if flags & kind & (UNW_FLAG_EHANDLER | UNW_FLAG_UHANDLER):
        return base + mem.u32(tail), tail + 4, frame
    return 0, 0, frame


END = ()       # _step: the walk reached guise's call of the guest's entry point or of a callback


def _step(t, ctx: dict, kind: int):
    """Unwind one frame of ``ctx`` in place: (image base, entry, handler, data, frame);
    through our RESUME stub, the context recorded for that handler call is taken up
    (None), or the stack's end (END) if guise made that call for another reason."""
    if ctx["rip"] == t.resume_stub:
        slot = ctx["rsp"] - 8
        for call, saved in reversed(t.seh_calls):
            if call.at == slot:
                ctx.clear()
                ctx.update(saved)
                return None
        return END
    found = lookup(t, ctx["rip"])
    if found is None:                              # a leaf function: just the return address
        frame = ctx["rsp"]
        ctx["rip"] = t.mem.u64(ctx["rsp"])
        ctx["rsp"] += 8
        return 0, 0, 0, 0, frame
    base, entry = found
    handler, data, frame = virtual_unwind(t, base, entry, ctx, kind)
    return base, entry, handler, data, frame


def _on_stack(t, addr: int) -> bool:
    return t.stack_lo <= addr <= t.stack_hi


def _dispatcher_context(t, disp, pc, base, entry, frame, target, ctx_rec, handler, data, history=0):
    t.mem.write(disp, struct.pack("<QQQQQQQQQII", pc, base, entry, frame, target, ctx_rec, handler,
                                  data, history, 0, 0))


def dispatch(t, rec: int, ctx_addr: int):
    """Phase 1: each frame's exception handler, innermost first; True when one
    continues execution."""
    from .process import Call
    original = seh.read_context(t, ctx_addr)
    ctx = dict(original)
    disp = t.heap.alloc(DISPATCHER_CONTEXT, zero=True)
    try:
        while _on_stack(t, ctx["rsp"]) and ctx["rip"]:
            pc = ctx["rip"]
            step = _step(t, ctx, UNW_FLAG_EHANDLER)
            if step is None:
                continue
            if step is END:
                break
            base, entry, handler, data, frame = step
            if not _on_stack(t, frame):
                break
            if handler:
                _dispatcher_context(t, disp, pc, base, entry, frame, 0, ctx_addr, handler, data)
                call = Call(handler, (rec, frame, ctx_addr, disp))
                t.seh_calls.append((call, original))
                r = (yield call) & 0xFFFFFFFF
                t.seh_calls.pop()
                if r == seh.ExceptionContinueExecution:
                    return True
    finally:
        t.heap.free(disp)
    return False


def unwind_to(t, ctx: dict, target_frame: int, target_ip: int, rec: int, retval: int, history: int = 0):
    """RtlUnwindEx from ``ctx``: every frame's termination handler with
    EXCEPTION_UNWINDING up to ``target_frame``, then go on at ``target_ip`` in it
    with ``retval`` in rax (raises Resume)."""
    from .process import Call
    if not rec:
        rec = t.heap.alloc(seh.X64["record"], zero=True)
        seh.write_record(t, rec, STATUS_UNWIND, 0, ctx["rip"])
    flags = seh.record_flags(t, rec) | EXCEPTION_UNWINDING | (0 if target_frame else EXCEPTION_EXIT_UNWIND)
    seh.set_record_flags(t, rec, flags)
    ctx_buf = t.heap.alloc(seh.X64["size"], zero=True)
    disp = t.heap.alloc(DISPATCHER_CONTEXT, zero=True)
    try:
        while True:
            here = dict(ctx)
            pc = ctx["rip"]
            step = _step(t, ctx, UNW_FLAG_UHANDLER) if _on_stack(t, ctx["rsp"]) and pc else END
            if step is None:
                continue
            if step is END:
                raise Unhandled(STATUS_BAD_STACK, f"RtlUnwindEx: target frame {target_frame:#x} not on the stack")
            base, entry, handler, data, frame = step
            at_target = frame == target_frame
            if at_target:
                seh.set_record_flags(t, rec, seh.record_flags(t, rec) | EXCEPTION_TARGET_UNWIND)
            if handler:
                seh.write_context(t, ctx_buf, here)
                _dispatcher_context(t, disp, pc, base, entry, frame, target_ip, ctx_buf, handler, data, history)
                call = Call(handler, (rec, frame, ctx_buf, disp))
                t.seh_calls.append((call, here))
                yield call
                t.seh_calls.pop()
                here = seh.read_context(t, ctx_buf)          # the handler may set registers for the target
            if at_target:
                here["rip"], here["rax"] = target_ip, retval
                raise Resume(here)
    finally:
        t.heap.free(ctx_buf)
        t.heap.free(disp)


# -- the exports -------------------------------------------------------------------------------
def RtlUnwindEx(p, target_frame, target_ip, rec, retval, orig_ctx, history):
    yield from unwind_to(p, seh.capture_caller(p), target_frame, target_ip, rec, retval, history)


def RtlCaptureContext(p, out):
    seh.write_context(p, out, seh.capture_caller(p, 4 if p.bits == 32 else 0))


def RtlLookupFunctionEntry(p, pc, base_out, history):
    found = lookup(p, pc)
    if found is None:
        return 0
    p.mem.put_u64(base_out, found[0])
    return found[1]


def RtlVirtualUnwind(p, kind, base, pc, entry, ctx_addr, data_out, frame_out, pointers):
    ctx = seh.read_context(p, ctx_addr)
    ctx["rip"] = pc
    handler, data, frame = virtual_unwind(p, base, entry, ctx, kind)
    seh.write_context(p, ctx_addr, ctx)
    if data_out:
        p.mem.put_u64(data_out, data)
    if frame_out:
        p.mem.put_u64(frame_out, frame)
    return handler


def RtlAddFunctionTable(p, table, count, base):
    p.state.setdefault("dyn_tables", []).append((base, table, count))
    return 1


def RtlDeleteFunctionTable(p, table):
    tables = p.state.get("dyn_tables", [])
    keep = [e for e in tables if e[1] != table]
    p.state["dyn_tables"] = keep
    return int(len(keep) != len(tables))


def C_specific_handler(p, rec, frame, ctx_addr, disp):
    """The C compilers' language handler: a scope table of (begin, end, filter or
    termination handler, target) RVAs after the handler's RVA in the unwind data."""
    from .process import Call
    pc, base, _e, _f, _t, _c, _h, data = struct.unpack("<8Q", p.mem.read(disp, 64))
    count = p.mem.u32(data)
    scopes = [struct.unpack("<IIII", p.mem.read(data + 4 + 16 * i, 16)) for i in range(count)]
    rva = pc - base
    caller = seh.capture_caller(p)          # now: once it has called a filter the registers are gone
    if not seh.record_flags(p, rec) & (EXCEPTION_UNWINDING | EXCEPTION_EXIT_UNWIND):
        ptrs = p.heap.alloc(16)
        p.mem.put_u64(ptrs, rec)
        p.mem.put_u64(ptrs + 8, ctx_addr)
        try:
            for begin, end, filt, target in scopes:
                if not (begin <= rva < end and target):
                    continue
                r = EXCEPTION_EXECUTE_HANDLER if filt == 1 else (yield Call(base + filt, (ptrs, frame)))
                r = (r & 0xFFFFFFFF) - ((r & 0x80000000) << 1)
                if r < 0:
                    return seh.ExceptionContinueExecution
                if r > 0:
                    code = p.mem.u32(rec)
                    yield from unwind_to(p, caller, frame, base + target, rec, code)
        finally:
            p.heap.free(ptrs)
        return 1
    for begin, end, handler, target in scopes:            # unwinding: __finally blocks
        if begin <= rva < end and not target:
            yield Call(base + handler, (1, frame))
    return 1
