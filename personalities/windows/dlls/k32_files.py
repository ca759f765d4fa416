"""kernel32 files, handles and the console's standard handles.

Every path goes through ``p.paths`` (Windows path -> the sandbox's view) and
every open through ``p.fs``: jails apply to Windows programs unchanged.
"""
from __future__ import annotations

import errno
import os

from personalities.guestmem import GuestFault
from .. import strings, sync, winerror as W
from ..handles import FileObject, STD_ERROR, STD_INPUT, STD_OUTPUT

GENERIC_READ, GENERIC_WRITE, GENERIC_ALL = 0x80000000, 0x40000000, 0x10000000
FILE_READ_DATA, FILE_WRITE_DATA, FILE_APPEND_DATA = 1, 2, 4
CREATE_NEW, CREATE_ALWAYS, OPEN_EXISTING, OPEN_ALWAYS, TRUNCATE_EXISTING = 1, 2, 3, 4, 5
FILE_FLAG_BACKUP_SEMANTICS = 0x02000000
FILE_FLAG_DELETE_ON_CLOSE = 0x04000000
INVALID = -1
FILE_ATTRIBUTE_READONLY, FILE_ATTRIBUTE_DIRECTORY, FILE_ATTRIBUTE_ARCHIVE = 0x1, 0x10, 0x20
FILE_ATTRIBUTE_NORMAL = 0x80
FILE_TYPE_DISK, FILE_TYPE_CHAR, FILE_TYPE_PIPE = 1, 2, 3


def fail(p, code: int, value: int = 0) -> int:
    p.set_last_error(code)
    return value


def os_fail(p, e: OSError, value: int = 0) -> int:
    return fail(p, W.from_errno(e.errno), value)


def guest_path(p, name: str) -> bytes:
    return p.paths.to_guest(name)


def _create(p, name: str, access: int, disposition: int, flags: int) -> int:
    try:
        path = guest_path(p, name)
    except OSError:
        return fail(p, W.ERROR_PATH_NOT_FOUND, INVALID)
    want_read = access & (GENERIC_READ | GENERIC_ALL | FILE_READ_DATA)
    want_write = access & (GENERIC_WRITE | GENERIC_ALL | FILE_WRITE_DATA | FILE_APPEND_DATA)
    mode = os.O_RDWR if (want_read and want_write) else os.O_WRONLY if want_write else os.O_RDONLY
    try:
        st = p.fs.stat(path)
        exists = True
    except OSError as e:
        if e.errno != errno.ENOENT:
            return os_fail(p, e, INVALID)
        exists = False
    is_dir = exists and (st.st_mode & 0o170000) == 0o040000
    if is_dir:
        if not flags & FILE_FLAG_BACKUP_SEMANTICS:
            return fail(p, W.ERROR_ACCESS_DENIED, INVALID)
        mode = os.O_RDONLY | os.O_DIRECTORY
    flagmap = {CREATE_NEW: os.O_CREAT | os.O_EXCL, CREATE_ALWAYS: os.O_CREAT | os.O_TRUNC,
               OPEN_EXISTING: 0, OPEN_ALWAYS: os.O_CREAT, TRUNCATE_EXISTING: os.O_TRUNC}
    if disposition not in flagmap:
        return fail(p, W.ERROR_INVALID_PARAMETER, INVALID)
    if disposition == TRUNCATE_EXISTING and not want_write:
        return fail(p, W.ERROR_INVALID_PARAMETER, INVALID)
    oflags = mode | flagmap[disposition] | os.O_CLOEXEC
    if is_dir:
        oflags &= ~(os.O_CREAT | os.O_TRUNC)
    try:
        fd = p.fs.open(path, oflags, 0o666)
    except OSError as e:
        if e.errno == errno.ENOENT:
            parent = name.replace("/", "\\").rsplit("\\", 1)
            if len(parent) == 2 and parent[0]:
                try:
                    p.fs.stat(guest_path(p, parent[0] or "\\"))
                except OSError:
                    return fail(p, W.ERROR_PATH_NOT_FOUND, INVALID)
        return os_fail(p, e, INVALID)
    obj = FileObject(fd, name, access, append=bool(access & FILE_APPEND_DATA and not access & FILE_WRITE_DATA))
    if flags & FILE_FLAG_DELETE_ON_CLOSE:
        obj.delete_path = path
    h = p.handles.add(obj)
    p.set_last_error(W.ERROR_ALREADY_EXISTS if exists and disposition in (CREATE_ALWAYS, OPEN_ALWAYS)
                     else 0)
    return h


