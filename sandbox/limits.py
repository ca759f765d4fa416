"""Jail-wide resource limits: what ``--limit cpu=10s,mem=256M,…`` means and the
counters that enforce it across all of a jail's processes together.

A guest process is a host process, so the jail's usage is spread over many host
processes (and their threads).  The counters live in one MAP_SHARED page set
that every process of the jail inherits at fork: a header with the jail-wide
totals, and a slot per process holding what that process alone uses (its
threads, open descriptors, mapped bytes).  Keeping the per-process part lets a
process that dies without saying so (SIGKILL, a crash) be written off later:
when a limit would be exceeded, slots of processes that no longer exist are
purged and the totals recomputed before the answer is final.

Updates take a lock: a POSIX record lock on the shared file (released by the
kernel when a holder dies, so a killed process cannot wedge the jail) plus a
thread lock (record locks are per process, so threads of one process would
otherwise share it).

Two kinds of limit:
- refusing ones answer the system call the way Linux does at its own limit
  (mem → ENOMEM, files → EMFILE, procs → EAGAIN, disk → ENOSPC).  Hitting mem,
  procs or disk also marks the jail: the supervisor ends it ``GRACE`` seconds
  later unless it has ended by itself, and the run's status names the limit
  either way (bombs retry forever; a verdict should not depend on how a program
  copes).  files only refuses: programs routinely recover from EMFILE.
- ending ones have no call to refuse: cpu and time are watched by the
  supervisor, output (bytes to stdout/stderr) is counted as written and ends
  the jail at once.
"""
from __future__ import annotations

import collections
import errno
import fcntl
import mmap
import os
import re
import signal
import struct
import threading
import time

from .errors import SandboxError

GRACE = 1.0          # seconds a jail may run on after hitting mem, procs or disk


# unit: "seconds", "bytes" or "count"; status: the run's exit status when this limit
# ends the jail; errno: what a refused call gets (None: nothing is refused);
# ends: whether hitting it ends the jail
LimitKind = collections.namedtuple("LimitKind", "name unit status errno ends what")


KINDS = {k.name: k for k in (
    LimitKind("cpu", "seconds", 117, None, True, "guest CPU time of all the jail's processes"),
    LimitKind("mem", "bytes", 118, errno.ENOMEM, True, "bytes of guest memory mapped (mmap/brk get ENOMEM)"),
    LimitKind("files", "count", None, errno.EMFILE, False, "open descriptors (open/dup/socket get EMFILE)"),
    LimitKind("procs", "count", 119, errno.EAGAIN, True, "live processes and threads (fork/clone get EAGAIN)"),
    LimitKind("disk", "bytes", 120, errno.ENOSPC, True, "bytes written into the jail's private layers (ENOSPC)"),
    LimitKind("output", "bytes", 121, None, True, "bytes written to stdout and stderr"),
    LimitKind("time", "seconds", 124, None, True, "wall-clock time, like timeout(1)"),
)}

# What `--untrusted` sets unless `--limit` says otherwise (README and --help show them).
UNTRUSTED_DEFAULTS = "cpu=60s,mem=1G,files=256,procs=64,disk=256M,output=64M,time=600s"

_SUFFIX = {"bytes": {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40},
           "seconds": {"": 1, "s": 1, "ms": 0.001, "m": 60, "min": 60, "h": 3600},
           "count": {"": 1}}


def parse(spec: str) -> dict[str, float]:
    """``cpu=10s,mem=256M,…`` → {name: value in seconds/bytes/count}; SandboxError if malformed."""
    out: dict[str, float] = {}
    for item in filter(None, (s.strip() for s in spec.split(","))):
        name, eq, value = item.partition("=")
        kind = KINDS.get(name.strip())
        if kind is None or not eq:
            raise SandboxError(f"--limit {item}: expected NAME=VALUE with NAME one of {', '.join(KINDS)}")
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", value)
        scale = _SUFFIX[kind.unit].get(m.group(2).lower()) if m else None
        if scale is None or (kind.unit != "seconds" and "." in m.group(1) and scale == 1):
            units = "/".join(u for u in _SUFFIX[kind.unit] if u) or "a whole number"
            raise SandboxError(f"--limit {item}: expected a number{' with ' + units if kind.unit != 'count' else ''}")
        amount = float(m.group(1)) * scale
        if amount <= 0:
            raise SandboxError(f"--limit {item}: must be more than zero")
        out[kind.name] = amount if kind.unit == "seconds" else int(amount)
    return out


def merge(defaults: str, spec: str) -> str:
    """``spec`` over ``defaults``: the user's values win, the rest stay."""
    values = {i.partition("=")[0].strip(): i for i in defaults.split(",") if i}
    values.update({i.partition("=")[0].strip(): i for i in spec.split(",") if i.strip()})
    return ",".join(values.values())


