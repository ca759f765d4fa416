"""File-system metadata: the stat family, directories, links, names, modes and times."""
from __future__ import annotations

import ctypes
import os
import struct

from ..abi import s32
from .. import procfs
from .decl import syscall
from .util import (AT_EMPTY_PATH, AT_REMOVEDIR, AT_SYMLINK_FOLLOW, AT_SYMLINK_NOFOLLOW,
                   AT_EACCESS, dirfd, path, einval)

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
SYS_getdents64_host = 217        # the emulator itself always runs on x86-64


# -- stat family ------------------------------------------------------------------
def _stat(p, dfd, pth: bytes, follow: bool, flags: int = 0) -> os.stat_result:
    if not pth:
        if flags & AT_EMPTY_PATH:
            return os.fstat(dfd) if dfd is not None else p.fs.stat(b".")
        raise FileNotFoundError(2, "No such file or directory")
    if procfs.special(pth):
        if follow and (h := procfs.fd_host(p, pth)) is not None:
            return os.fstat(h)
        pth = procfs.stat_target(p, pth) if follow else procfs.lstat_target(p, pth)
    return p.fs.stat(pth, dfd, follow)


@syscall("stat", "path", "ptr")
def sys_stat(p, pth, buf):
    p.mem.write(buf, p.abi.pack_stat(_stat(p, None, path(p, pth), True)))
    return 0


@syscall("lstat", "path", "ptr")
def sys_lstat(p, pth, buf):
    p.mem.write(buf, p.abi.pack_stat(_stat(p, None, path(p, pth), False)))
    return 0


@syscall("fstat", "fd", "ptr")
def sys_fstat(p, fd, buf):
    p.mem.write(buf, p.abi.pack_stat(os.fstat(p.fds.get(s32(fd)))))
    return 0


@syscall("stat64", "path", "ptr")
def sys_stat64(p, pth, buf):
    p.mem.write(buf, p.abi.pack_stat64(_stat(p, None, path(p, pth), True)))
    return 0


@syscall("lstat64", "path", "ptr")
def sys_lstat64(p, pth, buf):
    p.mem.write(buf, p.abi.pack_stat64(_stat(p, None, path(p, pth), False)))
    return 0


@syscall("fstat64", "fd", "ptr")
def sys_fstat64(p, fd, buf):
    p.mem.write(buf, p.abi.pack_stat64(os.fstat(p.fds.get(s32(fd)))))
    return 0


def _fstatat(p, dfd, pth, buf, flags, pack):
    flags = s32(flags)
    if flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | 0x800 | 0x6000):
        raise einval()
    st = _stat(p, dirfd(p, dfd), path(p, pth), not flags & AT_SYMLINK_NOFOLLOW, flags)
    p.mem.write(buf, pack(st))
    return 0


@syscall("newfstatat", "dirfd", "path", "ptr", "hex")
def sys_newfstatat(p, dfd, pth, buf, flags):
    return _fstatat(p, dfd, pth, buf, flags, p.abi.pack_stat)


@syscall("fstatat64", "dirfd", "path", "ptr", "hex")
def sys_fstatat64(p, dfd, pth, buf, flags):
    return _fstatat(p, dfd, pth, buf, flags, p.abi.pack_stat64)


SYS_statx_host = 332
O_PATH = 0o10000000
STATX_RESERVED = 0x80000000
AT_STATX_SYNC_TYPE = 0x6000


@syscall("statx", "dirfd", "path", "hex", "hex", "ptr")
def sys_statx(p, dfd, pth, flags, mask, buf):
    """The host kernel's own statx (birth time, mount id, attributes) on an O_PATH
    descriptor that the sandbox opened for the guest path."""
    flags = s32(flags)
    if flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | 0x800 | AT_STATX_SYNC_TYPE) \
            or flags & AT_STATX_SYNC_TYPE == AT_STATX_SYNC_TYPE or mask & STATX_RESERVED:
        raise einval()
    d, pth = dirfd(p, dfd), path(p, pth)
    follow = not flags & AT_SYMLINK_NOFOLLOW
    if not pth and flags & AT_EMPTY_PATH and d is not None:
        p.mem.write(buf, _host_statx(d, flags, mask))
        return 0
    if not pth:
        if not flags & AT_EMPTY_PATH:
            raise FileNotFoundError(2, "No such file or directory")
        pth = b"."
    pth = procfs.target(p, pth, follow)
    h = p.fs.open(pth, O_PATH | os.O_CLOEXEC | (0 if follow else os.O_NOFOLLOW), dirfd=d)
    try:
        p.mem.write(buf, _host_statx(h, flags, mask))
    finally:
        os.close(h)
    return 0


