"""futex(2): the host kernel's own futexes, on the host memory behind guest RAM.

Guest pages are host pages (hw.memory), so a guest futex word has a host
address, and the host kernel can do the compare-and-sleep atomically, wake
waiters in other emulator threads (guest threads) and — for process-shared
futexes in MAP_SHARED memory — in other emulator processes.  The operation
code passes through unchanged (FUTEX_PRIVATE_FLAG and FUTEX_CLOCK_REALTIME
mean the same to the host); only addresses and timeouts are translated.
The big emulator lock is released while a waiter sleeps.
"""
from __future__ import annotations

from hw.cpu import PROT_READ
from ..abi import s32
from .. import hostcall
from .decl import syscall
from .util import einval

FUTEX_WAIT, FUTEX_WAKE, FUTEX_FD, FUTEX_REQUEUE, FUTEX_CMP_REQUEUE = 0, 1, 2, 3, 4
FUTEX_WAKE_OP, FUTEX_LOCK_PI, FUTEX_UNLOCK_PI, FUTEX_TRYLOCK_PI = 5, 6, 7, 8
FUTEX_WAIT_BITSET, FUTEX_WAKE_BITSET = 9, 10
FUTEX_WAIT_REQUEUE_PI, FUTEX_CMP_REQUEUE_PI, FUTEX_LOCK_PI2 = 11, 12, 13
FUTEX_PRIVATE, FUTEX_CLOCK_REALTIME = 128, 256
WAITS = (FUTEX_WAIT, FUTEX_WAIT_BITSET)
SUPPORTED = WAITS + (FUTEX_WAKE, FUTEX_WAKE_BITSET, FUTEX_REQUEUE, FUTEX_CMP_REQUEUE, FUTEX_WAKE_OP)


def host_word(p, uaddr: int) -> int:
    """Host address of a 4-byte aligned guest futex word, or EFAULT/EINVAL."""
    if uaddr & 3:
        raise einval()
    host = p.mm.host_range(uaddr, 4, PROT_READ)
    if host is None:
        raise OSError(14, "Bad address")
    return host


def _futex(p, uaddr, op, val, timeout, uaddr2, val3, ts_struct):
    cmd = op & ~(FUTEX_PRIVATE | FUTEX_CLOCK_REALTIME)
    if cmd not in SUPPORTED:
        p.unimpl[f"futex:{cmd}"] += 1
        raise OSError(38, "Function not implemented")
    host = host_word(p, uaddr)
    if cmd in WAITS:
        tmo = None
        if timeout:
            sec, nsec = ts_struct.unpack(p.mem.read(timeout, ts_struct.size))
            if sec < 0 or not 0 <= nsec < 1_000_000_000:
                raise einval()
            tmo = sec * 1_000_000_000 + nsec
        with p.group.unlocked(p, interruptible=False):
            return hostcall.futex(host, op, val, tmo, 0, val3)
    host2 = host_word(p, uaddr2) if cmd in (FUTEX_REQUEUE, FUTEX_CMP_REQUEUE, FUTEX_WAKE_OP) else 0
    return hostcall.futex(host, op, val, None, host2, val3, count2=timeout & 0x7FFFFFFF)


@syscall("futex", "ptr", "hex", "int", "ptr", "ptr", "int", level="partial",
         note="the host's futexes (threads and process-shared); PI futexes ENOSYS")
def sys_futex(p, uaddr, op, val, timeout, uaddr2, val3):
    return _futex(p, uaddr, s32(op), val, timeout, uaddr2, val3, p.abi.timespec)


@syscall("futex_time64", "ptr", "hex", "int", "ptr", "ptr", "int", level="partial",
         note="the host's futexes (threads and process-shared); PI futexes ENOSYS")
def sys_futex64(p, uaddr, op, val, timeout, uaddr2, val3):
    return _futex(p, uaddr, s32(op), val, timeout, uaddr2, val3, p.abi.timespec64)