def describe(name: str, value: float) -> str:
    """A limit as a user wrote it: 256M, 10s, 64."""
    unit = KINDS[name].unit
    if unit == "bytes":
        for suffix, scale in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
            if value >= scale and value % scale == 0:
                return f"{int(value // scale)}{suffix}"
        return str(int(value))
    if unit == "seconds":
        return f"{value:g}s"
    return str(int(value))


# -- the shared counters ---------------------------------------------------------------
# header: ended-by code, first refusal code, first refusal time, disk, output, procs, files, mem
_HEAD = struct.Struct("<iid qqqqq")
# slot: pid (0 free, -1 reserved for a child being forked), threads, files, mem
_SLOT = struct.Struct("<iiqq")
_CODES = list(KINDS)          # limit name <-> small number kept in shared memory
_TOTAL = {"disk": 3, "output": 4, "procs": 5, "files": 6, "mem": 7}   # header field index


class LimitExceeded(OSError):
    """A call refused at a jail limit: an OSError with the errno Linux uses there."""

    def __init__(self, kind: LimitKind):
        super().__init__(kind.errno, os.strerror(kind.errno))
        self.limit = kind.name


class Limits:
    """The jail's limits and its shared usage counters.  Built before the jail's
    first process starts; every process reaches the same counters after fork."""

    def __init__(self, values: dict[str, float], max_slots: int | None = None):
        self.values = values
        procs = int(values.get("procs", 0))
        self.max_slots = max_slots or max(64, min(procs + 8, 1 << 15)) if procs else max_slots or 4096
        size = _HEAD.size + self.max_slots * _SLOT.size
        self._fd = os.memfd_create("guise-limits", os.MFD_CLOEXEC)
        os.ftruncate(self._fd, size)
        self._mem = mmap.mmap(self._fd, size, mmap.MAP_SHARED)
        self._thread_lock = threading.Lock()
        self.slot = 0
        self._owner = os.getpid()
        _SLOT.pack_into(self._mem, self._slot_off(0), self._owner, 1, 0, 0)
        self._add_totals(procs=1)
        self.on_hit = None         # callable(limit name) for the audit, set by the jail
        self.supervisor = 0        # pid woken (SIGUSR1) when a limit ends the jail
        self.output_files: set = set()   # (dev, ino) of the files that are "output"
        os.register_at_fork(after_in_child=self._after_fork_in_child)

    def _after_fork_in_child(self) -> None:
        self._thread_lock = threading.Lock()    # another thread may have held it at the fork

    # -- locking and fields -------------------------------------------------------
    def _lock(self):
        self._thread_lock.acquire()
        fcntl.lockf(self._fd, fcntl.LOCK_EX)

    def _unlock(self):
        fcntl.lockf(self._fd, fcntl.LOCK_UN)
        self._thread_lock.release()

    @staticmethod
    def _slot_off(i: int) -> int:
        return _HEAD.size + i * _SLOT.size

    def _head(self) -> list:
        return list(_HEAD.unpack_from(self._mem, 0))

    def _add_totals(self, **delta) -> None:
        head = self._head()
        for name, d in delta.items():
            head[_TOTAL[name]] += d
        _HEAD.pack_into(self._mem, 0, *head)

    def total(self, name: str) -> int:
        return self._head()[_TOTAL[name]]

    def limit(self, name: str) -> float | None:
        return self.values.get(name)

    # -- refusals ---------------------------------------------------------------------
    def _refuse(self, name: str) -> LimitExceeded:
        """Record a refusal at ``name`` (the first one starts the grace period)."""
        head = self._head()
        if head[1] == 0 and KINDS[name].ends:
            head[1], head[2] = _CODES.index(name) + 1, time.monotonic()
            _HEAD.pack_into(self._mem, 0, *head)
        if self.on_hit is not None:
            self.on_hit(name)
        return LimitExceeded(KINDS[name])

    def end(self, name: str) -> None:
        """Mark the jail as ended by limit ``name`` and wake the supervisor, which
        ends every process of the jail."""
        head = self._head()
        if head[0] == 0:
            head[0] = _CODES.index(name) + 1
            _HEAD.pack_into(self._mem, 0, *head)
            if self.on_hit is not None:
                self.on_hit(name)
        if self.supervisor:
            try:
                os.kill(self.supervisor, signal.SIGUSR1)
            except OSError:
                pass

    def ended_by(self, now: float | None = None) -> str | None:
        """The limit that ends the jail now: an ending one reached, or a refusing one
        hit more than GRACE seconds ago."""
        head = self._head()
        if head[0]:
            return _CODES[head[0] - 1]
        if head[1] and (now if now is not None else time.monotonic()) - head[2] >= GRACE:
            return _CODES[head[1] - 1]
        return None

    def first_refusal(self) -> str | None:
        code = self._head()[1]
        return _CODES[code - 1] if code else None

    # -- per-process usage -------------------------------------------------------------
    def _change(self, field: int, name: str, value: int | None = None, delta: int = 0) -> None:
        """Set this process's ``name`` usage to ``value`` (or move it by ``delta``);
        refuse growth past the limit."""
        limit = self.values.get(name)
        self._lock()
        try:
            off = self._slot_off(self.slot)
            slot = list(_SLOT.unpack_from(self._mem, off))
            grow = (value - slot[field]) if value is not None else delta
            if grow > 0 and limit is not None and self.total(name) + grow > limit:
                self._purge()
                if self.total(name) + grow > limit:
                    raise self._refuse(name)
            slot[field] += grow
            _SLOT.pack_into(self._mem, off, *slot)
            self._add_totals(**{name: grow})
        finally:
            self._unlock()

    def set_mem(self, mapped: int) -> None:
        """This process now maps ``mapped`` bytes of guest memory (ENOMEM past the limit)."""
        self._change(3, "mem", mapped)

    def set_files(self, count: int) -> None:
        """This process now holds ``count`` open descriptors (EMFILE past the limit)."""
        self._change(2, "files", count)

    def thread_started(self) -> None:
        """A new thread in this process (EAGAIN at the procs limit)."""
        self._change(1, "procs", delta=1)

    def thread_ended(self) -> None:
        self._change(1, "procs", delta=-1)

    # -- processes ---------------------------------------------------------------------
    def reserve_child(self) -> int:
        """Before fork: a slot for the child, charged one process and a copy of this
        process's descriptors and memory.  EAGAIN at the procs limit, ENOMEM at the
        mem limit (as fork does when the kernel cannot copy the memory); inherited
        descriptors are counted but never refuse a fork (Linux's fork has no EMFILE)."""
        self._lock()
        try:
            _, _, files, mem = _SLOT.unpack_from(self._mem, self._slot_off(self.slot))
            free = self._free_slot()
            over = self._over(procs=1, mem=mem)
            if over or free is None:
                self._purge()
                free = self._free_slot()
                over = self._over(procs=1, mem=mem) or ("procs" if free is None else None)
                if over:
                    raise self._refuse(over)
            _SLOT.pack_into(self._mem, self._slot_off(free), -1, 1, files, mem)
            self._add_totals(procs=1, files=files, mem=mem)
            return free
        finally:
            self._unlock()

    def child_started(self, slot: int, pid: int, in_child: bool) -> None:
        """After fork, in both processes: the reserved slot is ``pid``'s."""
        off = self._slot_off(slot)
        self._mem[off:off + 4] = struct.pack("<i", pid)
        if in_child:
            self.slot = slot

    def child_failed(self, slot: int) -> None:
        self._lock()
        try:
            self._release(slot)
        finally:
            self._unlock()

    def process_ended(self) -> None:
        """This process is leaving the jail (exit, or the emulator's end)."""
        self._lock()
        try:
            self._release(self.slot)
        finally:
            self._unlock()

    def _over(self, **grow) -> str | None:
        for name, d in grow.items():
            limit = self.values.get(name)
            if limit is not None and d > 0 and self.total(name) + d > limit:
                return name
        return None

    def _free_slot(self) -> int | None:
        for i in range(self.max_slots):
            if _SLOT.unpack_from(self._mem, self._slot_off(i))[0] == 0:
                return i
        return None

    def _release(self, slot: int) -> None:
        off = self._slot_off(slot)
        pid, threads, files, mem = _SLOT.unpack_from(self._mem, off)
        if pid:
            _SLOT.pack_into(self._mem, off, 0, 0, 0, 0)
            self._add_totals(procs=-threads, files=-files, mem=-mem)

    def _purge(self) -> None:
        """Write off the slots of processes that died without releasing them."""
        for i in range(self.max_slots):
            pid = _SLOT.unpack_from(self._mem, self._slot_off(i))[0]
            if pid > 0 and not _alive(pid):
                self._release(i)

    # -- bytes written -------------------------------------------------------------------
    def allowance(self, name: str) -> int | None:
        """How many more bytes of ``name`` (disk, output) may be written; None: no limit."""
        limit = self.values.get(name)
        if limit is None:
            return None
        left = int(limit) - self.total(name)
        if left <= 0:
            if name == "output":
                self.end(name)
            else:
                self._lock()
                try:
                    raise self._refuse(name)
                finally:
                    self._unlock()
        return max(left, 0)

    def wrote(self, name: str, n: int) -> None:
        """``n`` bytes went to ``name``; at the output limit the jail is ended."""
        if n <= 0:
            return
        self._lock()
        try:
            self._add_totals(**{name: n})
            over = self.total(name) >= self.values.get(name, float("inf"))
        finally:
            self._unlock()
        if over and name == "output":
            self.end(name)

    def close(self) -> None:
        if os.getpid() == self._owner:
            self._mem.close()
            os.close(self._fd)


def _alive(pid: int) -> bool:
    """Whether ``pid`` is a running (not zombie) process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return False


def jail_cpu_seconds(pids) -> float:
    """CPU time of the processes ``pids`` and of the children they reaped (from
    /proc/PID/stat: utime, stime, cutime, cstime)."""
    hz = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        total += sum(int(x) for x in fields[11:15])
    return total / hz
