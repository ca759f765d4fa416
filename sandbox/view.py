"""The interface between personalities and the guest's file system.

Paths are guest paths as bytes.  ``dirfd`` is a *host* descriptor that the
personality obtained from an earlier ``open`` of this view (the personality
translates guest descriptors), or ``None`` for the guest's current directory.
Failures raise ``OSError`` with a Linux errno, which the personality passes on.
"""
from __future__ import annotations

import abc
import contextlib
import os
from io import BufferedIOBase


class FileSystemView(abc.ABC):
    @abc.abstractmethod
    def open(self, path: bytes, flags: int, mode: int = 0o666, dirfd: int | None = None) -> int: ...
    @abc.abstractmethod
    def stat(self, path: bytes, dirfd: int | None = None, follow: bool = True) -> os.stat_result: ...
    @abc.abstractmethod
    def access(self, path: bytes, mode: int, dirfd: int | None = None,
               effective: bool = False, follow: bool = True) -> None: ...
    @abc.abstractmethod
    def readlink(self, path: bytes, dirfd: int | None = None) -> bytes: ...
    @abc.abstractmethod
    def mkdir(self, path: bytes, mode: int, dirfd: int | None = None) -> None: ...
    @abc.abstractmethod
    def unlink(self, path: bytes, dirfd: int | None = None, rmdir: bool = False) -> None: ...
    @abc.abstractmethod
    def rename(self, old: bytes, new: bytes, olddirfd: int | None = None,
               newdirfd: int | None = None, flags: int = 0) -> None: ...
    @abc.abstractmethod
    def symlink(self, target: bytes, path: bytes, dirfd: int | None = None) -> None: ...
    @abc.abstractmethod
    def link(self, old: bytes, new: bytes, olddirfd: int | None = None,
             newdirfd: int | None = None, follow: bool = False) -> None: ...
    @abc.abstractmethod
    def chmod(self, path: bytes, mode: int, dirfd: int | None = None, follow: bool = True) -> None: ...
    @abc.abstractmethod
    def chown(self, path: bytes, uid: int, gid: int, dirfd: int | None = None,
              follow: bool = True) -> None: ...
    @abc.abstractmethod
    def utime(self, path: bytes, ns: tuple | None, dirfd: int | None = None,
              follow: bool = True) -> None: ...
    @abc.abstractmethod
    def truncate(self, path: bytes, length: int) -> None: ...
    @abc.abstractmethod
    def mknod(self, path: bytes, mode: int, dev: int, dirfd: int | None = None) -> None: ...
    @abc.abstractmethod
    def getxattr(self, path: bytes, name: bytes, follow: bool = True) -> bytes: ...
    @abc.abstractmethod
    def listxattr(self, path: bytes, follow: bool = True) -> list[str]: ...
    @abc.abstractmethod
    def setxattr(self, path: bytes, name: bytes, value: bytes, flags: int, follow: bool = True) -> None: ...
    @abc.abstractmethod
    def removexattr(self, path: bytes, name: bytes, follow: bool = True) -> None: ...
    @abc.abstractmethod
    def chdir(self, path: bytes) -> None: ...
    @abc.abstractmethod
    def fchdir(self, hostfd: int) -> None: ...
    @abc.abstractmethod
    def getcwd(self) -> bytes: ...

    def open_exec(self, path: bytes) -> tuple[BufferedIOBase, bytes]:
        """Open an executable for the loader; returns the file and its resolved guest path
        (symlinks followed, as /proc/self/exe shows it)."""
        fd = self.open(path, os.O_RDONLY | os.O_CLOEXEC)
        st = os.fstat(fd)
        try:
            if not (st.st_mode & 0o170000 == 0o100000):
                raise OSError(13, "Permission denied")
            self.access(path, os.X_OK)           # as execve: an x bit, and no noexec mount
        except OSError:
            os.close(fd)
            raise
        return os.fdopen(fd, "rb"), self.fd_path(fd) or self.absolute(path)

    def unix_path(self, path: bytes, bind: bool | None = None) -> bytes:
        """The host path for an AF_UNIX socket address the guest named; ``bind`` says
        whether the call creates the name (bind) or reaches an existing one (connect)."""
        return path

    def fd_path(self, hostfd: int) -> bytes:
        """The guest path of an open host descriptor (for /proc/self/fd and maps)."""
        try:
            return os.readlink(f"/proc/self/fd/{hostfd}".encode())
        except OSError:
            return b""

    @contextlib.contextmanager
    def changing(self, hostfd: int):
        """What an fd-based metadata change (fchmod, fchown, futimens, fsetxattr) must
        act on: the descriptor itself here; a jail copies a lower-layer file up first,
        or refuses on a read-only mount, since the change would land on the host."""
        yield hostfd

    def may_chown(self, uid: int, gid: int) -> None:
        """Raise EPERM if the guest may not give a file these ids (-1: unchanged);
        outside a jail the host kernel decides."""

    def reopen(self, hostfd: int, flags: int) -> int:
        """open("/proc/self/fd/N"): a new open of the same file, as Linux does."""
        return os.open(f"/proc/self/fd/{hostfd}", flags)

    def chroot(self, path: bytes) -> None:
        """Narrow the guest's root.  Only a jail can: outside one, guise would have to
        change the emulator's own root, which its Python imports live under."""
        raise PermissionError(1, "Operation not permitted")

    def dir_entries(self, hostfd: int):
        """(name, d_type, inode) listing of a directory the host cannot list for the
        guest (merged layers, mount points), or None: the host's getdents is right."""
        return None

    def is_private_fd(self, hostfd: int) -> bool:
        """Whether ``hostfd`` writes into a jail's private storage (its disk limit counts it)."""
        return False

    def mount_table(self):
        """The guest's mounts for /proc/self/mounts, or None where the host's are right."""
        return None

    def absolute(self, path: bytes) -> bytes:
        """The guest path made absolute against the guest cwd (lexically, no resolution)."""
        if not path.startswith(b"/"):
            path = self.getcwd().rstrip(b"/") + b"/" + path
        return os.path.normpath(path) if path != b"/" else path
