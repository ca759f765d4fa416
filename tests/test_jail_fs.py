"""The jail's file-system view through `guise run`: roots, overlay, binds, tmpfs.

Each test runs the host's static busybox (and the host's own dynamic programs)
inside a jail and checks what a user would: the output, the exit status, and
that the host tree outside (and the overlay's lower tree) did not change.
Both resolvers run: the kernel's openat2 fast path and the component walk.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys

import pytest

from conftest import BUSYBOX, ROOT

pytestmark = pytest.mark.skipif(not BUSYBOX["x86_64"].exists(), reason="busybox-static missing: make deps-test")


@pytest.fixture(params=["openat2", "walk"])
def resolver(request):
    return request.param


def jrun(options, argv, resolver="openat2", stdin=None, cwd=None, pass_fds=()):
    env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C", "HOME": "/root"}
    if resolver == "walk":
        env["GUISE_RESOLVER"] = "walk"
    return subprocess.run([sys.executable, "-m", "guise", "run", *options, "--", *argv],
                          capture_output=True, env=env, timeout=120, cwd=cwd or ROOT,
                          input=stdin, pass_fds=pass_fds)


def tree_digest(top) -> dict:
    """Every path under ``top`` with its type, mode, size, mtime and content hash."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(top):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            h = None
            if os.path.isfile(p) and not os.path.islink(p):
                with open(p, "rb") as f:
                    h = hashlib.sha256(f.read()).hexdigest()
            elif os.path.islink(p):
                h = os.readlink(p)
            out[os.path.relpath(p, top)] = (st.st_mode, st.st_size, st.st_mtime_ns, h)
    return out


@pytest.fixture
def jroot(tmp_path):
    root = tmp_path / "root"
    for d in ("bin", "etc/sub", "tmp", "work"):
        (root / d).mkdir(parents=True)
    shutil.copy(BUSYBOX["x86_64"], root / "bin" / "busybox")
    for applet in ("sh", "ls", "cat", "echo", "mv", "rm", "mkdir", "readlink", "pwd", "touch", "ln"):
        (root / "bin" / applet).symlink_to("busybox")
    (root / "etc" / "secret").write_text("inside\n")
    (root / "etc" / "sub" / "a").write_text("a\n")
    (root / "etc" / "sub" / "b").write_text("b\n")
    (tmp_path / "outside").write_text("HOST\n")
    return root


def test_root_shows_only_the_root(jroot, resolver):
    r = jrun(["--root", str(jroot)], ["/bin/sh", "-c", "ls /; cat /etc/secret; cat ../../../outside; pwd"],
             resolver)
    assert r.stdout == b"bin\ndev\netc\nproc\ntmp\nwork\ninside\n/\n", r.stderr
    assert b"No such file" in r.stderr
    assert r.returncode == 0


def test_rw_root_writes_land_in_it(jroot, resolver):
    r = jrun(["--root", str(jroot), "--cwd", "/work"], ["/bin/sh", "-c", "echo hi > f; pwd"], resolver)
    assert (r.returncode, r.stdout) == (0, b"/work\n"), r.stderr
    assert (jroot / "work" / "f").read_text() == "hi\n"


def test_ro_root_refuses_writes(jroot, resolver):
    before = tree_digest(jroot)
    r = jrun(["--root", f"{jroot}:ro"], ["/bin/sh", "-c", "echo x > /etc/secret || exit 7; echo no"], resolver)
    assert r.returncode == 7 and b"Read-only file system" in r.stderr, r.stderr
    r = jrun(["--root", f"{jroot}:ro"], ["/bin/mkdir", "/newdir"], resolver)
    assert r.returncode == 1 and b"Read-only file system" in r.stderr
    assert tree_digest(jroot) == before


def test_overlay_never_touches_the_lower_tree(jroot, resolver):
    before = tree_digest(jroot.parent)
    script = ("echo changed > /etc/secret; cat /etc/secret; rm /etc/sub/a; ls /etc/sub; "
              "mkdir -p /new/deep; echo n > /new/deep/f; cat /new/deep/f; "
              "rm /bin/cat; ls /bin | grep -c cat; mv /etc/sub /etc/moved && ls /etc; ls /etc/moved; "
              "touch /etc/sub; ls -l /etc | grep -c sub")
    r = jrun(["--root", str(jroot), "--overlay"], ["/bin/busybox", "sh", "-c", script], resolver)
    assert r.stdout == b"changed\nb\nn\n0\nmoved\nsecret\nb\n1\n", r.stderr
    assert r.returncode == 0
    assert tree_digest(jroot.parent) == before


def test_overlay_rmdir_and_recreate_hides_lower(jroot, resolver):
    r = jrun(["--root", str(jroot), "--overlay"],
             ["/bin/busybox", "sh", "-c", "rm -r /etc/sub; mkdir /etc/sub; ls -a /etc/sub; echo; "
                                          "rmdir /etc 2>&1; ls /etc"], resolver)
    assert r.stdout == b".\n..\n\nrmdir: '/etc': Directory not empty\nsecret\nsub\n", r.stderr


