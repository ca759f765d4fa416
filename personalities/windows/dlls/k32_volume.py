"""kernel32: volumes — GetVolumeInformation, GetDiskFreeSpace(Ex), GetDriveType — for
the drives guise has: C: (the prefix) and Z: (the root of the guest's view), both
fixed disks.  Sizes are the host file system's (statvfs through the sandbox's view);
the serial number is made from the host device number, so it stays the same for a
drive between runs, as a volume's does."""
from __future__ import annotations

import os
import zlib

from .. import strings, winerror as W
from .k32_files import fail, os_fail

DRIVE_NO_ROOT_DIR, DRIVE_FIXED = 1, 3
# FILE_CASE_SENSITIVE_SEARCH | FILE_CASE_PRESERVED_NAMES | FILE_UNICODE_ON_DISK | FILE_PERSISTENT_ACLS
FS_FLAGS = 0x1 | 0x2 | 0x4 | 0x8
MAX_COMPONENT = 255


def _root(p, root: int, wide: bool) -> str:
    """The drive root a path names ("C:\\"), the current directory's for NULL."""
    path = strings.read(p.mem, root, wide) if root else p.paths.cwd()
    path = path.replace("/", "\\")
    return path[:2].upper() + "\\" if len(path) >= 2 and path[1] == ":" else ""


def _stat_root(p, root: str):
    """The view path of a drive root; OSError if it is no drive of ours."""
    if root[:1] not in ("C", "Z"):
        raise FileNotFoundError(2, "no such drive")
    guest = p.paths.to_guest(root)
    p.fs.stat(guest)
    return guest


def _volume(p, root, label, label_size, serial, maxlen, flags, fsname, fsname_size, wide):
    drive = _root(p, root, wide)
    try:
        guest = _stat_root(p, drive)
        dev = p.fs.stat(guest).st_dev
    except OSError:
        return fail(p, W.ERROR_PATH_NOT_FOUND)
    if label and not strings.copy_out(p.mem, label, label_size, "", wide)[1]:
        return fail(p, W.ERROR_INSUFFICIENT_BUFFER)
    if serial:
        p.mem.put_u32(serial, zlib.crc32(f"{drive}{dev}".encode()))
    if maxlen:
        p.mem.put_u32(maxlen, MAX_COMPONENT)
    if flags:
        p.mem.put_u32(flags, FS_FLAGS)
    if fsname and not strings.copy_out(p.mem, fsname, fsname_size, "NTFS", wide)[1]:
        return fail(p, W.ERROR_INSUFFICIENT_BUFFER)
    return 1


def GetVolumeInformationW(p, root, label, label_size, serial, maxlen, flags, fsname, fsname_size):
    return _volume(p, root, label, label_size, serial, maxlen, flags, fsname, fsname_size, True)


def GetVolumeInformationA(p, root, label, label_size, serial, maxlen, flags, fsname, fsname_size):
    return _volume(p, root, label, label_size, serial, maxlen, flags, fsname, fsname_size, False)


def _statvfs(p, path: int, wide: bool):
    name = strings.read(p.mem, path, wide) if path else "."
    guest = p.paths.to_guest(name)
    fd = p.fs.open(guest, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        return os.fstatvfs(fd)
    finally:
        os.close(fd)


def _free_ex(p, path, avail, total, free, wide):
    try:
        st = _statvfs(p, path, wide)
    except OSError as e:
        return os_fail(p, e)
    for addr, value in ((avail, st.f_bavail * st.f_frsize), (total, st.f_blocks * st.f_frsize),
                        (free, st.f_bfree * st.f_frsize)):
        if addr:
            p.mem.put_u64(addr, value)
    return 1


def GetDiskFreeSpaceExW(p, path, avail, total, free):
    return _free_ex(p, path, avail, total, free, True)


def GetDiskFreeSpaceExA(p, path, avail, total, free):
    return _free_ex(p, path, avail, total, free, False)


def _free(p, root, spc, bps, free_clusters, clusters, wide):
    """The old interface: counts of 4 KiB clusters of eight 512-byte sectors,
    capped at 0xFFFFFFFF as Windows caps them for large disks."""
    try:
        st = _statvfs(p, root, wide)
    except OSError as e:
        return os_fail(p, e)
    cluster = 4096
    for addr, value in ((spc, cluster // 512), (bps, 512),
                        (free_clusters, st.f_bavail * st.f_frsize // cluster),
                        (clusters, st.f_blocks * st.f_frsize // cluster)):
        if addr:
            p.mem.put_u32(addr, min(value, 0xFFFFFFFF))
    return 1


def GetDiskFreeSpaceW(p, root, spc, bps, free_clusters, clusters):
    return _free(p, root, spc, bps, free_clusters, clusters, True)


def GetDiskFreeSpaceA(p, root, spc, bps, free_clusters, clusters):
    return _free(p, root, spc, bps, free_clusters, clusters, False)


def _drive_type(p, root, wide):
    try:
        _stat_root(p, _root(p, root, wide))
    except OSError:
        return DRIVE_NO_ROOT_DIR
    return DRIVE_FIXED


def GetDriveTypeW(p, root):
    return _drive_type(p, root, True)


def GetDriveTypeA(p, root):
    return _drive_type(p, root, False)
