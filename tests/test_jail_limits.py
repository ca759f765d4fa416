"""Jail-wide limits through `guise run --limit`: one bomb per limit.

Each bomb must end within seconds of its limit with a one-line message naming
the limit, the limit's own exit status, and no guest process left on the host.
The host's static busybox plays the bombs (a shell function fork bomb, a
string that doubles forever, `yes`, `dd` onto a disk, an endless loop).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid

import pytest

from conftest import BUSYBOX, ROOT
from test_jail_fs import tree_digest

pytestmark = pytest.mark.skipif(not BUSYBOX["x86_64"].exists(), reason="busybox-static missing: make deps-test")

BB = str(BUSYBOX["x86_64"])
STATUS = {"cpu": 117, "mem": 118, "procs": 119, "disk": 120, "output": 121, "time": 124}


def bomb(limit, argv, options=(), timeout=60):
    """Run ``argv`` in a jail with ``--limit limit``; (completed process, seconds, marker).
    The marker (a unique host name) is in every guest process's host command line."""
    marker = f"bomb-{uuid.uuid4().hex[:12]}"
    t0 = time.monotonic()
    p = subprocess.run([sys.executable, "-m", "guise", "run", "--root", "/", "--hostname", marker,
                        "--limit", limit, *options, "--", *argv],
                       capture_output=True, timeout=timeout, cwd=ROOT,
                       env={"PATH": "/usr/bin:/bin", "LC_ALL": "C", "HOME": "/root"})
    return p, time.monotonic() - t0, marker


