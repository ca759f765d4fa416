"""The jail escape corpus (issue 5): guest programs that try to leave an
``--untrusted`` jail, one attempt per run.

The programs are samples/src/escape-*.c (static musl, x86-64 and i386). Each
takes the attempt's name and the host path of a sentinel "outside" directory,
tries every variant of that attempt, and prints one line:
``BLOCKED <name> <errno,...>`` (exit 0), ``ESCAPED <name> <what>`` (exit 1) or
``FAILED <name> <what>`` (exit 2, could not even set up).  Outside files hold a
sentinel text; reading it, listing the directory next to the root, or seeing a
host path anywhere is an escape.

Each run happens in ``guise run --untrusted --root LOWER --overlay``, and the
host tree around it -- the sentinel "outside" directory next to the root and
the lower tree itself -- must be byte-identical afterwards (names, types,
modes, sizes, times, link counts, contents, link targets, xattrs).  A few write
attempts also run in the default ``--untrusted`` jail (the host root read-only
under an overlay), against a directory under /var/tmp.

For each attempt the test checks the exact errnos Linux would give a process
in a chroot: ``required`` must all appear, nothing outside ``allowed`` may.
Path attempts run under both resolvers (openat2 RESOLVE_IN_ROOT and the
component walk, GUISE_RESOLVER=walk).  The detector itself is checked by
running a few attempts natively, where they must report ESCAPED.

Races: guest threads swapping a symlink (test_symlink_swap_race: thousands of
iterations, but guest threads run under one emulator lock, so they interleave
only between system calls); a second guest process swapping a directory for a
symlink (test_process_swap_race) and the host itself doing it with
RENAME_EXCHANGE (test_host_side_swap_race), which land between the resolver's
steps; and the same for unix-socket names (test_unix_socket_swap_race).

The --untrusted guest is told it is uid 65534, and the jail root's files are
used with that identity's rights (test_host_root_private_files): root's 0600
files and 0700 directories are EACCES to it, as to nobody on Linux.
"""
from __future__ import annotations

import ctypes
import hashlib
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from conftest import ROOT, SAMPLES

PROGS = ("paths", "proc", "fds", "links", "policy", "race")
ARCHES = ("x86_64", "i386")
SENTINEL = b"GUISE-OUTSIDE-SENTINEL\n"
MARK = "GUISE_OUTSIDE_MARK"


def binary(prog, arch="x86_64") -> Path:
    return SAMPLES / f"escape-{prog}-static-musl-{arch}"


pytestmark = pytest.mark.skipif(not all(binary(p, a).exists() for p in PROGS for a in ARCHES),
                                reason="escape samples missing: make -C samples escape")


# ---------------------------------------------------------------- the host side

def tree_digest(top) -> dict:
    """Every path under ``top`` (``top`` included) with its type, mode, size, mtime,
    ctime, link count, content hash or link target, and extended attributes."""
    out = {}
    top = str(top)
    paths = [top]
    for dirpath, dirnames, filenames in os.walk(top):
        paths += [os.path.join(dirpath, n) for n in dirnames + filenames]
    for p in paths:
        st = os.lstat(p)
        if stat.S_ISREG(st.st_mode):
            with open(p, "rb") as f:
                h = hashlib.sha256(f.read()).hexdigest()
        elif stat.S_ISLNK(st.st_mode):
            h = os.readlink(p)
        else:
            h = None
        try:
            xattrs = tuple(sorted((k, os.getxattr(p, k, follow_symlinks=False))
                                  for k in os.listxattr(p, follow_symlinks=False)))
        except OSError:
            xattrs = ()
        out[os.path.relpath(p, top)] = (st.st_mode, st.st_size, st.st_mtime_ns, st.st_ctime_ns,
                                        st.st_nlink, st.st_uid, st.st_gid, h, xattrs)
    return out


def _write(p: Path, data: bytes, mode=0o644):
    p.write_bytes(data)
    os.chmod(p, mode)


