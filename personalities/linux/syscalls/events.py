"""Event descriptors: epoll, eventfd, timerfd, signalfd — host objects behind guest fds.

epoll registers the *host* descriptor with the host's epoll and remembers the
guest's 64-bit cookie for it, so epoll_wait hands back exactly what the guest
registered.  struct epoll_event is packed (12 bytes) on both x86 ABIs.

signalfd is the host kernel's own signalfd with the guest's mask.  Why that is
exact: a guest signal is a host signal of the emulator process, and a signal
the guest has blocked waits in the host kernel — guise mirrors the guest's mask
onto the host thread and moves the signals it had already taken in back to the
kernel when the guest blocks them (see personalities/linux/signals.py) — so
neither guise's host handlers nor its own bookkeeping take a signal away from
the signalfd.  Readiness for poll/select/epoll, read(2) returning 128-byte
``struct signalfd_siginfo`` records (the same layout on i386 and x86-64),
EAGAIN with SFD_NONBLOCK, and the reader seeing its own thread's and its
process's signals are then the kernel's.
"""
from __future__ import annotations

import ctypes
import os
import struct

from ..abi import s32
from .. import hostcall
from .decl import syscall
from .util import einval

_libc = ctypes.CDLL(None, use_errno=True)
EVENT = struct.Struct("<IQ")
O_CLOEXEC, O_NONBLOCK = 0o2000000, 0o4000
EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD = 1, 2, 3
MAX_EVENTS = 1 << 16


def _call(fn, *args) -> int:
    r = fn(*args)
    if r < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return r


def _cookies(p, host_epfd: int) -> dict:
    return p.fds.state.setdefault(host_epfd, {})


def _epoll_create(p, flags):
    if flags & ~O_CLOEXEC:
        raise einval()
    h = _call(_libc.epoll_create1, O_CLOEXEC)
    p.fds.state[h] = {}
    return p.fds.add(h, cloexec=bool(flags & O_CLOEXEC))


@syscall("epoll_create1", "hex")
def sys_epoll_create1(p, flags):
    return _epoll_create(p, s32(flags))


@syscall("epoll_create", "int")
def sys_epoll_create(p, size):
    if s32(size) <= 0:
        raise einval()
    return _epoll_create(p, 0)


@syscall("epoll_ctl", "fd", "int", "fd", "ptr")
def sys_epoll_ctl(p, epfd, op, fd, event):
    hep, hfd, op = p.fds.get(s32(epfd)), p.fds.get(s32(fd)), s32(op)
    cookies = _cookies(p, hep)
    if op == EPOLL_CTL_DEL:
        _call(_libc.epoll_ctl, hep, op, hfd, None)
        cookies.pop(hfd, None)
        return 0
    if op not in (EPOLL_CTL_ADD, EPOLL_CTL_MOD):
        raise einval()
    events, data = EVENT.unpack(p.mem.read(event, EVENT.size))
    _call(_libc.epoll_ctl, hep, op, hfd, EVENT.pack(events, hfd))
    cookies[hfd] = data
    return 0


def _epoll_wait(p, epfd, events, maxevents, timeout):
    hep = p.fds.get(s32(epfd))
    maxevents = s32(maxevents)
    if maxevents <= 0 or maxevents > MAX_EVENTS:
        raise einval()
    buf = ctypes.create_string_buffer(EVENT.size * maxevents)
    with p.group.unlocked(p):
        n = _call(_libc.epoll_wait, hep, buf, maxevents, s32(timeout))
    cookies = _cookies(p, hep)
    out = b"".join(EVENT.pack(ev, cookies.get(h, 0))
                   for ev, h in (EVENT.unpack_from(buf.raw, i * EVENT.size) for i in range(n)))
    p.mem.write(events, out)
    return n


@syscall("epoll_wait", "fd", "ptr", "int", "int")
def sys_epoll_wait(p, epfd, events, maxevents, timeout):
    return _epoll_wait(p, epfd, events, maxevents, timeout)


@syscall("epoll_pwait", "fd", "ptr", "int", "int", "ptr", "size", level="partial",
         note="signal mask ignored until signals are delivered")
