"""Process life cycle: fork/vfork/clone (new processes), execve, wait4/waitid.

A guest process is a host process (ARCHITECTURE.md): fork forks the emulator,
whose copy-on-write memory already holds the guest's, and the child simply
continues inside the same trap.  vfork and clone(CLONE_VM|CLONE_VFORK) — the
way posix_spawn and Python's subprocess start children — are done the same
way: the child gets a copy instead of shared memory, which a child that only
calls execve or _exit cannot tell apart.  clone(CLONE_VM|CLONE_THREAD) makes
a guest thread (see personalities/linux/threads.py).
"""
from __future__ import annotations

import os
import struct
import sys
import threading

from ..abi import s32
from .. import hostcall
from .decl import syscall
from .util import path, einval

CLONE_VM, CLONE_FS, CLONE_FILES, CLONE_SIGHAND = 0x100, 0x200, 0x400, 0x800
CLONE_PIDFD, CLONE_PTRACE, CLONE_VFORK, CLONE_PARENT = 0x1000, 0x2000, 0x4000, 0x8000
CLONE_THREAD, CLONE_SETTLS, CLONE_PARENT_SETTID = 0x10000, 0x80000, 0x100000
CLONE_CHILD_CLEARTID, CLONE_CHILD_SETTID = 0x200000, 0x1000000


THREAD_FLAGS = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD


def _fork(p, flags=0, stack=0, ptid=0, ctid=0, tls=0):
    if flags & CLONE_THREAD:
        if flags & THREAD_FLAGS != THREAD_FLAGS:
            raise einval()           # Linux requires VM|SIGHAND with THREAD; FS|FILES we always share
        return p.spawn_thread(stack, tls if flags & CLONE_SETTLS else None, ptid if flags & CLONE_PARENT_SETTID else 0,
                              ctid, bool(flags & CLONE_CHILD_SETTID), bool(flags & CLONE_CHILD_CLEARTID))
    if flags & CLONE_VM and not flags & CLONE_VFORK:
        p.unimpl[f"clone:{flags:#x} (shared memory without a thread)"] += 1
        raise OSError(38, "Function not implemented")
    if flags & (CLONE_SIGHAND | CLONE_PIDFD):
        p.unimpl[f"clone:{flags:#x}"] += 1
        raise einval()
    if p.tracer is not None and p.tracer.stream is not None:
        p.tracer.stream.flush()
    sys.stdout.flush()
    sys.stderr.flush()
    in_thread = threading.current_thread() is not threading.main_thread()
    limits = p.jail.limits if p.jail is not None else None
    slot = limits.reserve_child() if limits is not None else None    # EAGAIN at the procs limit
    try:
        pid = os.fork()
    except OSError:
        if limits is not None:
            limits.child_failed(slot)
        raise
    if limits is not None:
        limits.child_started(slot, pid or os.getpid(), in_child=pid == 0)
    if pid == 0:
        p.pid = p.tid = os.getpid()
        p.group.after_fork(p)
        p.mm.cpu, p.mm.cpus = p.cpu, [p.cpu]
        p.forked_in_thread = in_thread
        if stack:
            p.cpu.set_reg("rsp" if p.abi.bits == 64 else "esp", stack)
        if flags & CLONE_SETTLS:
            set_tls(p, tls)
        if flags & CLONE_CHILD_SETTID and ctid:
            p.mem.put_u32(ctid, p.pid)
        if flags & CLONE_CHILD_CLEARTID:
            p.clear_child_tid = ctid
        return 0
    if flags & CLONE_PARENT_SETTID and ptid:
        p.mem.put_u32(ptid, pid)
    if flags & CLONE_VFORK:
        # the parent of a vfork resumes once the child has exec'd or exited;
        # with a copied address space it need not wait, and waiting could
        # deadlock a child that blocks on its parent
        pass
    return pid


def set_tls(p, tls):
    if p.abi.bits == 64:
        p.cpu.set_fs_base(tls)
    else:
        from .process import sys_set_thread_area
        sys_set_thread_area(p, tls)
        # the CPU caches the old descriptor behind %gs: reload it, as a context switch would
        p.cpu.load_segment("gs", p.cpu.reg("gs"))


@syscall("fork")
def sys_fork(p):
    return _fork(p)


@syscall("vfork")
def sys_vfork(p):
    return _fork(p, CLONE_VM | CLONE_VFORK)


@syscall("clone", "hex", "ptr", "ptr", "ptr", "ptr", abi="x86_64", level="partial",
         note="new processes (fork, vfork, posix_spawn); threads not yet")
