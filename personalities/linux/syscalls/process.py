"""The process itself: exit, ids, thread-area/TLS set-up, resource limits, prctl,
scheduling queries."""
from __future__ import annotations

import os
import resource
import struct

from .. import hostcall
from ..abi import s32
from ..mm import AddressSpace
from .decl import syscall
from .util import einval

ARCH_SET_GS, ARCH_SET_FS, ARCH_GET_FS, ARCH_GET_GS = 0x1001, 0x1002, 0x1003, 0x1004
GDT_TLS_FIRST = 12          # Linux on x86-64 gives 32-bit tasks TLS entries 12..14
GDT_TLS_COUNT = 3


@syscall("exit", "int")
def sys_exit(p, status):
    p.thread_exit(status)
    return None


@syscall("exit_group", "int")
def sys_exit_group(p, status):
    p.exit(status)
    return None


@syscall("getpid")
def sys_getpid(p):
    return p.pid


@syscall("gettid")
def sys_gettid(p):
    return p.tid


@syscall("getppid")
def sys_getppid(p):
    return os.getppid()


@syscall("getpgrp")
def sys_getpgrp(p):
    return os.getpgrp()


@syscall("getpgid", "int")
def sys_getpgid(p, pid):
    return os.getpgid(s32(pid))


@syscall("getsid", "int")
def sys_getsid(p, pid):
    return os.getsid(s32(pid))


@syscall("setpgid", "int", "int")
def sys_setpgid(p, pid, pgid):
    """Guest processes are host processes, so process groups are the host's own."""
    os.setpgid(s32(pid), s32(pgid))
    return 0


@syscall("setsid")
def sys_setsid(p):
    return os.setsid()


@syscall("set_tid_address", "ptr")
def sys_set_tid_address(p, addr):
    p.clear_child_tid = addr
    return p.tid


@syscall("set_robust_list", "ptr", "size", level="partial", note="recorded; used by threads (issue 4)")
def sys_set_robust_list(p, head, size):
    if size != (24 if p.abi.bits == 64 else 12):
        raise einval()
    p.robust_list = head
    return 0


@syscall("arch_prctl", "hex", "ptr")
def sys_arch_prctl(p, code, addr):
    if p.abi.bits != 64:
        raise einval()
    if code == ARCH_SET_FS:
        p.cpu.set_fs_base(addr)
        return 0
    if code == ARCH_SET_GS:
        p.cpu.set_gs_base(addr)
        return 0
    if code in (ARCH_GET_FS, ARCH_GET_GS):
        p.mem.put_u64(addr, p.cpu.reg("fs_base" if code == ARCH_GET_FS else "gs_base"))
        return 0
    raise einval()


USER_DESC = struct.Struct("<iIII")


@syscall("set_thread_area", "ptr", abi="i386")
def sys_set_thread_area(p, uinfo):
    """Install a TLS descriptor in the GDT, as glibc/musl on i386 ask for %gs."""
    entry, base, limit, flags = USER_DESC.unpack(p.mem.read(uinfo, USER_DESC.size))
    if entry == -1:
        for i in range(GDT_TLS_FIRST, GDT_TLS_FIRST + GDT_TLS_COUNT):
            if i not in p.tls_slots:
                entry = i
                break
        else:
            raise OSError(3, "No such process")     # ESRCH, as Linux
        p.mem.write(uinfo, entry.to_bytes(4, "little", signed=True))
    if not GDT_TLS_FIRST <= entry < GDT_TLS_FIRST + GDT_TLS_COUNT:
        raise einval()
    return write_tls_descriptor(p, entry, base, limit, flags)


