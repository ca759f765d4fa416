"""Clocks, sleeping, interval timers and POSIX timers."""
from __future__ import annotations

import ctypes
import struct
import time as hosttime

from personalities.guestmem import GuestFault
from ..abi import s32
from .. import hostcall, signals as sigs
from .decl import syscall
from .util import einval

CLOCKS = {0: hosttime.CLOCK_REALTIME, 1: hosttime.CLOCK_MONOTONIC,
          2: hosttime.CLOCK_PROCESS_CPUTIME_ID, 3: hosttime.CLOCK_THREAD_CPUTIME_ID,
          4: hosttime.CLOCK_MONOTONIC_RAW, 5: 5, 6: 6, 7: hosttime.CLOCK_BOOTTIME,
          11: hosttime.CLOCK_TAI}


def _clock(clk):
    clk = s32(clk)
    if clk not in CLOCKS:
        raise einval()
    return CLOCKS[clk]


def _put_ts(p, addr, ns, st):
    p.mem.write(addr, st.pack(ns // 1_000_000_000, ns % 1_000_000_000))


@syscall("clock_gettime", "clock", "ptr")
def sys_clock_gettime(p, clk, tp):
    _put_ts(p, tp, hosttime.clock_gettime_ns(_clock(clk)), p.abi.timespec)
    return 0


@syscall("clock_gettime64", "clock", "ptr")
def sys_clock_gettime64(p, clk, tp):
    _put_ts(p, tp, hosttime.clock_gettime_ns(_clock(clk)), p.abi.timespec64)
    return 0


def _getres(p, clk, tp, st):
    c = _clock(clk)
    if tp:
        res = hosttime.clock_getres(c)
        _put_ts(p, tp, int(round(res * 1e9)), st)
    return 0


@syscall("clock_getres", "clock", "ptr")
def sys_clock_getres(p, clk, tp):
    return _getres(p, clk, tp, p.abi.timespec)


@syscall("clock_getres_time64", "clock", "ptr")
def sys_clock_getres64(p, clk, tp):
    return _getres(p, clk, tp, p.abi.timespec64)


@syscall("gettimeofday", "ptr", "ptr")
def sys_gettimeofday(p, tv, tz):
    if tv:
        ns = hosttime.time_ns()
        p.mem.write(tv, p.abi.timeval.pack(ns // 1_000_000_000, ns % 1_000_000_000 // 1000))
    if tz:
        p.mem.write(tz, bytes(8))
    return 0


@syscall("time", "ptr")
def sys_time(p, tloc):
    now = int(hosttime.time())
    if tloc:
        p.mem.write(tloc, p.abi.long.pack(now))
    return now


def _read_ts(p, addr, st) -> int:
    sec, nsec = st.unpack(p.mem.read(addr, st.size))
    if sec < 0 or not 0 <= nsec < 1_000_000_000:
        raise einval()
    return sec * 1_000_000_000 + nsec


def _sleep(ns: int) -> None:
    hosttime.sleep(ns / 1e9)


@syscall("nanosleep", "ptr", "ptr")
def sys_nanosleep(p, req, rem):
    ns = _read_ts(p, req, p.abi.timespec)
    with p.group.unlocked(p):
        _sleep(ns)
    return 0


def _clock_nanosleep(p, clk, flags, req, st):
    c = _clock(clk)
    ns = _read_ts(p, req, st)
    if flags & 1:                                   # TIMER_ABSTIME
        ns -= hosttime.clock_gettime_ns(c)
    if ns > 0:
        with p.group.unlocked(p):
            _sleep(ns)
    return 0


@syscall("clock_nanosleep", "clock", "hex", "ptr", "ptr")
def sys_clock_nanosleep(p, clk, flags, req, rem):
    return _clock_nanosleep(p, clk, flags, req, p.abi.timespec)


@syscall("clock_nanosleep_time64", "clock", "hex", "ptr", "ptr")
def sys_clock_nanosleep64(p, clk, flags, req, rem):
    return _clock_nanosleep(p, clk, flags, req, p.abi.timespec64)


@syscall("times", "ptr")
def sys_times(p, buf):
    t = __import__("os").times()
    ticks = [int(x * 100) for x in (t.user, t.system, t.children_user, t.children_system)]
    if buf:
        p.mem.write(buf, b"".join(p.abi.long.pack(v) for v in ticks))
    return int(t.elapsed * 100) & p.abi.mask


# -- interval timers: the host's own, so their signals reach the emulator process ----------
ITIMERS = {0: __import__("signal").ITIMER_REAL, 1: __import__("signal").ITIMER_VIRTUAL,
           2: __import__("signal").ITIMER_PROF}


@syscall("alarm", "uint")
def sys_alarm(p, seconds):
    import signal
    return signal.alarm(seconds & 0xFFFFFFFF)


def _itimerval(p, value: float, interval: float) -> bytes:
    tv = p.abi.timeval

    def pack(x):
        return tv.pack(int(x), int(round((x - int(x)) * 1e6)))
    return pack(interval) + pack(value)


@syscall("setitimer", "int", "ptr", "ptr", level="partial",
         note="ITIMER_VIRTUAL/PROF count the emulator's CPU time, not the guest's")
def sys_setitimer(p, which, new, old):
    import signal
    which = s32(which)
    if which not in ITIMERS:
        raise einval()
    tv = p.abi.timeval
    isec, iusec, vsec, vusec = tv.unpack(p.mem.read(new, tv.size)) + \
        tv.unpack(p.mem.read(new + tv.size, tv.size)) if new else (0, 0, 0, 0)
    if any(x < 0 for x in (isec, iusec, vsec, vusec)) or iusec >= 10**6 or vusec >= 10**6:
        raise einval()
    value, interval = signal.setitimer(ITIMERS[which], vsec + vusec / 1e6, isec + iusec / 1e6)
    if old:
        p.mem.write(old, _itimerval(p, value, interval))
    return 0


@syscall("getitimer", "int", "ptr")
def sys_getitimer(p, which, cur):
    import signal
    which = s32(which)
    if which not in ITIMERS:
        raise einval()
    value, interval = signal.getitimer(ITIMERS[which])
    p.mem.write(cur, _itimerval(p, value, interval))
    return 0


# -- POSIX timers: the host kernel's own (see sys_timer_create for why) ----------------------
NR_TIMER_CREATE, NR_TIMER_SETTIME, NR_TIMER_GETTIME, NR_TIMER_GETOVERRUN, NR_TIMER_DELETE = \
    222, 223, 224, 225, 226
SIGEV_NONE = 1
SIGEVENT = {64: struct.Struct("<Qiii"), 32: struct.Struct("<Iiii")}   # value, signo, notify, tid


@syscall("timer_create", "clock", "ptr", "ptr", level="partial",
         note="CPU-time clocks count the emulator's CPU time, not the guest's")
def sys_timer_create(p, clk, sevp, idp):
    """The host kernel's timer_create with the guest's sigevent.

    Why the host's: a guest signal is a host signal of the emulator process and a
    guest thread is a host thread, so the host timer sends exactly the signal the
    guest expects — its signal, with si_code SI_TIMER, the timer id, the overrun
    count and its sigev_value — to a handler (guise copies the siginfo from the
    host, see personalities/linux/signals.py), to sigwaitinfo or to a signalfd, and
    SIGEV_THREAD_ID to the guest thread named.  The kernel keeps the time, re-arms
    and counts overruns; the ids it hands out are the guest's (the emulator itself
    creates no POSIX timers, so they even match a native run's).  SIGEV_THREAD is
    the libc's: glibc and musl build it on SIGEV_THREAD_ID and signal 32.  execve
    deletes the process's timers (``delete_timers``); fork does not copy them (the
    host's fork)."""
    ev, notify = None, 0
    if sevp:
        st = SIGEVENT[p.abi.bits]
        value, signo, notify, tid = st.unpack(p.mem.read(sevp, st.size))
        ev = ctypes.create_string_buffer(struct.pack("<Qiii", value, signo, notify, tid), 64)
    out = ctypes.c_int()
    hostcall.syscall(NR_TIMER_CREATE, s32(clk), ctypes.addressof(ev) if ev is not None else 0,
                     ctypes.addressof(out))
    tid = out.value
    try:
        p.mem.put_u32(idp, tid)
    except GuestFault:
        hostcall.syscall(NR_TIMER_DELETE, tid)       # as Linux: no id written, no timer
        raise
    p.group.timers.add(tid)
    if notify != SIGEV_NONE:
        sigs.run_sliced(p)          # its signal must reach a guest that spins without syscalls
    return 0


def _itimerspec_in(p, addr, ts) -> ctypes.Array:
    a, b, c, d = struct.unpack(f"<{ts.format[1:] * 2}", p.mem.read(addr, 2 * ts.size))
    return (ctypes.c_long * 4)(a, b, c, d)


def _itimerspec_out(p, addr, spec, ts) -> None:
    p.mem.write(addr, struct.pack(f"<{ts.format[1:] * 2}", *[_fit(v, ts) for v in spec]))


def _fit(v: int, ts) -> int:
    """A time32 field gets the low 32 bits, as Linux's put_old_itimerspec32."""
    if ts.size == 8:
        v &= 0xFFFFFFFF
        return v - (1 << 32) if v & 0x80000000 else v
    return v


def _timer_settime(p, tid, flags, new, old, ts):
    spec = _itimerspec_in(p, new, ts)
    prev = (ctypes.c_long * 4)()
    hostcall.syscall(NR_TIMER_SETTIME, s32(tid), s32(flags), ctypes.addressof(spec),
                     ctypes.addressof(prev) if old else 0)
    if old:
        _itimerspec_out(p, old, prev, ts)
    return 0


def _timer_gettime(p, tid, cur, ts):
    spec = (ctypes.c_long * 4)()
    hostcall.syscall(NR_TIMER_GETTIME, s32(tid), ctypes.addressof(spec))
    _itimerspec_out(p, cur, spec, ts)
    return 0


@syscall("timer_settime", "int", "hex", "ptr", "ptr")
def sys_timer_settime(p, tid, flags, new, old):
    """The host's, on the guest's itimerspec (time32 on i386: the old value is cut to 32 bits as Linux does)."""
    return _timer_settime(p, tid, flags, new, old, p.abi.timespec)


@syscall("timer_settime64", "int", "hex", "ptr", "ptr")
def sys_timer_settime64(p, tid, flags, new, old):
    return _timer_settime(p, tid, flags, new, old, p.abi.timespec64)


@syscall("timer_gettime", "int", "ptr")
def sys_timer_gettime(p, tid, cur):
    return _timer_gettime(p, tid, cur, p.abi.timespec)


@syscall("timer_gettime64", "int", "ptr")
def sys_timer_gettime64(p, tid, cur):
    return _timer_gettime(p, tid, cur, p.abi.timespec64)


@syscall("timer_getoverrun", "int")
def sys_timer_getoverrun(p, tid):
    """The host's count for the last signal the guest took (guise takes each from the kernel once)."""
    return hostcall.syscall(NR_TIMER_GETOVERRUN, s32(tid))


@syscall("timer_delete", "int")
def sys_timer_delete(p, tid):
    """The host's; the id leaves the set that execve deletes."""
    hostcall.syscall(NR_TIMER_DELETE, s32(tid))
    p.group.timers.discard(s32(tid))
    return 0


def delete_timers(p) -> None:
    """execve: the process's POSIX timers go away (the emulator itself stays)."""
    for tid in list(p.group.timers):
        try:
            hostcall.syscall(NR_TIMER_DELETE, tid)
        except OSError:
            pass
    p.group.timers.clear()