def sys_clone(p, flags, stack, ptid, ctid, tls):
    return _fork(p, flags & ~0xFF, stack, ptid, ctid, tls)


@syscall("clone", "hex", "ptr", "ptr", "ptr", "ptr", abi="i386", level="partial",
         note="new processes (fork, vfork, posix_spawn); threads not yet")
def sys_clone32(p, flags, stack, ptid, tls, ctid):
    return _fork(p, flags & ~0xFF, stack, ptid, ctid, tls)


CLONE_ARGS = struct.Struct("<QQQQQQQQ")


@syscall("clone3", "ptr", "size", level="partial", note="as clone")
def sys_clone3(p, args, size):
    if size < CLONE_ARGS.size:
        raise einval()
    flags, pidfd, ctid, ptid, exit_signal, stack, stack_size, tls = \
        CLONE_ARGS.unpack(p.mem.read(args, CLONE_ARGS.size))
    top = stack + stack_size if stack else 0
    return _fork(p, flags, top, ptid, ctid, tls)


# -- execve -----------------------------------------------------------------------------
def _strings(p, addr):
    if not addr:
        return []
    return [p.mem.cstr(a, 1 << 17) for a in p.mem.ptr_array(addr)]


def _execve(p, pth: bytes, argv_addr, envp_addr):
    argv, envp = _strings(p, argv_addr), _strings(p, envp_addr)
    if sum(len(a) + 1 for a in argv + envp) > 2 << 20:
        raise OSError(7, "Argument list too long")
    p.replacement = p.successor(pth, argv, envp)
    p.cpu.stop()
    return None


@syscall("execve", "path", "ptr", "ptr")
def sys_execve(p, pth, argv, envp):
    return _execve(p, path(p, pth), argv, envp)


@syscall("execveat", "dirfd", "path", "ptr", "ptr", "hex", level="partial",
         note="AT_EMPTY_PATH (fexecve) and absolute/cwd-relative paths")
def sys_execveat(p, dfd, pth, argv, envp, flags):
    pth = path(p, pth)
    if not pth and flags & 0x1000:
        pth = f"/proc/self/fd/{p.fds.get(s32(dfd))}".encode()
        pth = p.fs.fd_path(p.fds.get(s32(dfd))) or pth
    elif not pth.startswith(b"/") and s32(dfd) != -100:
        pth = p.fs.fd_path(p.fds.get(s32(dfd))) + b"/" + pth
    return _execve(p, pth, argv, envp)


# -- waiting ----------------------------------------------------------------------------
def _rusage(p, ru) -> bytes:
    tv = p.abi.timeval

    def t(x):
        return tv.pack(int(x), int((x - int(x)) * 1e6))
    rest = [ru.ru_maxrss, ru.ru_ixrss, ru.ru_idrss, ru.ru_isrss, ru.ru_minflt, ru.ru_majflt,
            ru.ru_nswap, ru.ru_inblock, ru.ru_oublock, ru.ru_msgsnd, ru.ru_msgrcv, ru.ru_nsignals,
            ru.ru_nvcsw, ru.ru_nivcsw]
    return t(ru.ru_utime) + t(ru.ru_stime) + b"".join(p.abi.long.pack(v) for v in rest)


@syscall("wait4", "int", "ptr", "hex", "ptr")
def sys_wait4(p, pid, status, options, rusage):
    """The host's wait4: guest children are host children, and status words are Linux's own."""
    with p.group.unlocked(p, interruptible=False):
        got, st, ru = hostcall.wait4(s32(pid), s32(options))
    if got and status:
        p.mem.put_u32(status, st)
    if got and rusage:
        p.mem.write(rusage, _rusage(p, ru))
    return got


@syscall("waitpid", "int", "ptr", "hex")
def sys_waitpid(p, pid, status, options):
    return sys_wait4(p, pid, status, options, 0)


SIGINFO_SIZE = 128


@syscall("waitid", "int", "int", "ptr", "hex", "ptr")
def sys_waitid(p, idtype, ident, infop, options, rusage):
    with p.group.unlocked(p):
        res = os.waitid(s32(idtype), s32(ident), s32(options))
    info = bytearray(SIGINFO_SIZE)
    if res is not None:
        # si_signo, si_errno, si_code, then (pid, uid, status) at the union's start
        ps = p.abi.ptr_size
        struct.pack_into("<iii", info, 0, 17, 0, res.si_code)     # SIGCHLD
        off = 16 if ps == 8 else 12
        struct.pack_into("<iIi", info, off, res.si_pid, res.si_uid, res.si_status)
    if infop:
        p.mem.write(infop, bytes(info))
    return 0