def CreateFileA(p, name, access, share, sec, disposition, flags, template):
    return _create(p, strings.read_a(p.mem, name), access, disposition, flags)


def CreateFileW(p, name, access, share, sec, disposition, flags, template):
    return _create(p, strings.read_w(p.mem, name), access, disposition, flags)


def _file(p, h):
    obj = p.handles.get(h)
    return obj if isinstance(obj, FileObject) else None


def ReadFile(p, h, buf, n, pread, overlapped):
    if pread:
        p.mem.put_u32(pread, 0)          # zeroed before anything, as documented
    f = _file(p, h)
    if f is None:
        return fail(p, W.ERROR_INVALID_HANDLE)
    try:
        data = sync.read_host(p, f.fd, n)
    except OSError as e:
        return os_fail(p, e)
    if not data and n and f.pipe_end:        # every write handle of the pipe is closed
        return fail(p, W.ERROR_BROKEN_PIPE)
    try:
        p.mem.write(buf, data)
    except GuestFault:               # the kernel probes the buffer: an error, not an exception
        return fail(p, W.ERROR_INVALID_USER_BUFFER if buf == 0 else W.ERROR_NOACCESS)
    if pread:
        p.mem.put_u32(pread, len(data))
    return 1


def CreatePipe(p, pread, pwrite, security, size):
    """An anonymous pipe: a host pipe, its ends as two file handles."""
    r, w = os.pipe()
    p.mem.put_ptr(pread, p.handles.add(FileObject(r, "pipe", GENERIC_READ, pipe_end=True)))
    p.mem.put_ptr(pwrite, p.handles.add(FileObject(w, "pipe", GENERIC_WRITE, pipe_end=True)))
    return 1


def WriteFile(p, h, buf, n, pwritten, overlapped):
    if pwritten:
        p.mem.put_u32(pwritten, 0)
    f = _file(p, h)
    if f is None:
        return fail(p, W.ERROR_INVALID_HANDLE)
    try:
        data = p.mem.read(buf, n)
    except GuestFault:
        return fail(p, W.ERROR_INVALID_USER_BUFFER if buf == 0 else W.ERROR_NOACCESS)
    try:
        done = write_all(p, f, data)
    except OSError as e:
        return os_fail(p, e)
    if pwritten:
        p.mem.put_u32(pwritten, done)
    return 1


def write_all(p, f: FileObject, data: bytes) -> int:
    """Write everything (Windows' WriteFile on a file does not return short counts);
    the CRT's buffered streams end here too, so their bytes and WriteFile's interleave
    as on Windows."""
    if f.append:
        os.lseek(f.fd, 0, os.SEEK_END)
    view, done = memoryview(data), 0
    while done < len(data):
        done += os.write(f.fd, view[done:])
    return done


def _seek(p, h, dist: int, method: int):
    f = _file(p, h)
    if f is None:
        return None, W.ERROR_INVALID_HANDLE
    if method not in (0, 1, 2):
        return None, W.ERROR_INVALID_PARAMETER
    try:
        cur = os.lseek(f.fd, 0, os.SEEK_CUR)
        end = os.fstat(f.fd).st_size if method == 2 else 0
    except OSError as e:
        return None, W.from_errno(e.errno)
    target = dist + (0, cur, end)[method]
    if target < 0:
        return None, W.ERROR_NEGATIVE_SEEK
    return os.lseek(f.fd, target, os.SEEK_SET), 0


