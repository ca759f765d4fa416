"""Zones end to end through the command line: create, list, show, run (state persists),
snapshot, rollback, two zones at once, the FUSE mount, destroy, and every bad input.

Guest programs are Debian's static busybox (``make deps-test``).  The FUSE tests
need /dev/fuse, fuse3 and libfuse2 (also ``make deps-test``).
"""
from __future__ import annotations

import errno
import hashlib
import io
import os
import select
import shutil
import stat
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from conftest import BUSYBOX, ROOT, need, snapshot
from guise import exitcodes
from sandbox.fusemount import mount_type

TIMEOUT = 120
MOUNT_WAIT = 20
OLD = 1_500_000_000          # a fixed mtime, so "unchanged" is exact


def zone(state, *args, timeout=TIMEOUT, check=True):
    """``guise zone --state STATE ARGS…``; asserts success unless ``check`` is False."""
    p = subprocess.run([sys.executable, "-m", "guise", "zone", "--state", str(state), *map(str, args)],
                       cwd=ROOT, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
    if check:
        assert p.returncode == 0, f"zone {args}: {p.returncode} {p.stderr.decode(errors='replace')}"
    return p


def zrun(state, name, script):
    """Run a busybox shell script inside zone ``name``; its stdout."""
    return zone(state, "run", name, "--", "/bin/busybox", "sh", "-c", script).stdout.decode()


@pytest.fixture
def rootfs(tmp_path):
    """A tiny root file system: busybox, a few files with fixed times and modes."""
    busybox = need(BUSYBOX["x86_64"], "make deps-test installs busybox-static")
    src = tmp_path / "rootfs"
    (src / "bin").mkdir(parents=True)
    shutil.copy2(busybox, src / "bin" / "busybox")
    (src / "etc").mkdir()
    (src / "etc" / "motd").write_text("welcome\n")
    (src / "etc" / "secret").write_text("s3cret\n")
    os.chmod(src / "etc" / "secret", 0o640)
    (src / "srv" / "data").mkdir(parents=True)
    (src / "srv" / "data" / "a.txt").write_text("alpha\n" * 100)
    os.symlink("a.txt", src / "srv" / "data" / "link")
    (src / "tmp").mkdir()
    os.chmod(src / "tmp", 0o1777)
    for dirpath, dirs, files in os.walk(src):
        for n in dirs + files:
            os.utime(os.path.join(dirpath, n), (OLD, OLD), follow_symlinks=False)
    os.utime(src, (OLD, OLD))
    return src


@pytest.fixture
def state(tmp_path):
    return tmp_path / "state"


def one_line_error(p, *words):
    err = p.stderr.decode()
    assert p.returncode == exitcodes.USAGE, (p.returncode, err)
    assert err.startswith("guise: ") and err.count("\n") == 1, err
    for w in words:
        assert w in err, err


def merged(state, name) -> dict:
    """The zone's file tree as its guest sees it (types, modes, mtimes, contents, link
    targets), read through a JailView."""
    from sandbox.jailfs import JailView
    from sandbox.zones import ZoneStore
    config = ZoneStore(str(state)).get(name).jail_config()
    config.devices = config.proc = False
    view = JailView(config)
    root = view.stat(b"/")
    out = {b"/": ("dir", stat.S_IMODE(root.st_mode), root.st_mtime_ns)}

    def walk(path: bytes):
        for n in sorted(view.listdir(path or b"/")):
            p = path + b"/" + n
            st = view.stat(p, follow=False)
            if stat.S_ISDIR(st.st_mode):
                out[p] = ("dir", stat.S_IMODE(st.st_mode), st.st_mtime_ns)
                walk(p)
            elif stat.S_ISLNK(st.st_mode):
                out[p] = ("link", view.readlink(p))
            else:
                fd = view.open(p, os.O_RDONLY)
                with os.fdopen(fd, "rb") as f:
                    out[p] = ("file", stat.S_IMODE(st.st_mode), st.st_mtime_ns, f.read())
    try:
        walk(b"")
    finally:
        view.close()
    return out


# -- create, list, show -------------------------------------------------------------

def test_create_from_dir_and_tarball_leaves_sources_alone(rootfs, state, tmp_path):
    tarball = tmp_path / "rootfs.tar.gz"
    with tarfile.open(tarball, "w:gz") as tar:
        tar.add(rootfs, arcname=".")
    before, tar_sum = snapshot(rootfs), hashlib.sha256(tarball.read_bytes()).hexdigest()

    zone(state, "create", "fromdir", "--from", rootfs)
    zone(state, "create", "fromtar", "--from", tarball, "--hostname", "tarbox", "--net", "loopback")
    zone(state, "run", "fromdir", "--", "/bin/busybox", "sh", "-c", "echo x > /etc/motd; rm /etc/secret")
    zone(state, "run", "fromtar", "--", "/bin/busybox", "sh", "-c", "echo y >> /srv/data/a.txt")

    assert snapshot(rootfs) == before
    assert hashlib.sha256(tarball.read_bytes()).hexdigest() == tar_sum
    base = state / "fromtar" / "layers" / "0"
    assert (base / "etc" / "motd").read_text() == "welcome\n"
    assert stat.S_IMODE((base / "tmp").stat().st_mode) == 0o1777     # the archive's modes kept
    assert os.readlink(base / "srv" / "data" / "link") == "a.txt"

    listing = zone(state, "list").stdout.decode().splitlines()
    assert listing[0].split()[:2] == ["NAME", "HOSTNAME"]
    assert [line.split()[:2] for line in listing[1:]] == [["fromdir", "fromdir"], ["fromtar", "tarbox"]]
    show = zone(state, "show", "fromtar").stdout.decode()
    assert "hostname:  tarbox" in show and "net:       loopback" in show and str(tarball) in show


def test_unsafe_tarball_is_refused(state, tmp_path):
    evil = tmp_path / "evil.tar"
    with tarfile.open(evil, "w") as tar:
        info = tarfile.TarInfo("../escaped")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"bad"))
    one_line_error(zone(state, "create", "z", "--from", evil, check=False), "unsafe archive")
    assert not (state / "escaped").exists() and not (tmp_path / "escaped").exists()
    assert sorted(os.listdir(state)) == ["guise-zones.json"]           # no half-made zone left


