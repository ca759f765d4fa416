"""Kernel dispatcher objects (events, mutexes, semaphores, threads) and the one way
a Windows guest thread blocks.

Guest threads follow the Linux personality's model (personalities/linux/threads.py):
an API implementation runs while its thread holds the big emulator lock (BEL), so
reading and changing the state kept here is atomic with respect to every other
guest thread without a lock of its own.  A wait that cannot be satisfied takes the
process's kernel condition, lets go of the BEL, sleeps on the condition (its host
thread blocks: no busy-wait), and takes the BEL back before it looks again.  Every
change that can satisfy a waiter notifies the condition while holding the BEL; the
waiter took the condition before it let go of the BEL, so no wake-up is lost.
"""
from __future__ import annotations

import os
import select
import threading
import time
import weakref

INFINITE = 0xFFFFFFFF
STILL_ACTIVE = 259


class ProcessEnding(Exception):
    """Another thread ended the process: this one stops wherever it is."""


class Kernel:
    """What the threads of one process share for synchronisation (and its vectored
    exception handlers)."""

    def __init__(self):
        self.cond = threading.Condition(threading.Lock())
        self.names: dict[str, object] = {}     # named events, mutexes, semaphores
        self.mutexes: weakref.WeakSet = weakref.WeakSet()
        self.locks: dict = {}                   # CRITICAL_SECTION / CRT lock key -> CsState
        self.srw: dict[int, list] = {}          # SRWLOCK address -> [exclusive owner tid, shared count]
        self.cvs: dict[int, list] = {}          # CONDITION_VARIABLE address -> waiter tickets
        self.fls_callbacks: dict[int, int] = {}  # allocated FLS index -> callback (0: none)
        self.tls_used: set[int] = set()
        self.quiet_dlls: set[int] = set()       # DisableThreadLibraryCalls: module bases
        self.vectored: dict[int, int] = {}      # AddVectoredExceptionHandler: key -> handler, in call order
        self.veh_next = 0
        self.ending: tuple[int, int] | None = None   # a pipe written once when the process ends

    def end(self) -> None:
        """The process ends: host reads blocked in read_host give up."""
        if self.ending is not None:
            os.write(self.ending[1], b"x")


def deadline(ms: int) -> float | None:
    return None if ms == INFINITE else time.monotonic() + ms / 1000


def _sleep(t, until: float | None) -> None:
    group, cond = t.group, t.kernel.cond
    with cond:
        group.bel.release()
        cond.wait(None if until is None else max(0.0, until - time.monotonic()))
    group.bel.acquire(t)
    if group.result is not None:
        raise ProcessEnding()


def block(t, until: float | None) -> None:
    """Sleep until some other thread changes synchronisation state, or ``until``."""
    _sleep(t, until)
    settle(t)


def settle(t) -> None:
    """Call after taking the BEL back, before guest code runs: a thread suspended
    meanwhile (SuspendThread) waits here until its suspend count is 0 again, and a
    context SetThreadContext gave it is where it then goes on (seh.Resume)."""
    th = t.thread
    while th.suspend:
        _sleep(t, None)
    if th.new_context is not None:
        from .seh import Resume
        ctx, th.new_context = th.new_context, None
        raise Resume(ctx)


def read_host(t, fd: int, n: int) -> bytes:
    """os.read of a host descriptor that may block (a pipe, the terminal): other guest
    threads run meanwhile, and the read is abandoned (ProcessEnding) when another
    thread ends the process, which a thread blocked in read(2) would never see."""
    group = t.group
    if not group.multi:              # nobody else could run, or end the process
        return os.read(fd, n)
    k = t.kernel
    if k.ending is None:
        k.ending = os.pipe()
        if group.result is not None:
            k.end()
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    poller.register(k.ending[0], select.POLLIN)
    with group.unlocked(t, interruptible=False):
        ready = [f for f, _ in poller.poll()]
        data = os.read(fd, n) if fd in ready and k.ending[0] not in ready else None
    if data is None or group.result is not None:
        raise ProcessEnding()
    settle(t)
    return data


