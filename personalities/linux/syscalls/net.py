"""Sockets: host sockets behind guest descriptors (AF_UNIX, AF_INET, AF_INET6, …).

Addresses and options are passed to the host kernel as the raw bytes the
guest built — the layouts are the same on both x86 ABIs — except that an
AF_UNIX path is a guest path and is resolved through the sandbox.  Message
headers (sendmsg/recvmsg) differ between the ABIs and are re-packed; file
descriptors passed with SCM_RIGHTS are translated between guest and host
numbers in both directions.  i386's socketcall multiplexer maps onto the
same handlers.
"""
from __future__ import annotations

import ctypes
import os
import socket
import struct

from ..abi import s32
from .decl import syscall
from .util import einval

_libc = ctypes.CDLL(None, use_errno=True)
AF_UNIX = 1
SOCK_NONBLOCK, SOCK_CLOEXEC = 0o4000, 0o2000000
SOL_SOCKET, SCM_RIGHTS = 1, 1
MAX_ADDR = 128
MAX_MSG = 1 << 24


def _err():
    e = ctypes.get_errno()
    return OSError(e, os.strerror(e))


def _call(fn, *args) -> int:
    r = fn(*args)
    if r < 0:
        raise _err()
    return r


def _sockaddr(p, addr, length, call: str) -> bytes:
    """The guest's address for the host kernel: an AF_UNIX path resolved in the
    guest's view, and in a jail checked against its network policy."""
    length = s32(length)
    if length < 0 or length > MAX_ADDR:
        raise einval()
    guest = raw = p.mem.read(addr, length)
    if len(raw) >= 2 and struct.unpack_from("<H", raw)[0] == AF_UNIX and len(raw) > 2 and raw[2] != 0:
        path = raw[2:].split(b"\0", 1)[0]
        host = p.fs.unix_path(path, bind=call == "bind")
        if len(host) > 107:
            raise OSError(36, "File name too long")
        raw = raw[:2] + host + b"\0"
    if p.jail is not None and p.jail.policy is not None:
        try:
            raw = p.jail.policy.address(raw, binding=call == "bind")
        except OSError as e:
            _audit(p, call, "deny", guest, e.errno)
            raise
    return raw


def _audit(p, call, decision, guest_addr: bytes, err=None) -> None:
    """An audit event for a network call, naming the address as the guest gave it."""
    audit = p.jail.audit if p.jail is not None else None
    if audit is None:
        return
    family = struct.unpack_from("<H", guest_addr)[0] if len(guest_addr) >= 2 else -1
    if family == AF_UNIX:
        name = guest_addr[2:].split(b"\0", 1)[0] if guest_addr[2:3] != b"\0" else b"@" + guest_addr[3:]
        where = name.decode(errors="replace")
    elif family == socket.AF_INET and len(guest_addr) >= 8:
        where = f"{socket.inet_ntop(socket.AF_INET, guest_addr[4:8])}:{struct.unpack_from('>H', guest_addr, 2)[0]}"
    elif family == socket.AF_INET6 and len(guest_addr) >= 24:
        where = f"[{socket.inet_ntop(socket.AF_INET6, guest_addr[8:24])}]:{struct.unpack_from('>H', guest_addr, 2)[0]}"
    else:
        where = f"family {family}"
    audit.event(call, decision, err=err, detail=where)


def _put_sockaddr(p, addr, lenp, raw: bytes) -> None:
    """Linux's protocol: copy at most *lenp bytes, and store the full length in *lenp."""
    if not addr or not lenp:
        return
    room = s32(p.mem.u32(lenp))
    if room < 0:
        raise einval()
    p.mem.write(addr, raw[:room])
    p.mem.put_u32(lenp, len(raw))


@syscall("socket", "int", "hex", "int")
def sys_socket(p, domain, stype, proto):
    domain, stype, proto = s32(domain), s32(stype), s32(proto)
    if p.jail is not None and p.jail.policy is not None:
        try:
            p.jail.policy.socket_family(domain)
        except OSError as e:
            if p.jail.audit is not None:
                p.jail.audit.event("socket", "deny", err=e.errno, detail=f"family {domain}")
            raise
    fd = _call(_libc.socket, domain, stype | SOCK_CLOEXEC, proto)
    return p.fds.add(fd, cloexec=bool(stype & SOCK_CLOEXEC))


