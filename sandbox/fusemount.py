"""The FUSE mount of a zone: its merged file system, browsable and writable from the host.

A thin adapter from fusepy's operations to a :class:`FileSystemView` (the
zone's :class:`JailView`): the view already merges the layers, copies up on
write and records whiteouts, so writes through the mount land in the zone's
upper layer exactly as the guest's own would, and nothing here knows the
overlay format.  fusepy runs single-threaded (the view is not thread-safe) in
the foreground until ``fusermount3 -u``; ``--read-only`` is the kernel's ``ro``
mount flag, so every write is refused with EROFS before it reaches us.

Paths cross fusepy as ``latin-1`` text, which maps every byte to one character
and back, so names that are not UTF-8 survive unchanged.
"""
from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import time
from typing import Optional

from .errors import SandboxError
from .view import FileSystemView

FSTYPE = "fuse.guise"           # what /proc/self/mountinfo shows for our mounts
UMOUNT_TIMEOUT = 30
UTIME_NOW = (1 << 30) - 1       # libfuse passes these as the nanoseconds of a zero time
UTIME_OMIT = (1 << 30) - 2
STAT_FIELDS = ("st_mode", "st_nlink", "st_uid", "st_gid", "st_size", "st_rdev", "st_blocks",
               "st_blksize", "st_ino")


def _b(path: str) -> bytes:
    return path.encode("latin-1")


def _s(name: bytes) -> str:
    return name.decode("latin-1")


class ViewOperations:
    """fusepy's operations object over a view.  fusepy registers only the methods a
    class has and calls them as ``ops(name, *args)``; an OSError becomes -errno."""

    use_ns = True                # times as integer nanoseconds, both ways
    flag_utime_omit_ok = 1       # utimens sees UTIME_NOW/UTIME_OMIT instead of libfuse guessing

    def __init__(self, view: FileSystemView, statfs_path: str):
        self.view = view
        self.statfs_path = statfs_path

    def __call__(self, op, *args):
        return getattr(self, op)(*args)

    # -- reading

    def getattr(self, path, fh=None):
        st = os.fstat(fh) if fh is not None else self.view.stat(_b(path), follow=False)
        attrs = {k: getattr(st, k) for k in STAT_FIELDS}
        attrs.update(st_atime=st.st_atime_ns, st_mtime=st.st_mtime_ns, st_ctime=st.st_ctime_ns)
        return attrs

    def readdir(self, path, fh):
        return [".", ".."] + [_s(n) for n in self.view.listdir(_b(path))]

    def readlink(self, path):
        return _s(self.view.readlink(_b(path)))

    def open(self, path, flags):
        # the kernel computes append offsets itself; O_APPEND here would ignore them
        return self.view.open(_b(path), (flags & ~os.O_APPEND) | os.O_CLOEXEC)

    def read(self, path, size, offset, fh):
        return os.pread(fh, size, offset)

    def release(self, path, fh):
        os.close(fh)

    def statfs(self, path):
        sv = os.statvfs(self.statfs_path)
        return {k: getattr(sv, k) for k in ("f_bsize", "f_frsize", "f_blocks", "f_bfree", "f_bavail",
                                            "f_files", "f_ffree", "f_favail", "f_namemax")}

    # -- writing (never reached on a read-only mount: the kernel answers EROFS)

    def create(self, path, mode):
        return self.view.open(_b(path), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, mode)

    def write(self, path, data, offset, fh):
        return os.pwrite(fh, data, offset)

    def truncate(self, path, length, fh=None):
        if fh is not None:
            os.ftruncate(fh, length)
        else:
            self.view.truncate(_b(path), length)

    def mkdir(self, path, mode):
        self.view.mkdir(_b(path), mode)

    def unlink(self, path):
        self.view.unlink(_b(path))

    def rmdir(self, path):
        self.view.unlink(_b(path), rmdir=True)

    def rename(self, old, new):
        self.view.rename(_b(old), _b(new))

    def symlink(self, target, source):
        """fusepy's names: ``target`` is the new link, ``source`` the text it holds."""
        self.view.symlink(_b(source), _b(target))

    def link(self, target, source):
        """``target`` is the new name for the existing ``source``."""
        self.view.link(_b(source), _b(target))

    def chmod(self, path, mode):
        self.view.chmod(_b(path), mode & 0o7777, follow=False)

    def chown(self, path, uid, gid):
        self.view.chown(_b(path), uid, gid, follow=False)

    def utimens(self, path, times=None):
        if times is not None and (UTIME_NOW in times or UTIME_OMIT in times):
            st = self.view.stat(_b(path), follow=False)
            now = time.time_ns()
            times = tuple(now if t == UTIME_NOW else old if t == UTIME_OMIT else t
                          for t, old in zip(times, (st.st_atime_ns, st.st_mtime_ns)))
        self.view.utime(_b(path), times, follow=False)


