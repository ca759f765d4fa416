"""Sockets and event descriptors: TCP on loopback, socketpair with SCM_RIGHTS,
AF_UNIX datagrams, asyncio over epoll, and a python http.server under guise
answering a client on the host."""
import re
import subprocess
import sys
import urllib.request

from conftest import ROOT, assert_same


def test_sockets_script():
    assert_same(["/usr/bin/python3", ROOT / "tests" / "data" / "sockets.py"], timeout=120)


def test_asyncio_echo():
    assert_same(["/usr/bin/python3", ROOT / "tests" / "data" / "asyncio_echo.py"], timeout=120)


def test_http_server_answers_host_client(tmp_path):
    (tmp_path / "page.txt").write_text("served by a guest\n")
    cmd = [sys.executable, "-m", "guise", "run", "--", "/usr/bin/python3", "-u", "-m", "http.server",
           "0", "--bind", "127.0.0.1", "--directory", str(tmp_path)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    try:
        line = proc.stdout.readline().decode()
        port = int(re.search(r"port (\d+)", line).group(1))
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/page.txt", timeout=60).read()
        assert body == b"served by a guest\n"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