def leftovers(marker) -> list[int]:
    """Host processes still running with ``marker`` in their command line."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as f:
                if marker.encode() in f.read():
                    found.append(int(name))
        except OSError:
            pass
    return found


def assert_ended_by(p, marker, name):
    err = p.stderr.decode(errors="replace")
    assert p.returncode == STATUS[name], f"status {p.returncode}, stderr {err[-1500:]}"
    # the guests may leave half a line behind them: the message is at the end of the last line
    assert err.rstrip("\n").splitlines()[-1].split("guise: ")[-1].startswith(f"the jail reached its {name} limit"), \
        err[-1500:]
    time.sleep(0.2)
    assert leftovers(marker) == [], f"guest processes left behind: {leftovers(marker)}"


def test_fork_bomb_ends_at_the_procs_limit():
    # the shell retries forever on EAGAIN: the jail must end it, not wait for it
    p, took, marker = bomb("procs=12,time=60s", [BB, "sh", "-c", "b(){ b|b& }; b; sleep 100"])
    assert_ended_by(p, marker, "procs")
    assert b"can't fork" in p.stderr            # fork failed with EAGAIN first, as on Linux
    assert took < 30


def test_memory_bomb_gets_enomem_then_ends():
    p, took, marker = bomb("mem=64M,time=60s", [BB, "sh", "-c", "x=0123456789abcdef; while :; do x=$x$x; done"])
    assert_ended_by(p, marker, "mem")
    assert b"out of memory" in p.stderr           # busybox saw malloc fail (ENOMEM)
    assert took < 30


def test_endless_loop_ends_at_the_cpu_limit():
    p, took, marker = bomb("cpu=2s,time=60s", [BB, "sh", "-c", "while :; do :; done"])
    assert_ended_by(p, marker, "cpu")
    assert 1.5 < took < 15


def test_cpu_limit_counts_all_processes_together():
    # two spinning children: the jail's CPU is theirs together, so it ends in about half the time
    p, took, marker = bomb("cpu=4s,time=60s",
                           [BB, "sh", "-c", "(while :; do :; done) & (while :; do :; done) & wait"])
    assert_ended_by(p, marker, "cpu")
    assert took < 4 + 8


def test_yes_ends_at_the_output_limit():
    p, took, marker = bomb("output=64K,time=60s", ["/usr/bin/yes", "spam"])
    assert_ended_by(p, marker, "output")
    assert len(p.stdout) <= 64 * 1024 and p.stdout.startswith(b"spam\nspam\n")
    assert took < 30


def test_disk_filler_gets_enospc_and_the_lower_tree_is_untouched(tmp_path):
    root = tmp_path / "root"
    (root / "bin").mkdir(parents=True)
    (root / "data").mkdir()
    os.link(BB, root / "bin" / "busybox") if os.stat(BB).st_dev == os.stat(tmp_path).st_dev \
        else __import__("shutil").copy(BB, root / "bin" / "busybox")
    before = tree_digest(root)
    marker = f"bomb-{uuid.uuid4().hex[:12]}"
    p = subprocess.run([sys.executable, "-m", "guise", "run", "--root", str(root), "--overlay",
                        "--hostname", marker, "--limit", "disk=4M,time=60s", "--",
                        "/bin/busybox", "dd", "if=/dev/zero", "of=/data/fill", "bs=64k"],
                       capture_output=True, timeout=60, cwd=ROOT)
    assert_ended_by(p, marker, "disk")
    assert b"No space left on device" in p.stderr
    assert tree_digest(root) == before


def test_growing_a_file_by_truncate_counts_against_disk(tmp_path):
    # a file made large by ftruncate could be filled through a shared mmap, which no
    # write() counts: its growth is what counts, and past the limit it is refused
    root = tmp_path / "root"
    (root / "bin").mkdir(parents=True)
    shutil.copy(BB, root / "bin" / "busybox")
    before = tree_digest(root)
    p, _, marker = bomb("disk=4M,time=60s", ["/bin/busybox", "sh", "-c",
                        "busybox truncate -s 2M /small && busybox truncate -s 64M /big; "
                        "busybox ls -l /small /big; sleep 5"],
                        options=("--root", str(root), "--overlay"))
    assert_ended_by(p, marker, "disk")
    assert b"No space left on device" in p.stderr
    listing = p.stdout.decode()
    assert " 2097152 " in listing and " 67108864 " not in listing, listing
    assert tree_digest(root) == before


def test_wall_clock_limit_like_timeout():
    p, took, marker = bomb("time=1s", [BB, "sleep", "30"])
    assert_ended_by(p, marker, "time")
    assert took < 10


def test_files_limit_is_emfile_and_the_program_goes_on():
    # EMFILE as at Linux's own limit, counted over the whole jail: the subshell's
    # inherited descriptors count too; the jail is not ended for it
    script = "exec 3</dev/null 4</dev/null; (exec 5</dev/null 6</dev/null 7</dev/null 8</dev/null) || echo refused; " \
             "exec 5</dev/null; echo done"
    p, _, marker = bomb("files=12", [BB, "sh", "-c", script])
    assert (p.returncode, p.stdout) == (0, b"refused\ndone\n"), p.stderr
    assert b"Too many open files" in p.stderr


def test_limits_leave_a_well_behaved_program_alone():
    p, _, marker = bomb("cpu=30s,mem=512M,files=64,procs=16,disk=10M,output=1M,time=60s",
                        [BB, "sh", "-c", "echo one; (echo two) | cat; ls / >/dev/null; echo three"],
                        options=("--overlay",))
    assert (p.returncode, p.stdout) == (0, b"one\ntwo\nthree\n"), p.stderr
    assert b"limit" not in p.stderr


def test_background_processes_end_with_the_jail():
    # as when a PID namespace's init exits: nothing the jail started outlives it
    p, _, marker = bomb("time=60s", [BB, "sh", "-c", "sleep 100 & sleep 100 & echo started"])
    assert (p.returncode, p.stdout) == (0, b"started\n"), p.stderr
    time.sleep(0.2)
    assert leftovers(marker) == []


@pytest.mark.parametrize("spec, message", [
    ("mem=lots", "expected a number"), ("cpu=-1s", "expected a number"), ("nonsense=3", "expected NAME=VALUE"),
    ("procs=0", "more than zero"), ("files=1.5", "expected a number"),
])
def test_bad_limit_specs_are_one_line_errors(spec, message):
    p = subprocess.run([sys.executable, "-m", "guise", "run", "--limit", spec, "--", BB, "true"],
                       capture_output=True, timeout=60, cwd=ROOT)
    err = p.stderr.decode()
    assert p.returncode == 2 and err.count("\n") == 1 and message in err, err


def _gone(path, seconds=10.0) -> bool:
    """Whether ``path`` is empty within ``seconds`` (the remover works in the background)."""
    deadline = time.monotonic() + seconds
    while any(path.iterdir()):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.mark.parametrize("sig", [9, 11])
@pytest.mark.parametrize("supervised", [False, True])
def test_a_guest_killed_by_a_signal_leaves_no_layers_behind(tmp_path, sig, supervised):
    # even SIGKILL, which no process can clean up after, leaves no temporary layer
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    limit = ["--limit", "time=60s"] if supervised else []
    p = subprocess.run([sys.executable, "-m", "guise", "run", "--root", "/:ro", "--overlay", "--tmpfs", "/tmp",
                        *limit, "--", BB, "sh", "-c", f"echo x > /f; echo y > /tmp/g; kill -{sig} $$"],
                       capture_output=True, timeout=60, cwd=ROOT,
                       env={"PATH": "/usr/bin:/bin", "TMPDIR": str(tmp)})
    assert p.returncode == -sig, p.stderr
    assert p.stderr == b""
    assert _gone(tmp), list(tmp.iterdir())


def test_a_plain_jail_keeps_its_layer_while_background_processes_use_it(tmp_path):
    # a jail without a supervisor ends like chroot: what runs on in the background
    # keeps its overlay until it ends too
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    p = subprocess.run([sys.executable, "-m", "guise", "run", "--root", "/:ro", "--overlay",
                        "--bind", f"{out}:/out", "--", BB, "sh", "-c",
                        "echo early > /f; (sleep 3; cat /f > /out/late) >/dev/null 2>&1 & echo started"],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=60, cwd=ROOT,
                       env={"PATH": "/usr/bin:/bin", "TMPDIR": str(tmp)})
    # (stderr not captured: every emulator process keeps a copy of it for guise's own
    # messages, so a pipe there would stay open until the background process ends)
    assert (p.returncode, p.stdout) == (0, b"started\n")
    assert any(tmp.iterdir())                   # the background process still uses it
    assert _gone(tmp, 30), list(tmp.iterdir())  # ... until it ends
    assert (out / "late").read_bytes() == b"early\n"
