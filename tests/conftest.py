"""Shared test helpers: run a program natively and under guise, and compare.

Differential tests are the gold standard (ARCHITECTURE.md): the host is
x86-64 Linux, so every Linux program can run natively too.
"""
from __future__ import annotations

import dataclasses
import functools
import os
import shutil
import stat
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


def stdin_of(stdin) -> dict:
    """subprocess.run's keyword for ``stdin``: bytes go through a pipe, an open file is
    the program's stdin itself (a program may seek in it, as cmd.exe does)."""
    return {"stdin": stdin} if hasattr(stdin, "fileno") else {"input": stdin}


def run_native(argv, cwd=None, env=None, stdin=b"", timeout=TIMEOUT) -> Run:
    p = subprocess.run([str(a) for a in argv], cwd=cwd, env=_env(env), **stdin_of(stdin),
                       capture_output=True, timeout=timeout)
    return Run(p.returncode, p.stdout, p.stderr)


@functools.lru_cache(maxsize=None)
def _needs_pythonpath() -> bool:
    """Whether this Python finds this checkout's guise only through PYTHONPATH (a venv
    with `pip install -e .` finds it anyway, and then the guest's environment stays
    exactly the native one: no PYTHONPATH for a guest python3 or `env` to see)."""
    p = subprocess.run([sys.executable, "-c", "import guise; print(guise.__file__)"], cwd="/",
                       env=_env(), capture_output=True, text=True)
    return p.returncode != 0 or Path(p.stdout.strip()).resolve() != ROOT / "guise" / "__init__.py"


def run_guise(argv, cwd=None, env=None, stdin=b"", timeout=TIMEOUT, options=()) -> Run:
    """Run under guise; the guest gets the same environment as the native run."""
    cmd = [sys.executable, "-m", "guise", "run", *options, "--", *[str(a) for a in argv]]
    genv = _env(env)
    if _needs_pythonpath():
        genv["PYTHONPATH"] = str(ROOT)
    p = subprocess.run(cmd, cwd=cwd, env=genv, **stdin_of(stdin), capture_output=True, timeout=timeout)
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


def snapshot(root) -> dict:
    """Everything a program may have changed under ``root``: names, types, modes, contents,
    link targets, link counts and times (a time set to "now" shows as recent)."""
    out = {}
    for dirpath, dirs, files in os.walk(root):
        for name in sorted(dirs + files):
            full = os.path.join(dirpath, name)
            st = os.lstat(full)
            mtime = st.st_mtime_ns if st.st_mtime_ns < 1_700_000_000 * 10**9 else "recent"
            if stat.S_ISLNK(st.st_mode):
                what = os.readlink(full)
            elif stat.S_ISREG(st.st_mode):
                with open(full, "rb") as fh:
                    what = fh.read()
            else:
                what = None
            out[os.path.relpath(full, root)] = (stat.filemode(st.st_mode), st.st_nlink, mtime, what)
    return out


def assert_same_effects(argv, native_dir, guise_dir):
    """Run natively in one copy of a tree and under guise in another: same output, same tree."""
    n = run_native(argv, cwd=native_dir)
    g = run_guise(argv, cwd=guise_dir)
    assert (g.stdout, g.stderr, g.status) == (n.stdout, n.stderr, n.status), \
        f"{argv}:\nnative: {n.status} {n.stdout[:500]!r} {n.stderr[:500]!r}\nguise:  {g.status} {g.stdout[:500]!r} {g.stderr[-1000:]!r}"
    a, b = snapshot(native_dir), snapshot(guise_dir)
    assert a == b, f"{argv} left different files: " + \
        repr({k: (a.get(k), b.get(k)) for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)})[:3000]


def twin_copies(src, tmp_path_factory, mtime: int):
    """Two identical copies of the tree ``src`` (every time set to ``mtime``): one for
    the native run, one for guise, for programs that change files."""
    copies = []
    for side in ("native", "guise"):
        dest = tmp_path_factory.mktemp(side) / "t"
        shutil.copytree(src, dest, symlinks=True)
        for dirpath, dirs, files in os.walk(dest):
            for name in dirs + files:
                path = os.path.join(dirpath, name)
                if os.lstat(path).st_mtime_ns >= 0:      # keep deliberate pre-1970 times
                    os.utime(path, (mtime, mtime), follow_symlinks=False)
        os.utime(dest, (mtime, mtime))
        copies.append(dest)
    return copies


def load_or_none(data: bytes, name: str):
    """The loader's image of ``data``, or None when it refuses it, which it must
    do with a one-line LoaderError (the fuzz tests' oracle)."""
    import io
    from loader import LoaderError, load_image
    try:
        return load_image(io.BytesIO(data), name)
    except LoaderError as e:
        assert "\n" not in str(e)
        return None


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
