"""kernel32 calls that change a file's names and not its data: MoveFile(Ex), and
CreateSymbolicLink / CreateHardLink.

Unlike rename(2), Windows never replaces an existing target unless asked
(MOVEFILE_REPLACE_EXISTING, files only: ERROR_ALREADY_EXISTS otherwise, and a
directory in the way is ERROR_ACCESS_DENIED).  A name that differs from the
source only in case is the same file: the move renames it to the new spelling.
Across file systems a file is copied and the source deleted when
MOVEFILE_COPY_ALLOWED says so (MoveFile always allows it); a directory cannot
be (ERROR_NOT_SAME_DEVICE).  Moves that wait for a reboot are refused: a guest
has no reboot for them to wait for.

A symbolic link is made as the account Wine and an administrator have, which
holds the privilege (a plain user on Windows gets ERROR_PRIVILEGE_NOT_HELD); a
relative target stays relative (with "/" for "\\"), an absolute one becomes the
path it names in the guest's view.  The sandbox decides whether it may be made.
"""
from __future__ import annotations

import errno
import os
import stat

from .. import strings, winerror as W
from .k32_files import _copy, fail, guest_path, os_fail

MOVEFILE_REPLACE_EXISTING, MOVEFILE_COPY_ALLOWED, MOVEFILE_DELAY_UNTIL_REBOOT = 1, 2, 4
MOVEFILE_WRITE_THROUGH = 8
ERROR_NOT_SAME_DEVICE = 17


def _move(p, src: str, dst: str | None, flags: int):
    if flags & MOVEFILE_DELAY_UNTIL_REBOOT or dst is None:
        return fail(p, W.ERROR_ACCESS_DENIED if dst is not None else W.ERROR_INVALID_PARAMETER)
    try:
        spath, dpath = guest_path(p, src), guest_path(p, dst)
        sst = p.fs.stat(spath, follow=False)
    except OSError as e:
        return os_fail(p, e)
    try:
        dst_st = p.fs.stat(dpath, follow=False)
    except OSError:
        dst_st = None
    if dst_st is not None:
        if (dst_st.st_dev, dst_st.st_ino) == (sst.st_dev, sst.st_ino):
            # the same file under another spelling: the new name, as written
            dpath = os.path.dirname(dpath) + b"/" + os.fsencode(dst.replace("/", "\\").rsplit("\\", 1)[-1])
        elif stat.S_ISDIR(dst_st.st_mode):
            return fail(p, W.ERROR_ACCESS_DENIED)
        elif not flags & MOVEFILE_REPLACE_EXISTING or stat.S_ISDIR(sst.st_mode):
            return fail(p, W.ERROR_ALREADY_EXISTS)
    try:
        p.fs.rename(spath, dpath)
    except OSError as e:
        if e.errno != errno.EXDEV:
            return os_fail(p, e)
        if stat.S_ISDIR(sst.st_mode) or not flags & MOVEFILE_COPY_ALLOWED:
            return fail(p, ERROR_NOT_SAME_DEVICE)
        if not _copy(p, src, dst, 0):
            return 0
        try:
            p.fs.unlink(spath)
        except OSError as e:
            return os_fail(p, e)
    return 1


def MoveFileA(p, src, dst):
    return _move(p, strings.read_a(p.mem, src), strings.read_a(p.mem, dst), MOVEFILE_COPY_ALLOWED)


def MoveFileW(p, src, dst):
    return _move(p, strings.read_w(p.mem, src), strings.read_w(p.mem, dst), MOVEFILE_COPY_ALLOWED)


def MoveFileExA(p, src, dst, flags):
    return _move(p, strings.read_a(p.mem, src), strings.read_a(p.mem, dst) if dst else None, flags)


def MoveFileExW(p, src, dst, flags):
    return _move(p, strings.read_w(p.mem, src), strings.read_w(p.mem, dst) if dst else None, flags)


def _link(p, symbolic: bool, name: str, target: str):
    """A new name ``name`` for ``target``: a symbolic link to it, or a hard link."""
    try:
        path = guest_path(p, name)
        if not symbolic:
            p.fs.link(guest_path(p, target), path)
        elif target[1:2] == ":" or target.startswith(("\\", "/")):
            p.fs.symlink(guest_path(p, target), path)
        else:
            p.fs.symlink(os.fsencode(target.replace("\\", "/")), path)
    except OSError as e:
        return fail(p, W.ERROR_ALREADY_EXISTS if e.errno == errno.EEXIST else W.from_errno(e.errno))
    return 1


def CreateSymbolicLinkA(p, link, target, flags):
    return _link(p, True, strings.read_a(p.mem, link), strings.read_a(p.mem, target))


def CreateSymbolicLinkW(p, link, target, flags):
    return _link(p, True, strings.read_w(p.mem, link), strings.read_w(p.mem, target))


def CreateHardLinkA(p, new, existing, sec):
    return _link(p, False, strings.read_a(p.mem, new), strings.read_a(p.mem, existing))


def CreateHardLinkW(p, new, existing, sec):
    return _link(p, False, strings.read_w(p.mem, new), strings.read_w(p.mem, existing))