def write_tls_descriptor(p, entry: int, base: int, limit: int, flags: int) -> int:
    """Turn a Linux user_desc into a GDT descriptor in this thread's CPU."""
    seg_32bit = flags & 1
    contents = (flags >> 1) & 3
    read_exec_only = (flags >> 3) & 1
    limit_in_pages = (flags >> 4) & 1
    not_present = (flags >> 5) & 1
    if not_present and base == 0 and limit == 0:
        p.cpu.set_gdt_entry(entry, 0, 0, 0, 0)
        p.tls_slots.pop(entry, None)
        return 0
    access = (0 if not_present else 0x80) | 0x60 | 0x10 | (contents << 2) | ((0 if read_exec_only else 1) << 1)
    gran = (limit_in_pages << 3) | (seg_32bit << 2)
    p.cpu.set_gdt_entry(entry, base, limit, access, gran)
    p.tls_slots[entry] = (base, limit, flags)
    return 0


@syscall("get_thread_area", "ptr", abi="i386")
def sys_get_thread_area(p, uinfo):
    entry = int.from_bytes(p.mem.read(uinfo, 4), "little", signed=True)
    if entry not in p.tls_slots:
        raise einval()
    base, limit, flags = p.tls_slots[entry]
    p.mem.write(uinfo, USER_DESC.pack(entry, base, limit, flags))
    return 0


@syscall("rseq", "ptr", "size", "hex", "hex", level="partial", note="ENOSYS: glibc falls back")
def sys_rseq(p, *_):
    raise OSError(38, "Function not implemented")


# -- resource limits --------------------------------------------------------------
RLIM_INFINITY = (1 << 64) - 1


def _rlimit_struct(p, wide: bool):
    return struct.Struct("<QQ" if wide or p.abi.bits == 64 else "<II")


def _to_guest_limit(v: int, bits: int) -> int:
    if v == resource.RLIM_INFINITY or v < 0:
        return (1 << bits) - 1
    return min(v, (1 << bits) - 1)


def _from_guest_limit(v: int, bits: int) -> int:
    return resource.RLIM_INFINITY if v == (1 << bits) - 1 else v


# Limits on the address space belong to the guest, not to the emulator hosting it (a
# guest's `ulimit -v` must not starve the host's allocations): kept here, enforced by
# the AddressSpace.  Module state: one guest process per host process, kept across
# execve and copied by fork, as Linux keeps rlimits.
_GUEST_ONLY = (resource.RLIMIT_DATA, resource.RLIMIT_STACK, resource.RLIMIT_AS)
_guest_limits: dict[int, tuple[int, int]] = {}


def get_limit(res: int) -> tuple[int, int]:
    if res in _guest_limits:
        return _guest_limits[res]
    try:
        return resource.getrlimit(res)
    except ValueError:
        raise einval() from None


def _set_limit(res: int, soft: int, hard: int) -> None:
    def order(v):
        return float("inf") if v == resource.RLIM_INFINITY else v
    if order(soft) > order(hard):
        raise einval()
    if res not in _GUEST_ONLY:
        try:
            resource.setrlimit(res, (soft, hard))
        except ValueError:
            raise einval() from None
        return
    if order(hard) > order(get_limit(res)[1]) and os.geteuid() != 0:
        raise OSError(1, "Operation not permitted")
    _guest_limits[res] = (soft, hard)
    if res == resource.RLIMIT_AS:
        AddressSpace.as_limit = None if soft == resource.RLIM_INFINITY else soft


@syscall("prlimit64", "int", "int", "ptr", "ptr", level="partial",
         note="RLIMIT_AS bounds guest mappings; RLIMIT_DATA/STACK are kept for the guest, not enforced")
def sys_prlimit64(p, pid, res, new, old):
    pid, res = s32(pid), s32(res)
    if pid not in (0, p.pid):
        raise OSError(1, "Operation not permitted")
    st = struct.Struct("<QQ")
    cur = get_limit(res)
    if new:
        soft, hard = st.unpack(p.mem.read(new, 16))
        _set_limit(res, _from_guest_limit(soft, 64), _from_guest_limit(hard, 64))
    if old:
        p.mem.write(old, st.pack(*(_to_guest_limit(v, 64) for v in cur)))
    return 0