def _lower_data(d: Path):
    """The lower-tree files the write attempts go after (escape-links.c).  They
    belong to the identity an --untrusted guest runs as (65534), so it may try
    everything an owner may (chmod, utimes, xattrs) and none of it may reach
    them; root's own files are test_host_root_private_files's."""
    d.mkdir(parents=True)
    _write(d / "file", b"lower-data\n")
    _write(d / "file2", b"lower-data-2\n")
    _write(d / "file3", b"lower-data-3\n")
    _write(d / "hl-src", b"hard link source\n")
    _write(d / "mm", b"m" * 4096)
    (d / "emptydir").mkdir()
    (d / "sub").mkdir()
    _write(d / "sub" / "f", b"in sub\n")
    for f in [d, *d.rglob("*")]:
        os.chown(f, 65534, 65534)


class Layout:
    """base/{MARK, outside/, lower/}: lower is the jail's root, outside sits next to it."""

    def __init__(self, base: Path):
        self.base = base
        self.outside = base / "outside"
        self.lower = base / "lower"
        _write(base / MARK, SENTINEL)
        self.outside.mkdir()
        _write(self.outside / "secret", SENTINEL)
        _write(self.outside / MARK, SENTINEL)
        (self.outside / "dir").mkdir()
        _write(self.outside / "dir" / "secret", SENTINEL)
        # an executable outside: the program itself, which prints ESCAPED if an exec
        # ever reaches it (escape-paths exec-payload)
        shutil.copy(binary("paths"), self.outside / "prog")
        os.chmod(self.outside / "prog", 0o755)
        low = self.lower
        for d in ("bin", "etc", "links"):
            (low / d).mkdir(parents=True)
        (low / "tmp").mkdir()
        os.chmod(low / "tmp", 0o1777)
        for prog in PROGS:
            for arch in ARCHES:
                shutil.copy(binary(prog, arch), low / "bin")
                os.chmod(low / "bin" / binary(prog, arch).name, 0o755)
        _write(low / "etc" / "secret", b"inside\n")
        _lower_data(low / "data")
        # links shipped in the lower tree that point out of it on the host
        (low / "links" / "abs").symlink_to(self.outside / "secret")
        (low / "links" / "rel").symlink_to("../../outside/secret")
        (low / "links" / "chain").symlink_to("abs")
        (low / "links" / "absdir").symlink_to(self.outside)
        (low / "links" / "reldir").symlink_to("../../outside")
        (low / "links" / "root").symlink_to("/")
        # host unix sockets, listening for the whole session: outside the root, and
        # inside the lower tree (as a host daemon's socket in a root file system)
        self.sockets = [HostSockets(self.outside), HostSockets(low / "run")]

    def reached(self) -> tuple[int, int]:
        """(connections, datagrams) that reached any host socket so far."""
        return tuple(map(sum, zip(*(h.reached() for h in self.sockets))))

    def close(self):
        for h in self.sockets:
            h.close()

    def digest(self):
        return tree_digest(self.base)


class HostSockets:
    """A listening stream socket ``sock`` and a datagram socket ``dsock`` in ``d``,
    counting what reaches them (connections are accepted at once, so a guest that
    does reach one never finds the backlog full and blocks)."""

    def __init__(self, d: Path):
        d.mkdir(exist_ok=True)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(d / "sock"))
        self.sock.listen(64)
        self.dsock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.dsock.bind(str(d / "dsock"))
        self.dsock.setblocking(False)
        self.accepted = self.received = 0
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            c.close()

    def reached(self) -> tuple[int, int]:
        time.sleep(0.05)                # let the drain thread take what is pending
        while True:
            try:
                self.dsock.recv(64)
            except OSError:
                return self.accepted, self.received
            self.received += 1

    def close(self):
        self.sock.close()
        self.dsock.close()


@pytest.fixture(scope="session")
def layout(tmp_path_factory):
    lay = Layout(tmp_path_factory.mktemp("escape"))
    yield lay
    lay.close()


@pytest.fixture(scope="session")
def host_layout():
    """For the default --untrusted jail (host root read-only, private /tmp): a tree
    outside /tmp, which that jail would hide, with host sockets in it."""
    base = Path(tempfile.mkdtemp(prefix="guise-escape-", dir="/var/tmp"))
    base.chmod(0o755)       # mkdtemp's 0700 would keep an --untrusted guest (nobody) out of all of it
    socks = None
    try:
        _write(base / MARK, SENTINEL)
        (base / "outside").mkdir()
        _write(base / "outside" / "secret", SENTINEL)
        _lower_data(base / "data")
        socks = HostSockets(base / "run")
        yield base, socks
    finally:
        if socks is not None:
            socks.close()
        shutil.rmtree(base, ignore_errors=True)