@syscall("socketpair", "int", "hex", "int", "ptr")
def sys_socketpair(p, domain, stype, proto, sv):
    pair = (ctypes.c_int * 2)()
    _call(_libc.socketpair, s32(domain), s32(stype) | SOCK_CLOEXEC, s32(proto), pair)
    cl = bool(s32(stype) & SOCK_CLOEXEC)
    a, b = p.fds.add(pair[0], cloexec=cl), p.fds.add(pair[1], cloexec=cl)
    p.mem.write(sv, struct.pack("<ii", a, b))
    return 0


@syscall("bind", "fd", "ptr", "int")
def sys_bind(p, fd, addr, length):
    raw = _sockaddr(p, addr, length, "bind")
    return _call(_libc.bind, p.fds.get(s32(fd)), raw, len(raw))


@syscall("connect", "fd", "ptr", "int")
def sys_connect(p, fd, addr, length):
    h = p.fds.get(s32(fd))
    raw = _sockaddr(p, addr, length, "connect")
    if p.jail is None or p.jail.audit is None:
        with p.group.unlocked(p, interruptible=False):
            return _call(_libc.connect, h, raw, len(raw))
    guest = p.mem.read(addr, s32(length))
    try:
        with p.group.unlocked(p, interruptible=False):
            ret = _call(_libc.connect, h, raw, len(raw))
    except OSError as e:
        _audit(p, "connect", "allow", guest, e.errno)
        raise
    _audit(p, "connect", "allow", guest)
    return ret


@syscall("listen", "fd", "int")
def sys_listen(p, fd, backlog):
    return _call(_libc.listen, p.fds.get(s32(fd)), s32(backlog))


def _accept(p, fd, addr, lenp, flags):
    h = p.fds.get(s32(fd))
    if flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC):
        raise einval()
    buf = ctypes.create_string_buffer(MAX_ADDR)
    ln = ctypes.c_uint32(MAX_ADDR)
    with p.group.unlocked(p, interruptible=False):
        new = _call(_libc.accept4, h, buf, ctypes.byref(ln), flags | SOCK_CLOEXEC)
    guest = p.fds.add(new, cloexec=bool(flags & SOCK_CLOEXEC))
    _put_sockaddr(p, addr, lenp, buf.raw[:ln.value])
    return guest


@syscall("accept", "fd", "ptr", "ptr")
def sys_accept(p, fd, addr, lenp):
    return _accept(p, fd, addr, lenp, 0)


@syscall("accept4", "fd", "ptr", "ptr", "hex")
def sys_accept4(p, fd, addr, lenp, flags):
    return _accept(p, fd, addr, lenp, s32(flags))


def _name(p, fd, addr, lenp, fn):
    buf = ctypes.create_string_buffer(MAX_ADDR)
    ln = ctypes.c_uint32(MAX_ADDR)
    _call(fn, p.fds.get(s32(fd)), buf, ctypes.byref(ln))
    _put_sockaddr(p, addr, lenp, buf.raw[:ln.value])
    return 0


@syscall("getsockname", "fd", "ptr", "ptr")
def sys_getsockname(p, fd, addr, lenp):
    return _name(p, fd, addr, lenp, _libc.getsockname)


@syscall("getpeername", "fd", "ptr", "ptr")
def sys_getpeername(p, fd, addr, lenp):
    return _name(p, fd, addr, lenp, _libc.getpeername)


@syscall("sendto", "fd", "ibuf", "size", "hex", "ptr", "int")
def sys_sendto(p, fd, buf, length, flags, addr, alen):
    h = p.fds.get(s32(fd))
    data = p.mem.read(buf, min(length, MAX_MSG))
    raw = _sockaddr(p, addr, alen, "sendto") if addr else None
    with p.group.unlocked(p, interruptible=False):
        return _call(_libc.sendto, h, data, len(data), s32(flags), raw, len(raw) if raw else 0)