def test_binds_and_tmpfs(jroot, tmp_path, resolver):
    data = tmp_path / "data"
    data.mkdir()
    (data / "in").write_text("bound\n")
    ro = tmp_path / "rodata"
    ro.mkdir()
    (ro / "x").write_text("ro\n")
    r = jrun(["--root", str(jroot), "--bind", f"{data}:/mnt/data", "--bind", f"{ro}:/mnt/ro:ro",
              "--tmpfs", "/tmp"],
             ["/bin/sh", "-c", "cat /mnt/data/in; echo w > /mnt/data/out; cat /mnt/ro/x; "
                               "echo y > /mnt/ro/y || echo refused; echo t > /tmp/t; ls /tmp; "
                               "ls -ld /tmp | cut -c1-10; ln /mnt/data/in /tmp/l 2>&1 | grep -c 'cross-device'"],
             resolver)
    assert r.stdout == b"bound\nro\nrefused\nt\ndrwxrwxrwt\n1\n", r.stderr
    assert (data / "out").read_text() == "w\n"
    assert not (ro / "y").exists()
    assert not any(p.name == "t" for p in (jroot / "tmp").iterdir())


def test_guest_never_sees_host_paths(jroot, resolver):
    r = jrun(["--root", str(jroot), "--overlay", "--cwd", "/etc"],
             ["/bin/sh", "-c", "readlink /proc/self/exe; pwd; readlink /proc/self/cwd; cat /proc/self/maps; "
                               "cat /proc/self/mountinfo; cat /proc/self/mounts; ls -l /proc/self/fd/ < /etc/secret"],
             resolver)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(b"/bin/busybox\n/etc\n/etc\n")
    assert str(jroot.parent).encode() not in r.stdout
    assert b"/tmp/guise-" not in r.stdout
    assert b"0 -> /etc/secret" in r.stdout


def test_only_std_descriptors_are_inherited(jroot, resolver):
    fd = os.open(jroot.parent / "outside", os.O_RDONLY)
    try:
        os.set_inheritable(fd, True)
        r = jrun(["--root", str(jroot)], ["/bin/sh", "-c", f"cat <&{fd} || echo closed"], resolver,
                 pass_fds=(fd,))
    finally:
        os.close(fd)
    assert b"HOST" not in r.stdout and b"closed" in r.stdout, (r.stdout, r.stderr)


def test_exec_of_outside_paths_fails(jroot, resolver):
    r = jrun(["--root", str(jroot)], ["/bin/sh", "-c", "/usr/bin/python3 -c 1; echo $?"], resolver)
    assert r.stdout == b"127\n"
    r = jrun(["--root", str(jroot)], ["/usr/bin/python3", "-c", "1"], resolver)
    assert r.returncode == 127 and b"No such file" in r.stderr


def test_host_programs_in_a_read_only_host_root(tmp_path, resolver):
    """The host's own dynamically linked programs in `--root /:ro --overlay`: ld.so and
    libc come through the jail; writes stay in the overlay."""
    marker = tmp_path / "marker"
    marker.write_text("before\n")
    r = jrun(["--root", "/:ro", "--overlay"],
             ["/bin/sh", "-c", f"ls /etc/hostname && echo after > {marker} && cat {marker} && "
                               "python3 -c 'import json; print(json.dumps([1]))'"], resolver)
    assert r.stdout == b"/etc/hostname\nafter\n[1]\n", r.stderr
    assert marker.read_text() == "before\n"


def test_guest_chroot_nests_inside_the_jail(jroot, resolver):
    r = jrun(["--root", str(jroot), "--overlay"],
             ["/bin/busybox", "sh", "-c",
              "mkdir -p /j/bin && cp /bin/busybox /j/bin/ && echo jailed > /j/f && "
              "busybox chroot /j /bin/busybox sh -c 'cat /f; cd ../../..; ls; cat /etc/secret 2>&1'"],
             resolver)
    assert r.stdout == b"jailed\nbin\nf\ncat: can't open '/etc/secret': No such file or directory\n", r.stderr


def test_fd_based_changes_never_reach_the_lower_tree(tmp_path, resolver):
    """fchmod/fchown/futimens/fsetxattr on a descriptor opened read-only: in an overlay
    they land on a copied-up file; on a read-only root they are refused."""
    target = tmp_path / "lower.txt"
    target.write_text("data\n")
    os.chmod(target, 0o644)
    before = tree_digest(tmp_path)
    code = (f"import os; fd = os.open('{target}', os.O_RDONLY); os.fchmod(fd, 0o600); "
            "os.utime(fd, (1, 1)); os.setxattr(fd, 'user.k', b'v'); "
            f"st = os.stat('{target}'); print(oct(st.st_mode & 0o777), int(st.st_mtime), "
            f"os.getxattr('{target}', 'user.k'))")
    r = jrun(["--root", "/:ro", "--overlay"], ["/usr/bin/python3", "-c", code], resolver)
    assert r.stdout == b"0o600 1 b'v'\n", r.stderr
    r = jrun(["--root", "/:ro"], ["/usr/bin/python3", "-c", code], resolver)
    assert r.returncode == 1 and b"Read-only file system" in r.stderr
    assert tree_digest(tmp_path) == before


def test_reopen_through_proc_fd_for_writing_copies_up(tmp_path, resolver):
    target = tmp_path / "lower.txt"
    target.write_text("data\n")
    code = (f"import os; fd = os.open('{target}', os.O_RDONLY); "
            "w = os.open(f'/proc/self/fd/{fd}', os.O_WRONLY | os.O_TRUNC); os.write(w, b'new'); "
            f"print(open('{target}').read())")
    r = jrun(["--root", "/:ro", "--overlay"], ["/usr/bin/python3", "-c", code], resolver)
    assert r.stdout == b"new\n", r.stderr
    assert target.read_text() == "data\n"
