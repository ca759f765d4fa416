"""Hostile guests: a fork bomb, signal floods, corrupted sigreturn frames, bad pointers.

Each guest is a sample (samples/src: forkbomb, sigflood, badframe, badptrs), run natively
and under guise with the same limits; guise must end as the native run does — same
stdout, stderr and exit status — within a time limit, leaving no process behind.  Every
run is a session of its own, so whatever it leaves can be found (and killed) by its
process group.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import ROOT, SAMPLES, _env, _needs_pythonpath

VARIANTS = ("static-musl-x86_64", "static-glibc-x86_64", "dynamic-glibc-x86_64",
            "static-musl-i386", "static-glibc-i386", "dynamic-glibc-i386")
TIMEOUT = 120
NPROC = 24            # the fork bomb's RLIMIT_NPROC
BOMB_UID = 65500      # + the variant's index: RLIMIT_NPROC counts per user, and bombs run in parallel


def _group(pgid: int) -> list[int]:
    """Live (not zombie) processes of process group ``pgid``."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            out.append(int(name))
    return out


def _tasks_of(uid: int) -> int:
    n = 0
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if os.stat(f"/proc/{name}").st_uid == uid:
                    n += len(os.listdir(f"/proc/{name}/task"))
            except OSError:
                pass
    return n


def run_bounded(argv, guise: bool, prefix=(), cwd=None):
    """(status, stdout, stderr) of ``argv`` natively or under guise, in a new session;
    fails the test if it outlives TIMEOUT or leaves a process of its group behind."""
    env = _env()
    cmd = [str(a) for a in argv]
    if guise:
        cmd = [sys.executable, "-m", "guise", "run", "--"] + cmd
        if _needs_pythonpath():
            env["PYTHONPATH"] = str(ROOT)
    p = subprocess.Popen(list(prefix) + cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=env, cwd=cwd, start_new_session=True)
    try:
        out, err = p.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        pytest.fail(f"{'guise' if guise else 'native'} run of {argv} did not end in {TIMEOUT} s")
    deadline = time.monotonic() + 5
    while _group(p.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = _group(p.pid)
    if left:
        os.killpg(p.pid, signal.SIGKILL)
        pytest.fail(f"{'guise' if guise else 'native'} run of {argv} left processes {left}")
    return p.returncode, out, err


def assert_same_bounded(argv, prefix=(), cwd=None):
    n = run_bounded(argv, False, prefix, cwd)
    g = run_bounded(argv, True, prefix, cwd)
    assert g[1] == n[1], f"stdout:\nnative {n[1][-3000:]!r}\nguise  {g[1][-3000:]!r}\nguise stderr {g[2][-2000:]!r}"
    assert g[2] == n[2]
    assert g[0] == n[0], f"status: native {n[0]}, guise {g[0]}; guise stderr {g[2][-2000:]!r}"
    return n


def _nproc_prefix(uid: int):
    """Run under RLIMIT_NPROC.  Linux does not apply it to root, so as root the run is
    moved to an unused ``uid`` of its own, keeping only the capabilities to read files
    (the interpreter may live under /root); as anyone else the limit counts the user's
    existing tasks."""
    if os.geteuid() == 0:
        caps = "+dac_override,+dac_read_search"
        return ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                f"--inh-caps={caps}", f"--ambient-caps={caps}", "prlimit", f"--nproc={NPROC}", "--"]
    return ["prlimit", f"--nproc={_tasks_of(os.getuid()) + NPROC}", "--"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_fork_bomb(variant):
    """Every guest process forks until RLIMIT_NPROC stops it; guise forks the emulator for
    each, so the limit binds it the same way, and everything ends and is reaped."""
    n = assert_same_bounded([SAMPLES / f"forkbomb-{variant}"], _nproc_prefix(BOMB_UID + VARIANTS.index(variant)))
    assert n[0] == 0 and b"a fork failed with Resource temporarily unavailable" in n[1], n


@pytest.mark.parametrize("variant", VARIANTS)
def test_signal_flood(variant):
    """5000 handshaken SIGUSR1s counted exactly, a 5000-signal burst survived, 3000 queued
    real-time signals taken with sigwaitinfo and 2000 run by a handler, all counted."""
    n = assert_same_bounded([SAMPLES / f"sigflood-{variant}"])
    assert n[1].count(b"5000 of 5000") == 1 and b"3000 of 3000, sum right" in n[1] \
        and b"2000 of 2000, sum right" in n[1], n


@pytest.mark.parametrize("mode", ["garbage", "fpstate", "badsp", "legacy"])
@pytest.mark.parametrize("variant", VARIANTS)
def test_corrupted_sigreturn(variant, mode):
    """A handler that wrecks its ucontext, or points its FPU state at nothing, and
    rt_sigreturn/sigreturn with the stack pointer on an unmapped page: SIGSEGV, as on Linux."""
    n = assert_same_bounded([SAMPLES / f"badframe-{variant}", mode])
    assert n[0] == -signal.SIGSEGV and n[1] == f"mode {mode}\n".encode(), n


@pytest.mark.parametrize("variant", VARIANTS)
def test_bad_pointers(variant):
    """EFAULT from rt_sigaction, rt_sigprocmask, rt_sigpending, rt_sigsuspend,
    rt_sigtimedwait, rt_sigqueueinfo, sigaltstack, sendmsg and recvmsg, in Linux's order."""
    n = assert_same_bounded([SAMPLES / f"badptrs-{variant}"])
    assert n[0] == 0 and n[1].count(b"Bad address") == 19, n
