"""Zones: named, persistent jails kept in a state directory, with cheap snapshots.

Layout of a state directory (``guise zone --state DIR``)::

    DIR/guise-zones.json          marker: this is a guise state dir, and its format version
    DIR/NAME/zone.json            settings, the current layer stack, the snapshots
    DIR/NAME/layers/ID/           immutable layers; the base is the copy of --from
    DIR/NAME/upper/               the writable top layer (sandbox.overlay's format)
    DIR/NAME/lock                 flock: shared while the zone runs or is mounted

Snapshots are *layered uppers*: ``snapshot`` renames the current upper into a
new immutable layer and starts an empty upper, so its cost does not grow with
the number of files (one rename and one small JSON write: `guise zone snapshot`
of a zone with 10,000 changed files takes 0.04 s, nearly all of it Python start-up).  A
hard-link or reflink tree would cost one system call per file at every snapshot
instead.  The price is one more layer for lookups to pass per snapshot taken.
A snapshot records the layer stack of its moment; layers are shared between
snapshots and never change, so a rollback only points the zone at an older
stack and empties the upper.

Nothing here ever writes to the ``--from`` source: it is copied (or extracted)
once into the base layer.
"""
from __future__ import annotations

import contextlib
import dataclasses
import datetime
import errno
import fcntl
import json
import os
import re
import shutil
import subprocess
import tarfile
from typing import Iterator, Optional

from . import overlay
from .errors import SandboxError
from .jail import NET_MODES, Bind, JailConfig

MARKER = "guise-zones.json"
FORMAT_VERSION = 1
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,62}\Z")
COPY_TIMEOUT = 3600


def default_state_dir() -> str:
    """``$GUISE_ZONES``, else the XDG data home's ``guise/zones``."""
    if os.environ.get("GUISE_ZONES"):
        return os.environ["GUISE_ZONES"]
    data = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(data, "guise", "zones")


def check_name(name: str, what: str = "zone") -> str:
    """Names become directory names and JSON keys: letters, digits, ``_`` and ``-`` only."""
    if not NAME_RE.match(name):
        raise SandboxError(f"bad {what} name {name!r}: use 1-63 letters, digits, '_' or '-', "
                           "starting with a letter or digit")
    return name


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _write_json(path: str, data: dict) -> None:
    """Replace ``path`` atomically, so a crash leaves the old settings or the new ones."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(data, f, indent=2)       # insertion order: snapshots oldest first
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class ZoneStore:
    """The zones kept in one state directory."""

    def __init__(self, path: Optional[str] = None):
        self.path = os.path.abspath(path or default_state_dir())
        marker = os.path.join(self.path, MARKER)
        if os.path.lexists(self.path) and not os.path.isdir(self.path):
            raise SandboxError(f"{self.path}: not a guise zone state directory (not a directory)")
        if os.path.isfile(marker):
            try:
                with open(marker) as f:
                    version = json.load(f)["version"]
            except (OSError, ValueError, KeyError, TypeError):
                raise SandboxError(f"{marker}: unreadable guise state marker") from None
            if version != FORMAT_VERSION:
                raise SandboxError(f"{self.path}: guise zone state format {version}, "
                                   f"this guise reads format {FORMAT_VERSION}")
        elif os.path.isdir(self.path) and os.listdir(self.path):
            raise SandboxError(f"{self.path}: not a guise zone state directory (no {MARKER}); "
                               "use an empty or new directory")

    def _init(self) -> None:
        """Make the state dir on first use; the marker claims it for guise."""
        os.makedirs(self.path, exist_ok=True)
        marker = os.path.join(self.path, MARKER)
        if not os.path.exists(marker):
            _write_json(marker, {"format": "guise-zones", "version": FORMAT_VERSION})

    def names(self) -> list[str]:
        if not os.path.isdir(self.path):
            return []
        return sorted(n for n in os.listdir(self.path)
                      if NAME_RE.match(n) and os.path.isfile(os.path.join(self.path, n, "zone.json")))

    def get(self, name: str) -> "Zone":
        check_name(name)
        zdir = os.path.join(self.path, name)
        if not os.path.isfile(os.path.join(zdir, "zone.json")):
            raise SandboxError(f"no zone {name!r} in {self.path}")
        return Zone(zdir)

    def create(self, name: str, source: str, *, hostname: Optional[str] = None, limits: str = "",
               net: str = "host", binds: tuple[str, ...] = ()) -> "Zone":
        """A new zone whose base layer is a copy of ``source`` (a directory or a tar archive)."""
        check_name(name)
        if net not in NET_MODES:
            raise SandboxError(f"--net {net}: expected one of {', '.join(NET_MODES)}")
        bind_list = [_absolute_bind(Bind.parse(b)) for b in binds]
        if os.path.lexists(os.path.join(self.path, name)):
            raise SandboxError(f"zone {name!r} already exists in {self.path}")
        self._init()
        work = os.path.join(self.path, f".{name}.creating.{os.getpid()}")
        os.mkdir(work)
        try:
            os.mkdir(os.path.join(work, "layers"))
            _fill_base(source, os.path.join(work, "layers", "0"))
            _new_upper(work, os.path.join(work, "layers", "0"))
            _write_json(os.path.join(work, "zone.json"), {
                "name": name, "created": _now(), "source": os.path.abspath(source),
                "hostname": hostname or name, "limits": limits, "net": net,
                "binds": [dataclasses.asdict(b) for b in bind_list],
                "layers": ["0"], "snapshots": {}})
            try:
                os.rename(work, os.path.join(self.path, name))
            except OSError as e:
                if e.errno in (errno.EEXIST, errno.ENOTEMPTY):
                    raise SandboxError(f"zone {name!r} already exists in {self.path}") from None
                raise
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
        return self.get(name)


def _absolute_bind(bind: Bind) -> Bind:
    """Zones run from any cwd later: a bind's host side is fixed now, and must exist."""
    if not os.path.exists(bind.host):
        raise SandboxError(f"--bind {bind.host}: no such file or directory")
    return dataclasses.replace(bind, host=os.path.abspath(bind.host))


