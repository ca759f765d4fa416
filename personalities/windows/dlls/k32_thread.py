"""kernel32 and msvcrt: threads (CreateThread, _beginthreadex, ExitThread, exit codes,
suspending and resuming, their contexts, DisableThreadLibraryCalls), sleeping and
yielding, TLS and FLS slots.

Threads are real guest threads (see ../threads.py); TLS slots live in each TEB
where TlsGetValue reads them, FLS values per thread in Python with their
callbacks run in the guest when a thread ends and at FlsFree.
"""
from __future__ import annotations

from .. import seh, sync, threads, winerror as W
from ..spec import PARTIAL, cdecl, fn
from ..sync import ThreadObject
from ..teb import TLS_SLOTS
from .k32_files import fail

CREATE_SUSPENDED = 0x4
FLS_SLOTS = 128


def thread_of(p, h):
    """The ThreadObject behind a handle or the GetCurrentThread pseudo-handle."""
    if h == (1 << p.bits) - 2:
        return p.thread
    obj = p.handles.get(h)
    return obj if isinstance(obj, ThreadObject) else None


def _spawn(p, start, arg, stack, flags, out_tid, void=False):
    try:
        th = threads.create(p, start, arg, stack, bool(flags & CREATE_SUSPENDED), void)
    except OSError:                      # the jail's procs limit
        return fail(p, W.ERROR_NOT_ENOUGH_MEMORY)
    if out_tid:
        p.mem.put_u32(out_tid, th.tid)
    return p.handles.add(th)


def CreateThread(p, security, stack, start, arg, flags, out_tid):
    return _spawn(p, start, arg, stack, flags, out_tid)


def beginthreadex(p, security, stack, start, arg, flags, out_tid):
    return _spawn(p, start, arg, stack, flags, out_tid)


def beginthread(p, start, stack, arg):
    h = _spawn(p, start, arg, stack, 0, 0, void=True)
    return h if h else (1 << p.bits) - 1          # -1 on failure, as msvcrt's _beginthread


def ExitThread(p, code):
    raise threads.ThreadExit(code)


def endthread(p):
    raise threads.ThreadExit(0)


def GetExitCodeThread(p, h, out):
    th = thread_of(p, h)
    if th is None:
        return fail(p, W.ERROR_INVALID_HANDLE)
    p.mem.put_u32(out, th.code)
    return 1


def GetThreadId(p, h):
    th = thread_of(p, h)
    if th is None:
        return fail(p, W.ERROR_INVALID_HANDLE)
    return th.tid


MAXIMUM_SUSPEND_COUNT = 127


def _suspendable(p, h):
    """The ThreadObject for Suspend/ResumeThread, or the error they fail with."""
    th = thread_of(p, h)
    if th is None:
        return None, W.ERROR_INVALID_HANDLE
    if th.done:
        return None, W.ERROR_ACCESS_DENIED
    return th, 0


def SuspendThread(p, h):
    """The previous suspend count.  The caller holds the BEL, so the target is not
    running guest code now; it parks (sync.settle) before it runs any again."""
    th, err = _suspendable(p, h)
    if th is None:
        return fail(p, err, 0xFFFFFFFF)
    if th.suspend >= MAXIMUM_SUSPEND_COUNT:
        return fail(p, W.ERROR_SIGNAL_REFUSED, 0xFFFFFFFF)
    was = th.suspend
    th.suspend += 1
    if th is p.thread:
        sync.settle(p)
    return was


def ResumeThread(p, h):
    th, err = _suspendable(p, h)
    if th is None:
        return fail(p, err, 0xFFFFFFFF)
    was = th.suspend
    if th.suspend:
        th.suspend -= 1
        if th.suspend == 0:
            th.resumed.set()            # a thread created suspended starts
            sync.wake(p)                # one suspended later goes on
    return was


def _context_of(p, th) -> dict | None:
    """The registers of the thread behind ``th`` as its CONTEXT shows them: where it
    will go on (inside an API call: the API stub it called)."""
    if th is p.thread:
        return seh.capture_caller(p, 8 if p.bits == 32 else 0)
    t = p.group.threads.get(th.tid)
    if t is None:
        return None
    return th.new_context or seh.capture(t)


def GetThreadContext(p, h, ctx):
    th = thread_of(p, h)
    regs = _context_of(p, th) if th is not None else None
    if regs is None:
        return fail(p, W.ERROR_INVALID_HANDLE)
    flags = p.mem.u32(ctx + seh.layout(p)["flags"])
    seh.write_context(p, ctx, regs)
    p.mem.put_u32(ctx + seh.layout(p)["flags"], flags)
    return 1


def SetThreadContext(p, h, ctx):
    """Another thread's new registers take effect when it next runs (it should be
    suspended, as Windows asks); the calling thread's own at once."""
    th = thread_of(p, h)
    regs = _context_of(p, th) if th is not None else None
    if regs is None:
        return fail(p, W.ERROR_INVALID_HANDLE)
    regs = seh.merge_context(p, regs, ctx)
    if th is p.thread:
        raise seh.Resume(regs)
    th.new_context = regs
    return 1


def Sleep(p, ms):
    if ms == 0:
        p.group.yield_cpu(p)
    else:
        with p.group.unlocked(p, interruptible=False):     # cut short when the process ends
            p.group.done.wait(None if ms == sync.INFINITE else ms / 1000)
    if p.group.result is not None:
        raise sync.ProcessEnding()
    sync.settle(p)


def SleepEx(p, ms, alertable):
    Sleep(p, ms)
    return 0


