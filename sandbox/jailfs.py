"""The jailed file-system view: a guest root made of host directories, resolved safely.

The guest sees a tree of *mounts*: the root (a host directory, read-write,
read-only, or copy-on-write layers over it), ``--bind`` directories,
``--tmpfs`` private directories, and single device files under ``/dev``.
Every guest path is resolved here, one component at a time, from directory
descriptors that are already inside a mount:

- each lookup is a ``*at(dirfd, name, NOFOLLOW)`` call on a single name, so
  the host kernel never follows a symlink or ``..`` for us;
- symlink text is read with ``readlinkat`` and resolved again *in guest space*
  (an absolute target restarts at the guest's root, ``..`` stops there), so
  ``/``, ``/proc/self/root`` and host paths inside links all stay inside;
- the final operation acts on (parent descriptor, name) with NOFOLLOW, so a
  symlink swapped in by another guest thread after the check makes the call
  fail (ELOOP) rather than escape.

Where the whole path stays inside one plain directory tree, the kernel's
openat2(RESOLVE_IN_ROOT) does the same work in one call (``resolve.py``).

A guest path is held as a tuple of names from the jail's root; the guest's
``chroot`` narrows where absolute paths start, never beyond the jail root.
Host paths never reach the guest: descriptors map back to guest paths through
the mount table (``fd_path``).
"""
from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile

from . import cleanup, overlay, policy, resolve
from .errors import SandboxError
from .view import FileSystemView

O_PATH_DIR = os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
MAX_LINKS = 40
READ, SEARCH = 4, 1          # permission bits, as in a mode's rwx triplets
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_TRUNC | os.O_CREAT
# the device files a jail shows under /dev: (major, minor) of each
DEVICES = {b"null": (1, 3), b"zero": (1, 5), b"full": (1, 7), b"random": (1, 8),
           b"urandom": (1, 9), b"tty": (5, 0)}
# /proc entries a jail hides: host kernel memory and state, and an emulator process's
# own memory, environment, command line and mappings (host secrets and paths)
PROC_HIDDEN_TOP = {b"kcore", b"kmsg", b"kallsyms", b"kpagecount", b"kpageflags", b"kpagecgroup",
                   b"sysrq-trigger", b"keys", b"key-users", b"timer_list", b"sched_debug", b"modules",
                   b"iomem", b"ioports", b"vmallocinfo", b"slabinfo", b"config.gz", b"mtrr"}
PROC_HIDDEN_PID = {b"mem", b"pagemap", b"map_files", b"environ", b"cmdline", b"auxv", b"maps",
                   b"smaps", b"smaps_rollup", b"numa_maps", b"stack", b"syscall", b"clear_refs",
                   b"mountinfo", b"mounts", b"mountstats", b"io", b"personality", b"timers"}
DEV_LINKS = {b"fd": b"/proc/self/fd", b"stdin": b"/proc/self/fd/0",
             b"stdout": b"/proc/self/fd/1", b"stderr": b"/proc/self/fd/2"}


RACE_RETRIES = 64       # looks again at a name that changed between lookup and use


def _err(errno: int) -> OSError:
    return OSError(errno, os.strerror(errno))


def split(path: bytes) -> list[bytes]:
    return [c for c in path.split(b"/") if c and c != b"."]


class Layer:
    """One host directory of a mount; ``markers``: its .wh. files mean whiteouts."""
    __slots__ = ("path", "fd", "markers")

    def __init__(self, path: str | bytes, markers: bool):
        self.path = os.fsencode(os.path.realpath(path))
        self.fd = os.open(self.path, O_PATH_DIR)
        self.markers = markers


class Mount:
    """What the guest sees at ``guest`` (a tuple of names; () is the root)."""

    def __init__(self, guest: tuple, layers: list[Layer], ro: bool = False, cow: bool = False,
                 file: bytes | None = None, kind: str = "dir"):
        self.guest = guest
        self.layers = layers          # topmost first
        self.ro = ro
        self.cow = cow                # layers[0] is a writable upper over read-only layers
        self.file = file              # a single host file (a device) instead of a tree
        self.kind = kind              # for mountinfo: root, bind, tmpfs, dev, proc


class Dir:
    """A directory reached by a walk: the descriptors of every layer where it exists."""
    __slots__ = ("mount", "rel", "fds")

    def __init__(self, mount: Mount, rel: tuple, fds: list):
        self.mount = mount
        self.rel = rel                # names from the mount's root
        self.fds = fds                # [(Layer, fd)], topmost first


class Loc:
    """Where a walk ended: ``name`` in ``parent``, found in ``layer`` (None: missing),
    or the root of ``mount_root`` (a mount point itself, name None)."""
    __slots__ = ("parent", "name", "guest", "layer", "pfd", "st", "mount_root")

    def __init__(self, parent, name, guest, layer=None, pfd=None, st=None, mount_root=None):
        self.parent, self.name, self.guest = parent, name, guest
        self.layer, self.pfd, self.st, self.mount_root = layer, pfd, st, mount_root

    @property
    def exists(self) -> bool:
        return self.st is not None

    @property
    def is_dir(self) -> bool:
        return self.st is not None and stat.S_ISDIR(self.st.st_mode)


