"""Windows guest threads and kernel32 synchronisation against wine64.

samples/src/win/threads.c runs every primitive (CreateThread, _beginthreadex,
ExitThread, events, mutexes incl. abandoned ones, semaphores, WaitForMultipleObjects,
critical sections, SRW locks, condition variables, interlocked instructions, TLS and
FLS slots, __thread, InitOnceExecuteOnce) with output that does not depend on
scheduling; with an argument it ends the process in the other ways a threaded
process can end.  Both builds are held to wine64's output for the PE32+ build.
"""
from __future__ import annotations

import os
import resource
import subprocess
import sys
import threading
import time

import pytest

from conftest import ROOT, SAMPLES
from test_windows import assert_mode_like_wine, guise, prefix, wine     # noqa: F401  (fixtures)


@pytest.mark.parametrize("arch", ["x64", "x86"])
@pytest.mark.parametrize("mode", [None, "exitprocess", "exitthread", "crash", "idle"])
def test_threads_same_as_wine(mode, arch, wine, prefix, tmp_path):  # noqa: F811
    args = [mode] if mode else []
    wstatus, wout = wine([SAMPLES / "threads-x64.exe", *args], tmp_path)
    g = guise([SAMPLES / f"threads-{arch}.exe", *args], tmp_path, prefix)
    assert g.stdout == wout, f"stdout differs\nwine  {wout!r}\nguise {g.stdout!r}\n{g.stderr[-2000:]!r}"
    assert g.status == wstatus, g.stderr


def test_waits_block_instead_of_spinning(prefix, tmp_path):  # noqa: F811
    """1.5 s spent in WaitForSingleObject and Sleep, with a second guest thread alive:
    the emulator's CPU time stays far below the wall time."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    g = guise([SAMPLES / "threads-x64.exe", "idle"], tmp_path, prefix)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert g.status == 0, g.stderr
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert wall >= 1.5
    assert cpu < wall - 1.0, (cpu, wall)


def test_thread_api_calls_are_traced_per_thread(prefix, tmp_path):  # noqa: F811
    g = guise([SAMPLES / "threads-x64.exe", "exitthread"], tmp_path, prefix, options=["--trace"])
    assert g.status == 4
    lines = g.stderr.decode().splitlines()
    assert any(line.startswith("KERNEL32.dll!CreateThread(") for line in lines), lines[:40]
    assert any(line.startswith("KERNEL32.dll!ExitThread(1)") for line in lines), lines[:40]


@pytest.mark.parametrize("arch", ["x64", "x86"])
@pytest.mark.parametrize("case", ["pipewait", "pipewait-exit", "suspend", "dllthreads"])
def test_thread_control_same_as_wine(case, arch, wine, prefix, tmp_path):  # noqa: F811
    """pipewait.c: the main thread blocks in ReadFile on a CreatePipe pipe that only a
    second thread writes to (or the second thread ends the process meanwhile);
    suspend.c: suspend counts, a suspended thread stands still, Get/SetThreadContext;
    dllthreads.c: DLL_THREAD_ATTACH/DETACH to a LoadLibrary'd DLL (thrlib.c) and the
    program's TLS callback, and DisableThreadLibraryCalls refused for a DLL with TLS."""
    assert_mode_like_wine(case, arch, wine, prefix, tmp_path)


@pytest.mark.parametrize("arch", ["x64", "x86"])
def test_thread_runs_while_main_reads_stdin(arch, prefix, tmp_path):  # noqa: F811
    """The second thread's line arrives while the main thread waits in ReadFile on its
    standard input, before any input is written."""
    cmd = [sys.executable, "-m", "guise", "run", "--", str(SAMPLES / f"pipewait-{arch}.exe"), "stdin"]
    env = {**os.environ, "GUISE_WINDOWS_PREFIX": str(prefix), "PYTHONPATH": str(ROOT)}
    with subprocess.Popen(cmd, cwd=tmp_path, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE) as p:
        deadline = threading.Timer(60, p.kill)        # a thread that never runs would hang here
        deadline.start()
        try:
            first = p.stdout.readline()
            p.stdin.write(b"typed")
            p.stdin.close()
            rest = p.stdout.read()
        finally:
            deadline.cancel()
        assert p.wait() == 0
    assert first == b"ticker: the main thread is reading\r\n"
    assert rest == b"main: ReadFile 1, 5 bytes: typed\r\n"