def _host_statx(h: int, flags: int, mask: int) -> bytes:
    out = ctypes.create_string_buffer(256)
    r = _libc.syscall(SYS_statx_host, h, b"", AT_EMPTY_PATH | (flags & AT_STATX_SYNC_TYPE),
                      ctypes.c_uint(mask & 0xFFFFFFFF), out)
    if r < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return out.raw


# -- directories ------------------------------------------------------------------
@syscall("getdents64", "fd", "ptr", "size")
def sys_getdents64(p, fd, buf, count):
    """The host kernel's own getdents64 on the host descriptor: exact d_off/d_type semantics."""
    h = p.fds.get(s32(fd))
    data = _dirents64(p, h, min(count, 1 << 20))
    if p.abi.bits == 32 and data and not isinstance(p.fds.state.get(h), Listing):
        data = _small_cookies(p, h, data)
    p.mem.write(buf, data)
    return len(data)


class Listing:
    """A directory listing the view supplies (a jail's merged layers, mount points),
    read out as linux_dirent64 records; the offset of each is its index + 1."""

    def __init__(self, entries):
        self.entries = entries           # [(name, d_type, inode)]
        self.pos = 0

    def read(self, count: int) -> bytes:
        out = bytearray()
        while self.pos < len(self.entries):
            name, dtype, ino = self.entries[self.pos]
            reclen = (19 + len(name) + 1 + 7) & ~7
            if len(out) + reclen > count:
                if not out:
                    raise einval()
                break
            rec = struct.pack("<QqHB", ino, self.pos + 1, reclen, dtype) + name
            out += rec + bytes(reclen - len(rec))
            self.pos += 1
        return bytes(out)


def _dirents64(p, h: int, count: int) -> bytes:
    """Raw linux_dirent64 records: the view's listing where it has one, else the host's."""
    listing = p.fds.state.get(h)
    if listing is None:
        entries = p.fs.dir_entries(h)
        if entries is not None:
            listing = p.fds.state[h] = Listing(entries)
    if isinstance(listing, Listing):
        return listing.read(count)
    tmp = ctypes.create_string_buffer(count)
    n = _libc.syscall(SYS_getdents64_host, h, tmp, count)
    if n < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return tmp.raw[:n]


def seek_listing(p, h: int, off: int, whence: int) -> int | None:
    """lseek on a directory read through a Listing (rewinddir, seekdir); else None."""
    listing = p.fds.state.get(h)
    if not isinstance(listing, Listing):
        return None
    if whence == os.SEEK_CUR:
        off += listing.pos
    elif whence != os.SEEK_SET or off < 0:
        raise einval()
    listing.pos = off
    return off


def _small_cookies(p, h: int, data: bytes) -> bytes:
    """Replace 64-bit d_off hash cookies by small indices a 32-bit libc accepts."""
    cookies = p.fds.dir_cookies.setdefault(h, [])
    out = bytearray(data)
    off = 0
    while off < len(out):
        real, reclen = struct.unpack_from("<qH", out, off + 8)
        cookies.append(real)
        struct.pack_into("<q", out, off + 8, len(cookies))
        off += reclen
    return bytes(out)


def dir_offset(p, h: int, off: int) -> int:
    """For lseek on a 32-bit guest's directory: a small cookie back to the real offset."""
    cookies = p.fds.dir_cookies.get(h)
    if cookies is None or off <= 0:
        return off
    if off > len(cookies):
        raise einval()
    return cookies[off - 1]