def guise(options, argv, resolver="openat2", pass_fds=(), timeout=120):
    env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C", "HOME": "/root"}
    if resolver == "walk":
        env["GUISE_RESOLVER"] = "walk"
    return subprocess.run([sys.executable, "-m", "guise", "run", *options, "--", *map(str, argv)],
                          capture_output=True, env=env, timeout=timeout, cwd=ROOT, pass_fds=pass_fds)


def verdict(r, name):
    lines = [ln for ln in r.stdout.decode(errors="replace").splitlines()
             if ln.split(" ")[0] in ("BLOCKED", "ESCAPED", "FAILED")]
    assert lines, f"{name}: no verdict; status {r.returncode}\nstdout {r.stdout[-2000:]!r}\nstderr {r.stderr[-3000:]!r}"
    assert len(lines) == 1, f"{name}: several verdicts {lines}"
    word, got, rest = (lines[0].split(" ", 2) + [""])[:3]
    assert got == name, lines
    return word, rest


def check(r, name, required, allowed=None):
    """BLOCKED, exit 0, with exactly the errnos Linux semantics fix: every
    ``required`` errno appeared, none outside ``allowed`` (default: required)."""
    word, rest = verdict(r, name)
    detail = r.stderr.decode(errors="replace")[-4000:]
    assert word == "BLOCKED", f"{name}: {word} {rest}\n{detail}"
    assert r.returncode == 0, f"{name}: status {r.returncode}\n{detail}"
    errs = set() if rest == "-" else set(rest.split(","))
    allowed = set(required) | set(allowed or ())
    assert set(required) <= errs, f"{name}: expected {sorted(required)}, got {sorted(errs)}\n{detail}"
    assert errs <= allowed, f"{name}: unexpected {sorted(errs - allowed)}\n{detail}"
    return errs


# ------------------------------------------------------------------ the corpus

# name -> (program, required errnos, further allowed errnos)
ENOENT = {"ENOENT"}
FS_ATTEMPTS = {
    # .. traversal
    "dotdot": ("paths", ENOENT, ()),
    "dotdot-create": ("paths", ENOENT, ()),
    # absolute and relative symlinks, symlinks to /, links shipped in the lower tree
    "symlink-abs": ("paths", ENOENT, ()),
    "symlink-rel": ("paths", ENOENT, ()),
    "symlink-root": ("paths", ENOENT, ()),
    "lower-links": ("paths", ENOENT, ()),
    # dirfd-relative openat/fstatat/mkdirat
    "dirfd": ("paths", ENOENT, ()),
    # very long paths, and a tree deeper than PATH_MAX climbed with ..
    "longpath": ("paths", {"ENAMETOOLONG", "ENOENT"}, ()),     # ENOENT: 4017 chars of ./ then ..
    "deepdir": ("paths", ENOENT, ()),
    # stat/access/readlink/truncate/chmod/chown/utimensat/unlink/chdir of outside paths
    "stat-outside": ("paths", ENOENT, ()),
    "getcwd": ("paths", ENOENT, ()),
    # unix sockets: connect/sendto a listening host socket, bind outside
    "unix-socket": ("paths", ENOENT, ()),
    # exec of outside paths (the outside copy would print ESCAPED)
    "exec-outside": ("paths", ENOENT, {"ENOSYS"}),
    # openat2 with and without RESOLVE_* flags (ENOSYS where guise has no openat2)
    "openat2": ("paths", (), {"ENOENT", "ELOOP", "EXDEV", "ENOSYS"}),
    # /proc/self/root, /proc/self/cwd, /proc/<pid>/fd/N, other pids, what /proc shows
    "proc-self-root": ("proc", ENOENT, ()),
    "proc-self-cwd": ("proc", ENOENT, ()),
    "proc-fd-links": ("proc", ENOENT, ()),
    "proc-pids": ("proc", ENOENT, ()),
    "proc-mountinfo": ("proc", (), {"ENOENT", "EACCES"}),
    # /proc/self/{root,cwd,fd/N} through a symlink of the guest's own, so that the
    # jail's resolver (not the process model) meets the magic links
    "proc-indirect": ("proc", ENOENT, {"ENOTDIR"}),
    # host-wide settings: /proc/sys/kernel/core_pattern, /proc/sysrq-trigger, /sys/power/state...
    # opened for writing (never written): the jail's /proc is read-only
    "proc-writes": ("proc", {"EROFS"}, {"ENOENT"}),
    # (/proc/self/exe/..: ENOTDIR on Linux; the walk follows the host's link, the
    # emulator's own executable, which is not in the jail: ENOENT)
    "proc-exe": ("proc", (), {"ENOTDIR", "ETXTBSY", "EINVAL", "ENOENT"}),
    # dirfds kept across a chroot, chroot+fchdir, nested chroots (EPERM if the
    # jail refuses chroot to the untrusted identity)
    "dirfd-chroot": ("fds", ENOENT, {"EPERM"}),
    "chroot-fchdir": ("fds", ENOENT, {"EPERM"}),
    "chroot-nested": ("fds", (), {"ENOENT", "EPERM"}),
    # device nodes: made (refused) or the host's (not in the jail's /dev)
    "mknod-block": ("fds", {"EPERM"}, ()),
    "mknod-char": ("fds", {"EPERM"}, ()),
    "dev-nodes": ("fds", ENOENT, ()),
    # hard links to outside files; rename/link/symlink/mkdir/mkfifo targets outside
    "hardlink-outside": ("links", ENOENT, ()),
    # (renameat2 RENAME_EXCHANGE: EINVAL from guise where Linux looks the names up first)
    "rename-outside": ("links", ENOENT, {"EINVAL"}),
    "create-outside": ("links", ENOENT, ()),
    # writes to the lower tree through the overlay: they work, in the upper layer
    "lower-write": ("links", (), {"EXDEV"}),        # renaming a lower directory: EXDEV as overlayfs
    "lower-fd-write": ("links", {"EBADF", "EINVAL", "EACCES", "EISDIR"}, {"EPERM"}),
    # the overlay's whiteout/opaque marker names cannot be made (rename included)
    "overlay-markers": ("links", {"EPERM"}, ()),
}

