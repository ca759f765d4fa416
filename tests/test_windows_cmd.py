"""Wine's cmd.exe without /c: an interactive session that reads its commands from
stdin, against wine64 running the same cmd.exe on the same stdin.

stdin is a file, as with ``cmd.exe < script.txt``: cmd reads a block, finds the end
of the first line with CharNextExA (in the console's code page) and seeks back to
the start of the next one.  On a pipe that seek fails, so Wine's cmd loses what
followed the first line of each block; the pipe cases hold guise to that too.

Three things differ by design and are masked: the directory each run stands in, and
the version in the banner (guise presents Windows 10; the wine prefix says what
its own Windows version is), and Wine's wording of a system message on stderr.
"""
from __future__ import annotations

import os
import pty
import re
import select
import sys
import time

import pytest

from conftest import ROOT
from test_windows import guise, prefix, wine  # noqa: F401  (fixtures)

CMD = "/usr/lib/x86_64-linux-gnu/wine/x86_64-windows/cmd.exe"

SESSION = """\
echo hi
set GUISE_A=alpha
echo %GUISE_A% and %GUISE_MISSING%
set GUISE_A
if "%GUISE_A%"=="alpha" (echo equal) else (echo differ)
if not exist nothing.txt echo no such file
if exist a.txt echo a.txt is here
for %i in (one two three) do @echo item %i
for /l %n in (1,2,7) do @echo n=%n
mkdir sub
cd sub
cd
echo inside> f.txt
type f.txt
cd ..
type a.txt
type sub\\f.txt
prompt $P$G$G
echo with prompt
prompt [$Q$$$_]
echo two-line prompt
prompt
echo off
echo quiet
echo on
rem nothing
echo %ERRORLEVEL%
type missing.txt
echo %ERRORLEVEL%
set /a X=6*7
echo.
echo %CD%
cd nowhere
exit 5
"""

FILES = """\
pushd sub
cd
popd
md newdir
rd newdir
echo x> x.txt
copy x.txt y.txt
ren y.txt z.txt
move z.txt moved.txt
move /y moved.txt a.txt
ren x.txt a.txt
del x.txt
dir /b
type a.txt
setlocal
set LOCALV=1
endlocal
echo [%LOCALV%]
verify
echo %PROCESSOR_ARCHITECTURE% %OS%
cls
ver
call echo called
exit /b 6
"""

CASES = {
    "session": (SESSION.replace("\n", "\r\n"), "file"),
    "files": (FILES.replace("\n", "\r\n"), "file"),
    "unix line ends": ("echo one\nset V=2\necho v is %V%\nexit 7\n", "file"),
    "end of input": ("echo last\r\n", "file"),
    "exit 0": ("exit 0\r\n", "file"),
    "exit on a pipe": ("exit 3\r\n", "pipe"),
    # Wine's cmd keeps only the first line of what one read from a pipe returns
    "pipe loses the rest": ("echo hi\r\nexit 3\r\n", "pipe"),
}


def masked(out: bytes, cwd) -> bytes:
    out = out.replace(str(cwd).replace("/", "\\").encode(), b"CWD")
    return re.sub(rb"Microsoft Windows \d+\.\d+\.\d+", b"Microsoft Windows VERSION", out)


def setup(d):
    d.mkdir()
    (d / "a.txt").write_bytes(b"a\r\nsecond line\r\n")