@syscall(("getrlimit", "ugetrlimit"), "int", "ptr")
def sys_getrlimit(p, res, buf):
    bits = p.abi.bits
    cur = get_limit(s32(res))
    p.mem.write(buf, _rlimit_struct(p, False).pack(*(_to_guest_limit(v, bits) for v in cur)))
    return 0


@syscall("setrlimit", "int", "ptr", level="partial",
         note="RLIMIT_AS bounds guest mappings; RLIMIT_DATA/STACK are kept for the guest, not enforced")
def sys_setrlimit(p, res, buf):
    st = _rlimit_struct(p, False)
    soft, hard = st.unpack(p.mem.read(buf, st.size))
    bits = p.abi.bits
    _set_limit(s32(res), _from_guest_limit(soft, bits), _from_guest_limit(hard, bits))
    return 0


@syscall("getrusage", "int", "ptr")
def sys_getrusage(p, who, buf):
    r = resource.getrusage(resource.RUSAGE_CHILDREN if s32(who) == -1 else resource.RUSAGE_SELF)
    tv = p.abi.timeval

    def t(x):
        return tv.pack(int(x), int((x - int(x)) * 1e6))
    rest = [r.ru_maxrss, r.ru_ixrss, r.ru_idrss, r.ru_isrss, r.ru_minflt, r.ru_majflt, r.ru_nswap,
            r.ru_inblock, r.ru_oublock, r.ru_msgsnd, r.ru_msgrcv, r.ru_nsignals, r.ru_nvcsw, r.ru_nivcsw]
    p.mem.write(buf, t(r.ru_utime) + t(r.ru_stime) + b"".join(p.abi.long.pack(v) for v in rest))
    return 0


# -- prctl --------------------------------------------------------------------------
PR_SET_PDEATHSIG, PR_GET_PDEATHSIG, PR_GET_DUMPABLE, PR_SET_DUMPABLE = 1, 2, 3, 4
PR_SET_NAME, PR_GET_NAME, PR_GET_SECCOMP, PR_SET_NO_NEW_PRIVS, PR_GET_NO_NEW_PRIVS = 15, 16, 21, 38, 39


@syscall("prctl", "int", "hex", "hex", "hex", "hex", level="partial",
         note="process name, dumpable, no_new_privs, pdeathsig; others EINVAL")
def sys_prctl(p, option, a2, a3, a4, a5):
    option = s32(option)
    if option == PR_SET_NAME:
        hostcall.set_comm(p.mem.read(a2, 16).split(b"\0", 1)[0])
        return 0
    if option == PR_GET_NAME:
        p.mem.write(a2, hostcall.get_comm() + b"\0")
        return 0
    if option == PR_GET_DUMPABLE:
        return 1
    if option in (PR_SET_DUMPABLE, PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS):
        return 0
    if option in (PR_GET_SECCOMP, PR_GET_NO_NEW_PRIVS):
        return 0
    if option == PR_GET_PDEATHSIG:
        p.mem.put_u32(a2, 0)
        return 0
    p.unimpl[f"prctl:{option}"] += 1
    raise einval()


