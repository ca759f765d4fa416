"""Wine's cmd.exe ``dir`` and xcopy against wine64 (GetDateFormat/GetTimeFormat,
GetVolumeInformation, GetDiskFreeSpaceEx, FindFirstFile's "..", CopyFile,
SetFileAttributes), and the date/time pictures on their own.

What differs between any two machines is masked: the volume serial number, the
free space, and the times of "." and ".." (directories the test does not own
the times of).  Wine's own wording of a system message is mapped to Windows'.  The files' own dates are set by the test and compared as they are.
"""
from __future__ import annotations

import datetime
import os
import re

import pytest

from test_windows import guise, prefix, wine  # noqa: F401  (fixtures)

WINE_PROGRAMS = "/usr/lib/x86_64-linux-gnu/wine/x86_64-windows"
STAMP = datetime.datetime(2020, 1, 5, 8, 7, 9, tzinfo=datetime.timezone.utc).timestamp()
AFTERNOON = datetime.datetime(2021, 11, 24, 18, 30, 0, tzinfo=datetime.timezone.utc).timestamp()


def tree(root):
    (root / "sub" / "deep").mkdir(parents=True)
    (root / "a.txt").write_bytes(b"a\r\n")
    (root / "Big File.dat").write_bytes(b"x" * 123456)
    (root / "sub" / "b.txt").write_bytes(b"hello")
    (root / "sub" / "deep" / "c.txt").write_bytes(b"")
    for path, t in ((root / "a.txt", STAMP), (root / "Big File.dat", AFTERNOON), (root / "sub" / "b.txt", STAMP),
                    (root / "sub" / "deep" / "c.txt", AFTERNOON), (root / "sub" / "deep", STAMP),
                    (root / "sub", AFTERNOON)):
        os.utime(path, (t, t))


def masked(out: bytes, cwd) -> bytes:
    text = out.decode("cp1252")
    text = text.replace(str(cwd).replace("/", "\\"), "CWD")
    text = re.sub(r"Serial Number is [0-9a-f]{4}-[0-9a-f]{4}", "Serial Number is XXXX-XXXX", text)
    text = re.sub(r" +[\d,]+ bytes free", " N bytes free", text)     # its width too
    text = re.sub(r"^ *\d+/\d+/\d{4} +\d+:\d\d [AP]M(  <DIR> +\.\.?\r)$", r"DATE\1", text, flags=re.M)
    return text.encode("cp1252")


@pytest.mark.parametrize("command", ["dir", "dir /b", "dir sub", "dir /w", "dir /s", "dir *.txt",
                                     "dir /a:-d /o:-s", "dir nothing*"])
def test_cmd_dir(command, wine, prefix, tmp_path):
    cmd = os.path.join(WINE_PROGRAMS, "cmd.exe")
    outs = []
    for who in ("wine", "guise"):
        d = tmp_path / who
        d.mkdir()
        tree(d)
        if who == "wine":
            status, out = wine([cmd, "/c", command], d)
            err = b"".join(line for line in wine.stderr.splitlines(keepends=True) if not line.startswith(b"wine:"))
            # FormatMessage's system texts are Windows' in guise, Wine has its own wording
            err = err.replace(b"File not found.", b"The system cannot find the file specified.")
        else:
            g = guise([cmd, "/c", command], d, prefix, env={"WINEDEBUG": "-all", "TZ": "UTC"})
            status, out, err = g.status, g.stdout, g.stderr
        outs.append((status, masked(out, d), err))
    assert outs[1] == outs[0], "\n".join(map(repr, outs))


@pytest.mark.parametrize("options", [["/s", "/i"], ["/e", "/i", "/y"], ["/l", "/s", "/i", "/y"], ["/i"]])
def test_xcopy_a_tree(options, wine, prefix, tmp_path):
    xcopy = os.path.join(WINE_PROGRAMS, "xcopy.exe")
    results = []
    for who in ("wine", "guise"):
        d = tmp_path / who
        (d / "src").mkdir(parents=True)
        tree(d / "src")
        argv = [xcopy, "src", "dst", *options]
        if who == "wine":
            status, out = wine(argv, d)
        else:
            g = guise(argv, d, prefix, env={"WINEDEBUG": "-all"})
            status, out = g.status, g.stdout
        copied = sorted((str(p.relative_to(d / "dst")), p.read_bytes() if p.is_file() else None,
                         int(p.stat().st_mtime) if p.is_file() else None)
                        for p in (d / "dst").rglob("*")) if (d / "dst").exists() else None
        results.append((status, out, copied))
    assert results[1] == results[0]
    assert results[1][0] != 0 or options[0] == "/l" or results[1][2]        # something was copied


@pytest.mark.parametrize("picture,expected", [
    ("M/d/yyyy", "1/5/2020"), ("MM/dd/yy", "01/05/20"), ("dddd, MMMM d, yyyy", "Sunday, January 5, 2020"),
    ("ddd MMM", "Sun Jan"), ("'day' d 'o''clock'", "day 5 o'clock"), ("y", "20"), ("gg yyyy", "A.D. 2020"),
])
def test_date_pictures(picture, expected):
    from personalities.windows.dlls.k32_time import format_date
    assert format_date(picture, datetime.date(2020, 1, 5)) == expected


@pytest.mark.parametrize("hour,flags,expected", [
    (8, 0, "8:07:09 AM"), (0, 0, "12:07:09 AM"), (12, 0, "12:07:09 PM"), (18, 0, "6:07:09 PM"),
    (18, 2, "6:07 PM"), (18, 1, "6 PM"), (18, 4, "6:07:09"), (18, 8, "18:07:09"), (18, 2 | 8, "18:07"),
])
def test_time_pictures(hour, flags, expected):
    from personalities.windows.dlls.k32_time import TIME, format_time
    assert format_time(TIME, hour, 7, 9, flags) == expected