@pytest.mark.parametrize("case", list(CASES))
def test_interactive_cmd_like_wine(case, wine, prefix, tmp_path):
    if not os.path.exists(CMD):
        pytest.fail(f"{CMD} is missing: it comes with Debian's wine64 package")
    text, how = CASES[case]
    script = tmp_path / "stdin.txt"
    script.write_bytes(text.encode())
    results = []
    for who in ("wine", "guise"):
        d = tmp_path / who
        setup(d)
        with open(script, "rb") as f:
            stdin = f if how == "file" else script.read_bytes()
            if who == "wine":
                status, out = wine([CMD], d, stdin=stdin)
                # FormatMessage's system texts are Windows' in guise, Wine has its own wording
                err = wine.stderr.replace(b"File not found.", b"The system cannot find the file specified.")
                err = err.replace(b"File already exists.", b"Cannot create a file when that file already exists.")
            else:
                g = guise([CMD], d, prefix, env={"WINEDEBUG": "-all"}, stdin=stdin)
                status, out, err = g.status, g.stdout, g.stderr
        results.append((status, masked(out, d), err))
    assert results[1] == results[0], "\n".join(map(repr, results))
    assert sorted(os.listdir(tmp_path / "guise")) == sorted(os.listdir(tmp_path / "wine"))


def test_links_and_a_change_of_case(prefix, tmp_path):
    """mklink through CreateSymbolicLinkW and CreateHardLinkW, and ren to the same name
    in other case, which Windows renames (Wine's only pretend to, so no comparison)."""
    (tmp_path / "a.txt").write_bytes(b"target\r\n")
    (tmp_path / "in.txt").write_bytes(b"mklink lnk.txt a.txt\r\nmklink /h hard.txt a.txt\r\ntype lnk.txt\r\n"
                                      b"ren hard.txt HARD.TXT\r\n")
    with open(tmp_path / "in.txt", "rb") as f:
        g = guise([CMD], tmp_path, prefix, env={"WINEDEBUG": "-all"}, stdin=f)
    assert g.status == 0, g.stderr
    assert os.readlink(tmp_path / "lnk.txt") == "a.txt"
    assert os.path.samefile(tmp_path / "HARD.TXT", tmp_path / "a.txt")    # ren: only the case changed
    assert not os.path.exists(tmp_path / "hard.txt")
    assert b">target\r\n" in g.stdout


def test_typed_at_a_terminal(prefix, tmp_path):
    """On a terminal cmd reads with ReadConsoleW, a line at a time as the user types."""
    pid, fd = pty.fork()
    if pid == 0:            # the child: guise on the terminal, as a user starts it
        os.chdir(tmp_path)
        os.environ.update(GUISE_WINDOWS_PREFIX=str(prefix), WINEDEBUG="-all", PYTHONPATH=str(ROOT))
        os.execv(sys.executable, [sys.executable, "-m", "guise", "run", "--", CMD])
    out = b""

    def until(done, limit: float = 60) -> None:
        nonlocal out
        end = time.time() + limit
        while not done() and time.time() < end:
            if select.select([fd], [], [], 0.2)[0]:
                try:
                    out += os.read(fd, 4096)
                except OSError:         # the other side closed: guise has ended
                    return
    prompt = str(tmp_path).replace("/", "\\").encode() + b">"
    until(lambda: out.count(prompt) == 1)
    os.write(fd, b"echo typed %OS%\r")
    until(lambda: out.count(prompt) == 2)          # its output, then the next prompt
    os.write(fd, b"exit 4\r")
    until(lambda: False, 30)
    done, st = os.waitpid(pid, os.WNOHANG)
    if not done:            # still running: the test fails, without leaving it behind
        os.kill(pid, 9)
        _, st = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(st) == 4, out
    assert b"typed Windows_NT\r\r\n" in out and out.count(prompt) == 2, out


def test_session_does_what_it_says(prefix, tmp_path):
    """Not only the same as Wine: the session's own effects are there."""
    (tmp_path / "a.txt").write_bytes(b"a\r\n")
    with open(tmp_path / "in.txt", "wb") as f:
        f.write(b"mkdir made\r\ncd made\r\necho text> f.txt\r\nexit 9\r\n")
    with open(tmp_path / "in.txt", "rb") as f:
        g = guise([CMD], tmp_path, prefix, env={"WINEDEBUG": "-all"}, stdin=f)
    assert g.status == 9, g.stderr
    assert (tmp_path / "made" / "f.txt").read_bytes() == b"text\r\n"
    assert g.stdout.endswith(str(tmp_path / "made").replace("/", "\\").encode() + b">")
