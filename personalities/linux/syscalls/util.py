"""Small helpers shared by the handler families (argument decoding, dirfds)."""
from __future__ import annotations

from ..abi import s32

AT_FDCWD = -100
AT_SYMLINK_NOFOLLOW = 0x100
AT_REMOVEDIR = 0x200
AT_SYMLINK_FOLLOW = 0x400
AT_EACCESS = 0x200
AT_EMPTY_PATH = 0x1000
PATH_MAX = 4096
O_CLOEXEC = 0o2000000
MAX_IO = 1 << 24          # bytes moved per read/write call; Linux allows short counts


def dirfd(p, fd: int):
    """Guest dirfd argument -> host fd, or None for AT_FDCWD."""
    fd = s32(fd)
    if fd == AT_FDCWD:
        return None
    return p.fds.get(fd)


def path(p, addr: int) -> bytes:
    return p.mem.cstr(addr, PATH_MAX)


def einval():
    return OSError(22, "Invalid argument")
