"""msvcrt stdio: FILE streams with the CRT's text mode (\\n -> \\r\\n on output,
\\r\\n -> \\n and Ctrl-Z as end of file on input), buffering (stdout fully buffered
unless it is a console, stderr unbuffered), the low-level descriptors
(_open/_read/_write... ), and the printf family formatted by ``..printf``.

A FILE* is a guest address (an ``_iob`` slot or a block from the heap); its
state lives here, keyed by that address, so a guest cannot corrupt it.
"""
from __future__ import annotations

import errno as E
import os

from .. import printf, strings, sync
from ..handles import FileObject
from ..spec import VarArgs
from .crt_errno import errno_ptr, set_errno, set_os_error

EOF_ = 0xFFFFFFFF
O_TEXT, O_BINARY = 0x4000, 0x8000
BUFSIZ = 4096


def file_size(p) -> int:
    return 48 if p.bits == 64 else 32


class Stream:
    def __init__(self, fd: int, text: bool, unbuffered: bool = False, readable=True, writable=True):
        self.fd = fd                # CRT descriptor
        self.text = text
        self.unbuffered = unbuffered
        self.readable, self.writable = readable, writable
        self.wbuf = bytearray()
        self.rbuf = bytearray()
        self.eof = self.error = False
        self.pending_cr = False


def _crt(p) -> dict:
    st = p.state.get("stdio")
    if st is None:
        st = {"streams": {}, "fds": {0: p.std[0], 1: p.std[1], 2: p.std[2]},
              "fdmode": {0: O_TEXT, 1: O_TEXT, 2: O_TEXT}}
        p.state["stdio"] = st
    return st


def init_iob(p, addr: int) -> None:
    st = _crt(p)
    size = file_size(p)
    st["iob"] = addr
    for fd in (0, 1, 2):
        st["streams"][addr + size * fd] = Stream(fd, True, unbuffered=(fd == 2),
                                                 readable=(fd == 0), writable=(fd != 0))


def std_stream(p, fd: int) -> int:
    """The FILE* of stdin/stdout/stderr (mapping _iob on first use)."""
    addr = p.resolve("msvcrt.dll", "_iob")
    return addr + file_size(p) * fd


def _stream(p, fp: int) -> Stream | None:
    return _crt(p)["streams"].get(fp)


def _fileobj(p, fd: int) -> FileObject | None:
    h = _crt(p)["fds"].get(fd)
    obj = p.handles.get(h) if h is not None else None
    return obj if isinstance(obj, FileObject) else None


# -- the byte layer --------------------------------------------------------------------
def flush(p, s: Stream) -> int:
    if not s.wbuf:
        return 0
    f = _fileobj(p, s.fd)
    data, s.wbuf = bytes(s.wbuf), bytearray()
    if f is None:
        s.error = True
        return -1
    from .k32_files import write_all
    try:
        write_all(p, f, data)
    except OSError:
        s.error = True
        return -1
    return 0


def flush_all(p) -> None:
    st = p.state.get("stdio")
    if st is None:
        return
    for s in list(st["streams"].values()):
        flush(p, s)


def emergency(p, data: bytes) -> None:
    """A CRT message on stderr (fd 2), bypassing the streams."""
    f = _fileobj(p, 2)
    if f is not None:
        try:
            os.write(f.fd, data)
        except OSError:
            pass


def write(p, s: Stream, data: bytes) -> bool:
    if not s.writable:
        s.error = True
        return False
    if s.rbuf:
        _drop_read(p, s)
    if s.text:
        data = data.replace(b"\n", b"\r\n")
    s.wbuf += data
    f = _fileobj(p, s.fd)
    if s.unbuffered or (f is not None and f.console) or len(s.wbuf) >= BUFSIZ:
        return flush(p, s) == 0
    return True


def _drop_read(p, s: Stream) -> None:
    f = _fileobj(p, s.fd)
    if f is not None and s.rbuf:
        try:
            os.lseek(f.fd, -len(s.rbuf), os.SEEK_CUR)
        except OSError:
            pass
    s.rbuf = bytearray()