@syscall("recvfrom", "fd", "obuf", "size", "hex", "ptr", "ptr")
def sys_recvfrom(p, fd, buf, length, flags, addr, lenp):
    h = p.fds.get(s32(fd))
    length = min(length, MAX_MSG)
    data = ctypes.create_string_buffer(max(length, 1))
    abuf = ctypes.create_string_buffer(MAX_ADDR)
    ln = ctypes.c_uint32(MAX_ADDR)
    with p.group.unlocked(p, interruptible=False):
        n = _call(_libc.recvfrom, h, data, length, s32(flags), abuf, ctypes.byref(ln))
    p.mem.write(buf, data.raw[:min(n, length)])
    if addr:
        _put_sockaddr(p, addr, lenp, abuf.raw[:ln.value])
    return n


@syscall("shutdown", "fd", "int")
def sys_shutdown(p, fd, how):
    return _call(_libc.shutdown, p.fds.get(s32(fd)), s32(how))


@syscall("setsockopt", "fd", "int", "int", "ptr", "int")
def sys_setsockopt(p, fd, level, name, val, length):
    length = s32(length)
    if length < 0 or length > 4096:
        raise einval()
    data = p.mem.read(val, length) if length else None
    return _call(_libc.setsockopt, p.fds.get(s32(fd)), s32(level), s32(name), data, length)


@syscall("getsockopt", "fd", "int", "int", "ptr", "ptr")
def sys_getsockopt(p, fd, level, name, val, lenp):
    room = s32(p.mem.u32(lenp))
    if room < 0:
        raise einval()
    buf = ctypes.create_string_buffer(max(min(room, 4096), 1))
    ln = ctypes.c_uint32(min(room, 4096))
    _call(_libc.getsockopt, p.fds.get(s32(fd)), s32(level), s32(name), buf, ctypes.byref(ln))
    p.mem.write(val, buf.raw[:ln.value])
    p.mem.put_u32(lenp, ln.value)
    return 0


# -- sendmsg / recvmsg --------------------------------------------------------------
def _msghdr(p):
    return struct.Struct("<QI4xQQQQi4x" if p.abi.bits == 64 else "<IIIIIIi")


def _cmsg_align(p, n: int) -> int:
    a = p.abi.ptr_size
    return (n + a - 1) & ~(a - 1)


