"""The jail's policy, limits and audit applied to the Linux syscall table.

The sandbox decides (sandbox/policy.py, limits.py, audit.py); this module knows
which Linux calls ask each question and wraps just those entries of a
process's dispatch table.  An unjailed process, or a jail that asks for none of
it, keeps the plain table: nothing here is on its hot path.

- Calls that perform an operation the policy refuses are replaced by a refusal
  (EPERM), recorded in the audit log.
- Writes to the jail's private layers (disk) and to stdout/stderr (output) are
  counted against the jail's limits; the count is clamped to what is left.
- With an audit log, every open and exec, and every path call the jail denies,
  is recorded with its guest path and result.
"""
from __future__ import annotations

import errno as E
import os
import stat

from personalities.guestmem import GuestFault
from .abi import s32
from .syscalls.util import PATH_MAX, path

# Linux calls -> the policy's operation names (sandbox/policy.py UNTRUSTED_REFUSED)
OPERATIONS = {
    "debug": ("ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd"),
    "mount": ("mount", "umount", "umount2", "pivot_root", "move_mount", "fsopen", "fsconfig",
              "fsmount", "fspick", "open_tree", "mount_setattr"),
    "namespace": ("unshare", "setns"),
    "bpf": ("bpf",),
    "kexec": ("kexec_load", "kexec_file_load"),
    "module": ("init_module", "finit_module", "delete_module", "create_module"),
    "reboot": ("reboot",),
    "handle": ("open_by_handle_at", "name_to_handle_at"),
    "perf": ("perf_event_open", "fanotify_init", "lookup_dcookie"),
    "keyring": ("add_key", "request_key", "keyctl"),
    "ioport": ("iopl", "ioperm"),
    "clock": ("settimeofday", "stime", "clock_settime", "clock_settime64", "adjtimex", "clock_adjtime",
              "clock_adjtime64"),
    "swap": ("swapon", "swapoff"),
    "system": ("acct", "quotactl", "quotactl_fd", "syslog", "_sysctl", "setdomainname", "vhangup",
               "nfsservctl"),
}

# the calls whose every use is audited (others only when the jail denies them)
ALWAYS_AUDITED = frozenset({"open", "openat", "openat2", "creat", "execve", "execveat"})
DENIALS = frozenset({E.EACCES, E.EPERM, E.EROFS, E.EXDEV})

# calls that write bytes somewhere: name -> (index of the fd written to, index of the count or None)
WRITES = {
    "write": (0, 2), "pwrite64": (0, 2), "writev": (0, None), "pwritev": (0, None), "pwritev2": (0, None),
    "sendfile": (0, 3), "sendfile64": (0, 3), "copy_file_range": (2, 4), "splice": (2, 4),
}
# calls that set a file's size: name -> index of the fd argument (None: a path)
SIZING = {"ftruncate": 0, "ftruncate64": 0, "fallocate": 0, "truncate": None, "truncate64": None}
# device nodes: refused in every jail, as a container without CAP_MKNOD would
MKNOD = {"mknod": 1, "mknodat": 2}          # index of the mode argument
SETID_BITS = 0o6000                          # S_ISUID | S_ISGID


# (jail, abi) -> the wrapped table: every image a jailed process execs reuses it
_CONFINED: dict = {}


def confine(entries: list, decls: list, abi, jail) -> list:
    """``entries`` (fn, nargs) with the jail's wrappers in place; the same list
    object when the jail asks for nothing.  Wrapped once per ABI and kept: each
    execve in a jail would otherwise pay for it again (a tenth of the jail's
    fork+exec cost)."""
    key = (jail, abi.name)
    if key not in _CONFINED:
        _CONFINED[key] = _wrap(entries, decls, abi, jail)
    return _CONFINED[key]


def _wrap(entries: list, decls: list, abi, jail) -> list:
    policy, limits, audit = jail.policy, jail.limits, jail.audit
    counted = limits is not None and any(limits.limit(k) is not None for k in ("disk", "output"))
    if policy is None and not counted and audit is None:
        return entries
    out = list(entries)
    for name, nr in abi.numbers.items():
        d, entry = decls[nr], entries[nr]
        op = _operation(name)
        if op is not None and policy is not None and policy.refuses(op):
            out[nr] = (_refusal(name, op, audit), 0)
            continue
        if entry is None:
            continue
        fn, n = entry
        if counted and name in WRITES:
            fn = _counting(fn, *WRITES[name], limits)
        if counted and name in SIZING and limits.limit("disk") is not None:
            fn = _sizing(fn, SIZING[name], limits)
        if audit is not None and d is not None and "path" in d.args:
            fn = _audited(fn, name, d.args.index("path"), name in ALWAYS_AUDITED, audit)
        if d is not None and "mode" in d.args and name != "umask" and policy is not None \
                and policy.refuses("setid"):
            fn = _no_setid(fn, name, d.args.index("mode"), audit)
        if name in MKNOD and policy is not None and policy.refuses("device"):
            fn = _no_devices(fn, name, MKNOD[name], audit)     # outermost: audited once, as a refusal
        out[nr] = (fn, n)
    return out


