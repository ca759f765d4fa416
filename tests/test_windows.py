"""The Windows personality against wine64: the same mingw-built programs, the same
stdout bytes and exit status.

Each sample is built twice (samples/Makefile, group ``win``): the PE32+ build runs
under wine64 and under guise; the PE32 build runs under guise and is held to
wine64's output for the PE32+ build (wine64 here has no 32-bit side).  One wine
prefix is shared by the whole session (its first start takes seconds); guise gets
its own C: prefix in a tmp dir.
"""
from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys

import pytest

from conftest import CACHE, ROOT, SAMPLES, run_guise, stdin_of

WINE_CANDIDATES = ("wine64", "/usr/lib/wine/wine64")
NOT_IMPLEMENTED = 122
CANNOT_EXECUTE = 126

# name -> (argv after the program, environment)
CASES = {
    "hello": ([], {}),
    "args": (["one", "two words", 'a"b', "trail\\", "", 'x\\"y', "back\\\\slash"], {}),
    "files": ([], {}),
    "env": ([], {"GUISE_TEST": "value with spaces"}),
    "printf": ([], {}),          # formatted by mingw-w64's own code, written through msvcrt
    "crtprintf": ([], {}),       # the same formats through msvcrt's printf (guise's formatter)
    "exitcode": ([], {}),
    "exitcode-exit": (["exit"], {}),
    "exitcode-ExitProcess": (["ExitProcess"], {}),
    "crash-null": (["null"], {}),          # unhandled access violation: status 0xC0000005 & 0xFF
    "crash-strlen": (["strlen"], {}),      # ... raised inside msvcrt's strlen
    "crash-div": (["div"], {}),            # 0xC0000094, integer divide by zero
    "crash-writefile": (["writefile"], {}),  # a bad buffer to WriteFile is an error code, not a crash
    "lines": ([], {}),
    "apiloop": (["2000"], {}),
    "wide": (["two words", "x"], {}),   # wmain, __wgetmainargs, code pages, wide printf
    "math": ([], {}),             # doubles in xmm registers / on the stack, results in xmm0 / st(0)
    "dirs": ([], {}),             # FindFirstFile wildcards, qsort calling back into the guest
    "errnothreads": ([], {}),     # errno and _doserrno per thread (_errno(), __doserrno())
    "charnext": ([], {}),         # CharNextExA/CharPrevExA in single- and double-byte code pages
    "argvw": (["arg one", 'q"uote', "back\\"], {}),   # shell32 CommandLineToArgvW's own quoting rule
    "pathfuncs": ([], {}),        # shlwapi's path helpers, A and W
    "charcase": ([], {}),         # CharUpper/CharLower and IsChar* classes, A (code page 1252) and W
}
STDIN = {"lines": b"first\r\nsecond\nthird\r\nlast"}
# what legitimately differs in a 32-bit build: %p prints pointer-width digits
X86_FIXUPS = {"printf": [(b"[0000000000001234]", b"[00001234]")],
              "crtprintf": [(b"[0000000000001234]", b"[00001234]")],
              "math": [(b"missing 0000000000000000", b"missing 00000000")],
              "argvw": [(b"argvw-x64.exe", b"argvw-x86.exe")]}


def program(case: str) -> str:
    return case.split("-")[0]