def sys_epoll_pwait(p, epfd, events, maxevents, timeout, sigmask, size):
    return _epoll_wait(p, epfd, events, maxevents, timeout)


@syscall(("eventfd2",), "uint", "hex")
def sys_eventfd2(p, initval, flags):
    flags = s32(flags)
    if flags & ~(O_CLOEXEC | O_NONBLOCK | 1):
        raise einval()
    h = os.eventfd(initval & 0xFFFFFFFF, (flags & ~O_CLOEXEC) | O_CLOEXEC)
    return p.fds.add(h, cloexec=bool(flags & O_CLOEXEC))


@syscall("eventfd", "uint")
def sys_eventfd(p, initval):
    return sys_eventfd2(p, initval, 0)


# -- timerfd ------------------------------------------------------------------------
@syscall("timerfd_create", "clock", "hex")
def sys_timerfd_create(p, clock, flags):
    flags = s32(flags)
    if flags & ~(O_CLOEXEC | O_NONBLOCK):
        raise einval()
    h = _call(_libc.timerfd_create, s32(clock), (flags & ~O_CLOEXEC) | O_CLOEXEC)
    return p.fds.add(h, cloexec=bool(flags & O_CLOEXEC))


def _settime(p, fd, flags, new, old, ts):
    h = p.fds.get(s32(fd))
    a, b, c, d = struct.unpack(f"<{ts.format[1:] * 2}", p.mem.read(new, 2 * ts.size))
    out = ctypes.create_string_buffer(32)
    _call(_libc.timerfd_settime, h, s32(flags), struct.pack("<qqqq", a, b, c, d), out)
    if old:
        p.mem.write(old, struct.pack(f"<{ts.format[1:] * 2}", *struct.unpack("<qqqq", out.raw)))
    return 0


def _gettime(p, fd, cur, ts):
    out = ctypes.create_string_buffer(32)
    _call(_libc.timerfd_gettime, p.fds.get(s32(fd)), out)
    p.mem.write(cur, struct.pack(f"<{ts.format[1:] * 2}", *struct.unpack("<qqqq", out.raw)))
    return 0


@syscall("timerfd_settime", "fd", "hex", "ptr", "ptr")
def sys_timerfd_settime(p, fd, flags, new, old):
    return _settime(p, fd, flags, new, old, p.abi.timespec)


@syscall("timerfd_settime64", "fd", "hex", "ptr", "ptr")
def sys_timerfd_settime64(p, fd, flags, new, old):
    return _settime(p, fd, flags, new, old, p.abi.timespec64)


@syscall("timerfd_gettime", "fd", "ptr")
def sys_timerfd_gettime(p, fd, cur):
    return _gettime(p, fd, cur, p.abi.timespec)


@syscall("timerfd_gettime64", "fd", "ptr")
def sys_timerfd_gettime64(p, fd, cur):
    return _gettime(p, fd, cur, p.abi.timespec64)


# -- signalfd -------------------------------------------------------------------------
NR_SIGNALFD4 = 289                          # the host's (x86-64) number


@syscall("signalfd4", "fd", "ptr", "size", "hex")
def sys_signalfd4(p, fd, maskp, sizemask, flags):
    """A new host signalfd (fd -1) or a new mask for an existing one (the kernel checks
    that it is a signalfd: EINVAL otherwise).  See the module docstring for why the host's."""
    fd, flags = s32(fd), s32(flags)
    if sizemask != 8:
        raise einval()
    mask = ctypes.c_uint64(p.mem.u64(maskp))
    if flags & ~(O_CLOEXEC | O_NONBLOCK):
        raise einval()
    if fd == -1:
        h = hostcall.syscall(NR_SIGNALFD4, -1, ctypes.addressof(mask), 8, flags | O_CLOEXEC)
        return p.fds.add(h, cloexec=bool(flags & O_CLOEXEC))
    hostcall.syscall(NR_SIGNALFD4, p.fds.get(fd), ctypes.addressof(mask), 8, flags)
    return fd


@syscall("signalfd", "fd", "ptr", "size")
def sys_signalfd(p, fd, maskp, sizemask):
    """The old call: signalfd4 without flags."""
    return sys_signalfd4(p, fd, maskp, sizemask, 0)