def _unescape(field: bytes) -> bytes:
    """mountinfo writes space, tab, newline and backslash as octal escapes."""
    return re.sub(rb"\\([0-7]{3})", lambda m: bytes([int(m.group(1), 8)]), field)


def mount_type(path: str) -> Optional[str]:
    """The file-system type mounted at ``path`` (a real path), or None if none is."""
    target = os.fsencode(path)
    found = None
    with open("/proc/self/mountinfo", "rb") as f:
        for line in f:
            fields = line.split()
            if _unescape(fields[4]) == target:
                found = fields[fields.index(b"-") + 1].decode()     # the last mount on top wins
    return found


def check_mountpoint(mountpoint: str) -> str:
    """The mount point's real path, if it is an empty directory with nothing mounted on it."""
    mp = os.path.realpath(mountpoint)
    if mount_type(mp) is not None:
        raise SandboxError(f"{mountpoint}: busy: something is already mounted there")
    if not os.path.isdir(mp):
        raise SandboxError(f"{mountpoint}: not a directory" if os.path.exists(mp)
                           else f"{mountpoint}: no such directory")
    if os.listdir(mp):
        raise SandboxError(f"{mountpoint}: busy: the directory is not empty")
    return mp


def _fuse_module():
    if not os.path.exists("/dev/fuse"):
        raise SandboxError("/dev/fuse is missing: this host cannot mount FUSE file systems")
    try:
        import fuse
    except (ImportError, OSError):
        raise SandboxError("zone mount needs fusepy and libfuse 2 (Debian: apt-get install libfuse2)") \
            from None
    return fuse


def mount(zone, mountpoint: str, read_only: bool = False) -> None:
    """Mount ``zone``'s file system at ``mountpoint`` and serve it until it is unmounted.

    The view shows the zone's own layers only: no binds (host directories), no
    devices, no /proc.  The zone counts as in use meanwhile, so it cannot be
    snapshotted, rolled back or destroyed under the mount."""
    mp = check_mountpoint(mountpoint)
    fuse = _fuse_module()
    from .jailfs import JailView
    config = dataclasses.replace(zone.jail_config(), binds=[], tmpfs=[], devices=False, proc=False)
    with zone.in_use():
        view = JailView(config)
        old_umask = os.umask(0)     # the kernel already applied the caller's umask to new modes
        try:
            fuse.FUSE(ViewOperations(view, zone.path), os.fsencode(mp).decode("latin-1"),
                      encoding="latin-1", foreground=True, nothreads=True, ro=read_only, use_ino=True,
                      fsname=f"guise-zone:{zone.name}", subtype="guise")
        except RuntimeError:
            raise SandboxError(f"mounting {mountpoint} failed (libfuse said why above)") from None
        finally:
            os.umask(old_umask)
            view.close()


def umount(mountpoint: str) -> None:
    """Unmount a zone mount (the serving ``guise zone mount`` then exits)."""
    mp = os.path.realpath(mountpoint)
    fstype = mount_type(mp)
    if fstype is None:
        raise SandboxError(f"{mountpoint}: not mounted")
    if fstype != FSTYPE:
        raise SandboxError(f"{mountpoint}: not a guise zone mount ({fstype})")
    tool = shutil.which("fusermount3") or shutil.which("fusermount")
    if tool is None:
        raise SandboxError("zone umount needs fusermount3 (Debian: apt-get install fuse3)")
    try:
        p = subprocess.run([tool, "-u", mp], capture_output=True, timeout=UMOUNT_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise SandboxError(f"{mountpoint}: {tool} -u did not finish in {UMOUNT_TIMEOUT} s") from None
    if p.returncode:
        first = (p.stderr.decode(errors="replace").strip().splitlines() or ["failed"])[0]
        raise SandboxError(f"{mountpoint}: {first}")