@pytest.fixture(scope="session")
def wine(tmp_path_factory):
    """Run a PE32+ program under wine64 with a prefix shared by all tests and workers."""
    exe = next((shutil.which(c) for c in WINE_CANDIDATES if shutil.which(c)), None)
    if exe is None:
        pytest.fail("wine64 is not installed: the Windows tests compare with it "
                    "(`make test` installs it; on Debian: apt-get install wine64)")
    prefix = CACHE / "wineprefix"
    CACHE.mkdir(exist_ok=True)
    # no crash debugger: it writes to the program's stdout and races the exit status
    env = {"WINEPREFIX": str(prefix), "WINEDEBUG": "-all", "WINEDLLOVERRIDES": "winedbg.exe=d",
           "PATH": "/usr/bin:/bin",
           "HOME": os.environ.get("HOME", "/root"), "LC_ALL": "C", "TZ": "UTC"}
    with open(CACHE / "wineprefix.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)        # the first start creates the prefix: one at a time
        subprocess.run([exe, str(SAMPLES / "hello-x64.exe")], env=env, capture_output=True, timeout=300)

    def run(argv, cwd, extra_env=None, stdin=b""):
        p = subprocess.run([exe, *map(str, argv)], cwd=cwd, env={**env, **(extra_env or {})},
                           **stdin_of(stdin), capture_output=True, timeout=120)
        run.stderr = p.stderr
        return p.returncode, p.stdout
    return run


@pytest.fixture
def prefix(tmp_path):
    return tmp_path / "prefix"


def guise(argv, cwd, prefix, env=None, options=(), stdin=b""):
    return run_guise(argv, cwd=cwd, env={"GUISE_WINDOWS_PREFIX": str(prefix), **(env or {})},
                     options=options, stdin=stdin)


def assert_mode_like_wine(case: str, arch: str, wine, prefix, tmp_path) -> None:
    """``case`` is PROGRAM or PROGRAM-MODE (MODE its one argument): the ``arch`` build
    under guise prints what wine64 prints for the x64 build, and ends the same way."""
    prog, _, mode = case.partition("-")
    args = [mode] if mode else []
    wstatus, wout = wine([SAMPLES / f"{prog}-x64.exe", *args], tmp_path)
    g = guise([SAMPLES / f"{prog}-{arch}.exe", *args], tmp_path, prefix)
    assert g.stdout == wout, f"stdout differs\nwine  {wout!r}\nguise {g.stdout!r}\n{g.stderr[-2000:]!r}"
    assert g.status == wstatus, g.stderr


@pytest.mark.parametrize("arch", ["x64", "x86"])
@pytest.mark.parametrize("case", list(CASES))
def test_same_as_wine(case, arch, wine, prefix, tmp_path):
    args, env = CASES[case]
    wdir, gdir = tmp_path / "wine", tmp_path / "guise"
    wdir.mkdir()
    gdir.mkdir()
    stdin = STDIN.get(case, b"")
    wstatus, wout = wine([SAMPLES / f"{program(case)}-x64.exe", *args], wdir, env, stdin)
    g = guise([SAMPLES / f"{program(case)}-{arch}.exe", *args], gdir, prefix, env, stdin=stdin)
    if arch == "x86":
        for a, b in X86_FIXUPS.get(case, []):
            wout = wout.replace(a, b)
    assert g.stdout == wout, f"stdout differs\nwine  {wout!r}\nguise {g.stdout!r}\n{g.stderr[-2000:]!r}"
    assert g.status == wstatus, g.stderr
    assert sorted(os.listdir(gdir)) == sorted(os.listdir(wdir))


@pytest.mark.parametrize("arch", ["x64", "x86"])
def test_text_mode_file_and_case_insensitive_lookup(arch, prefix, tmp_path):
    """fopen(..., "w") writes CRLF; a name in another case finds the same file."""
    g = guise([SAMPLES / f"write-{arch}.exe", "Report.TXT", "report.txt"], tmp_path, prefix)
    assert g.status == 0, g.stderr
    assert (tmp_path / "Report.TXT").read_bytes() == b"line 1\r\nline 2\r\n"
    assert g.stdout == b"6c 69 6e 65 20 31 0d 0a 6c 69 6e 65 20 32 0d 0a \r\n"


@pytest.mark.parametrize("arch", ["x64", "x86"])
def test_drive_c_is_the_prefix(arch, prefix, tmp_path):
    """C:\\ is created on first use with its skeleton, and holds what the program writes."""
    g = guise([SAMPLES / f"write-{arch}.exe", "C:\\Temp\\out.txt", "c:/temp/OUT.txt"], tmp_path, prefix)
    assert g.status == 0, g.stderr
    assert (prefix / "Temp" / "out.txt").read_bytes() == b"line 1\r\nline 2\r\n"
    for d in ("Windows/System32", "Users", "Temp"):
        assert (prefix / d).is_dir()


def test_drive_z_is_the_root(prefix, tmp_path):
    target = "Z:" + str(tmp_path / "z.txt").replace("/", "\\")
    g = guise([SAMPLES / "write-x64.exe", target], "/", prefix)
    assert g.status == 0, g.stderr
    assert (tmp_path / "z.txt").read_bytes() == b"line 1\r\nline 2\r\n"


@pytest.mark.parametrize("arch", ["x64", "x86"])
def test_missing_api_stops_at_the_call(arch, prefix, tmp_path):
    g = guise([SAMPLES / f"missing-{arch}.exe"], tmp_path, prefix)
    assert g.stdout == b"before the call\r\n"          # loaded and ran up to the call
    assert g.stderr == b"guise: not implemented: WS2_32.dll!WSAStartup\n"
    assert g.status == NOT_IMPLEMENTED


def test_missing_api_is_counted(prefix, tmp_path):
    g = guise([SAMPLES / "missing-x64.exe"], tmp_path, prefix, options=["--stats"])
    assert b"WS2_32.dll!WSAStartup" in g.stderr.split(b"unimplemented")[-1]


def test_info_lists_imports_by_dll(tmp_path):
    p = subprocess.run([sys.executable, "-m", "guise", "info", str(SAMPLES / "missing-x86.exe")],
                       capture_output=True, text=True, cwd=ROOT)
    assert p.returncode == 0, p.stderr
    rows = dict(line.split(None, 1) if not line.startswith(("imports", "missing", "image", "file"))
                else (line[:22].strip(), line[22:].strip()) for line in p.stdout.splitlines())
    out = p.stdout
    assert rows["format"] == "PE32" and rows["machine"] == "i386"
    assert rows["imports WS2_32.dll"] == "1: WSAStartup [missing]"
    assert "imports KERNEL32.dll" in rows and "imports msvcrt.dll" in rows
    assert rows["missing imports"] == "1"
    assert "windows" in out.splitlines()[-1]


def test_trace_one_line_per_api_call(prefix, tmp_path):
    g = guise([SAMPLES / "files-x64.exe"], tmp_path, prefix, options=["--trace"])
    assert g.status == 0
    lines = g.stderr.decode().splitlines()
    assert any(line.startswith('KERNEL32.dll!CreateFileA("guise-k32.txt", 0xc0000000, 0, NULL, 2, 128, NULL) = 0x')
               for line in lines), lines[:40]
    assert any(line.startswith("KERNEL32.dll!DeleteFileA(") for line in lines)
    assert g.stdout.count(b"\r\n") == 8


@pytest.mark.parametrize("data,what", [
    (lambda b: b[:0x200], "truncated"),
    (lambda b: b[:0x40] + b"\0" * 0x100, "no PE header"),
    (lambda b: b"MZ" + b"\0" * 100, "DOS stub only"),
])
def test_malformed_pe_is_one_line(data, what, tmp_path, prefix):
    bad = tmp_path / "bad.exe"
    bad.write_bytes(data((SAMPLES / "hello-x64.exe").read_bytes()))
    bad.chmod(0o755)
    g = guise([bad], tmp_path, prefix)
    assert g.status == CANNOT_EXECUTE, (what, g.stderr)
    assert g.stderr.count(b"\n") == 1 and g.stderr.startswith(b"guise: "), g.stderr
    assert b"Traceback" not in g.stderr


def test_overlay_jail_applies(prefix, tmp_path):
    """The file the program writes lands in the throwaway layer, not on the host."""
    g = guise([SAMPLES / "write-x64.exe", "jailed.txt", "JAILED.TXT"], tmp_path, prefix,
              options=["--root", "/:ro", "--overlay"])
    assert g.status == 0, g.stderr
    assert g.stdout.startswith(b"6c 69 6e 65")
    assert not (tmp_path / "jailed.txt").exists()


def test_rebased_image_runs(tmp_path, prefix):
    """Forced away from its preferred base, the relocated program still runs."""
    code = (
        "import sys; from loader import load_image; from sandbox import default_view;"
        "from personalities.windows.process import WindowsProcess;"
        f"p = '{SAMPLES / 'hello-x86.exe'}';"
        "img = load_image(open(p, 'rb'), p);"
        "proc = WindowsProcess(img, p.encode(), [p.encode()], [], default_view(), base=0x10000000);"
        "assert proc.image_base == 0x10000000;"
        "r = proc.run(); sys.exit(r.exit_status)")
    p = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                       env={**os.environ, "GUISE_WINDOWS_PREFIX": str(prefix)})
    assert p.returncode == 0, p.stderr
    assert p.stdout == b"hello, world\r\n"


