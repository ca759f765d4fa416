"""What a jail is made of: the user's choices (``JailConfig``) and the live ``Jail``.

``JailConfig`` is plain data, filled from ``guise run`` options, from a zone's
saved settings, or by a Python caller.  ``build_jail`` turns it into a ``Jail``:
the file-system view the guest sees, the policy, the limits shared by all the
jail's processes, and the audit sink.  Personalities hold the ``Jail`` and ask it
every question about what the guest may do; they never read the config.
"""
from __future__ import annotations

import dataclasses
import os
import stat

from .errors import SandboxError

NET_MODES = ("host", "loopback", "none")


@dataclasses.dataclass
class Bind:
    """A host directory (or file) shown at a guest path."""
    host: str
    guest: str
    ro: bool = False

    @classmethod
    def parse(cls, spec: str) -> "Bind":
        """``HOST:GUEST[:ro]`` as given to ``--bind``."""
        parts = spec.split(":")
        ro = False
        if len(parts) == 3 and parts[2] in ("ro", "rw"):
            ro = parts.pop() == "ro"
        if len(parts) != 2 or not parts[0] or not parts[1].startswith("/"):
            raise SandboxError(f"--bind {spec}: expected HOST:GUEST[:ro] with an absolute GUEST path")
        return cls(parts[0], parts[1], ro)


@dataclasses.dataclass
class JailConfig:
    """Everything ``guise run --root … --limit …`` can say.  ``root=None`` is no jail."""
    root: str | None = None          # host directory shown as /
    root_ro: bool = False               # `--root DIR:ro`
    root_rw: bool = False               # `--root DIR:rw`: writable even under --untrusted
    overlay: bool = False               # copy-on-write over the root
    layers: list[str] = dataclasses.field(default_factory=list)   # read-only layers over the
                                        # root, topmost first (a zone's snapshots)
    upper: str | None = None         # where overlay writes go (a zone's state); None: a temp dir
    binds: list[Bind] = dataclasses.field(default_factory=list)
    tmpfs: list[str] = dataclasses.field(default_factory=list)
    cwd: str | None = None           # guest cwd; default / in a jail
    env: dict[str, str] = dataclasses.field(default_factory=dict)
    hostname: str | None = None
    net: str = "host"
    untrusted: bool = False
    limits: str = ""                    # `cpu=10s,mem=256M,…` (parsed by sandbox.limits)
    audit: str | None = None         # JSON Lines file
    audit_summary: bool = False         # keep an audit (in a temp file if no `audit`) to summarize
    devices: bool = True                # /dev/null, zero, full, random, urandom, tty in the jail
    proc: bool = True                   # the host's /proc at /proc (its magic links map inside)

    def set_root(self, spec: str) -> None:
        """``DIR``, ``DIR:ro`` or ``DIR:rw`` as given to ``--root``."""
        base, _, mode = spec.rpartition(":")
        if mode in ("ro", "rw") and base:
            spec = base
        else:
            mode = ""
        self.root, self.root_ro, self.root_rw = spec, mode == "ro", mode == "rw"

    def apply_untrusted(self, net_given: bool) -> None:
        """The ``--untrusted`` profile: the host root read-only (with a private /tmp)
        unless a root was given, an overlay unless the root was given ``:rw``, no
        network unless ``--net`` said so."""
        self.untrusted = True
        if self.root is None:
            self.root, self.root_ro = "/", True
            if not any(t.rstrip("/") == "/tmp" for t in self.tmpfs) and \
                    not any(b.guest.rstrip("/") == "/tmp" for b in self.binds):
                self.tmpfs.append("/tmp")     # the host's /tmp holds other jails' layers
        if not self.root_rw:
            self.overlay = True
        if not net_given:
            self.net = "none"
        from .limits import UNTRUSTED_DEFAULTS, merge
        self.limits = merge(UNTRUSTED_DEFAULTS, self.limits)

    def stay_in(self, host_cwd: str) -> None:
        """Start in the user's own directory (the host root is the jail's root).  Where a
        ``--tmpfs`` hides it (``--untrusted`` makes /tmp private, and the user may stand
        in /tmp/x), it stays visible, read-only, so ``./prog`` still runs from there."""
        self.cwd = host_cwd
        inside = lambda path, top: path == top or path.startswith(top.rstrip("/") + "/")   # noqa: E731
        hidden = any(inside(host_cwd, t) for t in self.tmpfs)
        if hidden and not any(inside(host_cwd, b.guest) for b in self.binds):
            self.binds.append(Bind(host_cwd, host_cwd, ro=True))

    def validate(self) -> None:
        if self.net not in NET_MODES:
            raise SandboxError(f"--net {self.net}: expected one of {', '.join(NET_MODES)}")
        if self.root is not None and not os.path.isdir(self.root):
            raise SandboxError(f"--root {self.root}: not a directory")
        for b in self.binds:
            if not os.path.exists(b.host):
                raise SandboxError(f"--bind {b.host}: no such file or directory")
        for t in self.tmpfs:
            if not t.startswith("/"):
                raise SandboxError(f"--tmpfs {t}: expected an absolute guest path")
        if self.cwd is not None and not self.cwd.startswith("/"):
            raise SandboxError(f"--cwd {self.cwd}: expected an absolute guest path")
        from .limits import parse
        parse(self.limits)

    @property
    def jailed(self) -> bool:
        return self.root is not None


