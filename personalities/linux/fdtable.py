"""Guest file descriptors -> host descriptors.

Guest fds are their own namespace so the emulator's own descriptors are never
reachable from the guest; numbers are allocated lowest-first like Linux.
close-on-exec is tracked here (the host copies are always close-on-exec because
an execve replaces the image in place, never the emulator).
"""
from __future__ import annotations

import fcntl
import os

EBADF, EMFILE = 9, 24


class FdTable:
    def __init__(self, limit: int = 1024):
        self.host: list = []
        self.cloexec: set[int] = set()
        self.limit = limit
        # host fd -> the path the guest should see for it, where the host's own
        # answer would be wrong (memfds and temp dirs standing in for /proc files)
        self.names: dict[int, bytes] = {}
        # host fd -> real directory offsets, for 32-bit guests whose d_off must fit
        # 32 bits (the host kernel hands a 64-bit process 64-bit hash cookies)
        self.dir_cookies: dict[int, list[int]] = {}
        # host fd -> per-descriptor state of its family (e.g. an epoll set's guest cookies)
        self.state: dict[int, object] = {}
        # host fd -> the jail limit its writes count against (see confine.py)
        self.meter: dict[int, object] = {}
        self.open = 0                    # descriptors in use
        self.quota = None                # the jail's Limits, when it limits open files

    @classmethod
    def inherited(cls, std_only: bool = False) -> "FdTable":
        """The descriptors this emulator inherited from its parent, under the same numbers.

        Those are the ones without close-on-exec: everything Python and guise
        open for themselves is close-on-exec, so it stays out of the guest's reach.
        A jailed guest gets only stdin, stdout and stderr: any other inherited
        descriptor could name a host file outside its root.
        """
        t = cls()
        for name in os.listdir("/proc/self/fd"):
            fd = int(name)
            if std_only and fd > 2:
                continue
            try:
                if fcntl.fcntl(fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC:
                    continue
            except OSError:
                continue
            if fd < t.limit:
                t._put(fd, fd, False)
        return t

    def next_free(self, lowest: int = 0) -> int:
        fd = lowest
        while fd < len(self.host) and self.host[fd] is not None:
            fd += 1
        return fd

    def get(self, fd: int) -> int:
        if fd < 0:
            raise OSError(EBADF, "Bad file descriptor")
        try:
            h = self.host[fd]
        except IndexError:
            raise OSError(EBADF, "Bad file descriptor") from None
        if h is None:
            raise OSError(EBADF, "Bad file descriptor")
        return h

    def add(self, host: int, lowest: int = 0, cloexec: bool = False) -> int:
        """Give ``host`` the lowest free guest number >= ``lowest``."""
        fd = self.next_free(lowest)
        if fd >= self.limit:
            os.close(host)
            raise OSError(EMFILE, "Too many open files")
        self._put(fd, host, cloexec)
        return fd

    def _put(self, fd: int, host: int, cloexec: bool) -> None:
        while len(self.host) <= fd:
            self.host.append(None)
        if self.host[fd] is None:
            if self.quota is not None:
                try:
                    self.quota.set_files(self.open + 1)     # EMFILE at the jail's limit
                except OSError:
                    os.close(host)
                    raise
            self.open += 1
        self.host[fd] = host
        if cloexec:
            self.cloexec.add(fd)
        else:
            self.cloexec.discard(fd)

    def install(self, fd: int, host: int, cloexec: bool = False) -> None:
        """dup2 semantics: replace whatever guest ``fd`` was."""
        if fd < 0 or fd >= self.limit:
            raise OSError(EBADF, "Bad file descriptor")
        if fd < len(self.host) and self.host[fd] is not None:
            self._close_host(self.host[fd])
        self._put(fd, host, cloexec)

    def close(self, fd: int) -> None:
        h = self.get(fd)
        self.host[fd] = None
        self.cloexec.discard(fd)
        self._close_host(h)
        self.open -= 1
        if self.quota is not None:
            self.quota.set_files(self.open)

    def _close_host(self, h: int) -> None:
        # Every guest fd owns its host fd (dup makes a new one), so closing is
        # exact; the emulator writes its own messages to a saved copy of stderr.
        self.names.pop(h, None)
        self.dir_cookies.pop(h, None)
        self.state.pop(h, None)
        self.meter.pop(h, None)
        try:
            os.close(h)
        except OSError:
            pass

    def items(self):
        return [(fd, h) for fd, h in enumerate(self.host) if h is not None]
