"""Every committed sample binary, run natively and under guise: same stdout, stderr, status.

The samples cover files, errno paths, memory, mmap of files, time, floating point and
SSE, TLS, deep stacks and death by signal, signals, signalfd and POSIX timers, each
built static-musl, static-glibc and dynamic-glibc for x86-64 and i386 (see
samples/README.md).  The hostile ones (a fork bomb, signal floods, corrupted sigreturn
frames, bad pointers) are run by tests/test_hostile.py, with limits and time bounds.
"""
from __future__ import annotations

import hashlib

import pytest

from conftest import ROOT, SAMPLES

MANIFEST = ROOT / "samples" / "manifest.tsv"

# per program: extra argv (after the binary) and environment; "{tmp}" becomes the test's tmp dir
ARGS = {
    "args": (["one", "two words", "", "three"], {"GUISE_A": "alpha", "GUISE_B": "b=c"}),
    "getppid-loop": (["2000"], {}),
    "fileio": (["{tmp}/io.dat"], {}),
    "cpuloop": (["3000000"], {}),
}


# run by tests/test_hostile.py instead (with RLIMIT_NPROC, modes, time limits)
HOSTILE = {"forkbomb", "sigflood", "badframe", "badptrs"}
# not Linux programs: booted by tests/test_vm*.py on the virtual PC
MACHINE = {"mbkernel.elf", "mbvirtio.elf"}
# not Linux programs: Windows PE samples (and their DLLs) run by tests/test_windows*.py (against wine64)
WINDOWS_SUFFIX = (".exe", ".dll")


def manifest(hostile: bool = False):
    if not MANIFEST.exists():
        return []
    rows = [line.split("\t") for line in MANIFEST.read_text().splitlines()[1:] if line.strip()]
    return [(r[0], r[1]) for r in rows
            if r[0] not in MACHINE and not r[0].endswith(WINDOWS_SUFFIX) and (hostile or program(r[0]) not in HOSTILE)]


def program(name: str) -> str:
    for variant in ("-static-musl-", "-static-glibc-", "-dynamic-glibc-", "-static-"):
        if variant in name:
            return name.split(variant)[0]
    return name


@pytest.mark.parametrize("name,sha", manifest(), ids=[n for n, _ in manifest()])
def test_sample(name, sha, tmp_path):
    binary = SAMPLES / name
    assert hashlib.sha256(binary.read_bytes()).hexdigest() == sha, "binary does not match the manifest"
    extra, env = ARGS.get(program(name), ([], {}))
    argv = [binary] + [a.replace("{tmp}", str(tmp_path)) for a in extra]
    native_dir, guise_dir = tmp_path / "native", tmp_path / "guise"
    native_dir.mkdir()
    guise_dir.mkdir()
    # same relative work in two fresh directories, so runs cannot see each other's files
    from conftest import run_guise, run_native
    n = run_native(argv, cwd=native_dir, env=env)
    g = run_guise(argv, cwd=guise_dir, env=env)
    assert g.stdout == n.stdout, f"stdout:\nnative {n.stdout[-3000:]!r}\nguise  {g.stdout[-3000:]!r}\n{g.stderr[-2000:]!r}"
    assert g.stderr == n.stderr
    assert g.status == n.status
    assert sorted(p.name for p in guise_dir.iterdir()) == sorted(p.name for p in native_dir.iterdir())


def test_hostile_samples_are_committed():
    """test_hostile.py runs these; their binaries must match the manifest too."""
    rows = [(n, sha) for n, sha in manifest(hostile=True) if program(n) in HOSTILE]
    assert len(rows) == 6 * len(HOSTILE)
    for name, sha in rows:
        assert hashlib.sha256((SAMPLES / name).read_bytes()).hexdigest() == sha, name


def test_manifest_is_complete():
    names = {n for n, _ in manifest()}
    assert names, "samples/manifest.tsv is missing or empty"
    for arch in ("x86_64", "i386"):
        for kind in ("static-musl", "static-glibc", "dynamic-glibc"):
            assert f"hello-{kind}-{arch}" in names