def _operation(name: str):
    for op, names in OPERATIONS.items():
        if name in names:
            return op
    return None


def _refusal(name: str, op: str, audit):
    def refuse(p):
        if audit is not None:
            audit.event(name, "deny", err=E.EPERM, detail=op)
        raise OSError(E.EPERM, "Operation not permitted")
    refuse.__doc__ = f"{name}: refused by the jail's policy ({op})"
    return refuse


def _no_devices(fn, name, mode_index, audit):
    def mknod(p, *args):
        if stat.S_ISCHR(args[mode_index]) or stat.S_ISBLK(args[mode_index]):
            if audit is not None:
                audit.event(name, "deny", _guest_path(p, args[mode_index - 1]), E.EPERM, "device")
            raise OSError(E.EPERM, "Operation not permitted")
        return fn(p, *args)
    return mknod


def _no_setid(fn, name, mode_index, audit):
    """Drop the set-user-ID and set-group-ID bits from a mode (the jail is nosuid)."""
    def no_setid(p, *args):
        if args[mode_index] & SETID_BITS:
            if audit is not None:
                audit.event(name, "deny", err=E.EPERM, detail=f"set-id bits of mode {args[mode_index] & 0o7777:o} dropped")
            args = args[:mode_index] + (args[mode_index] & ~SETID_BITS,) + args[mode_index + 1:]
        return fn(p, *args)
    return no_setid


def _guest_path(p, addr):
    try:
        return p.mem.cstr(addr, PATH_MAX)
    except GuestFault:
        return None


def _audited(fn, name, path_index, always, audit):
    def audited(p, *args):
        try:
            ret = fn(p, *args)
        except OSError as e:
            if always or e.errno in DENIALS:
                audit.event(name, "deny" if e.errno in DENIALS else "allow",
                            _guest_path(p, args[path_index]), e.errno)
            raise
        if always:
            audit.event(name, "allow", _guest_path(p, args[path_index]))
        return ret
    return audited


def _counting(fn, fd_index, count_index, limits):
    """Count bytes written to the jail's private layers and to its stdout/stderr,
    refusing (disk: ENOSPC) or ending the jail (output) at the limit."""
    def counted(p, *args):
        h = p.fds.get(s32(args[fd_index]))
        kind = _meter_of(p, h, limits)
        if kind is None:
            return fn(p, *args)
        left = limits.allowance(kind)
        if left == 0:                         # the output limit: the jail is over
            return _end(p, kind)
        if count_index is not None and args[count_index] > left:
            args = args[:count_index] + (left,) + args[count_index + 1:]
        ret = fn(p, *args)
        if ret:
            limits.wrote(kind, ret)
            if kind == "output" and limits.ended_by() == "output":
                _end(p, kind)
        return ret
    return counted


_UNKNOWN = object()


def _sizing(fn, fd_index, limits):
    """A file of the jail's private layers grown by ftruncate, truncate or fallocate
    counts its growth (in size or in allocated blocks, whichever is more) against
    disk: else a guest could make a large file that way and fill it through a shared
    mmap, whose stores no write() counts.  Past the limit the file is put back to
    its old size and the call fails with ENOSPC."""
    def sized(p, *args):
        if fd_index is None:                  # a path: its copy in the writable layer
            h = p.fs.open(path(p, args[0]), os.O_WRONLY | os.O_CLOEXEC)
            kind = _meter(p, h, limits)
        else:
            h = p.fds.get(s32(args[fd_index]))
            kind = _meter_of(p, h, limits)
        try:
            if kind != "disk":
                return fn(p, *args)
            before = os.fstat(h)
            ret = fn(p, *args)
            grown = _footprint(os.fstat(h)) - _footprint(before)
            if grown > 0:
                left = limits.allowance("disk")
                if grown > left:
                    os.ftruncate(h, before.st_size)
                    limits.wrote("disk", left)
                    limits.allowance("disk")      # at the limit: refuses (ENOSPC) and marks the jail
                limits.wrote("disk", grown)
            return ret
        finally:
            if fd_index is None:
                os.close(h)
    return sized


def _footprint(st: os.stat_result) -> int:
    return max(st.st_size, st.st_blocks * 512)


def _meter_of(p, h, limits):
    """``_meter`` of a guest descriptor's host fd, remembered until it is closed."""
    kind = p.fds.meter.get(h, _UNKNOWN)
    if kind is _UNKNOWN:
        kind = p.fds.meter[h] = _meter(p, h, limits)
    return kind


def _meter(p, h, limits):
    """Which limit writes to host fd ``h`` count against: output, disk or none."""
    if limits.limit("output") is not None:
        try:
            st = os.fstat(h)
            if (st.st_dev, st.st_ino) in limits.output_files:
                return "output"
        except OSError:
            pass
    if limits.limit("disk") is not None and p.fs.is_private_fd(h):
        return "disk"
    return None


def _end(p, kind):
    """This process stops at once; the supervisor ends the rest of the jail."""
    from sandbox.limits import KINDS
    p.exit(KINDS[kind].status)
    return None
