"""Syscall dispatch: one list per process, indexed by syscall number.

This is the hot path.  The CPU's trap callback hands over the raw register
values; ``dispatch`` indexes the list, calls the handler with as many
arguments as it declared, and turns OSError / GuestFault into -errno.  Tracing
and statistics wrap the same table only when asked for.

A signal that arrived while the guest was running (guise's host handler runs
when the emulator next executes Python, i.e. at this trap) is delivered before
the system call, which then runs when the handler returns — as on Linux, where
it is delivered on the way back to user mode, before the next system call is
made.  Running the call first would make it fail with EINTR though it never
had to wait (a write to a pipe, say).
"""
from __future__ import annotations

import errno as E
import functools

from personalities.guestmem import GuestFault
from .signals import GuestInterrupt, deliver_at_trap, deliver_before
from .syscalls import decl
from . import syscalls  # noqa: F401  (registers the handlers)


@functools.cache
def build_table(abi) -> tuple[list, list]:
    """(entries, decls) lists indexed by number; entries are (fn, nargs) or None.
    Built once per ABI in an emulator process and shared by every image it runs
    (an execve would otherwise rebuild it: about 0.2 ms of each fork+exec), so
    callers never change the lists; the jail's wrappers go in a copy."""
    size = max(abi.numbers.values()) + 1
    entries: list = [None] * size
    decls: list = [None] * size
    for name, nr in abi.numbers.items():
        d = decl.lookup(name, abi.name)
        if d is not None:
            entries[nr] = (d.fn, len(d.args))
            decls[nr] = d
    return entries, decls


def make_dispatch(proc, entries: list, counts: list):
    """The function the CPU calls at every syscall trap."""
    unimplemented = proc.unimplemented
    EFAULT = E.EFAULT

    def dispatch(nr, *args):
        try:
            fn, n = entries[nr]
        except (IndexError, TypeError):
            return unimplemented(nr)
        if proc.sig_flag and proc.pending & ~proc.sigmask:
            return deliver_before(proc)
        counts[nr] += 1
        restart = None
        try:
            ret = fn(proc, *args[:n])
        except OSError as exc:
            ret = -(exc.errno or E.EIO)
            if exc.errno == E.EINTR:
                restart = nr
        except GuestFault:
            ret = -EFAULT
        except GuestInterrupt:
            ret, restart = -E.EINTR, nr
        if proc.sig_flag and ret is not None:
            return deliver_at_trap(proc, ret, restart)
        return ret
    return dispatch


def make_traced_dispatch(proc, entries: list, decls: list, counts: list, tracer):
    """Like make_dispatch, but every call is reported to ``tracer`` (the slow path)."""
    unimplemented = proc.unimplemented

    def dispatch(nr, *args):
        try:
            fn, n = entries[nr]
        except (IndexError, TypeError):
            ret = unimplemented(nr)
            tracer.unimplemented(proc, nr, args, ret)
            return ret
        if proc.sig_flag and proc.pending & ~proc.sigmask:
            return deliver_before(proc)
        counts[nr] += 1
        d = decls[nr]
        call = tracer.enter(proc, d, args[:n])
        restart = None
        try:
            ret = fn(proc, *args[:n])
        except OSError as exc:
            ret = -(exc.errno or E.EIO)
            if exc.errno == E.EINTR:
                restart = nr
        except GuestFault:
            ret = -E.EFAULT
        except GuestInterrupt:
            ret, restart = -E.EINTR, nr
        tracer.leave(proc, d, call, ret)
        if proc.sig_flag and ret is not None:
            return deliver_at_trap(proc, ret, restart)
        return ret
    return dispatch