POLICY_ATTEMPTS = {
    "ptrace": {"EPERM"}, "process-vm-readv": {"EPERM"}, "process-vm-writev": {"EPERM"},
    "mount": {"EPERM"}, "umount2": {"EPERM"}, "pivot-root": {"EPERM"}, "bpf": {"EPERM"},
    "kexec-load": {"EPERM"}, "modules": {"EPERM"}, "reboot": {"EPERM"}, "setns": {"EPERM"},
    "unshare": {"EPERM"}, "open-by-handle-at": {"EPERM"}, "perf-event-open": {"EPERM"},
    "socket-inet": {"EACCES"}, "abstract-unix": {"EACCES"}, "kill-outside": {"ESRCH"},
    "identity": {"EPERM"},
}
POLICY_ALLOWED = {"kill-outside": {"ENOSYS"}}   # pidfd_open may be unimplemented

# a few attempts again as i386 guests (int 0x80, socketcall, 32-bit structures)
I386_ATTEMPTS = ("dotdot", "symlink-root", "proc-fd-links", "chroot-fchdir", "host-fds",
                 "lower-write", "mknod-block", "socket-inet", "abstract-unix", "identity", "ptrace",
                 "kill-outside")


def jail(layout):
    return ["--untrusted", "--root", str(layout.lower), "--overlay"]


def run_attempt(layout, prog, name, resolver="openat2", arch="x86_64", extra=(), pass_fds=(),
                options=None):
    before, reached = layout.digest(), layout.reached()
    r = guise(options or jail(layout), [f"/bin/escape-{prog}-static-musl-{arch}", name, layout.outside,
                                        *extra], resolver, pass_fds=pass_fds)
    after = layout.digest()
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert not changed, f"{name}: the host tree changed: {changed}\n{r.stdout!r}\n{r.stderr[-3000:]!r}"
    got = tuple(b - a for a, b in zip(reached, layout.reached()))
    assert got == (0, 0), f"{name}: (connections, datagrams) reached the host sockets: {got}\n{r.stderr[-3000:]!r}"
    return r


@pytest.mark.parametrize("resolver", ["openat2", "walk"])
@pytest.mark.parametrize("name", sorted(FS_ATTEMPTS))
def test_fs_attempt(layout, name, resolver):
    prog, required, allowed = FS_ATTEMPTS[name]
    extra = {"proc-pids": [os.getpid()]}.get(name, [])
    r = run_attempt(layout, prog, name, resolver, extra=extra)
    errs = check(r, name, required, allowed)
    if name == "openat2":
        assert errs, "openat2: every call should have failed"


