"""kernel32 directory enumeration: FindFirstFile / FindNextFile / FindClose.

The directory is listed once through the sandbox's view when the search starts
(as a snapshot, like Windows' buffered directory reads), then matched with the
Windows wildcard rules: case-insensitive, ``*`` and ``?``, and ``*.*`` matching
names without a dot too.  "." and ".." come first for any directory but a root.
A pattern that ends in "." or ".." names that directory itself (cmd's ``cd ..``
looks the parent up that way to learn its real name)."""
from __future__ import annotations

import fnmatch
import os
import stat

from .. import strings, winerror as W
from .k32_files import FILE_ATTRIBUTE_ARCHIVE, FILE_ATTRIBUTE_DIRECTORY, FILE_ATTRIBUTE_READONLY, fail, full_path
from .k32_process import EPOCH_DELTA

INVALID = -1


class Search:
    def __init__(self, entries: list):
        self.entries = entries      # (name, stat_result or None)
        self.pos = 0


def _match(name: str, pattern: str) -> bool:
    pat = pattern.lower()
    if pat in ("*.*", "*"):
        return True
    if pat.endswith(".*") and "." not in name:
        pat = pat[:-2]
    return fnmatch.fnmatchcase(name.lower(), pat.replace("[", "[[]"))


def _start(p, pattern: str, buf: int, wide: bool):
    norm = pattern.replace("/", "\\")
    if norm.rpartition("\\")[2] in (".", ".."):
        # Windows folds the path first: ".." finds the parent under its own name
        norm = full_path(p, norm)
    directory, _, spec = norm.rpartition("\\")
    if not spec:
        return fail(p, W.ERROR_FILE_NOT_FOUND, INVALID)
    try:
        gdir = p.paths.to_guest(directory + "\\" if directory.endswith(":") else (directory or "."))
        fd = p.fs.open(gdir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return fail(p, W.ERROR_PATH_NOT_FOUND, INVALID)
    try:
        listing = p.fs.dir_entries(fd)
        names = [os.fsdecode(e[0]) for e in listing] if listing is not None else os.listdir(fd)
        entries = []
        root = directory.endswith(":") or directory in ("", "\\") and gdir == b"/"
        for name in ([] if root else [".", ".."]) + sorted(names, key=str.lower):
            if not _match(name, spec):
                continue
            try:
                # through the view with the directory's descriptor: a symlink in the listing
                # resolves inside the jail, never on the host
                st = os.fstat(fd) if name == "." else p.fs.stat(os.fsencode(name), dirfd=fd)
            except OSError:
                st = None
            entries.append((name, st))
    finally:
        os.close(fd)
    if not entries:
        return fail(p, W.ERROR_FILE_NOT_FOUND, INVALID)
    search = Search(entries)
    _fill(p, search, buf, wide)
    return p.handles.add(search)


def _fill(p, search: Search, buf: int, wide: bool) -> None:
    name, st = search.entries[search.pos]
    search.pos += 1
    attrs, size, mtime = FILE_ATTRIBUTE_ARCHIVE, 0, 0
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            attrs = FILE_ATTRIBUTE_DIRECTORY
        else:
            size = st.st_size
        if not st.st_mode & 0o222:
            attrs |= FILE_ATTRIBUTE_READONLY
        mtime = st.st_mtime_ns // 100 + EPOCH_DELTA
    unit = 2 if wide else 1
    fixed = attrs.to_bytes(4, "little") + mtime.to_bytes(8, "little") * 3 \
        + (size >> 32).to_bytes(4, "little") + (size & 0xFFFFFFFF).to_bytes(4, "little") + bytes(8)
    fname = strings.encode(name, wide)[:259 * unit].ljust(260 * unit, b"\0")
    p.mem.write(buf, fixed + fname + bytes(14 * unit))


def FindFirstFileA(p, pattern, buf):
    return _start(p, strings.read_a(p.mem, pattern), buf, False)


def FindFirstFileW(p, pattern, buf):
    return _start(p, strings.read_w(p.mem, pattern), buf, True)


def _next(p, h, buf, wide):
    search = p.handles.get(h)
    if not isinstance(search, Search):
        return fail(p, W.ERROR_INVALID_HANDLE)
    if search.pos >= len(search.entries):
        return fail(p, W.ERROR_NO_MORE_FILES)
    _fill(p, search, buf, wide)
    return 1


def FindNextFileA(p, h, buf):
    return _next(p, h, buf, False)


def FindNextFileW(p, h, buf):
    return _next(p, h, buf, True)


def FindClose(p, h):
    if not isinstance(p.handles.get(h), Search):
        return fail(p, W.ERROR_INVALID_HANDLE)
    p.handles.close(h)
    return 1
