"""Windows guest threads, on the Linux personality's thread model
(personalities/linux/threads.py: one host thread and one CPU engine per guest
thread over shared host memory, guest code under the fair big emulator lock,
time slices by the ticker once there is more than one thread).

A thread is a shallow copy of the WindowsProcess (as a Linux thread is of its
LinuxProcess): it shares the address space, handles, heap, DLL state and the
synchronisation kernel, and has its own CPU, memory accessor, stack, TEB, thread
id, pending API frames and FLS values.  API implementations get the calling
thread's view as ``p``, so ``p.teb`` and ``p.tid`` are always the caller's.

A thread starts at the START stub, whose generator tells the program's DLLs (their
TLS callbacks and DllMain, unless a DLL called DisableThreadLibraryCalls) and then
the image's TLS callbacks (DLL_THREAD_ATTACH), and runs the start routine.
Returning from it, ExitThread and _endthreadex all raise ThreadExit; the run loop
then sends the thread, on a fresh stack, to the EXIT stub, which runs the FLS
callbacks, tells the DLLs in reverse order and the image's TLS callbacks
(DLL_THREAD_DETACH) in the guest, and ends the thread with ThreadDone.  The
process ends with ExitProcess from any thread, or when its last thread ends (with
that thread's exit code), as on Windows.
"""
from __future__ import annotations

import copy
import itertools
import threading

from hw.cpu import PROT_READ, PROT_WRITE, make_cpu
from personalities.guestmem import GuestMemory
from personalities.linux.threads import ThreadGroup
from . import modules, seh, sync, teb as tebmod
from .errors import AccessViolation
from .sync import ProcessEnding

DLL_THREAD_ATTACH, DLL_THREAD_DETACH = 2, 3
MIN_STACK = 1 << 20


class ThreadExit(Exception):
    """ExitThread, _endthreadex, or the start routine returned ``code``."""

    def __init__(self, code: int):
        super().__init__(code)
        self.code = code & 0xFFFFFFFF


class ThreadDone(Exception):
    """The thread's exit step finished: it is gone."""

    def __init__(self, code: int):
        super().__init__(code)
        self.code = code


def attach(p) -> None:
    """Give a new process its thread-model state (its main thread is the leader)."""
    from .process import Bound
    p.group = ThreadGroup(p)
    p.kernel = sync.Kernel()
    p.thread = sync.ThreadObject(p.tid)
    p.fls = {}
    p.sig_flag = p.blocking = False           # what ThreadGroup asks of a thread (no signals here)
    p.tids = itertools.count(p.tid + 4, 4)
    p.start_stub = p._stub(Bound("[thread start]", None, impl=_start))
    p.exit_stub = p._stub(Bound("[thread exit]", None, impl=_exit))
    p.dispatch_stub = p._stub(Bound("[exception]", None, impl=seh.dispatch))
    p.seh_calls, p.exception = [], None       # see seh.py


def create(p, start: int, arg: int, stack_size: int, suspended: bool, void: bool = False):
    """A new guest thread running ``start(arg)``; its ThreadObject.

    ``void``: the start routine returns nothing (_beginthread): the exit code is 0.
    Raises OSError (EAGAIN) at the jail's procs limit.
    """
    limits = p.jail.limits if p.jail is not None else None
    if limits is not None:
        limits.thread_started()
    t = copy.copy(p)
    t.cpu = make_cpu(p.image.arch)
    t.mem = GuestMemory(t.cpu, p.bits)
    p.space.add_cpu(t.cpu)
    t._install_trap()
    t.tid = next(p.tids)
    t.pending, t.fls, t.seh_calls = [], {}, []
    t.blocking = False
    size = max(MIN_STACK, stack_size, p.info.stack_reserve)
    size = (size + 0xFFFF) & ~0xFFFF
    lo = p.space.find_free(size)
    p.space.map(lo, size, PROT_READ | PROT_WRITE, name="[stack]")
    t.stack_lo, t.stack_hi = lo, lo + size
    t.teb = tebmod.Builder(t.mem, p.bits, p._alloc).teb(p.peb, lo, lo + size, p.tls_array(), p.pid, t.tid)
    if p.bits == 64:
        t.cpu.set_gs_base(t.teb)
    else:
        t.cpu.set_gdt_entry(7, t.teb, 0xFFF, 0xF2, 0x4)
        t.cpu.load_segment("fs", 0x3B)
    t.thread = sync.ThreadObject(t.tid, suspended)
    t.start_args = (start, arg, void)
    group = p.group
    group.threads[t.tid] = t

    def host_thread():
        t.thread.resumed.wait()
        group.bel.acquire(t)
        try:
            res = t.outcome(p.start_stub)
            if res is not None:
                end_process(t, res)
        finally:
            p.space.remove_cpu(t.cpu)
            if limits is not None:
                limits.thread_ended()
            group.bel.release()

    threading.Thread(target=host_thread, name="guise-guest-thread", daemon=True).start()
    p.cpu.stop()            # back to the run loop, which now runs in time slices
    return t.thread