# -- running ------------------------------------------------------------------------

def test_state_persists_between_runs(rootfs, state):
    zone(state, "create", "web", "--from", rootfs)
    zrun(state, "web", "mkdir -p /var/www && echo persisted > /var/www/index.html; rm /etc/motd")
    assert zrun(state, "web", "cat /var/www/index.html; ls /etc") == "persisted\nsecret\n"
    assert (state / "web" / "upper" / "var" / "www" / "index.html").read_text() == "persisted\n"
    assert (state / "web" / "upper" / "etc" / ".wh.motd").exists()
    assert (state / "web" / "layers" / "0" / "etc" / "motd").read_text() == "welcome\n"


def test_hostname_inside_the_zone(rootfs, state):
    zone(state, "create", "web", "--from", rootfs, "--hostname", "web.example")
    zone(state, "create", "db", "--from", rootfs)
    assert zrun(state, "web", "hostname; uname -n") == "web.example\nweb.example\n"
    assert zrun(state, "db", "hostname") == "db\n"                 # the zone's name by default


def test_zone_limits_and_network_policy_apply_to_its_runs(rootfs, state):
    zone(state, "create", "tight", "--from", rootfs, "--limit", "time=1s", "--net", "none")
    p = zone(state, "run", "tight", "--", "/bin/busybox", "sleep", "20", check=False)
    assert p.returncode == 124 and b"its time limit (1s)" in p.stderr, p.stderr
    p = zone(state, "run", "tight", "--", "/bin/busybox", "nc", "127.0.0.1", "9", check=False)
    assert p.returncode == 1 and b"Permission denied" in p.stderr, p.stderr