def test_mprotect_of_a_read_only_shared_mapping(layout):
    """mprotect(PROT_WRITE) of a MAP_SHARED mapping of an O_RDONLY descriptor (of a
    lower-tree file): EACCES on Linux.  If the emulator allowed it, the guest's
    next store would go to the host's read-only shared mapping of the file."""
    r = run_attempt(layout, "links", "mprotect-shared")
    check(r, "mprotect-shared", {"EACCES"})


@pytest.mark.parametrize("name", sorted(POLICY_ATTEMPTS))
def test_policy_attempt(layout, name):
    r = run_attempt(layout, "policy", name, extra=[os.getpid()])
    check(r, name, POLICY_ATTEMPTS[name], POLICY_ALLOWED.get(name, ()))


@pytest.mark.parametrize("resolver", ["openat2", "walk"])
def test_host_fds_are_not_inherited(layout, resolver):
    """Host descriptors other than 0-2 (one on an outside file, one on the outside
    directory, one on the lower root) are open in the emulator's parent: the guest
    tries fds 3..64 and /proc/self/fd and finds none of them."""
    fds = [os.open(layout.outside / "secret", os.O_RDONLY), os.open(layout.outside, os.O_RDONLY),
           os.open(layout.lower, os.O_RDONLY)]
    try:
        for fd in fds:
            os.set_inheritable(fd, True)
        r = run_attempt(layout, "fds", "host-fds", resolver, pass_fds=fds)
    finally:
        for fd in fds:
            os.close(fd)
    check(r, "host-fds", {"EBADF"})


@pytest.mark.parametrize("name", I386_ATTEMPTS)
def test_i386_attempt(layout, name):
    if name in POLICY_ATTEMPTS:
        prog, required, allowed = "policy", POLICY_ATTEMPTS[name], POLICY_ALLOWED.get(name, ())
    elif name == "host-fds":
        prog, required, allowed = "fds", {"EBADF"}, ()
    else:
        prog, required, allowed = FS_ATTEMPTS[name]
    r = run_attempt(layout, prog, name, arch="i386", extra=[os.getpid()] if prog == "policy" else [])
    check(r, name, required, allowed)


RACE_ITERATIONS, RACE_SECONDS, RACE_MIN = 4000, 12, 2000


@pytest.mark.parametrize("name,resolver,arch", [
    (n, r, "x86_64") for n in ("race-read", "race-create") for r in ("openat2", "walk")] + [
    ("race-read", "openat2", "i386")])
def test_symlink_swap_race(layout, name, resolver, arch):
    """Two guest threads: one swaps a symlink between a directory inside and the
    outside directory (host path, ../ climb, /), the other opens or creates
    through it, thousands of times.  Every open lands inside or fails with
    ENOENT; both outcomes must occur (the race really ran)."""
    r = run_attempt(layout, "race", name, resolver, arch, extra=[RACE_ITERATIONS, RACE_SECONDS])
    check(r, name, (), ENOENT)
    m = re.search(rb"race: iterations=(\d+) inside=(\d+) refused=(\d+) swaps=(\d+)", r.stderr)
    assert m, r.stderr[-2000:]
    iterations, inside, refused, swaps = map(int, m.groups())
    assert iterations >= RACE_MIN, f"only {iterations} iterations in {RACE_SECONDS}s"
    # the swapper ran alongside (how often the opener catches the inside target
    # depends on the emulator's time slices, so only that it was refused is sure;
    # slices are fair in time, and a swap costs the jail more than an open)
    assert swaps >= iterations // 8 and refused > 0 and inside + refused == iterations, m.group(0)


_libc = ctypes.CDLL(None, use_errno=True)
RENAME_EXCHANGE = 2


def _exchange(a: bytes, b: bytes):
    if _libc.renameat2(-100, a, -100, b, RENAME_EXCHANGE) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