@syscall("getdents", "fd", "ptr", "size", level="partial", note="converted from getdents64")
def sys_getdents(p, fd, buf, count):
    """Old linux_dirent (i386 and x86-64): d_ino, d_off, d_reclen, name, NUL, pad, d_type."""
    h = p.fds.get(s32(fd))
    ps = p.abi.ptr_size
    pos = seek_listing(p, h, 0, os.SEEK_CUR)
    pos = os.lseek(h, 0, os.SEEK_CUR) if pos is None else pos
    raw = _dirents64(p, h, min(count, 1 << 20))
    n, out, off = len(raw), b"", 0
    fmt = struct.Struct("<QQH" if ps == 8 else "<IIH")
    while off < n:
        ino, doff, reclen, dtype = struct.unpack_from("<QqHB", raw, off)
        name = raw[off + 19:off + reclen].split(b"\0", 1)[0]
        rec = fmt.size + len(name) + 2
        rec = (rec + ps - 1) & ~(ps - 1)
        if len(out) + rec > count:
            if seek_listing(p, h, pos, os.SEEK_SET) is None:
                os.lseek(h, pos, os.SEEK_SET)
            break
        if ps == 4 and (ino >> 32 or doff >> 31):
            raise OSError(75, "Value too large for defined data type")
        entry = fmt.pack(ino, doff, rec) + name + b"\0"
        entry += bytes(rec - len(entry) - 1) + bytes([dtype])
        out += entry
        pos = doff
        off += reclen
    if not out and n:
        raise einval()
    p.mem.write(buf, out)
    return len(out)


@syscall("getcwd", "obuf", "size")
def sys_getcwd(p, buf, size):
    cwd = p.fs.getcwd() + b"\0"
    if len(cwd) > size:
        raise OSError(34, "Numerical result out of range")
    p.mem.write(buf, cwd)
    return len(cwd)


@syscall("chdir", "path")
def sys_chdir(p, pth):
    p.fs.chdir(path(p, pth))
    return 0


@syscall("chroot", "path", level="partial", note="inside a jail only (it nests there); EPERM unjailed")
def sys_chroot(p, pth):
    p.fs.chroot(path(p, pth))
    return 0


@syscall("fchdir", "fd")
def sys_fchdir(p, fd):
    p.fs.fchdir(p.fds.get(s32(fd)))
    return 0


@syscall("mkdir", "path", "mode")
def sys_mkdir(p, pth, mode):
    p.fs.mkdir(path(p, pth), mode & 0o7777)
    return 0


@syscall("mkdirat", "dirfd", "path", "mode")
def sys_mkdirat(p, dfd, pth, mode):
    p.fs.mkdir(path(p, pth), mode & 0o7777, dirfd(p, dfd))
    return 0


@syscall("rmdir", "path")
def sys_rmdir(p, pth):
    p.fs.unlink(path(p, pth), None, rmdir=True)
    return 0


@syscall("unlink", "path")
def sys_unlink(p, pth):
    p.fs.unlink(path(p, pth))
    return 0


@syscall("unlinkat", "dirfd", "path", "hex")
def sys_unlinkat(p, dfd, pth, flags):
    if flags & ~AT_REMOVEDIR:
        raise einval()
    p.fs.unlink(path(p, pth), dirfd(p, dfd), rmdir=bool(flags & AT_REMOVEDIR))
    return 0


@syscall("mknod", "path", "mode", "hex")
def sys_mknod(p, pth, mode, dev):
    p.fs.mknod(path(p, pth), mode & 0xFFFFFFFF, dev & 0xFFFFFFFF)
    return 0


@syscall("mknodat", "dirfd", "path", "mode", "hex")
def sys_mknodat(p, dfd, pth, mode, dev):
    p.fs.mknod(path(p, pth), mode & 0xFFFFFFFF, dev & 0xFFFFFFFF, dirfd(p, dfd))
    return 0


# -- names and links --------------------------------------------------------------
@syscall("rename", "path", "path")
def sys_rename(p, old, new):
    p.fs.rename(path(p, old), path(p, new))
    return 0