def _parse_cmsgs(p, raw: bytes) -> list:
    """Guest control messages -> [(level, type, data)], SCM_RIGHTS fds made host fds."""
    hdr = struct.Struct("<Qii" if p.abi.bits == 64 else "<Iii")
    out, off = [], 0
    while off + hdr.size <= len(raw):
        ln, level, typ = hdr.unpack_from(raw, off)
        if ln < hdr.size or off + ln > len(raw):
            raise einval()
        data = raw[off + hdr.size:off + ln]
        if level == SOL_SOCKET and typ == SCM_RIGHTS:
            fds = struct.unpack(f"<{len(data) // 4}i", data[:len(data) // 4 * 4])
            data = struct.pack(f"<{len(fds)}i", *(p.fds.get(fd) for fd in fds))
        out.append((level, typ, data))
        off += _cmsg_align(p, ln)
    return out


def _pack_cmsgs(p, anc: list, cloexec: bool) -> bytes:
    hdr = struct.Struct("<Qii" if p.abi.bits == 64 else "<Iii")
    out = b""
    for level, typ, data in anc:
        if level == SOL_SOCKET and typ == SCM_RIGHTS:
            fds = struct.unpack(f"<{len(data) // 4}i", data[:len(data) // 4 * 4])
            data = struct.pack(f"<{len(fds)}i", *(p.fds.add(h, cloexec=cloexec) for h in fds))
        rec = hdr.pack(hdr.size + len(data), level, typ) + data
        out += rec + bytes(_cmsg_align(p, len(rec)) - len(rec))
    return out


def _iov_list(p, iov, n):
    from .files import _iovecs
    return _iovecs(p, iov, n)


@syscall("sendmsg", "fd", "ptr", "hex")
def sys_sendmsg(p, fd, msg, flags):
    h = p.fds.get(s32(fd))
    st = _msghdr(p)
    name, namelen, iov, iovlen, control, controllen, _ = st.unpack(p.mem.read(msg, st.size))
    data = b"".join(p.mem.read(b, ln) for b, ln in _iov_list(p, iov, iovlen))
    anc = _parse_cmsgs(p, p.mem.read(control, controllen)) if control and controllen else []
    addr = _sockaddr(p, name, namelen, "sendmsg") if name and namelen else None
    s = socket.socket(fileno=os.dup(h))
    try:
        with p.group.unlocked(p, interruptible=False):
            if addr is None:
                return s.sendmsg([data], anc, s32(flags))
            n = _call(_libc.sendto, h, data, len(data), s32(flags), addr, len(addr)) if not anc else None
            if n is None:
                raise OSError(95, "Operation not supported")
            return n
    finally:
        s.close()


@syscall("recvmsg", "fd", "ptr", "hex")
def sys_recvmsg(p, fd, msg, flags):
    h = p.fds.get(s32(fd))
    st = _msghdr(p)
    name, namelen, iov, iovlen, control, controllen, _ = st.unpack(p.mem.read(msg, st.size))
    vecs = _iov_list(p, iov, iovlen)
    total = min(sum(ln for _, ln in vecs), MAX_MSG)
    s = socket.socket(fileno=os.dup(h))
    try:
        with p.group.unlocked(p, interruptible=False):
            data, anc, mflags, addr = s.recvmsg(total, max(controllen * 2, 64) if control else 0,
                                                s32(flags) & ~0x40000000)
    finally:
        s.close()
    from .files import _scatter
    _scatter(p, vecs, data)
    ctl = _pack_cmsgs(p, anc, bool(s32(flags) & 0x40000000)) if control else b""
    if len(ctl) > controllen:
        ctl = ctl[:controllen]
        mflags |= 0x8                                  # MSG_CTRUNC
    if control:
        p.mem.write(control, ctl)
    raw_addr = b""
    if name and namelen and addr:
        raw_addr = _addr_bytes(addr)
        p.mem.write(name, raw_addr[:namelen])
    p.mem.write(msg, st.pack(name, len(raw_addr) if name else 0, iov, iovlen, control, len(ctl), mflags))
    return len(data)


def _addr_bytes(addr) -> bytes:
    """Python's decoded peer address back to a sockaddr (AF_UNIX and AF_INET, the common cases)."""
    if isinstance(addr, (str, bytes)):
        path = os.fsencode(addr)
        return struct.pack("<H", AF_UNIX) + path + (b"\0" if path and path[0] else b"")
    if isinstance(addr, tuple) and len(addr) == 2:
        return struct.pack("<HH4s8x", socket.AF_INET, socket.htons(addr[1]), socket.inet_aton(addr[0]))
    if isinstance(addr, tuple) and len(addr) == 4:
        return struct.pack("<HHI16sI", socket.AF_INET6, socket.htons(addr[1]), addr[2],
                           socket.inet_pton(socket.AF_INET6, addr[0]), addr[3])
    return b""


# -- i386 socketcall -------------------------------------------------------------------
SOCKETCALL = {1: (sys_socket, 3), 2: (sys_bind, 3), 3: (sys_connect, 3), 4: (sys_listen, 2),
              5: (sys_accept, 3), 6: (sys_getsockname, 3), 7: (sys_getpeername, 3),
              8: (sys_socketpair, 4), 13: (sys_shutdown, 2), 14: (sys_setsockopt, 5),
              15: (sys_getsockopt, 5), 16: (sys_sendmsg, 3), 17: (sys_recvmsg, 3),
              18: (sys_accept4, 4), 11: (sys_sendto, 6), 12: (sys_recvfrom, 6)}


@syscall("socketcall", "int", "ptr", abi="i386")
def sys_socketcall(p, call, args):
    call = s32(call)
    if call == 9:       # send(fd, buf, len, flags) = sendto(..., NULL, 0)
        fd, buf, ln, fl = struct.unpack("<4I", p.mem.read(args, 16))
        return sys_sendto(p, fd, buf, ln, fl, 0, 0)
    if call == 10:      # recv(fd, buf, len, flags) = recvfrom(..., NULL, NULL)
        fd, buf, ln, fl = struct.unpack("<4I", p.mem.read(args, 16))
        return sys_recvfrom(p, fd, buf, ln, fl, 0, 0)
    if call not in SOCKETCALL:
        p.unimpl[f"socketcall:{call}"] += 1
        raise einval()
    fn, n = SOCKETCALL[call]
    return fn(p, *struct.unpack(f"<{n}I", p.mem.read(args, 4 * n)))
