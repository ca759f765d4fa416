"""Descriptor I/O: open/close, read/write and their vector and positional forms,
dup, fcntl, ioctl, pipes."""
from __future__ import annotations

import fcntl as hostfcntl
import os

from hw import memory as hostmem
from .. import hostcall
from hw.cpu import PROT_READ, PROT_WRITE
from ..abi import s32
from .. import procfs
from .decl import syscall
from .util import MAX_IO, O_CLOEXEC, dirfd, path, einval

IOV_MAX = 1024


# -- open / close ---------------------------------------------------------------
def do_open(p, dfd, pth: bytes, flags: int, mode: int) -> int:
    flags = s32(flags) & 0xFFFFFFFF
    host = None
    if procfs.special(pth):
        host = procfs.open_special(p, pth, flags | O_CLOEXEC)
    if host is None:
        host = p.fs.open(pth, flags | O_CLOEXEC, mode & 0o7777, dfd)
    return p.fds.add(host, cloexec=bool(flags & O_CLOEXEC))


@syscall("open", "path", "oflags", "mode")
def sys_open(p, pth, flags, mode):
    return do_open(p, None, path(p, pth), flags, mode)


@syscall("openat", "dirfd", "path", "oflags", "mode")
def sys_openat(p, dfd, pth, flags, mode):
    return do_open(p, dirfd(p, dfd), path(p, pth), flags, mode)


@syscall("creat", "path", "mode")
def sys_creat(p, pth, mode):
    return do_open(p, None, path(p, pth), os.O_CREAT | os.O_WRONLY | os.O_TRUNC, mode)


MFD_CLOEXEC = 1


@syscall("memfd_create", "str", "hex")
def sys_memfd_create(p, name, flags):
    """The host's own memfd (sealing, hugetlb and exec flags are the host kernel's to judge)."""
    try:
        raw = p.mem.cstr(name, 250)
    except OSError as e:
        raise (einval() if e.errno == 36 else e) from None
    host = os.memfd_create(os.fsdecode(raw), (flags & 0xFFFFFFFF) | MFD_CLOEXEC)
    return p.fds.add(host, cloexec=bool(flags & MFD_CLOEXEC))


@syscall("close", "fd")
def sys_close(p, fd):
    p.fds.close(s32(fd))
    return 0


@syscall("close_range", "fd", "fd", "hex")
def sys_close_range(p, first, last, flags):
    first, last = first & 0xFFFFFFFF, last & 0xFFFFFFFF
    if first > last or flags & ~0x6:
        raise einval()
    for fd, _h in p.fds.items():
        if first <= fd <= last:
            if flags & 0x4:       # CLOSE_RANGE_CLOEXEC
                p.fds.cloexec.add(fd)
            else:
                p.fds.close(fd)
    return 0


# -- read / write ---------------------------------------------------------------
@syscall("read", "fd", "obuf", "size")
def sys_read(p, fd, buf, count):
    h = p.fds.get(s32(fd))
    count = min(count, MAX_IO)
    host = None if p.group.multi else p.mm.host_range(buf, count, PROT_WRITE)
    if host is not None:                      # straight into guest RAM
        with p.group.unlocked(p, interruptible=False):
            return hostcall.read(h, host, count)
    # other threads run meanwhile and may unmap the buffer: read into our own first
    tmp = hostcall.buffer(count)
    with p.group.unlocked(p, interruptible=False):
        n = hostcall.read(h, tmp, count)
    p.mem.write(buf, tmp.raw[:n])
    return n


@syscall("write", "fd", "ibuf", "size")
def sys_write(p, fd, buf, count):
    h = p.fds.get(s32(fd))
    count = min(count, MAX_IO)
    if p.group.multi:
        data = p.mem.read(buf, count)
        with p.group.unlocked(p, interruptible=False):
            return os.write(h, data)
    host = p.mm.host_range(buf, count, PROT_READ)
    if host is not None:                      # straight from guest RAM
        return os.writev(h, [hostmem.view(host, count)])
    return os.write(h, p.mem.read(buf, count))