@syscall("renameat", "dirfd", "path", "dirfd", "path")
def sys_renameat(p, od, old, nd, new):
    p.fs.rename(path(p, old), path(p, new), dirfd(p, od), dirfd(p, nd))
    return 0


@syscall("renameat2", "dirfd", "path", "dirfd", "path", "hex", level="partial",
         note="flags (RENAME_NOREPLACE, RENAME_EXCHANGE) give EINVAL")
def sys_renameat2(p, od, old, nd, new, flags):
    p.fs.rename(path(p, old), path(p, new), dirfd(p, od), dirfd(p, nd), flags)
    return 0


@syscall("symlink", "path", "path")
def sys_symlink(p, target, linkpath):
    p.fs.symlink(path(p, target), path(p, linkpath))
    return 0


@syscall("symlinkat", "path", "dirfd", "path")
def sys_symlinkat(p, target, dfd, linkpath):
    p.fs.symlink(path(p, target), path(p, linkpath), dirfd(p, dfd))
    return 0


@syscall("link", "path", "path")
def sys_link(p, old, new):
    p.fs.link(path(p, old), path(p, new))
    return 0


@syscall("linkat", "dirfd", "path", "dirfd", "path", "hex")
def sys_linkat(p, od, old, nd, new, flags):
    if flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH):
        raise einval()
    p.fs.link(path(p, old), path(p, new), dirfd(p, od), dirfd(p, nd),
              follow=bool(flags & AT_SYMLINK_FOLLOW))
    return 0


def _readlink(p, dfd, pth, buf, size):
    size = s32(size)
    if size <= 0:
        raise einval()
    target = procfs.readlink(p, pth) if procfs.special(pth) else None
    if target is None:
        target = p.fs.readlink(pth, dfd)
    data = target[:size]
    p.mem.write(buf, data)
    return len(data)


@syscall("readlink", "path", "obuf", "size")
def sys_readlink(p, pth, buf, size):
    return _readlink(p, None, path(p, pth), buf, size)


@syscall("readlinkat", "dirfd", "path", "obuf", "size")
def sys_readlinkat(p, dfd, pth, buf, size):
    return _readlink(p, dirfd(p, dfd), path(p, pth), buf, size)


# -- permissions ------------------------------------------------------------------
def _access(p, dfd, pth, mode, flags):
    if mode & ~7:
        raise einval()
    p.fs.access(pth, mode, dfd, effective=bool(flags & AT_EACCESS),
                follow=not flags & AT_SYMLINK_NOFOLLOW)
    return 0


@syscall("access", "path", "int")
def sys_access(p, pth, mode):
    return _access(p, None, path(p, pth), mode, 0)


@syscall("faccessat", "dirfd", "path", "int")
def sys_faccessat(p, dfd, pth, mode):
    return _access(p, dirfd(p, dfd), path(p, pth), mode, 0)


@syscall("faccessat2", "dirfd", "path", "int", "hex")
def sys_faccessat2(p, dfd, pth, mode, flags):
    if flags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH):
        raise einval()
    return _access(p, dirfd(p, dfd), path(p, pth), mode, flags)


@syscall("chmod", "path", "mode")
def sys_chmod(p, pth, mode):
    p.fs.chmod(path(p, pth), mode & 0o7777)
    return 0


@syscall("fchmod", "fd", "mode")
def sys_fchmod(p, fd, mode):
    with p.fs.changing(p.fds.get(s32(fd))) as target:
        os.chmod(target, mode & 0o7777)
    return 0


@syscall("fchmodat", "dirfd", "path", "mode")
def sys_fchmodat(p, dfd, pth, mode):
    p.fs.chmod(path(p, pth), mode & 0o7777, dirfd(p, dfd))
    return 0


def _id(x):
    x = s32(x)
    return -1 if x == -1 else x & 0xFFFFFFFF


@syscall(("chown", "chown32"), "path", "int", "int")
def sys_chown(p, pth, uid, gid):
    p.fs.chown(path(p, pth), _id(uid), _id(gid))
    return 0