def _fill(p, s: Stream) -> bool:
    """Read more bytes into the read buffer (translated in text mode); False at EOF."""
    if s.eof:
        return False
    flush(p, s)
    f = _fileobj(p, s.fd)
    if f is None or not s.readable:
        s.error = True
        return False
    if s.fd == 0:
        flush(p, _stream(p, std_stream(p, 1)))    # a prompt shows before the program waits
    try:
        data = sync.read_host(p, f.fd, BUFSIZ)
    except OSError:
        s.error = True
        return False
    if not data:
        if s.pending_cr:
            s.rbuf += b"\r"
            s.pending_cr = False
            return True
        s.eof = True
        return False
    if s.text:
        if s.pending_cr:
            data = b"\r" + data
            s.pending_cr = False
        if data.endswith(b"\r"):
            data, s.pending_cr = data[:-1], True
        z = data.find(b"\x1a")
        if z >= 0 and not f.console:
            data = data[:z]
            s.eof = True
        data = data.replace(b"\r\n", b"\n")
    s.rbuf += data
    return bool(data) or not s.eof


def read(p, s: Stream, n: int) -> bytes:
    while len(s.rbuf) < n and _fill(p, s):
        pass
    out = bytes(s.rbuf[:n])
    del s.rbuf[:n]
    return out


def readline(p, s: Stream, limit: int) -> bytes:
    while True:
        nl = s.rbuf.find(b"\n", 0, limit)
        if nl >= 0 or len(s.rbuf) >= limit:
            end = nl + 1 if nl >= 0 else limit
            out = bytes(s.rbuf[:end])
            del s.rbuf[:end]
            return out
        if not _fill(p, s):
            out = bytes(s.rbuf)
            s.rbuf = bytearray()
            return out


# -- formatted output -------------------------------------------------------------------
def _va(p, va: int) -> VarArgs:
    mem = p.mem
    if p.bits == 64:
        return VarArgs(lambda i: mem.u64(va + 8 * i), 64)
    return VarArgs(lambda i: mem.u32(va + 4 * i), 32)


def _render(p, fmt: int, args: VarArgs, wide: bool = False) -> bytes:
    text = printf.render(strings.read(p.mem, fmt, wide), args, p.mem, p.bits, wide)
    return text.encode("cp1252", "replace") if not wide else text.encode("utf-16-le", "surrogatepass")


def _out(p, fp: int, data: bytes) -> int:
    s = _stream(p, fp)
    if s is None:
        set_errno(p, E.EINVAL)
        return -1
    return len(data) if write(p, s, data) else -1


def printf_(p, fmt, args):
    return _out(p, std_stream(p, 1), _render(p, fmt, args))


def vprintf(p, fmt, va):
    return _out(p, std_stream(p, 1), _render(p, fmt, _va(p, va)))


def fprintf(p, fp, fmt, args):
    return _out(p, fp, _render(p, fmt, args))


def vfprintf(p, fp, fmt, va):
    return _out(p, fp, _render(p, fmt, _va(p, va)))


def _store(p, buf: int, data: bytes, count: int | None, unit: int = 1) -> int:
    """sprintf/_snprintf: the _snprintf contract returns -1 and writes no NUL when the
    text (without NUL) does not fit ``count`` characters."""
    n = len(data) // unit
    if count is None:
        p.mem.write(buf, data + b"\0" * unit)
        return n
    if n > count:
        p.mem.write(buf, data[:count * unit])
        return -1
    p.mem.write(buf, data + (b"\0" * unit if n < count else b""))
    return n


def sprintf(p, buf, fmt, args):
    return _store(p, buf, _render(p, fmt, args), None)


def vsprintf(p, buf, fmt, va):
    return _store(p, buf, _render(p, fmt, _va(p, va)), None)


def snprintf(p, buf, count, fmt, args):
    return _store(p, buf, _render(p, fmt, args), count)


def vsnprintf(p, buf, count, fmt, va):
    return _store(p, buf, _render(p, fmt, _va(p, va)), count)


# -- character and block output ----------------------------------------------------------
def puts(p, s):
    data = strings.raw(p.mem, s) + b"\n"
    return 0 if _out(p, std_stream(p, 1), data) >= 0 else -1


def putchar(p, c):
    return c & 0xFF if _out(p, std_stream(p, 1), bytes([c & 0xFF])) >= 0 else -1


def fputc(p, c, fp):
    return c & 0xFF if _out(p, fp, bytes([c & 0xFF])) >= 0 else -1


def fputs(p, s, fp):
    return 0 if _out(p, fp, strings.raw(p.mem, s)) >= 0 else -1