# -- scheduling ---------------------------------------------------------------------
@syscall("sched_getaffinity", "int", "size", "ptr")
def sys_sched_getaffinity(p, pid, size, mask):
    cpus = os.sched_getaffinity(0)
    nbytes = max((max(cpus) // 8) + 1, p.abi.ptr_size)
    nbytes = (nbytes + p.abi.ptr_size - 1) // p.abi.ptr_size * p.abi.ptr_size
    if size < nbytes:
        raise einval()
    bits = 0
    for c in cpus:
        bits |= 1 << c
    p.mem.write(mask, bits.to_bytes(nbytes, "little"))
    return nbytes


@syscall("sched_setaffinity", "int", "size", "ptr", level="partial", note="accepted, not applied")
def sys_sched_setaffinity(p, pid, size, mask):
    p.mem.read(mask, min(size, 1024))
    return 0


@syscall("sched_yield")
def sys_sched_yield(p):
    if p.group.multi:
        p.group.yield_cpu(p)
    else:
        os.sched_yield()
    return 0


@syscall("getcpu", "ptr", "ptr", "ptr")
def sys_getcpu(p, cpu, node, _cache):
    if cpu:
        p.mem.put_u32(cpu, 0)
    if node:
        p.mem.put_u32(node, 0)
    return 0


@syscall(("sched_getscheduler",), "int")
def sys_sched_getscheduler(p, pid):
    return 0


@syscall("sched_getparam", "int", "ptr")
def sys_sched_getparam(p, pid, param):
    p.mem.put_u32(param, 0)
    return 0


@syscall("sched_get_priority_max", "int")
def sys_sched_get_priority_max(p, policy):
    return os.sched_get_priority_max(s32(policy))       # 99 for FIFO/RR, 0 for the others


@syscall("sched_get_priority_min", "int")
def sys_sched_get_priority_min(p, policy):
    return os.sched_get_priority_min(s32(policy))


@syscall("sched_rr_get_interval", "int", "ptr")
def sys_sched_rr_get_interval(p, pid, tp):
    return _rr_interval(p, pid, tp, p.abi.timespec)


@syscall("sched_rr_get_interval_time64", "int", "ptr")
def sys_sched_rr_get_interval64(p, pid, tp):
    return _rr_interval(p, pid, tp, p.abi.timespec64)


def _rr_interval(p, pid, tp, ts):
    pid = s32(pid)
    if pid < 0:
        raise einval()
    ns = round(os.sched_rr_get_interval(pid) * 1e9)     # a guest pid is a host pid
    p.mem.write(tp, ts.pack(ns // 1_000_000_000, ns % 1_000_000_000))
    return 0


# which/who of the priority calls -> the jail's way of naming processes
PRIO_KINDS = {0: "process", 1: "group", 2: "all"}          # PRIO_PROCESS, PRIO_PGRP, PRIO_USER
IOPRIO_KINDS = {1: "process", 2: "group", 3: "all"}        # IOPRIO_WHO_PROCESS, _PGRP, _USER


def _in_jail(p, kinds, which, who, call, name):
    """Apply ``call(which, who)`` as the host does, but in a jail only to the jail's own
    processes: a group or a user is narrowed to its members in the jail, one by one
    (root could otherwise renice every host process).  Returns the calls' results."""
    which, who = s32(which), s32(who)
    if p.jail is None or not p.jail.config.jailed or which not in kinds:
        return [call(which, who)]
    by_pid = next(w for w, kind in kinds.items() if kind == "process")
    return [call(by_pid, pid) for pid in p.jail.targets(kinds[which], who, p.pid, name)]


@syscall("getpriority", "int", "int")
def sys_getpriority(p, which, who):
    found = _in_jail(p, PRIO_KINDS, which, who, os.getpriority, "getpriority")
    return 20 - min(found) if found else 20


@syscall("setpriority", "int", "int", "int")
def sys_setpriority(p, which, who, prio):
    _in_jail(p, PRIO_KINDS, which, who, lambda w, x: os.setpriority(w, x, s32(prio)), "setpriority")
    return 0


@syscall("ioprio_get", "int", "int")
def sys_ioprio_get(p, which, who):
    """The host's: a guest process is a host process (and its threads host threads)."""
    found = _in_jail(p, IOPRIO_KINDS, which, who, lambda w, x: hostcall.syscall(SYS_ioprio_get_host, w, x),
                     "ioprio_get")
    return min(found) if found else 0


@syscall("ioprio_set", "int", "int", "hex")
def sys_ioprio_set(p, which, who, ioprio):
    _in_jail(p, IOPRIO_KINDS, which, who,
             lambda w, x: hostcall.syscall(SYS_ioprio_set_host, w, x, s32(ioprio)), "ioprio_set")
    return 0


SYS_ioprio_set_host, SYS_ioprio_get_host = 251, 252