class JailView(FileSystemView):
    def __init__(self, config):
        self._owner = os.getpid()
        self.anchor = os.getpid()                   # the jail's processes descend from it
        self._temps: list[str] = []
        self._unix_dirs: dict[tuple, int] = {}      # (dev, ino) of a socket's dir -> kept fd
        self._unix_objects: dict[tuple, int] = {}   # (dev, ino) of a socket file -> O_PATH fd
        # with --net none/loopback, the host's own sockets (in the layers under the
        # jail's writable one) are not to be connected to: see unix_path
        self._host_sockets = getattr(config, "net", "host") == "host"
        # --untrusted: the jail root's files are used with the rights of the identity
        # the guest is shown (see _require)
        self._reader = policy.UNTRUSTED_IDENTITY if getattr(config, "untrusted", False) else None
        self.mounts: dict[tuple, Mount] = {}
        self.root_comps: tuple = ()            # the guest's chroot, from the jail root
        self.cwd_comps: tuple = ()
        self._remover = None
        self._granted: set = set()
        try:
            self._build(config)
            # the directories that lead to a mount point (the user's cwd, a --bind): the
            # user granted the way there, whatever their modes say
            self._granted = {g[:k] for g in self.mounts for k in range(1, len(g))}
            self.cwd_comps = tuple(split(os.fsencode(config.cwd or "/")))
            try:
                self.chdir(b"/" + b"/".join(self.cwd_comps))
            except OSError as e:
                raise SandboxError(f"--cwd {config.cwd}: {e.strerror} inside the jail") from None
        except BaseException:
            self.close()
            raise
        self._fast = resolve.AVAILABLE and self._single_tree()
        # removes the temporary directories once every process of the jail is gone
        self._remover = cleanup.Remover(self._temps) if self._temps else None

    # -- set-up ---------------------------------------------------------------
    def _build(self, config) -> None:
        root = self.mounts[()] = self._root_mount(config)
        root.kind = "root"
        if config.proc:
            self._add("/proc", Mount((), [Layer("/proc", False)], ro=True, kind="proc"))
        if config.devices:
            self._add_devices()
        for b in config.binds:
            if os.path.isdir(b.host):
                self._add(b.guest, Mount((), [Layer(b.host, False)], ro=b.ro, kind="bind"))
            else:
                self._add(b.guest, Mount((), [], ro=b.ro, file=os.fsencode(os.path.realpath(b.host)),
                                         kind="bind"))
        for t in config.tmpfs:
            # open to all inside the jail, as a fresh tmpfs; on the host behind a private
            # (0700) parent, so no host user reaches what the guest leaves there
            d = os.path.join(self._temp("guise-tmpfs-"), "t")
            os.mkdir(d)
            os.chmod(d, 0o1777)
            self._add(t, Mount((), [Layer(d, False)], kind="tmpfs"))
        self._add_missing_parents()

    def _add_missing_parents(self) -> None:
        """A mount point whose parent directories the root lacks (``--bind x:/mnt/data``
        in a root with no /mnt) gets empty read-only directories above it."""
        for g in sorted(self.mounts, key=len):
            for k in range(1, len(g)):
                parent = g[:k]
                if parent in self.mounts:
                    continue
                try:
                    self.stat(b"/" + b"/".join(parent))
                except OSError:
                    d = self._temp("guise-mnt-")
                    os.chmod(d, 0o755)
                    self.mounts[parent] = Mount(parent, [Layer(d, False)], ro=True, kind="mnt")

    def _root_mount(self, config) -> Mount:
        base = Layer(config.root, False)
        if not config.overlay:
            return Mount((), [base], ro=config.root_ro)
        upper = config.upper or self._temp("guise-upper-")
        os.makedirs(upper, exist_ok=True)
        top = os.open(upper, O_PATH_DIR)
        try:                                   # the merged root looks like the root below
            overlay.copy_attrs(os.fstat(base.fd), top, b".", None)
        finally:
            os.close(top)
        mids = [Layer(d, True) for d in config.layers]
        return Mount((), [Layer(upper, True)] + mids + [base], cow=True)

    def _add(self, guest: str | bytes, m: Mount) -> None:
        m.guest = tuple(split(os.fsencode(guest)))
        if not m.guest:
            raise SandboxError(f"cannot mount over the jail root: {os.fsdecode(guest)}")
        self.mounts[m.guest] = m

    def _add_devices(self) -> None:
        """/dev: a private directory holding the safe devices and the usual fd links."""
        d = self._temp("guise-dev-")
        for name in DEVICES:
            open(os.path.join(d.encode(), name), "wb").close()       # listed; a mount shows the device
            if os.path.exists(b"/dev/" + name):
                self._add(b"/dev/" + name, Mount((), [], file=b"/dev/" + name, kind="dev"))
        for name, target in DEV_LINKS.items():
            os.symlink(target, os.path.join(d.encode(), name))
        os.mkdir(os.path.join(d, "shm"), 0o1777)
        os.chmod(os.path.join(d, "shm"), 0o1777)
        os.mkdir(os.path.join(d, "pts"))
        os.chmod(d, 0o755)
        self._add(b"/dev", Mount((), [Layer(d, False)], kind="dev"))

    def _temp(self, prefix: str) -> str:
        d = tempfile.mkdtemp(prefix=prefix)
        self._temps.append(d)
        return d

    def _single_tree(self) -> bool:
        """openat2 applies when the root is one plain tree and no other mount's
        point exists in it (else the kernel would resolve into the host directory
        under the mount point instead of the mount)."""
        root = self.mounts[()]
        if root.cow or len(root.layers) != 1:
            return False
        for g in self.mounts:
            if g and overlay.exists_at(root.layers[0].fd, b"/".join(g)):
                if len(g) > 1 or not self._empty_dir(root.layers[0].fd, g[0]):
                    return False
        return True

    @staticmethod
    def _empty_dir(fd: int, name: bytes) -> bool:
        try:
            d = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
        except OSError:
            return False
        try:
            return not os.listdir(d)
        finally:
            os.close(d)

    def close(self, final: bool = True) -> None:
        """This process is done with the jail.  ``final``: no process of the jail is
        left (its supervisor says so), so its temporary directories go now; else
        the remover deletes them when the last one ends."""
        if self._remover is not None:
            self._remover.release()
        if os.getpid() != self._owner or not final:
            return
        for d in self._temps:
            shutil.rmtree(d, ignore_errors=True)
        self._temps = []

    # -- the walk ---------------------------------------------------------------
    def _mount_dir(self, m: Mount) -> Dir:
        return Dir(m, (), [(layer, layer.fd) for layer in m.layers])

    @contextlib.contextmanager
    def _resolve(self, path: bytes, dirfd: int | None = None, follow: bool = True):
        """Resolve ``path`` to a ``Loc``; descriptors opened on the way close after use."""
        owned: list[int] = []
        try:
            yield self._walk(path, dirfd, follow, owned)
        finally:
            for fd in owned:
                os.close(fd)

    def _start(self, path: bytes, dirfd: int | None) -> tuple:
        if path.startswith(b"/"):
            return self.root_comps
        if dirfd is None:
            return self.cwd_comps
        st = os.fstat(dirfd)
        if not stat.S_ISDIR(st.st_mode):
            raise _err(20)
        guest = self._guest_of_host(self._host_path(dirfd))
        if guest is None:
            raise _err(2)
        return guest

    def _walk(self, path: bytes, dirfd, follow: bool, owned: list) -> Loc:
        if not path:
            raise _err(2)
        todo = list(self._start(path, dirfd)) + split(path)
        trailing_slash = path.endswith(b"/") or path.endswith(b"/.")    # must be a directory
        todo.reverse()                          # a stack: the next name is at the end
        names: list[bytes] = []
        stack = [self._mount_dir(self.mounts[()])]
        links = retries = 0
        while True:
            if not todo:                        # ended on a directory we walked into
                return self._here(names, stack)
            c = todo.pop()
            if c == b"..":
                if names and tuple(names) != self.root_comps:
                    names.pop()
                    stack.pop()
                continue
            last = not todo
            d = stack[-1]
            child = tuple(names) + (c,)
            m = self.mounts.get(child)
            if m is not None:
                if m.file is not None:
                    if last and not trailing_slash:
                        return Loc(d, c, child, st=os.stat(m.file), mount_root=m)
                    raise _err(20)
                names.append(c)
                stack.append(self._mount_dir(m))
                continue
            if len(c) > 255:
                raise _err(36)
            found = self._lookup(d, c)
            if found is None:
                if last:
                    return Loc(d, c, child)
                raise _err(2)
            i, st = found
            layer, fd = d.fds[i]
            if stat.S_ISLNK(st.st_mode) and (not last or follow or trailing_slash):
                links += 1
                if links > MAX_LINKS:
                    raise _err(40)
                try:
                    target = os.readlink(c, dir_fd=fd)
                except OSError as e:
                    # swapped for a non-link since the lookup (EINVAL): look again,
                    # so a racing guest sees one state or the other, as on Linux
                    if e.errno != 22 or retries >= RACE_RETRIES:
                        raise
                    retries += 1
                    links -= 1
                    todo.append(c)
                    continue
                parts = split(target)
                if target.startswith(b"/"):
                    names = []
                    stack = stack[:1]
                    if d.mount.kind == "proc":       # a magic link: its text is a host path
                        own = self._own_link(d.rel, c)
                        parts = list(own if own is not None else self._magic(target))
                    else:
                        parts = list(self.root_comps) + parts
                todo.extend(reversed(parts))
                continue
            if last and not trailing_slash:
                return Loc(d, c, child, layer, fd, st)
            if not stat.S_ISDIR(st.st_mode):
                raise _err(20)
            if self._reader is not None and child not in self._granted:
                self._require(d.mount, st, SEARCH)
            try:
                sub = self._child_dir(d, c, i, owned)
            except OSError as e:
                # the directory was swapped for a symlink (or a file) since the
                # lookup: O_NOFOLLOW refused it (ELOOP/ENOTDIR); look at it again
                if e.errno not in (20, 40) or retries >= RACE_RETRIES:
                    raise
                retries += 1
                todo.append(c)
                continue
            names.append(c)
            stack.append(sub)

    def _own_link(self, rel: tuple, name: bytes) -> tuple | None:
        """This process's own /proc/<pid>/root and cwd (also under task/<tid>): the
        guest's root and working directory.  The host's links name the emulator's
        own root and cwd, which are not the guest's: /proc/self/root would
        otherwise lead nowhere (ENOENT) or, with a guest chroot, to the jail's root
        instead of the chroot's."""
        me = str(os.getpid()).encode()
        if name not in (b"root", b"cwd") or not rel or rel[0] != me or len(rel) not in (1, 3):
            return None
        if len(rel) == 3 and rel[1] != b"task":
            return None
        return self.root_comps if name == b"root" else self.cwd_comps

    def _magic(self, target: bytes) -> tuple:
        """The guest path of a /proc magic link (cwd, root, exe, fd/N), whose text is
        the host's path: mapped back through the mounts, else nowhere (ENOENT)."""
        guest = self._guest_of_host(target)
        if guest is None:
            raise _err(2)
        return guest

    def _here(self, names: list, stack: list) -> Loc:
        """The Loc of the directory the walk stands in (after a trailing `..` or `/`)."""
        d = stack[-1]
        if len(stack) == 1 or not d.rel:        # a mount's root (or the jail's)
            layer, fd = d.fds[0] if d.fds else (None, None)
            return Loc(d, None, tuple(names), layer, None, os.fstat(fd), mount_root=d.mount)
        parent = stack[-2]
        found = self._lookup(parent, names[-1])
        i, st = found if found else (0, os.fstat(d.fds[0][1]))
        layer, fd = parent.fds[i]
        return Loc(parent, names[-1], tuple(names), layer, fd, st)

    def _require(self, m: Mount, st: os.stat_result, want: int) -> None:
        """``--untrusted``: the jail root's files (the host's, seen through the overlay)
        are used with the rights of the identity the guest is shown (65534), checked
        from their modes as the kernel checks them for that user, so a root-owned
        0600 file or a 0700 directory is EACCES, as to nobody on Linux; without this
        the emulator would use them with its own (root's) rights.  Writes still land
        in the overlay (its promise), but copying a file up reads it, so that needs
        read permission.  What the guest creates is its own (``_own``); binds,
        ``--tmpfs``, /proc and the way to a mount point are the user's grant."""
        if self._reader is None or not m.cow:
            return
        uid, gid = self._reader
        mode = st.st_mode
        bits = mode >> 6 if st.st_uid == uid else mode >> 3 if st.st_gid == gid else mode
        if want & ~bits & 7:
            raise _err(13)

    def _require_owner(self, m: Mount, st: os.stat_result) -> None:
        """``--untrusted``: only the owner changes a file's mode, owner or times."""
        if self._reader is not None and m.cow and st.st_uid != self._reader[0]:
            raise _err(1)

    def may_chown(self, uid: int, gid: int) -> None:
        """``--untrusted``: the guest is not root, so it cannot give files away."""
        if self._reader is not None and (uid not in (-1, self._reader[0]) or gid not in (-1, self._reader[1])):
            raise _err(1)

    def _own(self, loc: Loc, up: int) -> None:
        """A file the ``--untrusted`` guest created belongs to the identity it is shown."""
        if self._reader is not None and loc.parent.mount.cow:
            os.chown(loc.name, *self._reader, dir_fd=up, follow_symlinks=False)

    def _lookup(self, d: Dir, name: bytes):
        """(index into d.fds, lstat) of the layer that shows ``name``, or None."""
        if d.mount.cow and overlay.is_marker(name):
            return None
        if d.mount.kind == "proc" and self._proc_hidden(d.rel, name):
            return None
        for i, (layer, fd) in enumerate(d.fds):
            try:
                return i, os.stat(name, dir_fd=fd, follow_symlinks=False)
            except FileNotFoundError:
                if layer.markers and overlay.exists_at(fd, overlay.whiteout(name)):
                    return None
        return None

    def _child_dir(self, d: Dir, name: bytes, first: int, owned: list) -> Dir:
        """Open ``name`` in every layer from ``first`` down where it is a directory,
        stopping at an opaque directory, a whiteout or a non-directory."""
        fds = []
        for layer, fd in d.fds[first:]:
            try:
                sub = os.open(name, O_PATH_DIR, dir_fd=fd)
            except FileNotFoundError:
                if not fds:
                    raise
                if layer.markers and overlay.exists_at(fd, overlay.whiteout(name)):
                    break
                continue
            except OSError:                 # not a directory (or swapped for a symlink)
                if not fds:
                    raise
                break
            owned.append(sub)
            fds.append((layer, sub))
            if not d.mount.cow or (layer.markers and overlay.exists_at(sub, overlay.OPAQUE)):
                break
        return Dir(d.mount, d.rel + (name,), fds)

    # -- guest <-> host ------------------------------------------------------------
    @staticmethod
    def _host_path(fd: int) -> bytes:
        return os.readlink(f"/proc/self/fd/{fd}".encode())

    def _guest_of_host(self, host: bytes) -> tuple | None:
        """The guest path (names from the jail root) of a host path inside a mount."""
        best = None
        for m in self.mounts.values():
            if m.file is not None:
                if host == m.file:
                    return m.guest
                continue
            for layer in m.layers:
                p = layer.path
                if host == p or host.startswith(p.rstrip(b"/") + b"/"):
                    if best is None or len(p) > len(best[0]):
                        best = (p, m)
        if best is None:
            return None
        p, m = best
        return m.guest + tuple(split(host[len(p):]))

    def visible(self, comps: tuple) -> bytes:
        """A guest path as the guest writes it (relative to its chroot)."""
        n = len(self.root_comps)
        if comps[:n] == self.root_comps:
            return b"/" + b"/".join(comps[n:])
        return b"(unreachable)/" + b"/".join(comps)

    def fd_path(self, hostfd: int) -> bytes:
        try:
            host = self._host_path(hostfd)
        except OSError:
            return b""
        return self._guest_text(host)

    def _guest_text(self, host: bytes) -> bytes:
        """The text of a /proc magic link as the guest sees it: a host path mapped
        back into the jail, ``/(unreachable)`` where it is outside every mount."""
        if not host.startswith(b"/"):
            return host                              # pipe:[…], socket:[…], anon_inode:…
        deleted = host.endswith(b" (deleted)")
        guest = self._guest_of_host(host[:-10] if deleted else host)
        if guest is None:
            return b"/(unreachable)"
        return self.visible(guest) + (b" (deleted)" if deleted else b"")

    def is_private_fd(self, hostfd: int) -> bool:
        """Whether ``hostfd`` is a file in the jail's private storage — a copy-on-write
        upper layer or a --tmpfs directory — whose bytes count against its disk limit."""
        private = [m.layers[0].path + b"/" for m in self.mounts.values() if m.cow or m.kind == "tmpfs"]
        if not private:
            return False
        try:
            host = self._host_path(hostfd)
        except OSError:
            return False
        return any(host.startswith(top) for top in private)

    def absolute(self, path: bytes) -> bytes:
        if not path.startswith(b"/"):
            path = self.getcwd().rstrip(b"/") + b"/" + path
        return b"/" + b"/".join(split(os.path.normpath(path)))

    # -- writing: copy-up and checks ----------------------------------------------
    def _check_writable(self, d: Dir) -> None:
        if d.mount.ro or (d.mount.file is not None):
            raise _err(30)
        if not d.fds:
            raise _err(2)

    def _upper_dir(self, d: Dir, owned: list) -> int:
        """The descriptor of ``d`` in the writable layer, copying its directory
        chain up from the layers below where it exists only there."""
        self._check_writable(d)
        if not d.mount.cow:
            return d.fds[0][1]
        top = d.mount.layers[0]
        if d.fds[0][0] is top:
            return d.fds[0][1]
        fd = top.fd
        for k, name in enumerate(d.rel):
            try:
                sub = os.open(name, O_PATH_DIR, dir_fd=fd)
            except FileNotFoundError:
                src = self._lower_stat(d.mount, d.rel[:k + 1])
                if not stat.S_ISDIR(src.st_mode):
                    raise _err(2) from None     # swapped since the walk: its copy would lack a dir's modes
                os.mkdir(name, 0o700, dir_fd=fd)
                overlay.copy_attrs(src, fd, name, None)
                sub = os.open(name, O_PATH_DIR, dir_fd=fd)
            owned.append(sub)
            fd = sub
        return fd

    @staticmethod
    def _lower_stat(m: Mount, rel: tuple) -> os.stat_result:
        for layer in m.layers[1:]:
            try:
                return os.stat(b"/".join(rel), dir_fd=layer.fd, follow_symlinks=False)
            except FileNotFoundError:
                continue
        raise _err(2)

    def _writable(self, loc: Loc, owned: list) -> tuple[int, bytes]:
        """(parent fd, name) of ``loc`` in a writable layer, copied up if needed."""
        if loc.mount_root is not None:
            raise _err(16)
        d = loc.parent
        up = self._upper_dir(d, owned)
        if loc.exists and loc.pfd != up:
            if not stat.S_ISDIR(loc.st.st_mode):
                self._require(d.mount, loc.st, READ)     # the copy reads it
            if stat.S_ISDIR(loc.st.st_mode):
                os.mkdir(loc.name, 0o700, dir_fd=up)
                overlay.copy_attrs(loc.st, up, loc.name, None)
            else:
                overlay.copy_file(loc.pfd, loc.name, loc.st, up)
        return up, loc.name

    def _creatable(self, loc: Loc, owned: list) -> int:
        """The parent fd where a new ``loc.name`` is to be made."""
        if loc.exists or loc.mount_root is not None:
            raise _err(17)
        if loc.parent.mount.cow and overlay.is_marker(loc.name):
            raise _err(1)
        return self._upper_dir(loc.parent, owned)

    def _made(self, loc: Loc, up: int, is_dir: bool = False) -> None:
        """After creating ``loc.name`` in the upper layer: drop its whiteout; a new
        directory over a deleted one hides what was below it."""
        if not loc.parent.mount.cow:
            return
        had = overlay.exists_at(up, overlay.whiteout(loc.name))
        if is_dir and (had or self._below(loc) is not None):
            sub = os.open(loc.name, O_PATH_DIR, dir_fd=up)
            try:
                overlay.add_marker(sub, overlay.OPAQUE)
            finally:
                os.close(sub)
        if had:
            overlay.remove_marker(up, loc.name)

    def _below(self, loc: Loc):
        """Whether a layer under the writable one shows ``loc.name``."""
        d = loc.parent
        if not d.mount.cow:
            return None
        lower = Dir(d.mount, d.rel, [(l, f) for l, f in d.fds if l is not d.mount.layers[0]])
        return self._lookup(lower, loc.name)

    # -- FileSystemView --------------------------------------------------------------
    def open(self, path, flags, mode=0o666, dirfd=None):
        if self._fast and not flags & WRITE_FLAGS:
            fd = self._open_fast(path, flags, dirfd)
            if fd is not None:
                return fd
        follow = not flags & os.O_NOFOLLOW and not (flags & os.O_CREAT and flags & os.O_EXCL)
        owned: list[int] = []
        try:
            loc = self._walk(path, dirfd, follow, owned)
            if loc.mount_root is not None:
                m = loc.mount_root
                if m.file is not None:
                    return os.open(m.file, flags & ~os.O_CREAT, mode)
                if flags & (os.O_WRONLY | os.O_RDWR):
                    raise _err(21)
                return os.open(b".", flags & ~os.O_CREAT, dir_fd=m.layers[0].fd)
            if not loc.exists:
                if not flags & os.O_CREAT:
                    raise _err(2)
                if path.endswith(b"/"):
                    raise _err(21)
                up = self._creatable(loc, owned)
                fd = os.open(loc.name, flags | os.O_NOFOLLOW, mode, dir_fd=up)
                self._own(loc, up)
                self._made(loc, up)
                return fd
            if flags & os.O_CREAT and flags & os.O_EXCL:
                raise _err(17)
            self._check_device(loc.st)
            if flags & os.O_ACCMODE != os.O_WRONLY and not flags & os.O_PATH:
                self._require(loc.parent.mount, loc.st, READ)
            if flags & (os.O_WRONLY | os.O_RDWR | os.O_TRUNC):
                if stat.S_ISDIR(loc.st.st_mode):
                    raise _err(21)
                if stat.S_ISREG(loc.st.st_mode) or loc.parent.mount.cow:
                    up, name = self._writable(loc, owned)
                else:
                    self._check_writable(loc.parent)
                    up, name = loc.pfd, loc.name
                return os.open(name, (flags & ~os.O_CREAT) | os.O_NOFOLLOW, mode, dir_fd=up)
            return os.open(loc.name, (flags & ~os.O_CREAT) | os.O_NOFOLLOW, mode, dir_fd=loc.pfd)
        finally:
            for fd in owned:
                os.close(fd)

    def _open_fast(self, path: bytes, flags: int, dirfd) -> int | None:
        """openat2 inside the single root tree; None when the walk must decide."""
        if self.root_comps or not path:
            return None                            # a guest chroot: the walk knows it
        rel = b"/".join(self._start(path, dirfd) + (path.lstrip(b"/"),))
        try:
            fd = resolve.openat2(self.mounts[()].layers[0].fd, rel or b".", flags)
        except OSError:
            return None                            # the walk gives the exact error (or the mount)
        try:
            host = self._host_path(fd)
            st = os.fstat(fd)
        except OSError:
            os.close(fd)
            return None
        guest = self._guest_of_host(host)
        if guest is None or self._under_mount(guest) or stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
            os.close(fd)
            return None
        if not flags & os.O_CLOEXEC:
            os.set_inheritable(fd, True)
        return fd

    def _under_mount(self, guest: tuple) -> bool:
        return any(guest[:len(g)] == g for g in self.mounts if g)

    @staticmethod
    def _check_device(st: os.stat_result) -> None:
        """Device nodes inside a jail root open only if they are the safe ones."""
        if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
            if not stat.S_ISCHR(st.st_mode) or (os.major(st.st_rdev), os.minor(st.st_rdev)) \
                    not in DEVICES.values():
                raise _err(13)

    def stat(self, path, dirfd=None, follow=True):
        with self._resolve(path, dirfd, follow) as loc:
            if not loc.exists:
                raise _err(2)
            return loc.st

    def access(self, path, mode, dirfd=None, effective=False, follow=True):
        with self._resolve(path, dirfd, follow) as loc:
            if not loc.exists:
                raise _err(2)
            if mode & os.W_OK and loc.mount_root is None and loc.parent.mount.ro:
                raise _err(30)
            if self._reader is not None and loc.mount_root is None and loc.parent.mount.cow:
                self._require(loc.parent.mount, loc.st, mode & (os.R_OK | os.X_OK))
                return
            if loc.mount_root is not None:
                ok = os.access(loc.mount_root.file or b"/proc/self/fd/%d" % loc.mount_root.layers[0].fd,
                               mode, effective_ids=effective)
            else:
                ok = os.access(loc.name, mode, dir_fd=loc.pfd, effective_ids=effective,
                               follow_symlinks=False)
            if not ok:
                raise _err(13)

    def readlink(self, path, dirfd=None):
        with self._resolve(path, dirfd, False) as loc:
            if not loc.exists:
                raise _err(2)
            if loc.mount_root is not None or not stat.S_ISLNK(loc.st.st_mode):
                raise _err(22)
            target = os.readlink(loc.name, dir_fd=loc.pfd)
            if loc.parent.mount.kind == "proc" and target.startswith(b"/"):
                # A magic link of another jail process (/proc/<pid>/{cwd,root,exe,fd/N}):
                # its text is a host path (the supervisor's cwd, the emulator's exe, an
                # upper layer...), so it is shown as the guest sees it, like fd_path.
                return self._guest_text(target)
            return target

    def mkdir(self, path, mode, dirfd=None):
        with self._resolve(path.rstrip(b"/") or b"/", dirfd, False) as loc:
            owned: list[int] = []
            try:
                up = self._creatable(loc, owned)
                os.mkdir(loc.name, mode, dir_fd=up)
                self._own(loc, up)
                self._made(loc, up, is_dir=True)
            finally:
                for fd in owned:
                    os.close(fd)

    def symlink(self, target, path, dirfd=None):
        with self._resolve(path, dirfd, False) as loc:
            owned: list[int] = []
            try:
                up = self._creatable(loc, owned)
                os.symlink(target, loc.name, dir_fd=up)
                self._own(loc, up)
                self._made(loc, up)
            finally:
                for fd in owned:
                    os.close(fd)

    def mknod(self, path, mode, dev, dirfd=None):
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
            raise _err(1)                   # no devices are made inside a jail
        with self._resolve(path, dirfd, False) as loc:
            owned: list[int] = []
            try:
                up = self._creatable(loc, owned)
                os.mknod(loc.name, mode, dev, dir_fd=up)
                self._own(loc, up)
                self._made(loc, up)
            finally:
                for fd in owned:
                    os.close(fd)

    def unlink(self, path, dirfd=None, rmdir=False):
        with self._resolve(path.rstrip(b"/") or b"/" if rmdir else path, dirfd, False) as loc:
            if not loc.exists:
                raise _err(2)
            if loc.mount_root is not None or not loc.name:
                raise _err(16)
            if rmdir and not loc.is_dir:
                raise _err(20)
            if not rmdir and loc.is_dir:
                raise _err(21)
            self._check_writable(loc.parent)
            if rmdir and self._names(loc):
                raise _err(39)
            owned: list[int] = []
            try:
                self._remove(loc, rmdir, owned)
            finally:
                for fd in owned:
                    os.close(fd)

    def _remove(self, loc: Loc, rmdir: bool, owned: list) -> None:
        d = loc.parent
        up = self._upper_dir(d, owned) if d.mount.cow else loc.pfd
        if loc.pfd == up:
            if rmdir:
                if d.mount.cow:
                    self._clear_markers(up, loc.name)
                os.rmdir(loc.name, dir_fd=up)
            else:
                os.unlink(loc.name, dir_fd=up)
        if d.mount.cow and self._below(loc) is not None:
            overlay.add_marker(up, overlay.whiteout(loc.name))

    @staticmethod
    def _clear_markers(up: int, name: bytes) -> None:
        sub = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=up)
        try:
            for n in map(os.fsencode, os.listdir(sub)):
                if overlay.is_marker(n):
                    os.unlink(n, dir_fd=sub)
        finally:
            os.close(sub)

    def rename(self, old, new, olddirfd=None, newdirfd=None, flags=0):
        RENAME_NOREPLACE = 1
        if flags & ~RENAME_NOREPLACE:
            raise _err(22)
        with self._resolve(old, olddirfd, False) as src, self._resolve(new, newdirfd, False) as dst:
            if not src.exists:
                raise _err(2)
            if src.mount_root is not None or dst.mount_root is not None:
                raise _err(16)
            if src.parent.mount is not dst.parent.mount:
                raise _err(18)
            if dst.parent.mount.cow and dst.name is not None and overlay.is_marker(dst.name):
                # as for every other way of making a name (_creatable): a file renamed
                # to .wh.NAME or .wh..wh..opq would become a whiteout or opaque marker
                raise _err(1)
            if dst.guest[:len(src.guest)] == src.guest and dst.guest != src.guest and src.is_dir:
                raise _err(22)
            if dst.exists:
                if flags & RENAME_NOREPLACE:
                    raise _err(17)
                if src.is_dir and not dst.is_dir:
                    raise _err(20)
                if dst.is_dir and not src.is_dir:
                    raise _err(21)
                if dst.is_dir and self._names(dst):
                    raise _err(39)
            self._check_writable(src.parent)
            owned: list[int] = []
            try:
                self._move(src, dst, owned)
            finally:
                for fd in owned:
                    os.close(fd)

    def _move(self, src: Loc, dst: Loc, owned: list) -> None:
        m = src.parent.mount
        if not m.cow:
            os.rename(src.name, dst.name, src_dir_fd=src.pfd, dst_dir_fd=dst.parent.fds[0][1])
            return
        if src.is_dir and self._below(src) is not None:
            raise _err(18)                 # as overlayfs: a merged directory cannot move; mv copies
        sup, sname = self._writable(src, owned)
        dup = self._upper_dir(dst.parent, owned)
        if dst.exists and dst.is_dir and dst.pfd == dup:
            self._clear_markers(dup, dst.name)
        os.rename(sname, dst.name, src_dir_fd=sup, dst_dir_fd=dup)
        if self._below(src) is not None:
            overlay.add_marker(sup, overlay.whiteout(src.name))
        self._made(dst, dup, is_dir=src.is_dir)

    def link(self, old, new, olddirfd=None, newdirfd=None, follow=False):
        with self._resolve(old, olddirfd, follow) as src, self._resolve(new, newdirfd, False) as dst:
            if not src.exists:
                raise _err(2)
            if src.is_dir or src.mount_root is not None:
                raise _err(1)
            if src.parent.mount is not dst.parent.mount:
                raise _err(18)
            owned: list[int] = []
            try:
                up = self._creatable(dst, owned)
                sup, sname = self._writable(src, owned)
                os.link(sname, dst.name, src_dir_fd=sup, dst_dir_fd=up, follow_symlinks=False)
                self._made(dst, up)
            finally:
                for fd in owned:
                    os.close(fd)

    @contextlib.contextmanager
    def _object(self, path, dirfd, follow, write: bool = True):
        """An O_PATH descriptor of the object itself (copied up when ``write``):
        it pins the object, so the host's path-taking calls on /proc/self/fd/N act
        on exactly what the walk found, whatever is swapped in meanwhile."""
        owned: list[int] = []
        try:
            loc = self._walk(path, dirfd, follow, owned)
            if not loc.exists:
                raise _err(2)
            if loc.mount_root is not None:
                m = loc.mount_root
                if write and (m.ro or m.file is not None):
                    raise _err(30 if m.ro else 1)
                fd = os.open(m.file, os.O_PATH | os.O_CLOEXEC) if m.file else os.dup(m.layers[0].fd)
            else:
                if write:
                    self._check_writable(loc.parent)
                    self._require_owner(loc.parent.mount, loc.st)
                up, name = self._writable(loc, owned) if write else (loc.pfd, loc.name)
                fd = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=up)
            owned.append(fd)
            yield f"/proc/self/fd/{fd}", stat.S_ISLNK(os.fstat(fd).st_mode)
        finally:
            for fd in owned:
                os.close(fd)

    def reopen(self, hostfd: int, flags: int) -> int:
        """A reopen for writing goes through the view (copy-up, read-only mounts);
        reading may use the host's magic link, which names exactly that file."""
        if not flags & (os.O_WRONLY | os.O_RDWR | os.O_TRUNC):
            return super().reopen(hostfd, flags)
        host = self._host_path(hostfd)
        guest = self._guest_of_host(host) if host.startswith(b"/") else None
        if guest is None:
            return super().reopen(hostfd, flags)     # a pipe or socket: no path to protect
        saved, self.root_comps = self.root_comps, ()
        try:
            return self.open(b"/" + b"/".join(guest), flags)
        finally:
            self.root_comps = saved

    @contextlib.contextmanager
    def changing(self, hostfd: int):
        host = self._host_path(hostfd)
        guest = self._guest_of_host(host) if host.startswith(b"/") else None
        if guest is None:                            # pipes, sockets, anonymous files
            yield hostfd
            return
        m = self._mount_of(guest)
        if m.ro or m.file is not None and m.kind != "bind":
            raise _err(30 if m.ro else 1)
        self._require_owner(m, os.fstat(hostfd))
        if not m.cow or host.startswith(m.layers[0].path + b"/") or host == m.layers[0].path:
            yield hostfd
            return
        saved, self.root_comps = self.root_comps, ()
        try:
            with self._object(b"/" + b"/".join(guest), None, False) as (obj, _):
                yield obj                            # the copied-up object in the upper layer
        finally:
            self.root_comps = saved

    def chmod(self, path, mode, dirfd=None, follow=True):
        with self._object(path, dirfd, follow) as (obj, is_link):
            if is_link:
                raise _err(95)              # as fchmodat(AT_SYMLINK_NOFOLLOW) on a link
            os.chmod(obj, mode)

    def chown(self, path, uid, gid, dirfd=None, follow=True):
        with self._object(path, dirfd, follow) as (obj, is_link):
            self.may_chown(uid, gid)
            if is_link:
                raise _err(1)               # the jail does not chown symlinks themselves
            os.chown(obj, uid, gid)

    def utime(self, path, ns, dirfd=None, follow=True):
        with self._object(path, dirfd, follow) as (obj, is_link):
            if is_link:
                raise _err(1)
            os.utime(obj) if ns is None else os.utime(obj, ns=ns)

    def truncate(self, path, length):
        fd = self.open(path, os.O_WRONLY | os.O_CLOEXEC)
        try:
            os.ftruncate(fd, length)
        finally:
            os.close(fd)

    def getxattr(self, path, name, follow=True):
        with self._object(path, None, follow, write=False) as (obj, _):
            return os.getxattr(obj, name)

    def listxattr(self, path, follow=True):
        with self._object(path, None, follow, write=False) as (obj, _):
            return os.listxattr(obj)

    def setxattr(self, path, name, value, flags, follow=True):
        with self._object(path, None, follow) as (obj, _):
            os.setxattr(obj, name, value, flags)

    def removexattr(self, path, name, follow=True):
        with self._object(path, None, follow) as (obj, _):
            os.removexattr(obj, name)

    # -- directories, cwd and root ---------------------------------------------------
    def chdir(self, path):
        with self._resolve(path, None, True) as loc:
            if not loc.exists:
                raise _err(2)
            if not loc.is_dir:
                raise _err(20)
            self.cwd_comps = loc.guest

    def fchdir(self, hostfd):
        if not stat.S_ISDIR(os.fstat(hostfd).st_mode):
            raise _err(20)
        guest = self._guest_of_host(self._host_path(hostfd))
        if guest is None:
            raise _err(2)
        self.cwd_comps = guest

    def getcwd(self):
        return self.visible(self.cwd_comps)

    def chroot(self, path):
        with self._resolve(path, None, True) as loc:
            if not loc.exists:
                raise _err(2)
            if not loc.is_dir:
                raise _err(20)
            self.root_comps = loc.guest

    def root_path(self) -> bytes:
        return b"/" + b"/".join(self.root_comps)

    def listdir(self, path: bytes) -> list[bytes]:
        with self._resolve(path, None, True) as loc:
            if not loc.exists:
                raise _err(2)
            if not loc.is_dir:
                raise _err(20)
            return self._names(loc)

    def _names(self, loc: Loc) -> list[bytes]:
        """The merged names of directory ``loc`` plus mount points inside it."""
        owned: list[int] = []
        try:
            if loc.mount_root is not None:
                d = self._mount_dir(loc.mount_root)
            else:
                i = 0 if not loc.parent.mount.cow else self._lookup(loc.parent, loc.name)[0]
                d = self._child_dir(loc.parent, loc.name, i, owned)
            per_layer = []
            for _, fd in d.fds:
                rd = os.open(b".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=fd)
                try:
                    per_layer.append([os.fsencode(n) for n in os.listdir(rd)])
                finally:
                    os.close(rd)
            names = overlay.merge_names(per_layer) if d.mount.cow else (per_layer[0] if per_layer else [])
            if d.mount.kind == "proc":
                names = [n for n in names if not self._proc_hidden(d.rel, n)]
            n = len(loc.guest)
            for g in self.mounts:
                if len(g) == n + 1 and g[:n] == loc.guest and g[-1] not in names:
                    names.append(g[-1])
            return names
        finally:
            for fd in owned:
                os.close(fd)

    def _proc_hidden(self, rel: tuple, name: bytes) -> bool:
        """What the host's /proc must not show a jailed guest: other processes, and
        the files that expose an emulator's host memory, environment or paths (a
        guest's own views of those are answered by the personality, from its model)."""
        if not rel:
            return (name.isdigit() and not self.has_pid(int(name))) or name in PROC_HIDDEN_TOP
        per_process = len(rel) == 1 and rel[0].isdigit() or len(rel) == 3 and rel[1] == b"task"
        if rel[-1] == b"net" and name == b"unix":
            # /proc/<pid>/net/unix lists every unix socket of the host's network
            # namespace with its host path (other jails', the host's daemons')
            return True
        return per_process and name in PROC_HIDDEN_PID

    def pids(self) -> dict[int, int]:
        """The jail's live processes as {pid: process group}: the anchor and its
        descendants, read from one pass over the host's /proc."""
        parent, group = {}, {}
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open(f"/proc/{name}/stat", "rb") as f:
                    fields = f.read().rsplit(b")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if fields[0] == b"Z":
                continue
            parent[int(name)], group[int(name)] = int(fields[1]), int(fields[2])
        children: dict[int, list[int]] = {}
        for pid, ppid in parent.items():
            children.setdefault(ppid, []).append(pid)
        found, todo = {}, [self.anchor]
        while todo:
            pid = todo.pop()
            if pid in group and not self._is_helper(pid):
                found[pid] = group[pid]
            todo.extend(children.get(pid, ()))
        return found

    def _is_helper(self, pid: int) -> bool:
        """The jail's own helper process (the remover) is not one of its guests."""
        return self._remover is not None and pid == self._remover.pid

    def has_pid(self, pid: int) -> bool:
        """Whether host pid ``pid`` belongs to this jail: a descendant of the process
        that built it (which a supervisor keeps as the subreaper of orphans)."""
        if self._is_helper(pid):
            return False
        for _ in range(256):
            if pid == self.anchor:
                return True
            if pid <= 1:
                return False
            try:
                with open(f"/proc/{pid}/stat", "rb") as f:
                    pid = int(f.read().rsplit(b")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                return False
        return False

    def dir_entries(self, hostfd: int):
        """For getdents: the merged listing of an overlay directory or of one holding
        mount points, as (name, d_type, inode); None where the host's own is right."""
        guest = self._guest_of_host(self._host_path(hostfd))
        if guest is None:
            return None
        m = self._mount_of(guest)
        has_points = any(len(g) == len(guest) + 1 and g[:len(guest)] == guest for g in self.mounts)
        proc_root = m.kind == "proc" and len(guest) - len(m.guest) in (0, 1, 3)
        if not has_points and not proc_root and (not m.cow or len(m.layers) == 1):
            return None
        path = b"/" + b"/".join(guest)
        saved, self.root_comps = self.root_comps, ()
        try:
            out = []
            for name in [b".", b".."] + self.listdir(path):
                try:
                    st = self.stat(path + b"/" + name, follow=False) if name not in (b".", b"..") \
                        else self.stat(path + b"/" + name)
                except OSError:
                    continue
                out.append((name, stat.S_IFMT(st.st_mode) >> 12, st.st_ino))
            return out
        finally:
            self.root_comps = saved

    def _mount_of(self, guest: tuple) -> Mount:
        for k in range(len(guest), -1, -1):
            m = self.mounts.get(guest[:k])
            if m is not None:
                return m
        return self.mounts[()]

    def unix_path(self, path: bytes, bind: bool | None = None) -> bytes:
        """A host path for a guest AF_UNIX address, short and not redirectable.

        An existing name is given as ``/proc/self/fd/N`` of an O_PATH descriptor of
        the socket file itself: the host kernel resolves a path a second time at
        connect(), and a name given as directory + last component could meanwhile
        be replaced (by another guest process, which no emulator lock holds back)
        with a symlink to a host socket outside the jail, which connect() follows.
        A name yet to exist is its directory inside the jail (its writable layer),
        ``/proc/self/fd/N/name``, for bind() to create; bind() never follows a
        symlink.  ``bind=False`` (connect, sendto) refuses a name that does not
        exist (ENOENT, as Linux) instead of giving that creatable path: a symlink
        made there before the host's connect() would be followed out of the jail.
        Without the network (--net none/loopback) a socket of a lower layer, made
        by the host, is refused (EACCES) to anything but bind."""
        for _ in range(RACE_RETRIES):
            with self._resolve(path, None, True) as loc:
                if loc.mount_root is not None:
                    raise _err(98)
                if loc.exists:
                    if bind is not True and not self._host_sockets and self._from_below(loc):
                        # A socket in a layer under the jail's own was bound by a host
                        # process: with the host root as the lower layer (--untrusted)
                        # that is every host service (/run/docker.sock, the D-Bus
                        # system bus, systemd's private socket).  Without the network,
                        # AF_UNIX reaches only the sockets made inside the jail.
                        raise OSError(13, "host unix sockets are outside the jail (--net none/loopback)")
                    host = self._unix_object(loc)
                    if host is None:             # became a symlink since the walk
                        continue
                    return host
                if bind is False:
                    raise _err(2)
                owned: list[int] = []
                try:
                    d = self._creatable(loc, owned)
                    st = os.fstat(d)
                    key = (st.st_dev, st.st_ino)
                    if key not in self._unix_dirs:
                        self._unix_dirs[key] = os.dup(d)
                    return f"/proc/self/fd/{self._unix_dirs[key]}/".encode() + loc.name
                finally:
                    for fd in owned:
                        os.close(fd)
        raise _err(40)

    UNIX_OBJECTS = 64       # O_PATH descriptors of socket files kept for connect()

    @staticmethod
    def _from_below(loc: Loc) -> bool:
        """Whether ``loc`` was found in a layer under a copy-on-write mount's writable one."""
        m = loc.parent.mount
        return m.cow and loc.layer is not None and loc.layer is not m.layers[0]

    def _unix_object(self, loc: Loc) -> bytes | None:
        """``/proc/self/fd/N`` of the file ``loc`` names, opened without following a
        symlink (None if it is one now); a few are kept, newest last."""
        fd = os.open(loc.name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=loc.pfd)
        st = os.fstat(fd)
        if stat.S_ISLNK(st.st_mode):
            os.close(fd)
            return None
        key = (st.st_dev, st.st_ino)
        old = self._unix_objects.pop(key, None)
        if old is not None:
            os.close(fd)
            fd = old
        self._unix_objects[key] = fd
        while len(self._unix_objects) > self.UNIX_OBJECTS:
            os.close(self._unix_objects.pop(next(iter(self._unix_objects))))
        return f"/proc/self/fd/{fd}".encode()

    def mount_table(self) -> list[tuple[bytes, str, str, bool]]:
        """(guest mount point, fs type, source, read-only) for /proc/self/mounts and
        mountinfo: guest paths only, sources named by kind, never by host path."""
        fstypes = {"proc": "proc", "tmpfs": "tmpfs", "dev": "devtmpfs"}
        return [(b"/" + b"/".join(g), fstypes.get(m.kind, "overlay" if m.cow else "guise"), m.kind, m.ro)
                for g, m in sorted(self.mounts.items())]
