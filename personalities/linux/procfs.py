"""The parts of /proc that must describe the guest, not the emulator.

/proc/self/{exe,maps,auxv,cmdline,environ,cwd,root,fd/N,fd/} (and the same
under /proc/<pid> and /proc/thread-self) are answered from the process model,
with guest descriptor numbers; everything else under /proc goes to the sandbox
like any other path.
"""
from __future__ import annotations

import os
import posixpath


# /dev's links into /proc/self (as udev and systemd make them): a guest's fd 63 is
# not the emulator's, so these must reach the guest's descriptors too
_DEV_LINKS = {b"/dev/fd": b"/proc/self/fd", b"/dev/stdin": b"/proc/self/fd/0",
              b"/dev/stdout": b"/proc/self/fd/1", b"/dev/stderr": b"/proc/self/fd/2"}


def special(path: bytes) -> bool:
    """Whether ``path`` may name the guest's own /proc entries, directly or through /dev."""
    return path.startswith((b"/proc/", b"/dev/fd", b"/dev/std"))


def _own(p, path: bytes, follow_last: bool = True) -> bytes | None:
    """The part after /proc/self/ if ``path`` names this guest process's /proc dir.
    ``follow_last``: a final /dev/stdin or /dev/fd is the link itself when False."""
    if path.startswith(b"/dev/fd/"):
        path = b"/proc/self/fd/" + path[len(b"/dev/fd/"):]
    elif follow_last and path in _DEV_LINKS:
        path = _DEV_LINKS[path]
    if not path.startswith(b"/proc/"):
        return None
    parts = posixpath.normpath(path).split(b"/")      # ['', 'proc', who, rest...]
    if len(parts) < 3:
        return None
    if parts[2] not in (b"self", b"thread-self", str(p.pid).encode()):
        return None
    return b"/".join(parts[3:])


def _guest_fd(p, rest: bytes) -> int | None:
    """Host fd behind /proc/self/fd/N (None if ``rest`` is not fd/N); EBADF-like ENOENT if closed."""
    if not rest.startswith(b"fd/"):
        return None
    num = rest[3:]
    if not num.isdigit():
        raise FileNotFoundError(2, "No such file or directory")
    try:
        return p.fds.get(int(num))
    except OSError:
        raise FileNotFoundError(2, "No such file or directory") from None


def readlink(p, path: bytes) -> bytes | None:
    rest = _own(p, path, follow_last=False)
    if rest is None:
        return None
    if rest == b"exe":
        return p.exe
    if rest == b"cwd":
        return p.fs.getcwd()
    if rest == b"root":
        return b"/"
    host = _guest_fd(p, rest)
    if host is not None:
        return p.fs_path_of_fd(host)
    return None


def contents(p, rest: bytes) -> bytes | None:
    if rest == b"maps":
        return p.mm.maps_text()
    if rest == b"auxv":
        return p.auxv
    if rest == b"cmdline":
        return b"".join(a + b"\0" for a in p.argv)
    if rest == b"environ":
        return b"".join(e + b"\0" for e in p.envp)
    if rest in (b"mounts", b"mountinfo"):
        table = p.fs.mount_table()
        if table is None:
            return None                              # unjailed: the host's own are right
        if rest == b"mounts":
            return b"".join(b"%s %s %s %s 0 0\n" % (src.encode(), point, fstype.encode(),
                                                   b"ro" if ro else b"rw")
                            for point, fstype, src, ro in table)
        return b"".join(b"%d %d 0:%d / %s %s - %s %s %s\n" % (
            i + 20, 20 if i else 1, i + 20, point, b"ro" if ro else b"rw", fstype.encode(),
            src.encode(), b"ro" if ro else b"rw") for i, (point, fstype, src, ro) in enumerate(table))
    return None


def _fd_dir(p) -> int:
    """A real directory of symlinks named by guest fd, so getdents/readlink work on it.

    Linux lists fds in ascending order; a tmpfs lists entries newest first (or, on
    some kernels, oldest first), so the links are made in the order that reads back
    ascending where the host allows it."""
    import shutil           # here: few guests list their fds, and every start-up would pay for these
    import tempfile
    shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    links = [(str(fd).encode(), p.fs_path_of_fd(host) or b"?") for fd, host in p.fds.items()]
    # the descriptor about to be returned lists itself too, as on Linux
    links.append((str(p.fds.next_free()).encode(), b"/proc/%d/fd" % p.pid))
    links.sort(key=lambda link: int(link[0]))
    for order in (links[::-1], links):
        d = tempfile.mkdtemp(prefix="guise-fd-", dir=shm)
        p.cleanup.append(lambda d=d: shutil.rmtree(d, ignore_errors=True))
        for name, target in order:
            os.symlink(target, os.path.join(d.encode(), name))
        if os.listdir(d.encode()) == [name for name, _ in links]:
            break
    return os.open(d, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)


def open_special(p, path: bytes, flags: int) -> int | None:
    """A host fd for a guest-describing /proc path, or None for ordinary paths."""
    rest = _own(p, path)
    if rest is None:
        return None
    fd = _open_own(p, rest, flags)
    if fd is not None and rest in (b"fd", b"maps", b"auxv", b"cmdline", b"environ"):
        p.fds.names[fd] = b"/proc/%d/%s" % (p.pid, rest)
    return fd


def _open_own(p, rest: bytes, flags: int) -> int | None:
    if rest == b"exe":
        return p.fs.open(p.exe, flags)
    if rest == b"fd":
        return _fd_dir(p)
    host = _guest_fd(p, rest)
    if host is not None:
        return p.fs.reopen(host, flags)                   # a new open, as Linux does
    data = contents(p, rest)
    if data is None:
        return None
    fd = os.memfd_create("guise-proc", os.MFD_CLOEXEC)
    os.write(fd, data)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def stat_target(p, path: bytes) -> bytes:
    """For stat-like calls that follow links: where a guest /proc link really leads.

    fd/N goes through the host's magic link (a pipe or socket has no path to stat).
    """
    rest = _own(p, path)
    if rest is None:
        return path
    host = _guest_fd(p, rest)
    if host is not None:
        return f"/proc/self/fd/{host}".encode()
    return readlink(p, path) or path


def target(p, path: bytes, follow: bool) -> bytes:
    """The path a stat- or xattr-like call on the guest's ``path`` hands the sandbox."""
    if not special(path):
        return path
    return stat_target(p, path) if follow else lstat_target(p, path)


def fd_host(p, path: bytes) -> int | None:
    """The host fd behind /proc/self/fd/N, which a stat that follows links can use
    directly (pipes and sockets have no path, and a jail's /proc shows the host's)."""
    rest = _own(p, path)
    return None if rest is None else _guest_fd(p, rest)


def lstat_target(p, path: bytes) -> bytes:
    """For stat-like calls that do not follow the last link: /proc/self/fd/N is the
    host's own link for the guest's descriptor (its mode shows how it was opened)."""
    rest = _own(p, path, follow_last=False)
    if rest is None:
        return path
    host = _guest_fd(p, rest)
    return f"/proc/self/fd/{host}".encode() if host is not None else path