@pytest.mark.parametrize("resolver", ["openat2", "walk"])
@pytest.mark.parametrize("create", [False, True], ids=["read", "create"])
def test_process_swap_race(layout, create, resolver):
    """The same race with a second guest process doing the swapping (processes
    share no emulator lock, so its renames land between any two steps of the
    jail's resolver): a directory renamed away and replaced by a symlink to the
    outside directory, and back, while the first process reads D/secret or
    creates D/created; nothing may land outside (the digest) or be read from it."""
    r = run_attempt(layout, "race", "race-proc", resolver,
                    extra=[RACE_ITERATIONS, RACE_SECONDS] + (["create"] if create else []))
    check(r, "race-proc", (), {"ENOENT", "ENOTDIR"})
    m = re.search(rb"race: iterations=(\d+) inside=(\d+) refused=(\d+)", r.stderr)
    assert m, r.stderr[-2000:]
    iterations, inside, refused = map(int, m.groups())
    assert iterations >= RACE_MIN and refused > 0, m.group(0)


@pytest.mark.parametrize("create", [False, True], ids=["read", "create"])
@pytest.mark.parametrize("mode", ["rw-openat2", "rw-walk", "overlay"])
def test_host_side_swap_race(tmp_path, mode, create):
    """The race the resolver itself must win: while the guest opens /race/d/secret
    in a loop, a host thread keeps exchanging (renameat2 RENAME_EXCHANGE, atomic)
    the directory d with a symlink whose host target is the outside directory, so
    any gap between the jail's look at a name and its use of it would follow the
    host's link out of the root."""
    outside = tmp_path / "outside"
    outside.mkdir()
    _write(outside / "secret", SENTINEL)
    root = tmp_path / "root"
    (root / "bin").mkdir(parents=True)
    (root / "tmp").mkdir()
    shutil.copy(binary("race"), root / "bin" / "race")
    race = root / "race"
    (race / "d").mkdir(parents=True)
    _write(race / "d" / "secret", b"inside\n")
    (race / "s").symlink_to(outside)
    before = tree_digest(outside)
    stop = threading.Event()
    swaps = [0]

    def swapper():
        a, b = bytes(race / "d"), bytes(race / "s")
        while not stop.is_set():
            _exchange(a, b)
            swaps[0] += 1

    th = threading.Thread(target=swapper, daemon=True)
    th.start()
    try:
        opts = ["--untrusted", "--root", f"{root}:rw"] if mode.startswith("rw") else ["--untrusted", "--root", str(root)]
        r = guise(opts, ["/bin/race", "race-host", outside, RACE_ITERATIONS, RACE_SECONDS,
                         "/race/d/created" if create else "/race/d/secret"] + (["create"] if create else []),
                  "walk" if mode == "rw-walk" else "openat2")
    finally:
        stop.set()
        th.join()
    assert tree_digest(outside) == before
    check(r, "race-host", (), {"ENOENT", "ENOTDIR", "ELOOP"})
    m = re.search(rb"race: iterations=(\d+) inside=(\d+) refused=(\d+)", r.stderr)
    assert m, r.stderr[-2000:]
    iterations, inside, refused = map(int, m.groups())
    assert iterations >= RACE_MIN and swaps[0] > iterations, (m.group(0), swaps[0])
    # (in the overlay, the first create copies race/d up: the upper directory then
    # hides the lower name the host keeps swapping, and every create succeeds)
    assert inside > 0 and (refused > 0 or mode == "overlay" and create), m.group(0)


@pytest.mark.parametrize("resolver", ["openat2", "walk"])
@pytest.mark.parametrize("name", ["race-unix", "race-unix-new"])
def test_unix_socket_swap_race(layout, name, resolver):
    """A second guest process keeps replacing a socket name: race-unix between the
    jail's own socket (bound, not listening) and a symlink to the host socket
    outside/sock (listening); race-unix-new between no such name and that symlink.
    connect() must never reach the host's socket: the jail resolves the name once,
    and the host kernel must not resolve it again through a name the guest controls.

    race-unix-new needs the network layer to tell the jail that a connect() (not a
    bind()) is asking (``unix_path(path, bind=False)``): until it does, the path
    the jail gives for a name that does not exist yet is a directory + name, which
    the host kernel follows if a symlink appears there first."""
    r = run_attempt(layout, "race", name, resolver, extra=[RACE_ITERATIONS, RACE_SECONDS])
    check(r, name, (), {"ENOENT", "ECONNREFUSED"})
    m = re.search(rb"race: iterations=(\d+)", r.stderr)
    assert m and int(m.group(1)) >= RACE_MIN, r.stderr[-2000:]


