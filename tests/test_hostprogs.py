"""The host's own dynamically linked programs, with the host's ld.so and libc, on the
emulated CPU: coreutils, grep, sed, awk, python3, perl — compared with native runs."""
from __future__ import annotations

import os
import shutil

import pytest

from conftest import assert_same, need, run_guise

TEXT = "".join(f"{i:04d} {'even' if i % 2 == 0 else 'odd'} {i * i % 97}\n" for i in range(200))


@pytest.fixture
def files(tmp_path):
    (tmp_path / "t.txt").write_text(TEXT)
    (tmp_path / "w.txt").write_text("b\na\nc\na\n")
    for name in ("t.txt", "w.txt"):
        os.utime(tmp_path / name, (1_500_000_000, 1_500_000_000))
    return tmp_path


COREUTILS = [
    ["/bin/ls", "-l", "--time-style=+%Y", "."],
    ["/bin/cat", "t.txt", "w.txt"],
    ["/usr/bin/sort", "-k3,3n", "-k1,1r", "t.txt"],
    ["/usr/bin/wc", "t.txt", "w.txt"],
    ["/usr/bin/head", "-n", "3", "t.txt"],
    ["/usr/bin/md5sum", "t.txt"],
    ["/bin/date", "-u", "-d", "@1700000000", "+%A %d %B %Y %T"],
    ["/usr/bin/stat", "-c", "%s %a %Y %n", "t.txt"],
    ["/usr/bin/tr", "a-z", "A-Z"],
    ["/usr/bin/uniq", "-c", "w.txt"],
    ["/usr/bin/seq", "-s", ",", "10"],
    ["/bin/grep", "-E", "-c", "odd [0-9]$", "t.txt"],
    ["/bin/grep", "-n", "--color=never", "0042", "t.txt"],
    ["/bin/sed", "-E", "s/([0-9]+) (odd|even)/\\2:\\1/;20q", "t.txt"],
    ["/usr/bin/readlink", "/proc/self/exe"],
    ["/bin/cat", "/nonexistent"],
]


@pytest.mark.parametrize("argv", COREUTILS, ids=[" ".join(a)[:40] for a in COREUTILS])
def test_coreutils(argv, files):
    assert_same(argv, cwd=files, stdin=b"piped input\n")


@pytest.mark.parametrize("awk", ["/usr/bin/gawk", "/usr/bin/mawk"])
def test_awk(awk, files):
    need(awk, "installed by `make deps-test`")
    assert_same([awk, "{n[$2]++; s += $3} END {for (k in n) print k, n[k]; print s}", "t.txt"], cwd=files)
    assert_same([awk, "BEGIN {printf \"%.6f %d\\n\", atan2(1, 1) * 4, 2^20}"])


def test_python3_modules(tmp_path):
    script = tmp_path / "mods.py"
    script.write_text(
        "import json, re, hashlib, zlib, struct, math, collections\n"
        "data = json.dumps({'k': [1, 2.5, None, 'x'], 'n': {'a': True}}, sort_keys=True)\n"
        "print(data)\n"
        "print(re.findall(r'(\\w)(\\d)', 'a1 b2 c3'))\n"
        "print(hashlib.sha1(data.encode()).hexdigest(), hashlib.md5(b'').hexdigest())\n"
        "c = zlib.compress(data.encode() * 50, 9); print(len(c), zlib.decompress(c)[:10])\n"
        "print(struct.pack('<qd', -5, math.pi).hex(), math.factorial(30))\n"
        "print(collections.Counter('mississippi').most_common(2))\n")
    assert_same(["/usr/bin/python3", script])


def test_python3_error_exit():
    g = assert_same(["/usr/bin/python3", "-c", "import sys; print('out'); sys.exit('fatal')"])
    assert g.status == 1


def test_perl():
    need("/usr/bin/perl", "perl is installed by `make deps-test`")
    assert_same(["/usr/bin/perl", "-e",
                 'my %h = map { $_ => length } qw(alpha be gamma); '
                 'print join(",", map {"$_=$h{$_}"} sort keys %h), "\\n"; '
                 'printf("%.5f %s\\n", sqrt(2), scalar reverse "guise");'])


def test_proc_self_describes_guest():
    g = run_guise(["/bin/cat", "/proc/self/maps"])
    assert g.status == 0
    maps = g.stdout.decode()
    assert "/usr/bin/cat" in maps and "[stack]" in maps and "[heap]" in maps
    assert "python" not in maps and "unicorn" not in maps
    g = run_guise(["/bin/ls", "-l", "/proc/self/exe"])
    assert g.stdout.rstrip().endswith(b"-> /usr/bin/ls")
    g = run_guise(["/usr/bin/tr", "\\0", "\\n"], stdin=b"", options=[])
    assert g.status == 0
    g = run_guise(["/bin/cat", "/proc/self/cmdline"])
    assert g.stdout == b"/bin/cat\0/proc/self/cmdline\0"