def fwrite(p, buf, size, count, fp):
    if size == 0 or count == 0:
        return 0
    return count if _out(p, fp, p.mem.read(buf, size * count)) >= 0 else 0


def fflush(p, fp):
    if fp == 0:
        flush_all(p)
        return 0
    s = _stream(p, fp)
    if s is None:
        return -1
    return flush(p, s)


# -- input ------------------------------------------------------------------------------
def fgets(p, buf, n, fp):
    s = _stream(p, fp)
    if s is None or n <= 0:
        return 0
    line = readline(p, s, n - 1)
    if not line:
        return 0
    p.mem.write(buf, line + b"\0")
    return buf


def fgetc(p, fp):
    s = _stream(p, fp)
    if s is None:
        return -1
    b = read(p, s, 1)
    return b[0] if b else -1


def getchar(p):
    return fgetc(p, std_stream(p, 0))


def ungetc(p, c, fp):
    s = _stream(p, fp)
    if s is None or c & 0xFFFFFFFF == EOF_:
        return -1
    s.rbuf[:0] = bytes([c & 0xFF])
    s.eof = False
    return c & 0xFF


def fread(p, buf, size, count, fp):
    s = _stream(p, fp)
    if s is None or size == 0 or count == 0:
        return 0
    data = read(p, s, size * count)
    p.mem.write(buf, data)
    return len(data) // size


def feof(p, fp):
    s = _stream(p, fp)
    return 1 if (s is not None and s.eof and not s.rbuf) else 0


def ferror(p, fp):
    s = _stream(p, fp)
    return 1 if (s is not None and s.error) else 0


def clearerr(p, fp):
    s = _stream(p, fp)
    if s is not None:
        s.eof = s.error = False


# -- opening, positioning ----------------------------------------------------------------
def _parse_mode(mode: str):
    if not mode or mode[0] not in "rwa":
        return None
    plus = "+" in mode
    flags = {"r": 0, "w": os.O_CREAT | os.O_TRUNC, "a": os.O_CREAT | os.O_APPEND}[mode[0]]
    flags |= os.O_RDWR if plus else (os.O_RDONLY if mode[0] == "r" else os.O_WRONLY)
    text = None if ("b" not in mode and "t" not in mode) else ("t" in mode)
    return flags, text, mode[0] == "r" or plus, mode[0] != "r" or plus, mode[0] == "a"


def _new_fd(p, obj: FileObject, text: bool) -> int:
    st = _crt(p)
    fd = 3
    while fd in st["fds"]:
        fd += 1
    st["fds"][fd] = p.handles.add(obj)
    st["fdmode"][fd] = O_TEXT if text else O_BINARY
    return fd


def fopen(p, name, mode):
    parsed = _parse_mode(strings.read_a(p.mem, mode))
    if parsed is None:
        set_errno(p, E.EINVAL)
        return 0
    flags, text, readable, writable, append = parsed
    if text is None:
        fmode = p.mem.u32(p.resolve("msvcrt.dll", "_fmode"))
        text = fmode != O_BINARY
    wname = strings.read_a(p.mem, name)
    try:
        fd = p.fs.open(p.paths.to_guest(wname), flags | os.O_CLOEXEC, 0o666)
    except OSError as e:
        set_os_error(p, e)
        return 0
    obj = FileObject(fd, wname, append=append)
    cfd = _new_fd(p, obj, text)
    fp = p.heap.alloc(file_size(p), zero=True)
    _crt(p)["streams"][fp] = Stream(cfd, text, readable=readable, writable=writable)
    return fp


def fclose(p, fp):
    st = _crt(p)
    s = st["streams"].get(fp)
    if s is None:
        set_errno(p, E.EINVAL)
        return -1
    r = flush(p, s)
    del st["streams"][fp]
    h = st["fds"].pop(s.fd, None)
    if h is not None and s.fd > 2:
        p.handles.close(h)
    if s.fd > 2:
        p.heap.free(fp)
    return r


def fseek(p, fp, offset, whence):
    s = _stream(p, fp)
    f = _fileobj(p, s.fd) if s is not None else None
    if f is None or whence not in (0, 1, 2):
        set_errno(p, E.EINVAL)
        return -1
    off = offset - (1 << 32) if offset & 0x80000000 else offset
    flush(p, s)
    if whence == 1:
        off -= len(s.rbuf)
    s.rbuf = bytearray()
    s.eof = False
    try:
        os.lseek(f.fd, off, whence)
    except OSError as e:
        set_os_error(p, e)
        return -1
    return 0