class Jail:
    """A live jail, shared by all the guest processes of one run (fork copies it).

    ``fs`` is the guest's file-system view.  ``policy``, ``limits`` and ``audit``
    answer what the guest may do, count what it uses across the whole jail, and
    record what it tried; each is None when the run does not ask for it, so the
    unjailed hot path pays one attribute test.
    """

    def __init__(self, config: JailConfig, fs, *, policy=None, limits=None, audit=None):
        self.config = config
        self.fs = fs
        self.policy = policy
        self.limits = limits
        self.audit = audit
        self.supervisor: int | None = None   # the process that watches the jail, if any

    @property
    def supervised(self) -> bool:
        """Whether the jail needs a supervisor process (sandbox/supervisor.py): for its
        limits, for --untrusted (default limits, nothing left running), and for a
        complete audit.  A plain jail runs in guise's own process, as chroot(8) would:
        cheaper to start, but what it leaves in the background keeps running."""
        return self.limits is not None or self.config.untrusted or self.audit is not None

    @property
    def hostname(self) -> str | None:
        return self.config.hostname

    def signal_targets(self, pid: int, caller: int) -> list[int]:
        """The processes kill(``pid``) reaches from the jail's process ``caller``: those
        of the jail only, never its supervisor, as in a PID namespace.  ESRCH if none."""
        if pid > 0:
            return self.targets("process", pid, caller, "kill")
        if pid == -1:
            found = [q for q in self.targets("all", 0, caller, "kill") if q != caller]
            return found or self._outside("kill", "all", pid)
        return self.targets("group", -pid, caller, "kill")

    def targets(self, kind: str, ident: int, caller: int, call: str) -> list[int]:
        """The jail's processes that ``call`` naming ``kind`` ``ident`` reaches (kind:
        "process", "group" or "all"; ident 0 is the caller's own process or group),
        never the supervisor, which a guest cannot act on.  ESRCH (audited) when none."""
        if kind == "process":
            pid = ident or caller
            found = [pid] if self.fs.has_pid(pid) else []
        else:
            members = self.fs.pids()
            if kind == "all":
                found = list(members)
            else:
                group = ident or os.getpgid(caller)
                found = [q for q, g in members.items() if g == group]
        if self.supervisor in found:
            found.remove(self.supervisor)
            if not found:
                return []                # as a PID namespace's init: the call does nothing
        return found or self._outside(call, kind, ident)

    def _outside(self, call: str, kind: str, ident: int):
        """A call that named processes outside the jail: ESRCH, and a line in the audit."""
        if self.audit is not None:
            self.audit.event(call, "deny", err=3, detail=f"{kind} {ident} is not in the jail")
        raise OSError(3, "No such process")

    def close(self) -> None:
        """Release what the jail holds on the host (temp upper layer, audit file).  A
        supervised jail has no process left by now; a plain one may still have some
        in the background, and its temporary layers go when they end."""
        for part in (self.audit, self.limits):
            if part is not None:
                part.close()
        if self.config.jailed:
            self.fs.close(final=self.supervised)


def build_jail(config: JailConfig) -> Jail:
    """The ``Jail`` for ``config``; SandboxError (one line) if it cannot be set up."""
    config.validate()
    if not config.jailed:
        from .hostfs import HostView
        return Jail(config, HostView())
    from .jailfs import JailView
    from .limits import Limits, describe, parse
    from .policy import Policy
    values = parse(config.limits)
    audit = None
    if config.audit or config.audit_summary:
        from .audit import Audit
        audit = Audit(config.audit)
    limits = None
    if values:
        limits = Limits(values)
        limits.output_files = _output_files()
        if audit is not None:
            limits.on_hit = lambda name: audit.event(
                "limit", "limit", detail=f"{name}={describe(name, values[name])}")
    try:
        fs = JailView(config)
    except BaseException:
        for part in (audit, limits):
            if part is not None:
                part.close()
        raise
    return Jail(config, fs, policy=Policy(config.net, config.untrusted), limits=limits, audit=audit)


def _output_files() -> set:
    """(device, inode) of this process's stdout and stderr: writes to them, under
    whatever descriptor, count against the output limit (not /dev/null)."""
    found = set()
    for fd in (1, 2):
        try:
            st = os.fstat(fd)
        except OSError:
            continue
        if not (stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3)):
            found.add((st.st_dev, st.st_ino))
    return found
