"""The on-disk format of copy-on-write layers, shared by jails, zones and the FUSE view.

A layer is a plain host directory tree.  Layers stack: the writable *upper*
on top, then read-only layers (a zone's frozen snapshots), then the *base*
(the jail's root).  A lookup goes top-down and the first layer that has the
name wins, with two markers that only layers above the base carry:

- ``.wh.NAME``: NAME was deleted; layers below must not show it (a whiteout);
- ``.wh..wh..opq`` inside a directory: nothing below shows through it (opaque,
  after ``rm -r dir; mkdir dir``).

This is the AUFS convention rather than overlayfs's 0/0 character devices,
because creating device nodes needs privilege and guise must not.  The price:
a guest may not create names that start with ``.wh.`` (EPERM).
"""
from __future__ import annotations

import os
import shutil
import stat

WH_PREFIX = b".wh."
OPAQUE = b".wh..wh..opq"


def whiteout(name: bytes) -> bytes:
    return WH_PREFIX + name


def is_marker(name: bytes) -> bool:
    return name.startswith(WH_PREFIX)


def exists_at(dirfd: int, name: bytes) -> bool:
    try:
        os.stat(name, dir_fd=dirfd, follow_symlinks=False)
        return True
    except FileNotFoundError:
        return False
    except NotADirectoryError:
        return False


def remove_marker(dirfd: int, name: bytes) -> None:
    try:
        os.unlink(whiteout(name), dir_fd=dirfd)
    except FileNotFoundError:
        pass


def add_marker(dirfd: int, marker: bytes) -> None:
    os.close(os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                     dir_fd=dirfd))


def merge_names(layers: list[list[bytes]]) -> list[bytes]:
    """The names a merged directory shows: ``layers`` lists each layer's raw names,
    topmost first, already cut at the first opaque layer."""
    seen: set[bytes] = set()
    hidden: set[bytes] = set()
    out = []
    for names in layers:
        for n in names:
            if is_marker(n):
                hidden.add(n[len(WH_PREFIX):])
            elif n not in seen and n not in hidden:
                seen.add(n)
                out.append(n)
        hidden |= seen
    return out


def copy_attrs(src_st: os.stat_result, dst_dirfd: int, name: bytes, src_path: bytes | None) -> None:
    """Give a copied-up object the owner, mode, times and user xattrs of the original."""
    try:
        os.chown(name, src_st.st_uid, src_st.st_gid, dir_fd=dst_dirfd, follow_symlinks=False)
    except PermissionError:
        pass                      # unprivileged: the copy belongs to the invoking user
    if not stat.S_ISLNK(src_st.st_mode):
        fd = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dst_dirfd)
        try:
            os.chmod(f"/proc/self/fd/{fd}", stat.S_IMODE(src_st.st_mode))
            if src_path is not None:
                for key in _user_xattrs(src_path):
                    os.setxattr(f"/proc/self/fd/{fd}", key, os.getxattr(src_path, key))
        finally:
            os.close(fd)
    os.utime(name, ns=(src_st.st_atime_ns, src_st.st_mtime_ns), dir_fd=dst_dirfd,
             follow_symlinks=False)


def _user_xattrs(path: bytes) -> list[str]:
    try:
        return [k for k in os.listxattr(path) if k.startswith("user.")]
    except OSError:
        return []


def copy_file(src_dirfd: int, name: bytes, st: os.stat_result, dst_dirfd: int) -> None:
    """Copy one non-directory object (file, symlink, fifo) from a lower layer into
    ``dst_dirfd`` under the same name, atomically (a temp name, then rename)."""
    tmp = b".wh..wh.copyup." + name[:180]
    try:
        os.unlink(tmp, dir_fd=dst_dirfd)
    except FileNotFoundError:
        pass
    if stat.S_ISLNK(st.st_mode):
        os.symlink(os.readlink(name, dir_fd=src_dirfd), tmp, dir_fd=dst_dirfd)
        src_path = None
    elif stat.S_ISREG(st.st_mode):
        src = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=src_dirfd)
        try:
            dst = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                          0o600, dir_fd=dst_dirfd)
            try:
                with os.fdopen(src, "rb", closefd=False) as fsrc, \
                        os.fdopen(dst, "wb", closefd=False) as fdst:
                    shutil.copyfileobj(fsrc, fdst, 1 << 20)
            finally:
                os.close(dst)
        finally:
            os.close(src)
        src_path = f"/proc/self/fd/{src_dirfd}/".encode() + name
    elif stat.S_ISFIFO(st.st_mode) or stat.S_ISSOCK(st.st_mode):
        os.mknod(tmp, st.st_mode, dir_fd=dst_dirfd)
        src_path = None
    else:
        raise PermissionError(1, "Operation not permitted")     # device nodes stay below
    copy_attrs(st, dst_dirfd, tmp, src_path)
    os.rename(tmp, name, src_dir_fd=dst_dirfd, dst_dir_fd=dst_dirfd)
