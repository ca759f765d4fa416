"""Guest threads: pthreads (static and dynamic, both arches) and python threading,
compared with native runs; repeated to shake out scheduling races."""
import os

import pytest

from conftest import ROOT, SAMPLES, assert_same

VARIANTS = ["static-glibc-x86_64", "dynamic-glibc-x86_64", "static-musl-x86_64",
            "static-glibc-i386", "dynamic-glibc-i386", "static-musl-i386"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_pthreads_repeatedly(variant):
    for _ in range(4):
        assert_same([SAMPLES / f"threads-{variant}"], timeout=60)


def test_python_threads_pipes_queue_subprocess():
    assert_same(["/usr/bin/python3", ROOT / "tests" / "data" / "pipe_threads.py"], timeout=120)


def test_python_thread_pool_and_locks():
    code = ("import concurrent.futures as cf, threading\n"
            "lock = threading.Lock(); n = [0]\n"
            "def work(i):\n"
            "    for _ in range(200):\n"
            "        with lock: n[0] += 1\n"
            "    return i * i\n"
            "with cf.ThreadPoolExecutor(4) as ex: print(sum(ex.map(work, range(20))))\n"
            "ev = threading.Event(); threading.Timer(0.05, ev.set).start(); print(ev.wait(5), n[0])\n")
    assert_same(["/usr/bin/python3", "-c", code], timeout=120)


def test_multiprocessing_pool_and_queue():
    """Process-shared semaphores across fork: the host's futexes on shared host pages."""
    code = ("import multiprocessing as mp\n"
            "def sq(x): return x * x\n"
            "if __name__ == '__main__':\n"
            "    with mp.Pool(2) as pool: print(sum(pool.map(sq, range(100))))\n"
            "    q = mp.Queue(); p = mp.Process(target=q.put, args=(42,)); p.start()\n"
            "    print(q.get()); p.join(); print(p.exitcode)\n")
    assert_same(["/usr/bin/python3", "-c", code], timeout=180)


# a thread ends the process while the main thread waits on a pipe that stays open
THREAD_ENDS = {
    "exit_group": "threading.Timer(0.2, lambda: os._exit(5)).start()",
    "fatal signal": "threading.Timer(0.2, lambda: ctypes.string_at(8)).start()",
}


@pytest.mark.parametrize("how", THREAD_ENDS)
def test_a_thread_ends_the_process_while_main_blocks_in_read(how):
    """Linux ends every thread of the group at once: the main thread's read never
    returns, nothing more is printed, and the status is the thread's exit or signal."""
    code = f"import ctypes, os, sys, threading\n{THREAD_ENDS[how]}\nsys.stdin.buffer.read(1)\nprint('read returned')"
    r, w = os.pipe()
    try:
        with os.fdopen(r, "rb") as stdin:
            assert_same(["/usr/bin/python3", "-c", code], stdin=stdin, timeout=60)
    finally:
        os.close(w)