def _iovecs(p, iov, cnt):
    cnt = s32(cnt)
    if cnt < 0 or cnt > IOV_MAX:
        raise einval()
    st = p.abi.iovec
    raw = p.mem.read(iov, st.size * cnt)
    return [st.unpack_from(raw, i * st.size) for i in range(cnt)]


def _scatter(p, vecs, data: bytes) -> None:
    pos = 0
    for base, ln in vecs:
        if pos >= len(data):
            break
        chunk = data[pos:pos + ln]
        p.mem.write(base, chunk)
        pos += len(chunk)


@syscall("readv", "fd", "ptr", "int")
def sys_readv(p, fd, iov, cnt):
    h = p.fds.get(s32(fd))
    vecs = _iovecs(p, iov, cnt)
    total = min(sum(ln for _, ln in vecs), MAX_IO)
    tmp = hostcall.buffer(total)
    with p.group.unlocked(p, interruptible=False):
        n = hostcall.read(h, tmp, total)
    _scatter(p, vecs, tmp.raw[:n])
    return n


@syscall("writev", "fd", "ptr", "int")
def sys_writev(p, fd, iov, cnt):
    h = p.fds.get(s32(fd))
    data = b"".join(p.mem.read(base, ln) for base, ln in _iovecs(p, iov, cnt))
    if not data:
        return 0
    with p.group.unlocked(p, interruptible=False):
        return os.write(h, data)


def _pread(p, fd, buf, count, off):
    if off < 0:
        raise einval()
    data = os.pread(p.fds.get(s32(fd)), min(count, MAX_IO), off)
    p.mem.write(buf, data)
    return len(data)


def _pwrite(p, fd, buf, count, off):
    if off < 0:
        raise einval()
    return os.pwrite(p.fds.get(s32(fd)), p.mem.read(buf, min(count, MAX_IO)), off)


@syscall("pread64", "fd", "obuf", "size", "off", abi="x86_64")
def sys_pread64(p, fd, buf, count, off):
    return _pread(p, fd, buf, count, p.abi.slong(off))


@syscall("pwrite64", "fd", "ibuf", "size", "off", abi="x86_64")
def sys_pwrite64(p, fd, buf, count, off):
    return _pwrite(p, fd, buf, count, p.abi.slong(off))


@syscall("pread64", "fd", "obuf", "size", "uint", "uint", abi="i386")
def sys_pread64_32(p, fd, buf, count, lo, hi):
    return _pread(p, fd, buf, count, (hi << 32 | lo))


@syscall("pwrite64", "fd", "ibuf", "size", "uint", "uint", abi="i386")
def sys_pwrite64_32(p, fd, buf, count, lo, hi):
    return _pwrite(p, fd, buf, count, (hi << 32 | lo))


@syscall(("preadv", "preadv2"), "fd", "ptr", "int", "uint", "uint")
def sys_preadv(p, fd, iov, cnt, lo, hi):
    off = lo if p.abi.bits == 64 else (hi << 32 | lo)
    vecs = _iovecs(p, iov, cnt)
    data = os.pread(p.fds.get(s32(fd)), min(sum(ln for _, ln in vecs), MAX_IO), off)
    _scatter(p, vecs, data)
    return len(data)


@syscall(("pwritev", "pwritev2"), "fd", "ptr", "int", "uint", "uint")
def sys_pwritev(p, fd, iov, cnt, lo, hi):
    off = lo if p.abi.bits == 64 else (hi << 32 | lo)
    data = b"".join(p.mem.read(base, ln) for base, ln in _iovecs(p, iov, cnt))
    return os.pwrite(p.fds.get(s32(fd)), data, off)


def _lseek(p, fd, off, whence):
    h = p.fds.get(s32(fd))
    from .fsmeta import seek_listing
    pos = seek_listing(p, h, off, whence)
    if pos is not None:
        return pos
    if whence == os.SEEK_SET and h in p.fds.dir_cookies:
        from .fsmeta import dir_offset
        off = dir_offset(p, h, off)
    pos = os.lseek(h, off, whence)
    cookies = p.fds.dir_cookies.get(h)
    if cookies is not None and pos:
        pos = cookies.index(pos) + 1 if pos in cookies else pos
    return pos


@syscall("lseek", "fd", "off", "whence")
def sys_lseek(p, fd, off, whence):
    return _lseek(p, fd, p.abi.slong(off), whence)