def SetFilePointer(p, h, lo, phigh, method):
    if phigh:
        dist = (p.mem.u32(phigh) << 32) | lo
        dist -= (1 << 64) if dist >> 63 else 0
    else:
        dist = lo - (1 << 32) if lo & 0x80000000 else lo
    pos, err = _seek(p, h, dist, method)
    if pos is None:
        return fail(p, err, 0xFFFFFFFF)
    if phigh:
        p.mem.put_u32(phigh, pos >> 32)
    p.set_last_error(0)
    return pos & 0xFFFFFFFF


def SetFilePointerEx(p, h, dist, pnew, method):
    dist -= (1 << 64) if dist >> 63 else 0
    pos, err = _seek(p, h, dist, method)
    if pos is None:
        return fail(p, err)
    if pnew:
        p.mem.put_u64(pnew, pos)
    return 1


def GetFileSize(p, h, phigh):
    f = _file(p, h)
    if f is None:
        return fail(p, W.ERROR_INVALID_HANDLE, 0xFFFFFFFF)
    size = os.fstat(f.fd).st_size
    if phigh:
        p.mem.put_u32(phigh, size >> 32)
    p.set_last_error(0)
    return size & 0xFFFFFFFF


def GetFileSizeEx(p, h, psize):
    f = _file(p, h)
    if f is None:
        return fail(p, W.ERROR_INVALID_HANDLE)
    p.mem.put_u64(psize, os.fstat(f.fd).st_size)
    return 1


def GetFileType(p, h):
    f = _file(p, h)
    if f is None:
        return fail(p, W.ERROR_INVALID_HANDLE, 0)
    mode = os.fstat(f.fd).st_mode & 0o170000
    if mode == 0o020000:
        return FILE_TYPE_CHAR
    if mode in (0o010000, 0o140000):
        return FILE_TYPE_PIPE
    return FILE_TYPE_DISK


def FlushFileBuffers(p, h):
    return 1 if _file(p, h) is not None else fail(p, W.ERROR_INVALID_HANDLE)


def CloseHandle(p, h):
    obj = p.handles.get(h)
    if obj is None:
        return fail(p, W.ERROR_INVALID_HANDLE)
    path = getattr(obj, "delete_path", None)
    p.handles.close(h)
    if path is not None:
        try:
            p.fs.unlink(path)
        except OSError:
            pass
    return 1


def GetStdHandle(p, which):
    which = which - (1 << 32) if which & 0x80000000 else which
    if which in (STD_INPUT, STD_OUTPUT, STD_ERROR):
        return p.std[STD_INPUT - which]
    return fail(p, W.ERROR_INVALID_HANDLE, INVALID)


def SetStdHandle(p, which, h):
    which = which - (1 << 32) if which & 0x80000000 else which
    if which not in (STD_INPUT, STD_OUTPUT, STD_ERROR):
        return fail(p, W.ERROR_INVALID_HANDLE)
    p.std[STD_INPUT - which] = h
    return 1


def _delete(p, name: str):
    try:
        path = guest_path(p, name)
        st = p.fs.stat(path, follow=False)
        if (st.st_mode & 0o170000) == 0o040000:
            return fail(p, W.ERROR_ACCESS_DENIED)
        p.fs.unlink(path)
    except OSError as e:
        return os_fail(p, e)
    return 1


def DeleteFileA(p, name):
    return _delete(p, strings.read_a(p.mem, name))


def DeleteFileW(p, name):
    return _delete(p, strings.read_w(p.mem, name))


