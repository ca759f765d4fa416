"""The process that watches a jail from outside it.

``supervise`` forks: the child becomes the jail's first guest process, the
parent stays behind as its supervisor.  The supervisor is a child subreaper
(PR_SET_CHILD_SUBREAPER), so every process the jail starts stays its
descendant even when orphaned — the jail's processes are exactly the
supervisor's descendants.  That gives three things a process inside the jail
cannot give itself:

- limits that no single process sees: wall time, CPU time of all the jail's
  processes, and the end of the jail after a limit was hit (limits.py);
- a clean end: when the first process exits, or a limit ends the jail, every
  process left in it is killed (as when a PID namespace's init dies), so no
  guest process outlives the run;
- the jail's host-side resources (temporary layers, the audit file) are
  released even when the guest dies by a signal that skips all clean-up.

Signals sent to the supervisor with kill() (SIGTERM from timeout(1), SIGHUP)
are passed on to the first guest process; those a terminal sends to its whole
foreground process group already reach the guest and are not sent twice.
Guests cannot signal the supervisor (Jail.signal_targets).
"""
from __future__ import annotations

import ctypes
import dataclasses
import gc
import os
import signal
import time
from typing import Callable, Optional

from .limits import KINDS, describe, jail_cpu_seconds

PR_SET_CHILD_SUBREAPER, PR_SET_PDEATHSIG = 36, 1
SI_KERNEL = 0x80
POLL = 0.2                   # seconds between looks at the jail's CPU time and limit marks
FORWARDED = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGQUIT)
WATCHED = {signal.SIGCHLD, signal.SIGUSR1, *FORWARDED}


@dataclasses.dataclass
class Outcome:
    status: Optional[int] = None      # exit status, when the jail's first process exited
    signal: Optional[int] = None      # the signal it died by
    limit: Optional[str] = None       # the limit that ended (or was hit by) the jail
    message: str = ""                 # one line about a limit, for the user


def supervise(jail, guest: Callable[[], None]) -> Outcome:
    """Run ``guest()`` as the jail's first process (it must end with os._exit or a
    signal, never return) and watch the jail until it is over."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    me = os.getpid()
    jail.supervisor = me
    limits = jail.limits
    if limits is not None:
        limits.supervisor = me
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, WATCHED)
    started = time.monotonic()
    gc.freeze()              # the guest's collections skip the supervisor's objects: fewer copied pages
    child = os.fork()
    if child == 0:
        try:
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            if os.getppid() != me:                     # the supervisor is already gone
                os._exit(137)
            if limits is not None:
                limits.child_started(limits.slot, os.getpid(), in_child=True)
            signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
            guest()
        finally:
            os._exit(125)
    try:
        return _watch(jail, child, started)
    finally:
        _end_all(jail, me)
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)


def _watch(jail, child: int, started: float) -> Outcome:
    limits = jail.limits
    values = limits.values if limits is not None else {}
    out = Outcome()
    deadline = started + values["time"] if "time" in values else None
    while True:
        main = _reap(child)
        if main is not None:
            out.status, out.signal = main
            break
        now = time.monotonic()
        reason = limits.ended_by(now) if limits is not None else None
        if reason is None and deadline is not None and now >= deadline:
            reason = "time"
        if reason is None and "cpu" in values and _cpu(jail) >= values["cpu"]:
            reason = "cpu"
        if reason is not None:
            out.limit = reason
            break
        wait = POLL if limits is not None else None
        if deadline is not None:
            wait = max(0.0, min(wait if wait is not None else deadline - now, deadline - now))
        info = signal.sigtimedwait(WATCHED, wait) if wait is not None else signal.sigwaitinfo(WATCHED)
        if info is not None and info.si_signo in FORWARDED and info.si_code != SI_KERNEL:
            try:
                os.kill(child, info.si_signo)
            except ProcessLookupError:
                pass
    if out.limit is None and limits is not None:
        out.limit = limits.ended_by() or limits.first_refusal()
    if out.limit is not None:
        kind = KINDS[out.limit]
        out.status, out.signal = kind.status, None
        out.message = f"the jail reached its {out.limit} limit ({describe(out.limit, values[out.limit])}): " \
                      f"{kind.what}; ended"
    return out


def _reap(child: int) -> Optional[tuple]:
    """Collect every exited child (orphans of the jail come to the supervisor);
    (status, signal) of the first guest process once it has ended."""
    result = None
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG | os.WUNTRACED)
        except ChildProcessError:
            return result
        if pid == 0:
            return result
        if pid == child and os.WIFSTOPPED(status):
            _stop_with(child)
        elif pid == child:
            result = (os.WEXITSTATUS(status), None) if os.WIFEXITED(status) else (None, os.WTERMSIG(status))


def _stop_with(child: int) -> None:
    """The guest stopped (Ctrl-Z): stop too, so the user's shell sees the job stop,
    and continue it when we are continued."""
    os.kill(os.getpid(), signal.SIGSTOP)
    try:
        os.kill(child, signal.SIGCONT)
    except ProcessLookupError:
        pass


def _cpu(jail) -> float:
    """CPU seconds used by the jail: its live processes (with the children they
    reaped) and the processes the supervisor reaped."""
    me = os.getpid()
    t = os.times()
    return jail_cpu_seconds(q for q in jail.fs.pids() if q != me) + t.children_user + t.children_system


def _end_all(jail, me: int) -> None:
    """Kill every process left in the jail and collect them; repeat until none is
    left (a process may fork between the look and the kill).  A supervisor with
    no children has no descendants left (orphans come to it), so nothing to look for."""
    try:
        os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return
    for _ in range(1000):
        left = [q for q in jail.fs.pids() if q != me]
        if not left:
            break
        for q in left:
            try:
                os.kill(q, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.005)
        _reap(-1)
    _reap(-1)
