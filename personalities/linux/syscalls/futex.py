"""futex(2): wait queues shared by the threads of one process.

Every futex operation runs with the big emulator lock held (threads.py), so
"compare the word, then sleep" is atomic with respect to the other guest
threads, as the kernel makes it.  Waiters sleep on host events with the lock
released.  Process-shared futexes across fork() are treated as private, and
priority-inheritance futexes answer ENOSYS (counted).
"""
from __future__ import annotations

import time as hosttime

from ..abi import s32
from .decl import syscall
from .util import einval

FUTEX_WAIT, FUTEX_WAKE, FUTEX_FD, FUTEX_REQUEUE, FUTEX_CMP_REQUEUE = 0, 1, 2, 3, 4
FUTEX_WAKE_OP, FUTEX_WAIT_BITSET, FUTEX_WAKE_BITSET = 5, 9, 10
FUTEX_PRIVATE, FUTEX_CLOCK_REALTIME = 128, 256
ALL = 0xFFFFFFFF


def _timeout(p, cmd, op, timeout, ts_struct) -> float | None:
    if not timeout:
        return None
    sec, nsec = ts_struct.unpack(p.mem.read(timeout, ts_struct.size))
    if sec < 0 or not 0 <= nsec < 1_000_000_000:
        raise einval()
    ns = sec * 1_000_000_000 + nsec
    if cmd == FUTEX_WAIT_BITSET:              # absolute, on the chosen clock
        clock = hosttime.CLOCK_REALTIME if op & FUTEX_CLOCK_REALTIME else hosttime.CLOCK_MONOTONIC
        ns -= hosttime.clock_gettime_ns(clock)
    return max(ns, 0) / 1e9


def _wake_op(p, uaddr, n, uaddr2, n2, encoded):
    """FUTEX_WAKE_OP: *uaddr2 = op(*uaddr2, oparg); wake uaddr; wake uaddr2 if cmp(old, cmparg)."""
    op, cmp = (encoded >> 28) & 0xF, (encoded >> 24) & 0xF
    oparg, cmparg = (encoded >> 12) & 0xFFF, encoded & 0xFFF
    if op & 8:
        oparg = 1 << oparg
    old = p.mem.u32(uaddr2)
    new = {0: oparg, 1: old + oparg, 2: old | oparg, 3: old & ~oparg, 4: old ^ oparg}.get(op & 7)
    if new is None:
        raise OSError(38, "Function not implemented")
    p.mem.put_u32(uaddr2, new)
    woken = p.group.futex_wake(uaddr, n)
    hit = {0: old == cmparg, 1: old != cmparg, 2: old < cmparg, 3: old <= cmparg,
           4: old > cmparg, 5: old >= cmparg}.get(cmp, False)
    if hit:
        woken += p.group.futex_wake(uaddr2, n2)
    return woken


def _futex(p, uaddr, op, val, timeout, uaddr2, val3, ts_struct):
    cmd = op & ~(FUTEX_PRIVATE | FUTEX_CLOCK_REALTIME)
    val = val & 0xFFFFFFFF
    if cmd in (FUTEX_WAIT, FUTEX_WAIT_BITSET):
        bitset = ALL if cmd == FUTEX_WAIT else val3 & ALL
        if bitset == 0:
            raise einval()
        tmo = _timeout(p, cmd, op, timeout, ts_struct)
        if p.mem.u32(uaddr) != val:
            raise OSError(11, "Resource temporarily unavailable")
        if not p.group.futex_wait(p, uaddr, bitset, tmo):
            raise OSError(110, "Connection timed out")
        return 0
    if cmd in (FUTEX_WAKE, FUTEX_WAKE_BITSET):
        p.mem.u32(uaddr)                      # EFAULT on a bad address, as Linux
        bitset = ALL if cmd == FUTEX_WAKE else val3 & ALL
        if bitset == 0:
            raise einval()
        return p.group.futex_wake(uaddr, min(val, 1 << 31), bitset)
    if cmd in (FUTEX_REQUEUE, FUTEX_CMP_REQUEUE):
        if cmd == FUTEX_CMP_REQUEUE and p.mem.u32(uaddr) != val3 & ALL:
            raise OSError(11, "Resource temporarily unavailable")
        # the timeout argument carries the requeue count
        return p.group.futex_requeue(uaddr, val, uaddr2, timeout & 0x7FFFFFFF)
    if cmd == FUTEX_WAKE_OP:
        return _wake_op(p, uaddr, val, uaddr2, timeout & 0x7FFFFFFF, val3 & ALL)
    p.unimpl[f"futex:{cmd}"] += 1
    raise OSError(38, "Function not implemented")


@syscall("futex", "ptr", "hex", "int", "ptr", "ptr", "int", level="partial",
         note="WAIT/WAKE/BITSET/REQUEUE/CMP_REQUEUE/WAKE_OP between threads; PI futexes ENOSYS")
def sys_futex(p, uaddr, op, val, timeout, uaddr2, val3):
    return _futex(p, uaddr, s32(op), val, timeout, uaddr2, val3, p.abi.timespec)


@syscall("futex_time64", "ptr", "hex", "int", "ptr", "ptr", "int", level="partial",
         note="WAIT/WAKE/BITSET/REQUEUE/CMP_REQUEUE/WAKE_OP between threads; PI futexes ENOSYS")
def sys_futex64(p, uaddr, op, val, timeout, uaddr2, val3):
    return _futex(p, uaddr, s32(op), val, timeout, uaddr2, val3, p.abi.timespec64)