def _copy(p, src: str, dst: str, fail_if_exists: int):
    """The bytes, the last-write time and the mode bits, as CopyFile keeps them."""
    try:
        spath, dpath = guest_path(p, src), guest_path(p, dst)
        sfd = p.fs.open(spath, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as e:
        return os_fail(p, e)
    try:
        st = os.fstat(sfd)
        if (st.st_mode & 0o170000) == 0o040000:
            return fail(p, W.ERROR_ACCESS_DENIED)
        excl = os.O_EXCL if fail_if_exists else os.O_TRUNC
        dfd = p.fs.open(dpath, os.O_WRONLY | os.O_CREAT | excl | os.O_CLOEXEC, st.st_mode & 0o777)
        try:
            while chunk := os.read(sfd, 1 << 20):
                os.write(dfd, chunk)
        finally:
            os.close(dfd)
        p.fs.utime(dpath, (st.st_atime_ns, st.st_mtime_ns))
    except OSError as e:
        return os_fail(p, e)
    finally:
        os.close(sfd)
    return 1


def _set_attributes(p, name: str, attrs: int):
    """FILE_ATTRIBUTE_READONLY is the write permission bits; the rest have no host
    counterpart and are accepted, as a file system without them would."""
    try:
        path = guest_path(p, name)
        mode = p.fs.stat(path).st_mode & 0o7777
        mode = mode & ~0o222 if attrs & FILE_ATTRIBUTE_READONLY else mode | (mode & 0o444) >> 1
        p.fs.chmod(path, mode)
    except OSError as e:
        return os_fail(p, e)
    return 1


def SetFileAttributesA(p, name, attrs):
    return _set_attributes(p, strings.read_a(p.mem, name), attrs)


def SetFileAttributesW(p, name, attrs):
    return _set_attributes(p, strings.read_w(p.mem, name), attrs)


def CopyFileA(p, src, dst, fail_if_exists):
    return _copy(p, strings.read_a(p.mem, src), strings.read_a(p.mem, dst), fail_if_exists)


def CopyFileW(p, src, dst, fail_if_exists):
    return _copy(p, strings.read_w(p.mem, src), strings.read_w(p.mem, dst), fail_if_exists)


def _mkdir(p, name: str):
    try:
        p.fs.mkdir(guest_path(p, name), 0o777)
    except OSError as e:
        return fail(p, W.ERROR_ALREADY_EXISTS if e.errno == errno.EEXIST else W.from_errno(e.errno))
    return 1


def CreateDirectoryA(p, name, sec):
    return _mkdir(p, strings.read_a(p.mem, name))


def CreateDirectoryW(p, name, sec):
    return _mkdir(p, strings.read_w(p.mem, name))


def _rmdir(p, name: str):
    try:
        p.fs.unlink(guest_path(p, name), rmdir=True)
    except OSError as e:
        return os_fail(p, e)
    return 1


def RemoveDirectoryA(p, name):
    return _rmdir(p, strings.read_a(p.mem, name))


def RemoveDirectoryW(p, name):
    return _rmdir(p, strings.read_w(p.mem, name))


def _attributes(p, name: str) -> int:
    try:
        st = p.fs.stat(guest_path(p, name))
    except OSError as e:
        return os_fail(p, e, 0xFFFFFFFF)
    if (st.st_mode & 0o170000) == 0o040000:
        return FILE_ATTRIBUTE_DIRECTORY
    attrs = FILE_ATTRIBUTE_ARCHIVE
    if not st.st_mode & 0o222:
        attrs |= FILE_ATTRIBUTE_READONLY
    return attrs


def GetFileAttributesA(p, name):
    return _attributes(p, strings.read_a(p.mem, name))


def GetFileAttributesW(p, name):
    return _attributes(p, strings.read_w(p.mem, name))


def _cwd_get(p, size, buf, wide):
    return strings.copy_out(p.mem, buf, size, p.paths.cwd(), wide)[0]


def GetCurrentDirectoryA(p, size, buf):
    return _cwd_get(p, size, buf, False)


def GetCurrentDirectoryW(p, size, buf):
    return _cwd_get(p, size, buf, True)


def _chdir(p, name: str):
    try:
        p.fs.chdir(guest_path(p, name))
    except OSError as e:
        return os_fail(p, e)
    return 1


def SetCurrentDirectoryA(p, name):
    return _chdir(p, strings.read_a(p.mem, name))


def SetCurrentDirectoryW(p, name):
    return _chdir(p, strings.read_w(p.mem, name))


def _temp(p, size, buf, wide):
    p.paths.ensure_prefix()
    return strings.copy_out(p.mem, buf, size, "C:\\Temp\\", wide)[0]


def GetTempPathA(p, size, buf):
    return _temp(p, size, buf, False)


def GetTempPathW(p, size, buf):
    return _temp(p, size, buf, True)


def full_path(p, name: str) -> str:
    """GetFullPathName's lexical rules: relative names join the current directory, a
    rooted name takes the current drive, "." and ".." fold away; nothing is checked."""
    name = name.replace("/", "\\")
    cwd = p.paths.cwd()
    if len(name) >= 2 and name[1] == ":":
        drive, rest = name[:2].upper(), name[2:]
        if not rest.startswith("\\"):
            base = cwd if cwd[:2].upper() == drive else drive + "\\"
            rest = base[2:].rstrip("\\") + "\\" + rest
    elif name.startswith("\\\\"):
        return name
    elif name.startswith("\\"):
        drive, rest = cwd[:2], name
    else:
        drive, rest = cwd[:2], cwd[2:].rstrip("\\") + "\\" + name
    parts = []
    for c in rest.split("\\"):
        if c in ("", "."):
            continue
        if c == "..":
            if parts:
                parts.pop()
            continue
        parts.append(c)
    trailing = "\\" if rest.endswith("\\") and parts else ""
    return drive + "\\" + "\\".join(parts) + trailing


def _full(p, name, size, buf, filepart, wide):
    text = full_path(p, strings.read(p.mem, name, wide))
    n, ok = strings.copy_out(p.mem, buf, size, text, wide)
    if ok and filepart:
        cut = text.rfind("\\") + 1
        p.mem.put_ptr(filepart, buf + len(strings.encode(text[:cut], wide)) if cut < len(text) else 0)
    return n


def GetFullPathNameA(p, name, size, buf, filepart):
    return _full(p, name, size, buf, filepart, False)


def GetFullPathNameW(p, name, size, buf, filepart):
    return _full(p, name, size, buf, filepart, True)


def _search(p, path, name, ext, size, buf, filepart, wide):
    """SearchPath: ``name`` (plus ``ext`` if it has no extension) in the directories of
    ``path``, or else the program's directory, the current one, the system ones and %PATH%."""
    from .k32_process import environment
    fname = strings.read(p.mem, name, wide)
    if ext and "." not in fname.replace("/", "\\").rsplit("\\", 1)[-1]:
        fname += strings.read(p.mem, ext, wide)
    if path:
        dirs = [d for d in strings.read(p.mem, path, wide).split(";") if d]
    else:
        dirs = [p.exe_windows.rsplit("\\", 1)[0], ".", "C:\\Windows\\system32", "C:\\Windows"]
        dirs += [d for d in environment(p).get("PATH", ("", ""))[1].split(";") if d]
    candidates = [fname] if ("\\" in fname or "/" in fname or ":" in fname) else \
        [d.rstrip("\\") + "\\" + fname for d in dirs]
    for cand in candidates:
        try:
            st = p.fs.stat(guest_path(p, cand))
        except OSError:
            continue
        if (st.st_mode & 0o170000) == 0o040000:
            continue
        text = full_path(p, cand)
        n, ok = strings.copy_out(p.mem, buf, size, text, wide)
        if ok and filepart:
            cut = text.rfind("\\") + 1
            p.mem.put_ptr(filepart, buf + len(strings.encode(text[:cut], wide)))
        return n
    return fail(p, W.ERROR_FILE_NOT_FOUND)


def SearchPathA(p, path, name, ext, size, buf, filepart):
    return _search(p, path, name, ext, size, buf, filepart, False)


def SearchPathW(p, path, name, ext, size, buf, filepart):
    return _search(p, path, name, ext, size, buf, filepart, True)