def test_unix_path_never_names_a_followable_last_component(tmp_path):
    """The jail's side of the unix-socket race, without a guest: an existing
    socket is named by a descriptor of the socket itself; a missing name is ENOENT
    for connect (bind=False) and a directory + name only for bind."""
    from sandbox.jail import JailConfig
    from sandbox.jailfs import JailView
    (tmp_path / "d").mkdir()
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(str(tmp_path / "d" / "s"))
    (tmp_path / "d" / "l").symlink_to("/")
    v = JailView(JailConfig(root=str(tmp_path), devices=False, proc=False))
    try:
        host = v.unix_path(b"/d/s")
        assert re.fullmatch(rb"/proc/self/fd/\d+", host), host
        assert stat.S_ISSOCK(os.stat(host).st_mode)
        with pytest.raises(FileNotFoundError):
            v.unix_path(b"/d/new", bind=False)
        assert v.unix_path(b"/d/new", bind=True).endswith(b"/new")
        with pytest.raises(FileNotFoundError):          # the link is followed inside the jail
            v.unix_path(b"/d/l/d/missing", bind=False)
    finally:
        v.close()
        srv.close()


# ------------------------------------- the default --untrusted jail (host root)

HOST_ATTEMPTS = {
    "lower-write": ("links", (), {"EXDEV"}),        # renaming a lower directory: EXDEV as overlayfs
    "lower-fd-write": ("links", {"EBADF", "EINVAL", "EACCES", "EISDIR"}, {"EPERM"}),
    "mknod-block": ("fds", {"EPERM"}, ()),
    "proc-writes": ("proc", {"EROFS"}, {"ENOENT"}),     # /sys files: copies in the overlay
    "create-outside": ("links", (), {"ENOENT", "EEXIST", "ENOTDIR", "ENOTEMPTY", "ENODATA", "EOPNOTSUPP"}),
}


@pytest.mark.parametrize("resolver", ["openat2", "walk"])
@pytest.mark.parametrize("name", sorted(HOST_ATTEMPTS))
def test_host_root_attempt(host_layout, name, resolver):
    """``--untrusted`` with no --root: the host's own tree, read-only under an overlay.
    Every write the guest makes to host files lands in the overlay; the host tree
    under /var/tmp stays byte-identical."""
    host_layout, _ = host_layout
    prog, required, allowed = HOST_ATTEMPTS[name]
    before = tree_digest(host_layout)
    r = guise(["--untrusted"], [binary(prog), name, host_layout / "outside", host_layout / "data"], resolver)
    after = tree_digest(host_layout)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert not changed, f"{name}: the host tree changed: {changed}\n{r.stderr[-3000:]!r}"
    word, rest = verdict(r, name)
    if name == "create-outside":
        # the outside directory is visible here (it is the host root): creating in
        # it must work in the overlay only; ESCAPED means "succeeded", which is fine
        # as long as the host did not change, so only the digest matters
        assert word in ("BLOCKED", "ESCAPED"), (word, rest, r.stderr[-2000:])
        return
    check(r, name, required, allowed)


@pytest.mark.parametrize("name", ["dotdot", "proc-self-root"])
def test_host_root_hides_the_host_tmp(layout, name):
    """In the default --untrusted jail the host's /tmp (where this test's sentinel
    lives, and every other jail's layers) is replaced by a private one: reading the
    sentinel by its host path, or through /proc/self/root, finds nothing."""
    before = layout.digest()
    r = guise(["--untrusted"], [binary("proc" if name.startswith("proc") else "paths"), name, layout.outside])
    assert layout.digest() == before
    check(r, name, ENOENT)


def test_host_root_host_fds(layout):
    fd = os.open(layout.outside / "secret", os.O_RDONLY)
    try:
        os.set_inheritable(fd, True)
        r = guise(["--untrusted"], [binary("fds"), "host-fds", layout.outside], pass_fds=(fd,))
    finally:
        os.close(fd)
    check(r, "host-fds", {"EBADF"})


