"""The parts of /proc that must describe the guest, not the emulator.

/proc/self/{exe,maps,auxv,cmdline,environ} (and the same under /proc/<pid> and
/proc/thread-self) are answered from the process model; everything else under
/proc goes to the sandbox like any other path.
"""
from __future__ import annotations

import os
import posixpath


def _own(p, path: bytes) -> bytes | None:
    """The part after /proc/self/ if ``path`` names this guest process's /proc dir."""
    if not path.startswith(b"/proc/"):
        return None
    parts = posixpath.normpath(path).split(b"/")      # ['', 'proc', who, rest...]
    if len(parts) < 3:
        return None
    who = parts[2]
    if who not in (b"self", b"thread-self", str(p.pid).encode()):
        return None
    return b"/".join(parts[3:])


def readlink(p, path: bytes) -> bytes | None:
    rest = _own(p, path)
    if rest == b"exe":
        return p.exe
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
    return None


def open_special(p, path: bytes) -> int | None:
    """A host fd for a guest-describing /proc file, or None for ordinary paths."""
    rest = _own(p, path)
    if rest is None:
        return None
    if rest == b"exe":
        return p.fs.open(p.exe, os.O_RDONLY)
    data = contents(p, rest)
    if data is None:
        return None
    fd = os.memfd_create("guise-proc", os.MFD_CLOEXEC)
    os.write(fd, data)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def stat_target(p, path: bytes) -> bytes:
    """For stat-like calls: /proc/self/exe follows to the guest's executable."""
    return p.exe if _own(p, path) == b"exe" else path