def SwitchToThread(p):
    others = p.group.bel.contended()
    p.group.yield_cpu(p)
    sync.settle(p)
    return int(others)


def DisableThreadLibraryCalls(p, h):
    """No DLL_THREAD_ATTACH/DETACH for this DLL; refused, as on Windows, for a DLL with
    static TLS (every mingw DLL has a TLS directory)."""
    from .. import modules
    mod = modules.by_handle(p, h)
    if mod is None or mod.tls_index is not None:
        return fail(p, W.ERROR_MOD_NOT_FOUND)
    p.kernel.quiet_dlls.add(mod.base)
    return 1


# -- TLS slots: in each thread's TEB -------------------------------------------------
def _tls_slot(t, index):
    return t.teb + t.layout.tls_slots + t.ptr * index


def TlsAlloc(p):
    used = p.kernel.tls_used
    for i in range(TLS_SLOTS):
        if i not in used:
            used.add(i)
            for t in list(p.group.threads.values()):       # a fresh slot reads NULL everywhere
                t.mem.put_ptr(_tls_slot(t, i), 0)
            return i
    return fail(p, W.ERROR_NOT_ENOUGH_MEMORY, 0xFFFFFFFF)


def TlsFree(p, index):
    used = p.kernel.tls_used
    if index not in used:
        return fail(p, W.ERROR_INVALID_PARAMETER)
    used.discard(index)
    return 1


def TlsGetValue(p, index):
    if index >= TLS_SLOTS:
        return fail(p, W.ERROR_INVALID_PARAMETER)
    p.set_last_error(0)          # documented: success clears the last error
    return p.mem.ptr(_tls_slot(p, index))


def TlsSetValue(p, index, value):
    if index >= TLS_SLOTS:
        return fail(p, W.ERROR_INVALID_PARAMETER)
    p.mem.put_ptr(_tls_slot(p, index), value)
    return 1


# -- FLS slots: per thread, with a callback for each non-NULL value ---------------------
def FlsAlloc(p, callback):
    slots = p.kernel.fls_callbacks
    for i in range(1, FLS_SLOTS):            # Windows hands out index 0 to the loader
        if i not in slots:
            slots[i] = callback
            for t in list(p.group.threads.values()):
                t.fls.pop(i, None)
            return i
    return fail(p, W.ERROR_NOT_ENOUGH_MEMORY, 0xFFFFFFFF)


def FlsFree(p, index):
    """Runs the callback for every thread's non-NULL value, in the calling thread."""
    from ..process import Call
    slots = p.kernel.fls_callbacks
    if index not in slots:
        p.set_last_error(W.ERROR_INVALID_PARAMETER)
        return 0
    cb = slots.pop(index)
    for t in list(p.group.threads.values()):
        value = t.fls.pop(index, 0)
        if value and cb:
            yield Call(cb, (value,))
    return 1


def FlsGetValue(p, index):
    if index not in p.kernel.fls_callbacks:
        return fail(p, W.ERROR_INVALID_PARAMETER)
    p.set_last_error(0)
    return p.fls.get(index, 0)


def FlsSetValue(p, index, value):
    if index not in p.kernel.fls_callbacks:
        return fail(p, W.ERROR_INVALID_PARAMETER)
    p.fls[index] = value
    return 1


ROWS = [
    fn("CreateThread", CreateThread, "ptr size ptr ptr uint ptr", "handle", level=PARTIAL,
       note="security attributes are ignored"),
    fn("ExitThread", ExitThread, "uint", "void"),
    fn("GetExitCodeThread", GetExitCodeThread, "handle ptr", "bool"),
    fn("GetThreadId", GetThreadId, "handle", "uint"),
    fn("ResumeThread", ResumeThread, "handle", "uint"),
    fn("SuspendThread", SuspendThread, "handle", "uint"),
    fn("GetThreadContext", GetThreadContext, "handle ptr", "bool", level=PARTIAL,
       note="general, control, segment and SSE registers; no x87 or debug registers"),
    fn("SetThreadContext", SetThreadContext, "handle ptr", "bool", level=PARTIAL,
       note="the control, integer and SSE groups of ContextFlags; no x87 or debug registers"),
    fn("DisableThreadLibraryCalls", DisableThreadLibraryCalls, "ptr", "bool"),
    fn("Sleep", Sleep, "uint", "void"),
    fn("SleepEx", SleepEx, "uint bool", "uint", level=PARTIAL, note="no APCs: never alerted"),
    fn("SwitchToThread", SwitchToThread, ""),
    fn("TlsAlloc", TlsAlloc, "", "uint", level=PARTIAL, note="the 64 TEB slots; no expansion slots"),
    fn("TlsFree", TlsFree, "uint", "bool"),
    fn("TlsGetValue", TlsGetValue, "uint", "ptr"),
    fn("TlsSetValue", TlsSetValue, "uint ptr", "bool"),
    fn("FlsAlloc", FlsAlloc, "ptr", "uint"),
    fn("FlsFree", FlsFree, "uint", "bool"),
    fn("FlsGetValue", FlsGetValue, "uint", "ptr"),
    fn("FlsSetValue", FlsSetValue, "uint ptr", "bool"),
]

CRT_ROWS = [
    cdecl("_beginthreadex", beginthreadex, "ptr uint ptr ptr uint ptr", "ptr", level=PARTIAL,
          note="security attributes are ignored"),
    cdecl("_beginthread", beginthread, "ptr uint ptr", "ptr"),
    cdecl("_endthreadex", ExitThread, "uint", "void"),
    cdecl("_endthread", endthread, "", "void"),
]