def test_compat_page_is_current():
    from personalities.windows.compat import page
    assert (ROOT / "docs" / "compat-windows.md").read_text() == page(), \
        "run `.venv/bin/python tools/gen_compat.py`"


# Microsoft's documented examples of how the C runtime splits a command line
# ("Parsing C command-line arguments"), after a program name.
SPLIT_EXAMPLES = [
    ('"abc" d e', ["abc", "d", "e"]),
    ('a\\\\\\b d"e f"g h', ["a\\\\\\b", "de fg", "h"]),
    ('a\\\\\\"b c d', ['a\\"b', "c", "d"]),
    ('a\\\\\\\\"b c" d e', ["a\\\\b c", "d", "e"]),
    ('a"b"" c d', ['ab" c d']),
]


@pytest.mark.parametrize("line,argv", SPLIT_EXAMPLES)
def test_command_line_split(line, argv):
    from personalities.windows import cmdline
    assert cmdline.split("prog.exe " + line) == ["prog.exe"] + argv


@pytest.mark.parametrize("argv", [["p"], ["p", ""], ["p", "a b", 'q"uote', "end\\", "x\\\\\"y", "\t"]])
def test_command_line_round_trip(argv):
    from personalities.windows import cmdline
    assert cmdline.split(cmdline.build(argv)) == argv


