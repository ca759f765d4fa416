"""Shared test helpers: run a program natively and under guise, and compare.

Differential tests are the gold standard (ARCHITECTURE.md): the host is
x86-64 Linux, so every Linux program can run natively too.
"""
from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples" / "bin"
CACHE = ROOT / ".cache"
BUSYBOX = {"x86_64": Path("/bin/busybox"), "i386": CACHE / "busybox-i386" / "bin" / "busybox"}
TIMEOUT = 300


@dataclasses.dataclass
class Run:
    status: int          # like subprocess: negative = killed by that signal
    stdout: bytes
    stderr: bytes


def _env(extra=None):
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LC_ALL": "C", "LANG": "C", "HOME": "/root",
           "TZ": "UTC", "TERM": "dumb"}
    if extra:
        env.update(extra)
    return env


def run_native(argv, cwd=None, env=None, stdin=b"", timeout=TIMEOUT) -> Run:
    p = subprocess.run([str(a) for a in argv], cwd=cwd, env=_env(env), input=stdin,
                       capture_output=True, timeout=timeout)
    return Run(p.returncode, p.stdout, p.stderr)


def run_guise(argv, cwd=None, env=None, stdin=b"", timeout=TIMEOUT, options=()) -> Run:
    """Run under guise; the guest gets the same environment as the native run."""
    cmd = [sys.executable, "-m", "guise", "run", *options, "--", *[str(a) for a in argv]]
    genv = _env(env)
    genv["PYTHONPATH"] = str(ROOT)
    p = subprocess.run(cmd, cwd=cwd, env=genv, input=stdin, capture_output=True, timeout=timeout)
    return Run(p.returncode, p.stdout, p.stderr)


def assert_same(argv, cwd=None, env=None, stdin=b"", check_stderr=True, timeout=TIMEOUT):
    """Native and guise runs agree on stdout, stderr and exit status; returns the guise run."""
    n = run_native(argv, cwd=cwd, env=env, stdin=stdin, timeout=timeout)
    g = run_guise(argv, cwd=cwd, env=env, stdin=stdin, timeout=timeout)
    assert g.stdout == n.stdout, f"stdout differs for {argv}:\nnative: {n.stdout[:2000]!r}\nguise:  {g.stdout[:2000]!r}\nguise stderr: {g.stderr[-2000:]!r}"
    if check_stderr:
        assert g.stderr == n.stderr, f"stderr differs for {argv}:\nnative: {n.stderr[:2000]!r}\nguise:  {g.stderr[:2000]!r}"
    assert g.status == n.status, f"status differs for {argv}: native {n.status}, guise {g.status}; stderr {g.stderr[-2000:]!r}"
    return g


def need(path: Path, how: str):
    """Tests must not silently skip on CI: a missing prerequisite is an error there."""
    if not Path(path).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{path} missing: {how}")
        pytest.skip(f"{path} missing: {how}")
    return path


@pytest.fixture
def workdir(tmp_path):
    return tmp_path
