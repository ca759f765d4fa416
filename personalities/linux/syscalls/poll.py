"""Waiting for descriptors: poll/ppoll and select/pselect6 over host descriptors."""
from __future__ import annotations

import select as hostselect
import struct

from ..abi import s32
from .decl import syscall
from .util import einval

POLLFD = struct.Struct("<iHH")
POLLNVAL = 0x20


def _poll(p, fds_addr, nfds, timeout_ms):
    if nfds > 1 << 16:
        raise einval()
    raw = p.mem.read(fds_addr, POLLFD.size * nfds) if nfds else b""
    entries = [POLLFD.unpack_from(raw, i * POLLFD.size) for i in range(nfds)]
    poller = hostselect.poll()
    back = {}
    revents = [0] * nfds
    for i, (fd, events, _) in enumerate(entries):
        if fd < 0:
            continue
        try:
            h = p.fds.get(fd)
        except OSError:
            revents[i] = POLLNVAL
            continue
        back.setdefault(h, []).append(i)
        poller.register(h, events | 0x18)   # POLLHUP|POLLERR are always reported
    if any(revents) and timeout_ms != 0:
        timeout_ms = 0
    with p.group.unlocked(p):
        ready = poller.poll(None if timeout_ms is not None and timeout_ms < 0 else timeout_ms) if back else []
        if not back and timeout_ms and timeout_ms > 0 and not any(revents):
            __import__("time").sleep(timeout_ms / 1000)
    for h, ev in ready:
        for i in back.get(h, []):
            revents[i] = ev & (entries[i][1] | 0x38)
    out = b"".join(POLLFD.pack(fd, events, r) for (fd, events, _), r in zip(entries, revents))
    if nfds:
        p.mem.write(fds_addr, out)
    return sum(1 for r in revents if r)


@syscall("poll", "ptr", "uint", "int")
def sys_poll(p, fds, nfds, timeout):
    return _poll(p, fds, nfds & 0xFFFFFFFF, s32(timeout))


def _timeout_ms(p, addr, st):
    if not addr:
        return -1
    sec, nsec = st.unpack(p.mem.read(addr, st.size))
    if sec < 0 or not 0 <= nsec < 1_000_000_000:
        raise einval()
    return sec * 1000 + (nsec + 999_999) // 1_000_000


@syscall("ppoll", "ptr", "uint", "ptr", "ptr", "size", level="partial", note="signal mask ignored")
def sys_ppoll(p, fds, nfds, tmo, sigmask, sigsetsize):
    return _poll(p, fds, nfds & 0xFFFFFFFF, _timeout_ms(p, tmo, p.abi.timespec))


@syscall("ppoll_time64", "ptr", "uint", "ptr", "ptr", "size", level="partial", note="signal mask ignored")
def sys_ppoll64(p, fds, nfds, tmo, sigmask, sigsetsize):
    return _poll(p, fds, nfds & 0xFFFFFFFF, _timeout_ms(p, tmo, p.abi.timespec64))


def _select(p, nfds, rd, wr, ex, timeout_ms):
    nfds = s32(nfds)
    if nfds < 0 or nfds > p.fds.limit:
        raise einval()
    nbytes = ((nfds + p.abi.bits - 1) // p.abi.bits) * (p.abi.bits // 8)
    sets = []
    for addr in (rd, wr, ex):
        sets.append(int.from_bytes(p.mem.read(addr, nbytes), "little") if addr and nbytes else 0)
    lists = [[], [], []]
    to_guest = {}
    for k, bits in enumerate(sets):
        for fd in range(nfds):
            if bits >> fd & 1:
                h = p.fds.get(fd)
                lists[k].append(h)
                to_guest[h] = fd
    tmo = None if timeout_ms < 0 else timeout_ms / 1000
    with p.group.unlocked(p):
        r, w, x = hostselect.select(*lists, tmo)
    count = 0
    for addr, ready in zip((rd, wr, ex), (r, w, x)):
        if addr and nbytes:
            bits = 0
            for h in ready:
                bits |= 1 << to_guest[h]
                count += 1
            p.mem.write(addr, bits.to_bytes(nbytes, "little"))
    return count


@syscall(("select", "_newselect"), "int", "ptr", "ptr", "ptr", "ptr")
def sys_select(p, nfds, rd, wr, ex, tv):
    tmo = -1
    if tv:
        sec, usec = p.abi.timeval.unpack(p.mem.read(tv, p.abi.timeval.size))
        if sec < 0 or usec < 0:
            raise einval()
        tmo = sec * 1000 + usec // 1000
    return _select(p, nfds, rd, wr, ex, tmo)


@syscall("select", "ptr", abi="i386")
def sys_old_select(p, args):
    """i386's original select takes a pointer to its five arguments."""
    nfds, rd, wr, ex, tv = struct.unpack("<5I", p.mem.read(args, 20))
    return sys_select(p, nfds, rd, wr, ex, tv)


@syscall("pselect6", "int", "ptr", "ptr", "ptr", "ptr", "ptr", level="partial", note="signal mask ignored")
def sys_pselect6(p, nfds, rd, wr, ex, ts, _sig):
    return _select(p, nfds, rd, wr, ex, _timeout_ms(p, ts, p.abi.timespec))


@syscall("pselect6_time64", "int", "ptr", "ptr", "ptr", "ptr", "ptr", level="partial",
         note="signal mask ignored")
def sys_pselect6_64(p, nfds, rd, wr, ex, ts, _sig):
    return _select(p, nfds, rd, wr, ex, _timeout_ms(p, ts, p.abi.timespec64))
