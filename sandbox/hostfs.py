"""The unjailed view: guest paths are host paths, relative to the process cwd.

This is what qemu-user and Wine give a program by default.  The guest's cwd is
the host process's cwd, so relative paths and dirfd-relative calls go straight
to the host kernel with ``dir_fd``.
"""
from __future__ import annotations

import os

from .view import FileSystemView


class HostView(FileSystemView):
    def open(self, path, flags, mode=0o666, dirfd=None):
        return os.open(path, flags, mode, dir_fd=dirfd)

    def stat(self, path, dirfd=None, follow=True):
        if not path:
            raise FileNotFoundError(2, "No such file or directory")
        return os.stat(path, dir_fd=dirfd, follow_symlinks=follow)

    def access(self, path, mode, dirfd=None, effective=False, follow=True):
        if not path:
            raise FileNotFoundError(2, "No such file or directory")
        # os.access hides errno; use faccessat semantics through stat + access
        os.stat(path, dir_fd=dirfd, follow_symlinks=follow)
        if not os.access(path, mode, dir_fd=dirfd, effective_ids=effective, follow_symlinks=follow):
            raise PermissionError(13, "Permission denied")

    def readlink(self, path, dirfd=None):
        return os.readlink(path, dir_fd=dirfd)

    def mkdir(self, path, mode, dirfd=None):
        os.mkdir(path, mode, dir_fd=dirfd)

    def unlink(self, path, dirfd=None, rmdir=False):
        if rmdir:
            os.rmdir(path, dir_fd=dirfd)
        else:
            os.unlink(path, dir_fd=dirfd)

    def rename(self, old, new, olddirfd=None, newdirfd=None, flags=0):
        if flags:
            raise OSError(22, "Invalid argument")
        os.rename(old, new, src_dir_fd=olddirfd, dst_dir_fd=newdirfd)

    def symlink(self, target, path, dirfd=None):
        os.symlink(target, path, dir_fd=dirfd)

    def link(self, old, new, olddirfd=None, newdirfd=None, follow=False):
        os.link(old, new, src_dir_fd=olddirfd, dst_dir_fd=newdirfd, follow_symlinks=follow)

    def chmod(self, path, mode, dirfd=None, follow=True):
        os.chmod(path, mode, dir_fd=dirfd, follow_symlinks=follow)

    def chown(self, path, uid, gid, dirfd=None, follow=True):
        os.chown(path, uid, gid, dir_fd=dirfd, follow_symlinks=follow)

    def utime(self, path, ns, dirfd=None, follow=True):
        if ns is None:                       # now (os.utime refuses ns=None)
            os.utime(path, dir_fd=dirfd, follow_symlinks=follow)
        else:
            os.utime(path, ns=ns, dir_fd=dirfd, follow_symlinks=follow)

    def truncate(self, path, length):
        os.truncate(path, length)

    def mknod(self, path, mode, dev, dirfd=None):
        os.mknod(path, mode, dev, dir_fd=dirfd)

    def getxattr(self, path, name, follow=True):
        return os.getxattr(path, name, follow_symlinks=follow)

    def listxattr(self, path, follow=True):
        return os.listxattr(path, follow_symlinks=follow)

    def setxattr(self, path, name, value, flags, follow=True):
        os.setxattr(path, name, value, flags, follow_symlinks=follow)

    def removexattr(self, path, name, follow=True):
        os.removexattr(path, name, follow_symlinks=follow)

    def chdir(self, path):
        os.chdir(path)

    def fchdir(self, hostfd):
        os.fchdir(hostfd)

    def getcwd(self):
        return os.getcwdb()