@syscall("_llseek", "fd", "uint", "uint", "ptr", "whence")
def sys_llseek(p, fd, hi, lo, result, whence):
    off = (hi << 32 | lo)
    if off >= 1 << 63:
        off -= 1 << 64
    p.mem.put_u64(result, _lseek(p, fd, off, whence))
    return 0


@syscall("sendfile", "fd", "fd", "ptr", "size")
def sys_sendfile(p, out_fd, in_fd, offp, count):
    hin, hout = p.fds.get(s32(in_fd)), p.fds.get(s32(out_fd))
    count = min(count, MAX_IO)
    if offp:
        off = p.mem.u64(offp) if p.abi.bits == 64 else p.mem.u32(offp)
        n = os.sendfile(hout, hin, off, count)
        p.mem.write(offp, (off + n).to_bytes(p.abi.ptr_size, "little"))
        return n
    return os.sendfile(hout, hin, None, count)


@syscall("copy_file_range", "fd", "ptr", "fd", "ptr", "size", "hex")
def sys_copy_file_range(p, fd_in, off_in, fd_out, off_out, count, flags):
    hin, hout = p.fds.get(s32(fd_in)), p.fds.get(s32(fd_out))
    oi = p.mem.u64(off_in) if off_in else None
    oo = p.mem.u64(off_out) if off_out else None
    n = os.copy_file_range(hin, hout, min(count, MAX_IO), oi, oo)
    if off_in:
        p.mem.put_u64(off_in, oi + n)
    if off_out:
        p.mem.put_u64(off_out, oo + n)
    return n


# -- dup / pipes ------------------------------------------------------------------
@syscall("dup", "fd")
def sys_dup(p, fd):
    return p.fds.add(os.dup(p.fds.get(s32(fd))))


def _dup_to(p, old, new, cloexec):
    h = p.fds.get(old)
    if new < 0 or new >= p.fds.limit:
        raise OSError(9, "Bad file descriptor")
    p.fds.install(new, os.dup(h), cloexec)
    return new


@syscall("dup2", "fd", "fd")
def sys_dup2(p, old, new):
    old, new = s32(old), s32(new)
    if old == new:
        p.fds.get(old)
        return new
    return _dup_to(p, old, new, False)


@syscall("dup3", "fd", "fd", "oflags")
def sys_dup3(p, old, new, flags):
    old, new = s32(old), s32(new)
    if old == new or flags & ~O_CLOEXEC:
        raise einval()
    return _dup_to(p, old, new, bool(flags & O_CLOEXEC))


def _pipe(p, fds_addr, flags):
    if flags & ~(O_CLOEXEC | os.O_NONBLOCK | os.O_DIRECT):
        raise einval()
    r, w = os.pipe2((flags | O_CLOEXEC) & ~0)
    cl = bool(flags & O_CLOEXEC)
    gr = p.fds.add(r, cloexec=cl)
    gw = p.fds.add(w, cloexec=cl)
    try:
        p.mem.write(fds_addr, gr.to_bytes(4, "little") + gw.to_bytes(4, "little"))
    except Exception:
        p.fds.close(gr)
        p.fds.close(gw)
        raise
    return 0


@syscall("pipe", "ptr")
def sys_pipe(p, fds_addr):
    return _pipe(p, fds_addr, 0)


@syscall("pipe2", "ptr", "oflags")
def sys_pipe2(p, fds_addr, flags):
    return _pipe(p, fds_addr, flags)


# -- fcntl ------------------------------------------------------------------------
F_DUPFD, F_GETFD, F_SETFD, F_GETFL, F_SETFL = 0, 1, 2, 3, 4
F_GETLK, F_SETLK, F_SETLKW = 5, 6, 7
F_GETLK64, F_SETLK64, F_SETLKW64 = 12, 13, 14
F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW = 36, 37, 38
F_DUPFD_CLOEXEC = 1030
F_SETOWN = 8
INT_COMMANDS = {8: "F_SETOWN", 9: "F_GETOWN", 10: "F_SETSIG", 11: "F_GETSIG",
                1024: "F_SETLEASE", 1025: "F_GETLEASE", 1026: "F_NOTIFY", 1031: "F_SETPIPE_SZ",
                1032: "F_GETPIPE_SZ", 1033: "F_ADD_SEALS", 1034: "F_GET_SEALS"}