@syscall(("lchown", "lchown32"), "path", "int", "int")
def sys_lchown(p, pth, uid, gid):
    p.fs.chown(path(p, pth), _id(uid), _id(gid), follow=False)
    return 0


@syscall(("fchown", "fchown32"), "fd", "int", "int")
def sys_fchown(p, fd, uid, gid):
    p.fs.may_chown(_id(uid), _id(gid))
    with p.fs.changing(p.fds.get(s32(fd))) as target:
        os.chown(target, _id(uid), _id(gid))
    return 0


@syscall("fchownat", "dirfd", "path", "int", "int", "hex")
def sys_fchownat(p, dfd, pth, uid, gid, flags):
    pth = path(p, pth)
    if not pth and flags & AT_EMPTY_PATH:
        p.fs.may_chown(_id(uid), _id(gid))
        with p.fs.changing(dirfd(p, dfd)) as target:
            os.chown(target, _id(uid), _id(gid))
        return 0
    p.fs.chown(pth, _id(uid), _id(gid), dirfd(p, dfd), follow=not flags & AT_SYMLINK_NOFOLLOW)
    return 0


@syscall("umask", "mode")
def sys_umask(p, mask):
    return os.umask(mask & 0o777)


# -- times ------------------------------------------------------------------------
UTIME_NOW, UTIME_OMIT = (1 << 30) - 1, (1 << 30) - 2


def _utimens(p, dfd, pth, times_addr, flags, ts_struct):
    follow = not flags & AT_SYMLINK_NOFOLLOW
    if times_addr == 0:
        ns = None
    else:
        raw = p.mem.read(times_addr, 2 * ts_struct.size)
        pairs = [ts_struct.unpack_from(raw, i * ts_struct.size) for i in range(2)]
        if any(n not in (UTIME_NOW, UTIME_OMIT) and not 0 <= n < 1_000_000_000 for _, n in pairs):
            raise einval()
        if all(n == UTIME_OMIT for _, n in pairs):
            return 0
    if times_addr and all(n == UTIME_NOW for _, n in pairs):
        ns = None                   # as NULL: the file's writer may do this, not only its owner
    elif times_addr:
        cur = None
        import time as _t
        now = _t.time_ns()
        out = []
        for i, (sec, nsec) in enumerate(pairs):
            if nsec == UTIME_NOW:
                out.append(now)
            elif nsec == UTIME_OMIT:
                if cur is None:
                    cur = os.fstat(dfd) if not pth else p.fs.stat(pth, dfd, follow)
                out.append(cur.st_atime_ns if i == 0 else cur.st_mtime_ns)
            else:
                out.append(sec * 1_000_000_000 + nsec)
        ns = tuple(out)
    if not pth:
        if dfd is None:
            raise OSError(14, "Bad address")
        with p.fs.changing(dfd) as target:
            os.utime(target, ns=ns) if ns else os.utime(target)
        return 0
    p.fs.utime(pth, ns, dfd, follow)
    return 0


@syscall("utimensat", "dirfd", "path", "ptr", "hex")
def sys_utimensat(p, dfd, pth, times, flags):
    pth = path(p, pth) if pth else b""
    return _utimens(p, dirfd(p, dfd), pth, times, flags, p.abi.timespec)


@syscall("utimensat_time64", "dirfd", "path", "ptr", "hex")
def sys_utimensat64(p, dfd, pth, times, flags):
    pth = path(p, pth) if pth else b""
    return _utimens(p, dirfd(p, dfd), pth, times, flags, p.abi.timespec64)


@syscall("utimes", "path", "ptr")
def sys_utimes(p, pth, tv):
    pth = path(p, pth)
    if tv == 0:
        p.fs.utime(pth, None)
        return 0
    st = p.abi.timeval
    raw = p.mem.read(tv, 2 * st.size)
    (a, au), (m, mu) = st.unpack_from(raw, 0), st.unpack_from(raw, st.size)
    p.fs.utime(pth, (a * 10**9 + au * 1000, m * 10**9 + mu * 1000))
    return 0