def test_trace_json(prefix, tmp_path):
    out = tmp_path / "trace.jsonl"
    g = guise([SAMPLES / "hello-x86.exe"], tmp_path, prefix, options=["--trace-json", str(out)])
    assert g.status == 0
    import json
    calls = [json.loads(line) for line in out.read_text().splitlines()]
    assert any(c["api"] == "msvcrt.dll!__getmainargs" and c["ret"] == 0 for c in calls)


WINE_PROGRAMS = "/usr/lib/x86_64-linux-gnu/wine/x86_64-windows"


@pytest.mark.parametrize("argv", [
    ["secedit.exe"], ["fc.exe", "a.txt", "b.txt"], ["where.exe", "x"], ["hostname.exe"],
    ["attrib.exe", "a.txt"], ["expand.exe"],
    ["cmd.exe", "/c", "echo hi & exit 3"],
    ["cmd.exe", "/c", "set GUISE_X=42& echo %GUISE_X%"],
    ["cmd.exe", "/c", "if 1==1 (echo yes) else (echo no)"],
    ["cmd.exe", "/c", "for %i in (a b c) do @echo item %i"],
    ["cmd.exe", "/c", "type a.txt"],
    ["cmd.exe", "/c", "echo redirected> out.txt & type out.txt"],
    ["cmd.exe", "/c", "exit 7"],
], ids=lambda argv: " ".join(argv))
def test_wine_console_programs(argv, wine, prefix, tmp_path):
    """Programs nobody here wrote (Wine's own, built against ucrtbase, message tables and
    string resources): same stdout and status as under wine64 itself, nothing on stderr
    (WINEDEBUG=-all reaches them)."""
    exe = os.path.join(WINE_PROGRAMS, argv[0])
    if not os.path.exists(exe):
        pytest.fail(f"{exe} is missing: it comes with Debian's wine64 package")
    wdir, gdir = tmp_path / "wine", tmp_path / "guise"
    for d in (wdir, gdir):
        d.mkdir()
        (d / "a.txt").write_bytes(b"a\r\nsecond line\r\n")
        (d / "b.txt").write_text("b\n")
    wstatus, wout = wine([exe, *argv[1:]], wdir)
    werr = wine.stderr
    g = guise([exe, *argv[1:]], gdir, prefix, env={"WINEDEBUG": "-all"})
    same = lambda out, d: out.replace(b"\\" + d + b"\\", b"\\DIR\\")     # noqa: E731
    assert (g.status, same(g.stdout, b"guise")) == (wstatus, same(wout, b"wine")), g.stderr
    assert g.stderr == werr
    assert sorted(os.listdir(gdir)) == sorted(os.listdir(wdir))