def _flock_struct(p, cmd):
    """struct flock layout for this ABI/command: (format, is-64-bit-offsets)."""
    import struct
    if p.abi.bits == 64 or cmd in (F_GETLK64, F_SETLK64, F_SETLKW64, F_OFD_GETLK, F_OFD_SETLK,
                                   F_OFD_SETLKW):
        return struct.Struct("<hhqqi4x" if p.abi.bits == 64 else "<hhqqi")
    return struct.Struct("<hhiii")


@syscall(("fcntl", "fcntl64"), "fd", "int", "hex")
def sys_fcntl(p, fd, cmd, arg):
    fd, cmd = s32(fd), s32(cmd)
    h = p.fds.get(fd)
    if cmd in (F_DUPFD, F_DUPFD_CLOEXEC):
        lowest = s32(arg)
        if lowest < 0 or lowest >= p.fds.limit:
            raise einval()
        return p.fds.add(os.dup(h), lowest=lowest, cloexec=(cmd == F_DUPFD_CLOEXEC))
    if cmd == F_GETFD:
        return 1 if fd in p.fds.cloexec else 0
    if cmd == F_SETFD:
        if arg & 1:
            p.fds.cloexec.add(fd)
        else:
            p.fds.cloexec.discard(fd)
        return 0
    if cmd == F_GETFL:
        return hostfcntl.fcntl(h, F_GETFL)
    if cmd == F_SETFL:
        return hostfcntl.fcntl(h, F_SETFL, arg & 0xFFFFFFFF)
    if cmd in (F_GETLK, F_SETLK, F_SETLKW, F_GETLK64, F_SETLK64, F_SETLKW64,
               F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW):
        st = _flock_struct(p, cmd)
        ltype, whence, start, length, pid = st.unpack(p.mem.read(arg, st.size))
        import struct
        host = struct.Struct("<hhqqi4x")
        hostcmd = {F_GETLK64: F_GETLK, F_SETLK64: F_SETLK, F_SETLKW64: F_SETLKW}.get(cmd, cmd)
        out = hostfcntl.fcntl(h, hostcmd, host.pack(ltype, whence, start, length, pid))
        if cmd in (F_GETLK, F_GETLK64, F_OFD_GETLK):
            p.mem.write(arg, st.pack(*host.unpack(out)))
        return 0
    if cmd == F_SETOWN and p.jail is not None and p.jail.config.jailed:
        _jailed_owner(p, s32(arg))
    if cmd in INT_COMMANDS:
        return hostfcntl.fcntl(h, cmd, arg & 0xFFFFFFFF)
    raise einval()


def _jailed_owner(p, owner: int) -> None:
    """F_SETOWN names who gets SIGIO (or F_SETSIG's signal): in a jail only one of its
    own processes (ESRCH for others, as kill) — the emulator may run as root — and no
    process group (EPERM), which can hold host processes such as the supervisor or the
    shell that started guise."""
    if owner < 0:
        raise OSError(1, "Operation not permitted")
    if owner and not p.jail.targets("process", owner, p.pid, "fcntl"):
        raise OSError(1, "Operation not permitted")      # the supervisor


@syscall("flock", "fd", "int")
def sys_flock(p, fd, op):
    hostfcntl.flock(p.fds.get(s32(fd)), op)
    return 0


