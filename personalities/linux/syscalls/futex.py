"""futex(2) for a single-threaded guest.

With one thread there are never waiters: WAKE wakes nobody, WAIT returns
EAGAIN when the word changed and otherwise sleeps until its timeout (or for
ever, as Linux would).  The threads issue replaces this with real wait queues.
"""
from __future__ import annotations

import signal
import time as hosttime

from ..abi import s32
from .decl import syscall

FUTEX_WAIT, FUTEX_WAKE, FUTEX_REQUEUE, FUTEX_CMP_REQUEUE = 0, 1, 3, 4
FUTEX_WAKE_OP, FUTEX_WAIT_BITSET, FUTEX_WAKE_BITSET = 5, 9, 10
FUTEX_PRIVATE, FUTEX_CLOCK_REALTIME = 128, 256


def _futex(p, uaddr, op, val, timeout, ts_struct):
    cmd = op & ~(FUTEX_PRIVATE | FUTEX_CLOCK_REALTIME)
    if cmd in (FUTEX_WAKE, FUTEX_WAKE_BITSET, FUTEX_REQUEUE, FUTEX_CMP_REQUEUE, FUTEX_WAKE_OP):
        p.mem.u32(uaddr)                      # EFAULT on a bad address, as Linux
        return 0
    if cmd in (FUTEX_WAIT, FUTEX_WAIT_BITSET):
        if p.mem.u32(uaddr) != val & 0xFFFFFFFF:
            raise OSError(11, "Resource temporarily unavailable")
        if timeout:
            sec, nsec = ts_struct.unpack(p.mem.read(timeout, ts_struct.size))
            ns = sec * 1_000_000_000 + nsec
            if cmd == FUTEX_WAIT_BITSET:      # absolute timeout
                clock = hosttime.CLOCK_REALTIME if op & FUTEX_CLOCK_REALTIME else hosttime.CLOCK_MONOTONIC
                ns -= hosttime.clock_gettime_ns(clock)
            if ns > 0:
                hosttime.sleep(ns / 1e9)
            raise OSError(110, "Connection timed out")
        while True:                           # nobody can ever wake us
            signal.pause()
    p.unimpl[f"futex:{cmd}"] += 1
    raise OSError(38, "Function not implemented")


@syscall("futex", "ptr", "hex", "int", "ptr", "ptr", "int", level="partial",
         note="single-threaded: WAKE/WAIT/BITSET/REQUEUE; PI futexes ENOSYS")
def sys_futex(p, uaddr, op, val, timeout, uaddr2, val3):
    return _futex(p, uaddr, s32(op), val, timeout, p.abi.timespec)


@syscall("futex_time64", "ptr", "hex", "int", "ptr", "ptr", "int", level="partial",
         note="single-threaded: WAKE/WAIT/BITSET/REQUEUE; PI futexes ENOSYS")
def sys_futex64(p, uaddr, op, val, timeout, uaddr2, val3):
    return _futex(p, uaddr, s32(op), val, timeout, p.abi.timespec64)