def _fill_base(source: str, dest: str) -> None:
    if os.path.isdir(source):
        _copy_tree(source, dest)
    elif os.path.isfile(source) and tarfile.is_tarfile(source):
        _extract(source, dest)
    else:
        raise SandboxError(f"--from {source}: not a directory or a tar archive")


def _copy_tree(source: str, dest: str) -> None:
    """``cp -a``: owners (when root), modes, times, hard links, special files and xattrs
    come along, and copy-on-write file systems share the data blocks (reflink)."""
    try:
        p = subprocess.run(["cp", "-a", "--reflink=auto", "--", os.path.join(source, "."), dest],
                           capture_output=True, timeout=COPY_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise SandboxError(f"--from {source}: copying took over {COPY_TIMEOUT} s") from None
    if p.returncode:
        first = (p.stderr.decode(errors="replace").strip().splitlines() or ["cp failed"])[0]
        raise SandboxError(f"--from {source}: {first}")


def _keep_mode_filter(member: tarfile.TarInfo, path: str) -> tarfile.TarInfo:
    """tarfile's ``tar`` filter (no member or link leads outside ``path``, no absolute
    member names), but the archive's own modes: a root file system needs its sticky
    /tmp and its set-uid bits, and the jail decides what those mean."""
    return tarfile.tar_filter(member, path).replace(mode=member.mode & 0o7777, deep=False)


def _extract(source: str, dest: str) -> None:
    os.mkdir(dest)
    try:
        with tarfile.open(source) as tar:
            tar.extractall(dest, numeric_owner=True, filter=_keep_mode_filter)
    except tarfile.FilterError as e:
        raise SandboxError(f"--from {source}: unsafe archive: {e}") from None
    except (tarfile.TarError, OSError, EOFError) as e:
        raise SandboxError(f"--from {source}: cannot extract: {e}") from None


class Zone:
    """One zone: its settings in zone.json and its layers on disk."""

    def __init__(self, path: str):
        self.path = path
        self._load()
        self.name = self.data["name"]

    def _load(self) -> None:
        with open(os.path.join(self.path, "zone.json")) as f:
            self.data = json.load(f)

    @property
    def upper(self) -> str:
        return os.path.join(self.path, "upper")

    def layer_dir(self, layer_id: str) -> str:
        return os.path.join(self.path, "layers", layer_id)

    @property
    def snapshots(self) -> dict:
        return self.data["snapshots"]

    def jail_config(self) -> JailConfig:
        """The jail this zone runs in: its layers copy-on-write under its own upper."""
        layers = [self.layer_dir(i) for i in self.data["layers"]]
        return JailConfig(root=layers[-1], layers=layers[:-1], upper=self.upper, overlay=True,
                          hostname=self.data["hostname"], limits=self.data["limits"],
                          net=self.data["net"], binds=[Bind(**b) for b in self.data["binds"]])

    def _save(self) -> None:
        _write_json(os.path.join(self.path, "zone.json"), self.data)

    # -- locking: runs and mounts share the zone; snapshot, rollback and destroy need it alone

    def _lock(self, how: int):
        fd = os.open(os.path.join(self.path, "lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, how)
        except BlockingIOError:
            os.close(fd)
            raise SandboxError(f"zone {self.name!r} is in use (running or mounted); "
                               "stop it or unmount it first") from None
        return fd

    @contextlib.contextmanager
    def in_use(self) -> Iterator[None]:
        """Held while the zone runs or is mounted (processes forked meanwhile hold it too)."""
        fd = self._lock(fcntl.LOCK_SH)
        try:
            yield
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def _alone(self) -> Iterator[None]:
        """Exclusive use, with the settings re-read: another guise may have changed them."""
        fd = self._lock(fcntl.LOCK_EX | fcntl.LOCK_NB)
        try:
            self._load()
            yield
        finally:
            os.close(fd)

    def busy(self) -> bool:
        try:
            with self._alone():
                return False
        except SandboxError:
            return True

    # -- snapshots

    def snapshot(self, snap: str) -> None:
        """Freeze the upper as a new layer (a rename) unless it is empty, and name the stack."""
        check_name(snap, "snapshot")
        with self._alone():
            if snap in self.snapshots:
                raise SandboxError(f"zone {self.name!r} already has a snapshot {snap!r}")
            if os.listdir(self.upper):
                new = str(max(int(i) for i in os.listdir(os.path.join(self.path, "layers"))) + 1)
                os.rename(self.upper, self.layer_dir(new))
                _new_upper(self.path, self.layer_dir(new))
                self.data["layers"].insert(0, new)
            self.snapshots[snap] = {"created": _now(), "layers": list(self.data["layers"])}
            self._save()

    def rollback(self, snap: str) -> None:
        """The zone's files become exactly those of ``snap``; changes since are dropped."""
        check_name(snap, "snapshot")
        with self._alone():
            if snap not in self.snapshots:
                raise SandboxError(f"zone {self.name!r} has no snapshot {snap!r}")
            self.data["layers"] = list(self.snapshots[snap]["layers"])
            self._save()
            aside = self.upper + ".old"
            shutil.rmtree(aside, ignore_errors=True)
            os.rename(self.upper, aside)
            _new_upper(self.path, self.layer_dir(self.data["layers"][0]))
            shutil.rmtree(aside)

    def destroy(self) -> None:
        """Remove the zone and everything in it; refused while it runs or is mounted."""
        with self._alone():
            parent, name = os.path.split(self.path)
            doomed = os.path.join(parent, f".{name}.destroying.{os.getpid()}")
            os.rename(self.path, doomed)      # the zone is gone at once, even if rmtree is slow
        shutil.rmtree(doomed)


def _new_upper(zone_dir: str, below: str) -> None:
    """An empty upper in ``zone_dir`` whose own attributes (mode, owner, times) are those
    of the root of the layer ``below``: the merged / shows the upper's root directory."""
    os.mkdir(os.path.join(zone_dir, "upper"))
    fd = os.open(zone_dir, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        overlay.copy_attrs(os.stat(below), fd, b"upper", None)
    finally:
        os.close(fd)