# -- ioctl ------------------------------------------------------------------------
# request -> (bytes copied, direction: 'r' guest reads result, 'w' guest supplies, 'rw', 'i' int arg)
IOCTLS = {
    0x5401: ("TCGETS", 36, "r"), 0x5402: ("TCSETS", 36, "w"), 0x5403: ("TCSETSW", 36, "w"),
    0x5404: ("TCSETSF", 36, "w"), 0x5413: ("TIOCGWINSZ", 8, "r"), 0x5414: ("TIOCSWINSZ", 8, "w"),
    0x541B: ("FIONREAD", 4, "r"), 0x540F: ("TIOCGPGRP", 4, "r"), 0x5410: ("TIOCSPGRP", 4, "w"),
    0x5421: ("FIONBIO", 4, "w"), 0x5452: ("FIOASYNC", 4, "w"), 0x5429: ("TIOCGSID", 4, "r"),
    0x540B: ("TCFLSH", 0, "i"), 0x5409: ("TCSBRK", 0, "i"), 0x540A: ("TCXONC", 0, "i"),
    0x80045430: ("TIOCGPTN", 4, "r"), 0x5425: ("TCGETS2", 44, "r"),
    0x402C542B: ("TCSETS2", 44, "w"), 0x402C542C: ("TCSETSW2", 44, "w"), 0x402C542D: ("TCSETSF2", 44, "w"),
    # pseudo-terminals (openpty, pty.fork, script, expect) and controlling terminals
    0x40045431: ("TIOCSPTLCK", 4, "w"), 0x80045439: ("TIOCGPTLCK", 4, "r"), 0x5420: ("TIOCPKT", 4, "w"),
    0x80045438: ("TIOCGPKT", 4, "r"), 0x540E: ("TIOCSCTTY", 0, "i"), 0x5422: ("TIOCNOTTY", 0, "i"),
    0x540C: ("TIOCEXCL", 0, "i"), 0x540D: ("TIOCNXCL", 0, "i"), 0x5411: ("TIOCOUTQ", 4, "r"),
    # inode flags (lsattr/chattr) and generation: an int, though the request is sized as a long
    0x80086601: ("FS_IOC_GETFLAGS", 4, "r"), 0x40086602: ("FS_IOC_SETFLAGS", 4, "w"),
    0x80087601: ("FS_IOC_GETVERSION", 4, "r"),
    0x80046601: ("FS_IOC32_GETFLAGS", 4, "r"), 0x40046602: ("FS_IOC32_SETFLAGS", 4, "w"),
    0x80047601: ("FS_IOC32_GETVERSION", 4, "r"),
}
# i386 requests whose size field names a 32-bit long: the host (x86-64) kernel's own number
IOCTL_HOST = {0x80046601: 0x80086601, 0x40046602: 0x40086602, 0x80047601: 0x80087601}
FIONCLEX, FIOCLEX = 0x5450, 0x5451
TIOCGPTPEER = 0x5441          # opens the pty's other end: the result is a new descriptor


@syscall("ioctl", "fd", "hex", "hex", level="partial",
         note="terminal (TCGETS/TCSETS*, TIOCGWINSZ, TIOCGPGRP…), pseudo-terminals (TIOCGPTN, TIOCSPTLCK, TIOCGPTPEER…), FIONREAD, FIONBIO, FIOCLEX, FS_IOC_*FLAGS; others ENOTTY")
def sys_ioctl(p, fd, req, arg):
    fd, req = s32(fd), req & 0xFFFFFFFF
    h = p.fds.get(fd)
    if req == FIOCLEX:
        p.fds.cloexec.add(fd)
        return 0
    if req == FIONCLEX:
        p.fds.cloexec.discard(fd)
        return 0
    if req == TIOCGPTPEER:
        flags = arg & 0xFFFFFFFF
        peer = hostfcntl.ioctl(h, req, flags | O_CLOEXEC)
        return p.fds.add(peer, cloexec=bool(flags & O_CLOEXEC))
    known = IOCTLS.get(req)
    if known is None:
        p.unimpl["ioctl:" + hex(req)] += 1
        raise OSError(25, "Inappropriate ioctl for device")
    _name, size, direction = known
    req = IOCTL_HOST.get(req, req)
    if direction == "i":
        return hostfcntl.ioctl(h, req, arg & 0xFFFFFFFF)
    buf = bytearray(p.mem.read(arg, size)) if "w" in direction else bytearray(size)
    if _name.endswith("SETFLAGS"):
        with p.fs.changing(h) as target:
            if target != h:                  # a jail's lower-layer file: an ioctl needs the fd
                raise OSError(1, "Operation not permitted")
            hostfcntl.ioctl(h, req, buf, True)
        return 0
    hostfcntl.ioctl(h, req, buf, True)
    if "r" in direction:
        p.mem.write(arg, bytes(buf))
    return 0