@pytest.mark.parametrize("resolver", ["openat2", "walk"])
def test_host_services_sockets(layout, host_layout, resolver):
    """Unix sockets a host process bound and the jail's lower tree shows -- in the
    default --untrusted jail that is every host service (/run/docker.sock, the
    D-Bus system bus): with --net none, connect and sendto are refused (EACCES),
    directly, through a symlink, /proc/self/root or a hard link (a copied-up
    socket is a dead one: ECONNREFUSED).  Both in a --root overlay (a socket in
    the lower tree) and in the host root."""
    base, socks = host_layout
    cases = [(jail(layout), "/bin/escape-paths-static-musl-x86_64", "/run", layout.reached),
             (["--untrusted"], binary("paths"), str(base / "run"), socks.reached)]
    for options, prog, run, reached in cases:
        before = reached()
        r = guise(options, [prog, "host-socket", layout.outside, f"{run}/sock", f"{run}/dsock"], resolver)
        got = tuple(b - a for a, b in zip(before, reached()))
        assert got == (0, 0), (options, got, r.stderr[-2000:])
        check(r, "host-socket", {"EACCES"}, {"ECONNREFUSED"})


@pytest.mark.parametrize("where", ["root", "host-root", "native"])
def test_tiocsti_cannot_type_into_the_host_terminal(layout, where):
    """On a terminal that is the jail's controlling tty (stdin and /dev/tty), ioctl
    TIOCSTI would push characters into its input for the host's shell to read once
    the guest is gone.  Nothing may arrive (checked on the host: the pty, raw)."""
    import fcntl
    import termios
    import tty
    master, slave = os.openpty()
    try:
        tty.setraw(slave)

        def controlling():
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        argv = (["/bin/escape-fds-static-musl-x86_64"] if where == "root" else [str(binary("fds"))]) + \
            ["tiocsti", str(layout.outside)]
        options = jail(layout) if where == "root" else ["--untrusted"]
        env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C", "HOME": "/root"}
        cmd = argv if where == "native" else [sys.executable, "-m", "guise", "run", *options, "--", *argv]
        r = subprocess.run(cmd, stdin=slave, capture_output=True, env=env, timeout=120, cwd=ROOT,
                           preexec_fn=controlling)
        os.set_blocking(slave, False)
        try:
            typed = os.read(slave, 4096)
        except BlockingIOError:
            typed = b""
    finally:
        os.close(master)
        os.close(slave)
    word, rest = verdict(r, "tiocsti")
    if where == "native":           # the detector: natively, the characters do arrive
        assert (word, b"GUISE_TIOCSTI_MARK" in typed) == ("ESCAPED", True), (word, typed)
        return
    assert typed == b"", typed
    assert (word, r.returncode) == ("BLOCKED", 0), (word, rest, r.stderr[-2000:])


def test_host_root_private_files(host_layout):
    """The default --untrusted jail shows the host root and tells the guest it is
    uid 65534: a root-owned 0600 file and a 0700 directory are then EACCES to it,
    as they would be to nobody on Linux (the host's /etc/shadow, /root/.ssh)."""
    base, _ = host_layout
    f, d = base / "private", base / "privdir"
    if not f.exists():
        _write(f, SENTINEL, 0o600)
        d.mkdir(mode=0o700)
        _write(d / "secret", SENTINEL, 0o644)
    if os.stat(f).st_uid == 65534:
        pytest.skip("the test runs as nobody")
    before = tree_digest(base)
    r = guise(["--untrusted"], [binary("paths"), "private-files", base / "outside", f, d])
    assert tree_digest(base) == before
    check(r, "private-files", {"EACCES"})


# ------------------------------------------------------- the detector is real

def test_detector_reports_escapes_natively(layout, tmp_path):
    """Run natively, with no jail, the same attempts do escape: the programs can tell."""
    for prog, name in (("paths", "dotdot"), ("proc", "proc-self-root")):   # these only read
        r = subprocess.run([binary(prog), name, layout.outside], capture_output=True, cwd=layout.lower,
                           timeout=60)
        word, rest = verdict(r, name)
        assert (word, r.returncode) == ("ESCAPED", 1), (word, rest, r.stderr[-2000:])
    fd = os.open(layout.outside / "secret", os.O_RDONLY)
    try:
        r = subprocess.run([binary("fds"), "host-fds", layout.outside], capture_output=True,
                           pass_fds=(fd,), timeout=60)
    finally:
        os.close(fd)
    assert verdict(r, "host-fds")[0] == "ESCAPED", r.stderr[-2000:]