def wake(t) -> None:
    """Something a waiter may be waiting for happened (call with the BEL held)."""
    cond = t.kernel.cond
    with cond:
        cond.notify_all()


def wait_until(t, ready, ms: int) -> bool:
    """Block until ``ready()`` holds (True) or ``ms`` milliseconds pass (False)."""
    until = deadline(ms)
    while not ready():
        if until is not None and time.monotonic() >= until:
            return False
        block(t, until)
    return True


class Waitable:
    """A dispatcher object: ``ready`` says whether thread ``tid`` may take it now,
    ``take`` takes it (True when that took an abandoned mutex)."""

    def ready(self, tid: int) -> bool:
        raise NotImplementedError

    def take(self, tid: int) -> bool:
        return False


class Event(Waitable):
    def __init__(self, manual: bool, signaled: bool):
        self.manual, self.signaled = manual, signaled

    def ready(self, tid):
        return self.signaled

    def take(self, tid):
        if not self.manual:
            self.signaled = False
        return False


class Semaphore(Waitable):
    def __init__(self, count: int, maximum: int):
        self.count, self.maximum = count, maximum

    def ready(self, tid):
        return self.count > 0

    def take(self, tid):
        self.count -= 1
        return False


class Mutex(Waitable):
    """Recursive, owned by a thread; a thread that ends owning it abandons it."""

    def __init__(self):
        self.owner, self.count, self.abandoned = 0, 0, False

    def ready(self, tid):
        return self.owner in (0, tid)

    def take(self, tid):
        self.owner = tid
        self.count += 1
        was, self.abandoned = self.abandoned, False
        return was


class ThreadObject(Waitable):
    """A thread as its handles see it: signalled when it has ended."""

    def __init__(self, tid: int, suspended: bool = False):
        self.tid = tid
        self.code = STILL_ACTIVE
        self.done = False
        self.suspend = 1 if suspended else 0
        self.new_context: dict | None = None   # SetThreadContext's, taken when it runs again
        self.resumed = threading.Event()       # the host thread starts guest code once set
        if not suspended:
            self.resumed.set()

    def ready(self, tid):
        return self.done


class Signaled(Waitable):
    """A handle that is not a dispatcher object but may be waited on (a file): always signalled."""

    def ready(self, tid):
        return True


def abandon_mutexes(t) -> None:
    """``t`` ends: the mutexes it still owns become free and abandoned."""
    for m in list(t.kernel.mutexes):
        if m.owner == t.tid:
            m.owner, m.count, m.abandoned = 0, 0, True


class CsState:
    """A critical section (or a CRT lock): owner thread, recursion, threads waiting."""
    __slots__ = ("owner", "count", "waiters")

    def __init__(self):
        self.owner = self.count = self.waiters = 0


def enter(t, key) -> None:
    st = t.kernel.locks.get(key)
    if st is None:
        st = t.kernel.locks[key] = CsState()
    if st.owner != t.tid and st.owner:
        st.waiters += 1
        try:
            wait_until(t, lambda: not st.owner, INFINITE)
        finally:
            st.waiters -= 1
    st.owner = t.tid
    st.count += 1


def try_enter(t, key) -> bool:
    st = t.kernel.locks.get(key)
    if st is None:
        st = t.kernel.locks[key] = CsState()
    if st.owner and st.owner != t.tid:
        return False
    st.owner = t.tid
    st.count += 1
    return True


def leave(t, key, times: int = 1) -> int:
    """Leave ``times`` levels (0: all); the levels left, to re-enter later."""
    st = t.kernel.locks.get(key)
    if st is None or st.owner != t.tid:
        return 0
    n = st.count if times == 0 else min(times, st.count)
    st.count -= n
    if st.count == 0:
        st.owner = 0
        if st.waiters:
            wake(t)
    return n