@syscall("utime", "path", "ptr")
def sys_utime(p, pth, buf):
    pth = path(p, pth)
    if buf == 0:
        p.fs.utime(pth, None)
        return 0
    raw = p.mem.read(buf, 2 * p.abi.ptr_size)
    a, m = p.abi.iovec.unpack(raw)
    p.fs.utime(pth, (a * 10**9, m * 10**9))
    return 0


# -- sizes and syncing -------------------------------------------------------------
@syscall("truncate", "path", "off")
def sys_truncate(p, pth, length):
    p.fs.truncate(path(p, pth), p.abi.slong(length))
    return 0


@syscall("ftruncate", "fd", "off")
def sys_ftruncate(p, fd, length):
    os.ftruncate(p.fds.get(s32(fd)), p.abi.slong(length))
    return 0


@syscall("truncate64", "path", "uint", "uint")
def sys_truncate64(p, pth, lo, hi):
    p.fs.truncate(path(p, pth), hi << 32 | lo)
    return 0


@syscall("ftruncate64", "fd", "uint", "uint")
def sys_ftruncate64(p, fd, lo, hi):
    os.ftruncate(p.fds.get(s32(fd)), hi << 32 | lo)
    return 0


@syscall(("fsync", "fdatasync", "syncfs"), "fd")
def sys_fsync(p, fd):
    os.fsync(p.fds.get(s32(fd)))
    return 0


@syscall("sync")
def sys_sync(p):
    os.sync()
    return 0


@syscall(("fadvise64", "fadvise64_64"), "fd", "off", "size", "int", level="partial",
         note="advice accepted and ignored, as Linux may")
def sys_fadvise(p, fd, *_):
    p.fds.get(s32(fd))
    return 0


@syscall("fallocate", "fd", "int", "off", "off", abi="x86_64")
def sys_fallocate(p, fd, mode, off, length):
    if mode:
        raise OSError(95, "Operation not supported")
    os.posix_fallocate(p.fds.get(s32(fd)), off, length)
    return 0


# -- file systems -----------------------------------------------------------------
def _statfs_struct(p, is64):
    """struct statfs / statfs64: type, bsize, 5 counts, fsid[2], namelen, frsize, flags, spare[4]."""
    if p.abi.bits == 64:
        return struct.Struct("<qqQQQQQiiqqqqqqq")
    return struct.Struct("<iiQQQQQiiiiiiiii") if is64 else struct.Struct("<iiIIIIIiiiiiiiii")


def _pack_statfs(p, host_fd: int, is64: bool) -> bytes:
    """Ask the host kernel (fstatfs) so that f_type is real, then re-pack for the guest ABI."""
    buf = ctypes.create_string_buffer(120)
    if _libc.fstatfs(host_fd, buf) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    f = struct.unpack("<qqQQQQQiiqqqqqqq", buf.raw)
    if p.abi.bits == 32 and not is64 and any(x >> 32 for x in f[2:7]):
        raise OSError(75, "Value too large for defined data type")
    return _statfs_struct(p, is64).pack(*f)


def _statfs_path(p, pth: bytes, is64: bool) -> bytes:
    h = p.fs.open(pth, os.O_PATH | os.O_CLOEXEC)
    try:
        return _pack_statfs(p, h, is64)
    finally:
        os.close(h)


@syscall("statfs", "path", "ptr")
def sys_statfs(p, pth, buf):
    p.mem.write(buf, _statfs_path(p, path(p, pth), False))
    return 0


@syscall("fstatfs", "fd", "ptr")
def sys_fstatfs(p, fd, buf):
    p.mem.write(buf, _pack_statfs(p, p.fds.get(s32(fd)), False))
    return 0


@syscall("statfs64", "path", "size", "ptr")
def sys_statfs64(p, pth, size, buf):
    p.mem.write(buf, _statfs_path(p, path(p, pth), True))
    return 0


@syscall("fstatfs64", "fd", "size", "ptr")
def sys_fstatfs64(p, fd, size, buf):
    p.mem.write(buf, _pack_statfs(p, p.fds.get(s32(fd)), True))
    return 0