def ftell(p, fp):
    s = _stream(p, fp)
    f = _fileobj(p, s.fd) if s is not None else None
    if f is None:
        set_errno(p, E.EINVAL)
        return -1
    pos = os.lseek(f.fd, 0, os.SEEK_CUR)
    return pos + len(s.wbuf) - len(s.rbuf)


def rewind(p, fp):
    fseek(p, fp, 0, 0)
    s = _stream(p, fp)
    if s is not None:
        s.error = False


def fileno(p, fp):
    s = _stream(p, fp)
    return s.fd if s is not None else -1


def setmode(p, fd, mode):
    st = _crt(p)
    if fd not in st["fds"] or mode not in (O_TEXT, O_BINARY):
        set_errno(p, E.EINVAL)
        return -1
    old = st["fdmode"].get(fd, O_TEXT)
    st["fdmode"][fd] = mode
    for s in st["streams"].values():
        if s.fd == fd:
            s.text = mode == O_TEXT
    return old


def setvbuf(p, fp, buf, mode, size):
    s = _stream(p, fp)
    if s is None:
        return -1
    s.unbuffered = mode == 4          # _IONBF; _IOFBF/_IOLBF keep the CRT's buffer
    return 0


def isatty(p, fd):
    f = _fileobj(p, fd)
    return 64 if (f is not None and f.console) else 0       # msvcrt answers _IOTTY-ish nonzero


def get_osfhandle(p, fd):
    h = _crt(p)["fds"].get(fd)
    if h is None:
        set_errno(p, E.EBADF)
        return (1 << p.bits) - 1
    return h


def remove(p, name):
    try:
        p.fs.unlink(p.paths.to_guest(strings.read_a(p.mem, name)))
    except OSError as e:
        set_os_error(p, e)
        return -1
    return 0


def rename(p, old, new):
    try:
        p.fs.rename(p.paths.to_guest(strings.read_a(p.mem, old)), p.paths.to_guest(strings.read_a(p.mem, new)))
    except OSError as e:
        set_os_error(p, e)
        return -1
    return 0


def perror(p, s):
    from .crt_string import MESSAGES
    n = p.mem.u32(errno_ptr(p))
    prefix = strings.raw(p.mem, s) + b": " if s and strings.raw(p.mem, s) else b""
    _out(p, std_stream(p, 2), prefix + MESSAGES.get(n, "Unknown error").encode() + b"\n")


# -- wide output: formatted as UTF-16, written to the (text-mode, ANSI) stream in 1252 ----
def _wout(p, fp: int, fmt: int, args) -> int:
    text = printf.render(strings.read_w(p.mem, fmt), args, p.mem, p.bits, wide=True)
    r = _out(p, fp, text.encode("cp1252", "replace"))
    return len(text) if r >= 0 else -1


def wprintf(p, fmt, args):
    return _wout(p, std_stream(p, 1), fmt, args)


def fwprintf(p, fp, fmt, args):
    return _wout(p, fp, fmt, args)


def vwprintf(p, fmt, va):
    return _wout(p, std_stream(p, 1), fmt, _va(p, va))


def vfwprintf(p, fp, fmt, va):
    return _wout(p, fp, fmt, _va(p, va))


def swprintf(p, buf, fmt, args):
    """msvcrt's two-argument swprintf (no count)."""
    return _store(p, buf, _render(p, fmt, args, wide=True), None, unit=2)


def snwprintf(p, buf, count, fmt, args):
    return _store(p, buf, _render(p, fmt, args, wide=True), count, unit=2)


def vsnwprintf(p, buf, count, fmt, va):
    return _store(p, buf, _render(p, fmt, _va(p, va), wide=True), count, unit=2)


def fputwc(p, c, fp):
    ch = chr(c & 0xFFFF)
    return c & 0xFFFF if _out(p, fp, ch.encode("cp1252", "replace")) >= 0 else 0xFFFF   # WEOF


def fputws(p, s, fp):
    return 0 if _out(p, fp, strings.read_w(p.mem, s).encode("cp1252", "replace")) >= 0 else -1
