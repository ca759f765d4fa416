"""Extended attributes: get/list/set/remove, on paths (following or not) and fds."""
from __future__ import annotations

import os

from .. import procfs
from ..abi import s32
from .decl import syscall
from .util import path

XATTR_NAME_MAX, XATTR_SIZE_MAX = 255, 65536


def _name(p, addr) -> bytes:
    name = p.mem.cstr(addr, XATTR_NAME_MAX + 1)
    if not name or len(name) > XATTR_NAME_MAX:
        raise OSError(34, "Numerical result out of range")
    return name


def _at(p, pth, follow: bool = True) -> bytes:
    """The guest's path, with its own /proc/self/fd and /dev/fd entries made the host's."""
    return procfs.target(p, path(p, pth), follow)


def _give(p, data: bytes, buf, size) -> int:
    """Linux's size protocol: size 0 asks for the length; too small a buffer is ERANGE."""
    if size == 0:
        return len(data)
    if len(data) > size:
        raise OSError(34, "Numerical result out of range")
    p.mem.write(buf, data)
    return len(data)


def _list_bytes(names) -> bytes:
    return b"".join(os.fsencode(n) + b"\0" for n in names)


@syscall("getxattr", "path", "str", "ptr", "size")
def sys_getxattr(p, pth, name, buf, size):
    return _give(p, p.fs.getxattr(_at(p, pth), _name(p, name)), buf, size)


@syscall("lgetxattr", "path", "str", "ptr", "size")
def sys_lgetxattr(p, pth, name, buf, size):
    return _give(p, p.fs.getxattr(_at(p, pth, False), _name(p, name), follow=False), buf, size)


@syscall("fgetxattr", "fd", "str", "ptr", "size")
def sys_fgetxattr(p, fd, name, buf, size):
    return _give(p, os.getxattr(p.fds.get(s32(fd)), _name(p, name)), buf, size)


@syscall("listxattr", "path", "ptr", "size")
def sys_listxattr(p, pth, buf, size):
    return _give(p, _list_bytes(p.fs.listxattr(_at(p, pth))), buf, size)


@syscall("llistxattr", "path", "ptr", "size")
def sys_llistxattr(p, pth, buf, size):
    return _give(p, _list_bytes(p.fs.listxattr(_at(p, pth, False), follow=False)), buf, size)


@syscall("flistxattr", "fd", "ptr", "size")
def sys_flistxattr(p, fd, buf, size):
    return _give(p, _list_bytes(os.listxattr(p.fds.get(s32(fd)))), buf, size)


def _value(p, value, size) -> bytes:
    if size > XATTR_SIZE_MAX:
        raise OSError(7, "Argument list too long")
    return p.mem.read(value, size)


@syscall("setxattr", "path", "str", "ptr", "size", "hex")
def sys_setxattr(p, pth, name, value, size, flags):
    p.fs.setxattr(_at(p, pth), _name(p, name), _value(p, value, size), s32(flags))
    return 0


@syscall("lsetxattr", "path", "str", "ptr", "size", "hex")
def sys_lsetxattr(p, pth, name, value, size, flags):
    p.fs.setxattr(_at(p, pth, False), _name(p, name), _value(p, value, size), s32(flags), follow=False)
    return 0


@syscall("fsetxattr", "fd", "str", "ptr", "size", "hex")
def sys_fsetxattr(p, fd, name, value, size, flags):
    with p.fs.changing(p.fds.get(s32(fd))) as target:
        os.setxattr(target, _name(p, name), _value(p, value, size), s32(flags))
    return 0


@syscall("removexattr", "path", "str")
def sys_removexattr(p, pth, name):
    p.fs.removexattr(_at(p, pth), _name(p, name))
    return 0


@syscall("lremovexattr", "path", "str")
def sys_lremovexattr(p, pth, name):
    p.fs.removexattr(_at(p, pth, False), _name(p, name), follow=False)
    return 0


@syscall("fremovexattr", "fd", "str")
def sys_fremovexattr(p, fd, name):
    with p.fs.changing(p.fds.get(s32(fd))) as target:
        os.removexattr(target, _name(p, name))
    return 0