def loop(t, pc: int):
    """Run thread ``t``'s engine from ``pc`` until a fault (returned) or its end (raised)."""
    group = t.group
    while True:
        if group.result is not None:
            raise ProcessEnding()
        try:
            if t.thread.suspend or t.thread.new_context is not None:
                t.cpu.set_reg(t.cpu.pc_reg, pc)        # where GetThreadContext finds it
                sync.settle(t)
            stop = t.cpu.run(pc, group.slice_limit(t))
        except ThreadExit as e:
            t.exit_code = e.code
            t.pending = []
            sp = t.stack_hi - 0x100 - t.ptr
            t.cpu.set_reg("rsp" if t.bits == 64 else "esp", sp)
            t.mem.put_ptr(sp, 0)
            pc = t.exit_stub
            continue
        except seh.Resume as r:          # a handler continues execution, or an unwind reached its target
            pc = seh.load(t, r.context)
            continue
        except AccessViolation as e:     # a bad pointer handed to an API
            if not seh.from_api_fault(t, e):
                raise
            pc = t.cpu.reg(t.cpu.pc_reg)
            continue
        if stop is not None:
            if seh.from_fault(t, stop):
                pc = t.cpu.reg(t.cpu.pc_reg)
                continue
            return stop
        group.yield_cpu(t)          # end of a time slice, or stopped to let a new thread in
        pc = t.cpu.reg(t.cpu.pc_reg)


def _start(t, *_args):
    """The START stub: the DLLs' DllMain and TLS callbacks, the program's TLS callbacks
    (DLL_THREAD_ATTACH), then the start routine; its result ends the thread."""
    from .process import Call
    yield from modules.notify_threads(t, DLL_THREAD_ATTACH, t.kernel.quiet_dlls)
    base = t.image_base
    if t.info.tls is not None:
        for cb in t.info.tls.callbacks:
            yield Call(base + cb, (base, DLL_THREAD_ATTACH, 0))
    fn, arg, void = t.start_args
    code = yield Call(fn, (arg,))
    raise ThreadExit(0 if void else code)


def _exit(t, *_args):
    """The EXIT stub: FLS callbacks for this thread's values, TLS callbacks, then gone."""
    from .process import Call
    callbacks = t.kernel.fls_callbacks
    for index in sorted(t.fls):
        value, cb = t.fls[index], callbacks.get(index, 0)
        if value and cb:
            yield Call(cb, (value,))
    t.fls = {}
    yield from modules.notify_threads(t, DLL_THREAD_DETACH, t.kernel.quiet_dlls)
    base = t.image_base
    if t.info.tls is not None:
        for cb in t.info.tls.callbacks:
            yield Call(base + cb, (base, DLL_THREAD_DETACH, 0))
    raise ThreadDone(t.exit_code)


def ended(t, code: int):
    """Thread ``t`` is gone: its handles signal, its mutexes are abandoned; the
    process's Result when it was the last thread, else None."""
    t.thread.code, t.thread.done = code, True
    sync.abandon_mutexes(t)
    group = t.group
    group.threads.pop(t.tid, None)
    if t is not group.leader:
        t.space.release(t.stack_lo)
    sync.wake(t)
    if not group.threads:
        from .process import Result
        return Result(exit_status=code & 0xFF)
    return None


def end_process(t, res) -> None:
    """``res`` ends the process: every other thread stops where it is."""
    group = t.group
    if group.result is not None:
        return
    group.result = res
    group.exit_status = res.exit_status
    for other in list(group.threads.values()):
        other.thread.resumed.set()          # a suspended thread starts only to see the end
    sync.wake(t)
    t.kernel.end()
    group.done.set()


def run_main(p, pc: int):
    """The main thread: run it; the process's Result, whichever thread ended it."""
    group = p.group
    res = p.outcome(pc)
    if res is None and group.result is None:
        # the main thread left by ExitThread: the process lives on in its other threads
        group.bel.release()
        group.done.wait()
        group.bel.acquire(p)
    if group.result is None:
        end_process(p, res)
    return group.result


def leave(p) -> None:
    """After the main thread's end: let threads still blocked on the BEL see it and go."""
    if p.group.threads:
        p.group.bel.release()
