"""Clocks and sleeping."""
from __future__ import annotations

import time as hosttime

from ..abi import s32
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
