"""Windows paths onto the guest's file system view (the sandbox's, always).

``C:`` is a per-prefix directory (like a Wine prefix; ``GUISE_WINDOWS_PREFIX``
relocates it, default ``~/.local/share/guise/windows``), created on first use
with Windows, Windows\\System32, Users and Temp.  ``Z:`` is the root of the
guest's view.  A relative path is relative to the guest's current directory,
which is the view's (the host cwd when unjailed), so ``prog.exe file.txt``
works where the user stands.  Both separators are accepted; lookup is case
insensitive (an exact match wins, else the directory is listed once).

Nothing here opens a host path: every call goes through ``fs`` (a
``sandbox.FileSystemView``), so ``--root``/``--overlay`` jails hold.
"""
from __future__ import annotations

import errno
import os

SKELETON = ("Windows", "Windows/System32", "Users", "Users/Public", "Temp")
DEVICES = {"nul": b"/dev/null"}


class WinPathError(OSError):
    """A path Windows itself would refuse (bad drive, empty): ERROR_PATH_NOT_FOUND."""


def default_prefix() -> str:
    return os.environ.get("GUISE_WINDOWS_PREFIX") or os.path.join(
        os.path.expanduser("~"), ".local", "share", "guise", "windows")


class PathMapper:
    def __init__(self, fs, prefix: str | None = None):
        self.fs = fs
        self.prefix = os.fsencode(os.path.abspath(prefix or default_prefix()))
        self._ready = False

    # -- the C: drive ----------------------------------------------------------
    def ensure_prefix(self) -> None:
        """Create the prefix skeleton through the view, once; a read-only jail just
        leaves C: missing (its paths then fail as on a machine without that drive)."""
        if self._ready:
            return
        self._ready = True
        parts = self.prefix.strip(b"/").split(b"/")
        for i in range(1, len(parts) + 1):
            self._mkdir(b"/" + b"/".join(parts[:i]))
        for d in SKELETON:
            self._mkdir(self.prefix + b"/" + d.encode())

    def _mkdir(self, path: bytes) -> None:
        try:
            self.fs.mkdir(path, 0o755)
        except OSError:
            pass

    # -- Windows -> guest ----------------------------------------------------
    def to_guest(self, win: str) -> bytes:
        """The guest (view) path for a Windows path; OSError(ENOENT) for a bad drive."""
        p = win.replace("/", "\\")
        if p.startswith("\\\\?\\") or p.startswith("\\\\.\\"):
            p = p[4:]
        if not p:
            raise WinPathError(errno.ENOENT, "empty path")
        base = os.path.basename(p.rstrip("\\")).split(".")[0].lower()
        if base in DEVICES and (len(p) <= 4 or p[-4] in "\\:"):
            return DEVICES[base]
        if len(p) >= 2 and p[1] == ":":
            drive, rest = p[0].upper(), p[2:]
            if not rest.startswith("\\"):
                rest = "\\" + rest          # drive-relative: the drive's root (one cwd per process)
            if drive == "C":
                self.ensure_prefix()
                root = self.prefix
            elif drive == "Z":
                root = b""
            else:
                raise WinPathError(errno.ENOENT, f"no drive {drive}:")
            return self._lookup(root, rest)
        if p.startswith("\\\\"):
            raise WinPathError(errno.ENOENT, "UNC paths are not supported")
        if p.startswith("\\"):
            return self._lookup(self._cwd_root(), p)
        return self._lookup(None, p)

    def _cwd_root(self) -> bytes:
        cwd = self.fs.getcwd()
        return self.prefix if (cwd + b"/").startswith(self.prefix + b"/") else b""

    def _lookup(self, root: bytes | None, rest: str) -> bytes:
        comps = []
        for c in rest.split("\\"):
            if c in ("", "."):
                continue
            if c == "..":
                if comps:
                    comps.pop()
                continue
            comps.append(c.rstrip(" .") or c)   # Windows drops trailing dots and blanks
        cur = root if root is not None else b""
        absolute = root is not None
        for i, c in enumerate(comps):
            name = c.encode("utf-8", "surrogateescape")
            cand = (cur + b"/" + name) if (absolute or cur) else name
            try:
                self.fs.stat(cand, follow=True)
            except OSError:
                found = self._casefold(cur if (absolute or cur) else b".", c)
                if found is not None:
                    cand = (cur + b"/" + found) if (absolute or cur) else found
            cur = cand
        if absolute:
            return cur or b"/"
        return cur or b"."

    def _casefold(self, directory: bytes, name: str) -> bytes | None:
        try:
            fd = self.fs.open(directory or b"/", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError:
            return None
        try:
            listing = self.fs.dir_entries(fd)
            names = [e[0] for e in listing] if listing is not None else os.listdir(fd)
        except OSError:
            return None
        finally:
            os.close(fd)
        want = name.casefold()
        for n in names:
            n = os.fsencode(n)
            if n.decode("utf-8", "surrogateescape").casefold() == want:
                return n
        return None

    # -- guest -> Windows ----------------------------------------------------
    def to_windows(self, guest: bytes) -> str:
        """The DOS path a program should see for an absolute guest path."""
        if not guest.startswith(b"/"):
            guest = self.fs.absolute(guest)
        if (guest + b"/").startswith(self.prefix + b"/"):
            rest = guest[len(self.prefix):]
            drive = "C:"
        else:
            rest, drive = guest, "Z:"
        text = os.fsdecode(rest).replace("/", "\\")
        return drive + (text if text else "\\")

    def cwd(self) -> str:
        return self.to_windows(self.fs.getcwd())
