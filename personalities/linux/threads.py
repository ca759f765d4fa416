"""Guest threads: one host thread and one CPU engine per guest thread, one lock.

Why this model: every guest thread gets its own unicorn engine, all mapping
the same host memory (hw.memory), so a thread that blocks in a system call
(a read on a pipe, futex wait, accept, sleep) simply blocks its own host
thread while the others go on.  Guest code itself runs under one fair lock,
the big emulator lock (BEL): unicorn emulates lock-prefixed instructions
without host atomics, so two engines running at once could break the
guest's mutexes; with the BEL they stay atomic.  The BEL is released around
blocking host calls and handed over in FIFO order.  So that a spinning
thread cannot starve the rest, a multi-threaded process runs guest code in
time slices: a ticker thread preempts the engine holding the BEL every TICK
seconds (Cpu.preempt, which stops it at a block boundary), and the thread
then offers the BEL to waiting threads and takes its pending signals.  A
process with a handler for a timer signal is ticked the same way, so that
its signal reaches a guest that spins without system calls.  (Where a CPU
back end cannot be preempted, slices are INSN_SLICE instructions instead:
exact, but several times slower.)  A single-threaded process never touches
any of this: it runs without slices, and its BEL is taken once and never
released.
"""
from __future__ import annotations

import collections
import os
import signal
import threading
import time

INSN_SLICE = 200_000
TICK = 0.002          # seconds of guest code between preemptions, about a Linux time slice


class Bel:
    """A fair (FIFO) lock: release hands the lock to the longest waiter."""

    def __init__(self):
        self._cv = threading.Condition(threading.Lock())
        self._queue: collections.deque = collections.deque()
        self.owner = None

    def acquire(self, who) -> None:
        with self._cv:
            if self.owner is None and not self._queue:
                self.owner = who
                return
            self._queue.append(who)
            while self.owner is not None or self._queue[0] is not who:
                self._cv.wait()
            self._queue.popleft()
            self.owner = who

    def release(self) -> None:
        with self._cv:
            self.owner = None
            self._cv.notify_all()

    def contended(self) -> bool:
        return bool(self._queue)


class Blocking:
    """Context manager for a blocking host call (a class: cheaper than contextlib).

    ``interruptible``: a signal for the guest raises GuestInterrupt out of the
    call.  Only for waits that lose nothing if abandoned (sleep, poll, select,
    pause); calls that return data (read, wait4, accept, futex) are made through libc,
    where a signal shows up as EINTR instead, so a completed call is never lost.
    """
    __slots__ = ("group", "who", "multi", "interruptible")

    def __init__(self, group, who, interruptible):
        self.group, self.who, self.interruptible = group, who, interruptible

    def __enter__(self):
        who = self.who
        who.blocking = self.interruptible
        if who.sig_flag and who.pending & ~who.sigmask:
            who.blocking = False
            from .signals import GuestInterrupt
            raise GuestInterrupt()
        self.multi = len(self.group.threads) > 1
        if self.multi:
            self.group.bel.release()
        return self

    def __exit__(self, *exc):
        self.who.blocking = False
        if self.multi:
            self.group.bel.acquire(self.who)
        return False


class ThreadGroup:
    """What the threads of one guest process share beyond memory and descriptors."""

    def __init__(self, leader):
        self.bel = Bel()
        self.bel.owner = leader
        self.threads = {leader.tid: leader}
        self.leader = leader
        self.exit_status: int | None = None
        self.result = None                       # set when a non-leader thread ends the process
        self.done = threading.Event()            # all threads gone, or the group exited
        self.sliced = False                      # run in slices even with one thread (timer signals)
        self.finisher = None                     # ends guise from a thread that ended the process
        self.started = time.perf_counter()       # when the process began to run (its wall time)
        self.timers: set = set()                 # host POSIX timer ids the guest created (timer_create)
        self._ticker_pid = 0                     # the process whose ticker thread runs

    def slice_limit(self, who) -> int:
        """The instruction limit for ``who``'s next run: 0 (none) unless the group
        runs in slices and its CPU cannot be preempted by the ticker."""
        if not (self.multi or self.sliced):
            return 0
        if not who.cpu.make_preemptible():
            return INSN_SLICE
        if self._ticker_pid != os.getpid():      # none yet, or inherited through fork
            self._ticker_pid = os.getpid()
            # host signals are the guest's: the ticker is born with all of them blocked,
            # so the kernel never picks it for one (a blocked timer signal must stay
            # pending to count its overruns)
            every = signal.valid_signals()
            was = signal.pthread_sigmask(signal.SIG_BLOCK, every)
            try:
                threading.Thread(target=self._tick, name="guise-ticker", daemon=True).start()
            finally:
                signal.pthread_sigmask(signal.SIG_UNBLOCK, every - was)
        return 0

    def _tick(self) -> None:
        done = self.done
        while not done.wait(TICK):
            owner = self.bel.owner
            if owner is not None:
                owner.cpu.preempt()

    @property
    def multi(self) -> bool:
        return len(self.threads) > 1

    def unlocked(self, who, interruptible: bool = True) -> "Blocking":
        """Around a blocking host call: other guest threads run meanwhile (see Blocking)."""
        return Blocking(self, who, interruptible)

    def yield_cpu(self, who) -> None:
        if self.bel.contended():
            self.bel.release()
            self.bel.acquire(who)

    def after_fork(self, survivor) -> None:
        """In a forked child only the forking thread exists."""
        self.bel = Bel()
        self.bel.owner = survivor
        self.threads = {survivor.tid: survivor}
        self.leader = survivor
        self.done = threading.Event()
        self.timers = set()                      # POSIX timers are not inherited by fork