def test_two_zones_at_once_do_not_see_each_other(rootfs, state):
    for name in ("one", "two"):
        zone(state, "create", name, "--from", rootfs)
    script = ("echo $$ > /tmp/mine-{0}; sleep 2; ls /tmp; "
              "for f in /proc/[0-9]*/root/tmp/mine-*; do [ -e \"$f\" ] && echo \"sees $f\"; done; true")
    procs = [subprocess.Popen([sys.executable, "-m", "guise", "zone", "--state", str(state), "run", name,
                               "--", "/bin/busybox", "sh", "-c", script.format(name)],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for name in ("one", "two")]
    outs = [p.communicate(timeout=TIMEOUT) for p in procs]
    for name, p, (out, err) in zip(("one", "two"), procs, outs):
        assert p.returncode == 0, err
        lines = out.decode().splitlines()
        assert lines[0] == f"mine-{name}", lines
        assert all(f"mine-{name}" in line for line in lines[1:]), lines
        assert sorted(os.listdir(state / name / "upper" / "tmp")) == [f"mine-{name}"]


def test_two_zones_do_not_see_each_others_processes(rootfs, state):
    for name in ("one", "two"):
        zone(state, "create", name, "--from", rootfs)
    two = subprocess.Popen([sys.executable, "-m", "guise", "zone", "--state", str(state), "run", "two",
                            "--", "/bin/busybox", "sh", "-c", "echo $$; exec sleep 30"],
                           cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert select.select([two.stdout], [], [], TIMEOUT)[0], "zone two did not start"
        pid = int(two.stdout.readline())
        one_line_error(zone(state, "destroy", "two", check=False), "in use")
        seen = zrun(state, "one", f"[ -e /proc/{pid} ] && echo listed; ps | grep -w {pid} | grep -v grep; "
                                  f"kill -0 {pid} 2>/dev/null && echo signalled; true")
        assert seen == "", f"zone one sees zone two's process {pid}: {seen!r}"
    finally:
        two.kill()
        two.communicate(timeout=TIMEOUT)


# -- snapshots ----------------------------------------------------------------------

def test_snapshot_and_rollback_restore_exactly(rootfs, state):
    zone(state, "create", "z", "--from", rootfs)
    zrun(state, "z", "echo v1 > /etc/motd; mkdir /new; echo n > /new/file")
    s1 = merged(state, "z")
    zone(state, "snapshot", "z", "s1")
    zrun(state, "z", "echo v2 > /etc/motd; rm -r /srv/data; mkdir /srv/data; echo b > /srv/data/b; "
                     "rm /new/file; chmod 600 /etc/secret; ln -s /etc/motd /motd")
    s2 = merged(state, "z")
    assert s2 != s1 and s2[b"/srv/data/b"][3] == b"b\n" and b"/srv/data/a.txt" not in s2
    zone(state, "snapshot", "z", "s2")
    zrun(state, "z", "echo v3 > /etc/motd; echo later > /later")
    assert merged(state, "z") not in (s1, s2)

    zone(state, "rollback", "z", "s1")
    assert merged(state, "z") == s1
    assert os.listdir(state / "z" / "upper") == []
    zone(state, "rollback", "z", "s2")                   # a later snapshot stays valid
    assert merged(state, "z") == s2
    assert zrun(state, "z", "cat /etc/motd; ls /srv/data") == "v2\nb\n"
    show = zone(state, "show", "z").stdout.decode()
    assert show.index("  s1 ") < show.index("  s2 ")


def test_snapshot_of_10k_files_is_under_a_second(rootfs, state):
    zone(state, "create", "big", "--from", rootfs)
    upper = state / "big" / "upper"
    for d in range(100):
        sub = upper / f"d{d:02}"
        sub.mkdir()
        for i in range(100):
            (sub / f"f{i:02}").write_bytes(b"x")
    t0 = time.perf_counter()
    zone(state, "snapshot", "big", "s")
    took = time.perf_counter() - t0
    assert took < 1.0, f"snapshot of 10,000 files took {took:.2f} s"
    assert os.listdir(upper) == [] and len(os.listdir(state / "big" / "layers" / "1")) == 100


# -- bad input ----------------------------------------------------------------------

def test_bad_input_is_one_line(rootfs, state, tmp_path):
    zone(state, "create", "z", "--from", rootfs)
    cases = [
        (["create", "bad/name", "--from", rootfs], "bad zone name"),
        (["create", ".hidden", "--from", rootfs], "bad zone name"),
        (["create", "x" * 64, "--from", rootfs], "bad zone name"),
        (["create", "z", "--from", rootfs], "already exists"),
        (["create", "y", "--from", tmp_path / "missing"], "not a directory or a tar archive"),
        (["create", "y", "--from", rootfs, "--bind", "/nonexistent:/x"], "no such file"),
        (["show", "nope"], "no zone 'nope'"),
        (["run", "nope", "--", "/bin/busybox", "true"], "no zone 'nope'"),
        (["snapshot", "nope", "s"], "no zone 'nope'"),
        (["snapshot", "z", "bad name"], "bad snapshot name"),
        (["rollback", "z", "never"], "no snapshot 'never'"),
        (["destroy", "nope"], "no zone 'nope'"),
        (["umount", tmp_path], "not mounted"),
    ]
    for args, words in cases:
        one_line_error(zone(state, *args, check=False), words)
    zone(state, "snapshot", "z", "s")
    one_line_error(zone(state, "snapshot", "z", "s", check=False), "already has a snapshot")

    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "somefile").write_text("not ours")
    one_line_error(zone(foreign, "list", check=False), "not a guise zone state directory")
    one_line_error(zone(foreign, "create", "z", "--from", rootfs, check=False), "not a guise zone state directory")
    assert os.listdir(foreign) == ["somefile"]


def test_destroy_removes_everything(rootfs, state):
    zone(state, "create", "z", "--from", rootfs)
    zrun(state, "z", "echo x > /x")
    zone(state, "snapshot", "z", "s")
    zone(state, "destroy", "z")
    assert sorted(os.listdir(state)) == ["guise-zones.json"]
    assert zone(state, "list").stdout == b""


# -- the FUSE mount -----------------------------------------------------------------

class Mounted:
    """``guise zone mount`` in the background; always unmounted and reaped at the end."""

    def __init__(self, state, name, mountpoint, *options):
        self.mountpoint = mountpoint
        self.log = open(mountpoint.parent / f"{mountpoint.name}.log", "w+b")
        self.proc = subprocess.Popen([sys.executable, "-m", "guise", "zone", "--state", str(state),
                                      "mount", name, str(mountpoint), *options],
                                     cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + MOUNT_WAIT
        while mount_type(str(mountpoint)) is None:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                pytest.fail(f"zone mount did not come up: {self.output()}")
            time.sleep(0.05)

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def close(self) -> None:
        if mount_type(str(self.mountpoint)) is not None:
            tool = shutil.which("fusermount3") or shutil.which("fusermount")
            subprocess.run([tool, "-u", "-z", str(self.mountpoint)], capture_output=True, timeout=30)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=30)
        self.log.close()


@pytest.fixture
def fuse_ready():
    need(Path("/dev/fuse"), "the FUSE device is missing: zone mount cannot be tested on this host")
    need(Path(shutil.which("fusermount3") or "/usr/bin/fusermount3"), "make deps-test installs fuse3")


@pytest.fixture
def mounted(fuse_ready, tmp_path):
    """A function that mounts a zone; every mount it made is undone after the test."""
    made = []

    def mount(state, name, *options):
        mp = tmp_path / f"mnt-{name}-{len(made)}"
        mp.mkdir()
        m = Mounted(state, name, mp, *options)
        made.append(m)
        return m
    yield mount
    for m in made:
        m.close()


def test_fuse_mount_shows_the_merged_zone_and_writes_into_upper(rootfs, state, mounted):
    zone(state, "create", "z", "--from", rootfs)
    zrun(state, "z", "echo changed > /etc/motd; rm /etc/secret; echo new > /srv/new")
    m = mounted(state, "z")
    mp, upper, base = m.mountpoint, state / "z" / "upper", state / "z" / "layers" / "0"

    assert sorted(os.listdir(mp)) == ["bin", "etc", "srv", "tmp"]
    assert sorted(os.listdir(mp / "etc")) == ["motd"]                      # the whiteout hides secret
    assert (mp / "etc" / "motd").read_text() == "changed\n"
    assert (mp / "srv" / "new").read_text() == "new\n"
    assert os.readlink(mp / "srv" / "data" / "link") == "a.txt"
    for rel, layer in (("bin/busybox", base), ("srv/data/a.txt", base), ("etc/motd", upper), ("tmp", base)):
        want, got = os.lstat(layer / rel), os.lstat(mp / rel)
        assert (got.st_size, got.st_mode, got.st_mtime_ns) == (want.st_size, want.st_mode, want.st_mtime_ns), rel
    assert (mp / "bin" / "busybox").read_bytes() == (base / "bin" / "busybox").read_bytes()

    (mp / "srv" / "data" / "a.txt").write_text("rewritten\n")             # a base file: copied up
    (mp / "made").write_text("through fuse\n")
    with open(mp / "made", "a") as f:
        f.write("appended\n")
    os.rename(mp / "made", mp / "renamed")
    os.chmod(mp / "renamed", 0o600)
    os.utime(mp / "renamed", ns=(OLD, OLD))
    os.symlink("/etc/motd", mp / "symlink")
    os.link(mp / "renamed", mp / "hardlink")
    (mp / "dir").mkdir()
    (mp / "srv" / "new").unlink()
    os.truncate(mp / "etc" / "motd", 3)
    assert (upper / "srv" / "data" / "a.txt").read_text() == "rewritten\n"
    assert (base / "srv" / "data" / "a.txt").read_text() == "alpha\n" * 100
    st = os.stat(upper / "renamed")
    assert (upper / "renamed").read_text() == "through fuse\nappended\n" and not (upper / "made").exists()
    assert (stat.S_IMODE(st.st_mode), st.st_mtime_ns, st.st_nlink) == (0o600, OLD, 2)
    assert os.stat(upper / "hardlink").st_ino == st.st_ino
    assert os.readlink(upper / "symlink") == "/etc/motd"
    assert (upper / "dir").is_dir() and not (upper / "srv" / "new").exists()
    assert zrun(state, "z", "cat /renamed /srv/data/a.txt /symlink; echo; ls /srv") == \
        "through fuse\nappended\nrewritten\ncha\ndata\n"

    busy = zone(state, "mount", "z", mp, check=False)
    one_line_error(busy, "busy")
    one_line_error(zone(state, "destroy", "z", check=False), "in use")
    one_line_error(zone(state, "snapshot", "z", "s", check=False), "in use")
    zone(state, "umount", mp)
    assert m.proc.wait(timeout=30) == 0, m.output()
    assert mount_type(str(mp)) is None


def test_fuse_read_only_mount_refuses_writes(rootfs, state, mounted, tmp_path):
    zone(state, "create", "z", "--from", rootfs)
    m = mounted(state, "z", "--read-only")
    assert (m.mountpoint / "etc" / "motd").read_text() == "welcome\n"
    for attempt in (lambda: (m.mountpoint / "etc" / "motd").write_text("no"),
                    lambda: (m.mountpoint / "newfile").write_text("no"),
                    lambda: (m.mountpoint / "etc" / "secret").unlink(),
                    lambda: (m.mountpoint / "d").mkdir()):
        with pytest.raises(OSError) as e:
            attempt()
        assert e.value.errno == errno.EROFS
    assert os.listdir(state / "z" / "upper") == []
    zone(state, "umount", m.mountpoint)
    assert m.proc.wait(timeout=30) == 0


def test_mount_point_must_be_free(rootfs, state, fuse_ready, tmp_path):
    zone(state, "create", "z", "--from", rootfs)
    full = tmp_path / "full"
    full.mkdir()
    (full / "x").write_text("x")
    one_line_error(zone(state, "mount", "z", full, check=False), "not empty")
    one_line_error(zone(state, "mount", "z", tmp_path / "absent", check=False), "no such directory")
    one_line_error(zone(state, "umount", "/proc", check=False), "not a guise zone mount")
