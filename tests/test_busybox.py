"""Debian's busybox-static, amd64 and i386: single-process applets on files, and
`sh -c` scripts, compared byte for byte with the native run of the same binary.

`make deps-test` installs the amd64 package and unpacks the i386 one under .cache/.
"""
from __future__ import annotations

import gzip
import os
import tarfile

import pytest

from conftest import BUSYBOX, assert_same, need, run_guise

ARCHES = ["x86_64", "i386"]
FIXED_TIME = 1_600_000_000

TEXT = "".join(f"line {i:03d} {'alpha' if i % 3 else 'beta'} {i * 7 % 13}\n" for i in range(1, 61))


@pytest.fixture
def tree(tmp_path):
    (tmp_path / "data.txt").write_text(TEXT)
    (tmp_path / "words.txt").write_text("pear\napple\nfig\napple\nkiwi\nfig\nfig\n")
    (tmp_path / "nums.txt").write_text("\n".join(str((i * 37) % 101) for i in range(40)) + "\n")
    (tmp_path / "csv.txt").write_text("a,b,c\n1,2,3\nx,y,z\n")
    sub = tmp_path / "dir" / "sub"
    sub.mkdir(parents=True)
    (sub / "deep.txt").write_text("deep\n")
    (tmp_path / "dir" / "top.c").write_text("int x;\n")
    os.symlink("data.txt", tmp_path / "link")
    for root, dirs, files in os.walk(tmp_path):
        for name in dirs + files:
            os.utime(os.path.join(root, name), (FIXED_TIME, FIXED_TIME), follow_symlinks=False)
    os.utime(tmp_path, (FIXED_TIME, FIXED_TIME))
    return tmp_path


def bb(arch):
    return need(BUSYBOX[arch], "run `make deps-test` (busybox-static, and the i386 .deb unpacked)")


APPLETS = [
    ["cat", "data.txt", "words.txt"],
    ["head", "-n", "7", "data.txt"],
    ["tail", "-n", "5", "data.txt"],
    ["tail", "-c", "20", "data.txt"],
    ["wc", "data.txt", "words.txt"],
    ["wc", "-l", "nums.txt"],
    ["sort", "words.txt"],
    ["sort", "-n", "-r", "nums.txt"],
    ["sort", "-u", "words.txt"],
    ["uniq", "-c", "words.txt"],
    ["cut", "-d", ",", "-f", "2,3", "csv.txt"],
    ["cut", "-c", "1-8", "data.txt"],
    ["tr", "a-z", "A-Z", "words.txt"],
    ["sed", "-n", "s/alpha/ALPHA/p", "data.txt"],
    ["sed", "-e", "1,3d", "-e", "s/[0-9]/#/g", "words.txt"],
    ["awk", "-F", " ", "{s += $4} END {print s, NR}", "data.txt"],
    ["awk", "$3 == \"beta\" {print $2}", "data.txt"],
    ["grep", "-n", "beta", "data.txt"],
    ["grep", "-c", "-v", "alpha", "data.txt"],
    ["grep", "-r", "deep", "dir"],
    ["od", "-A", "x", "-t", "x1z", "csv.txt"],
    ["md5sum", "data.txt", "words.txt"],
    ["sha256sum", "data.txt"],
    ["ls", "-l", "--full-time", "dir"],
    ["ls", "-la", "."],
    ["ls", "-R", "dir"],
    ["find", ".", "-name", "*.txt"],
    ["find", "dir", "-type", "f"],
    ["stat", "-c", "%n %s %a %F %Y", "data.txt", "dir", "link"],
    ["date", "-u", "-d", "@1234567890", "+%Y-%m-%d %H:%M:%S %j %a"],
    ["expr", "7", "*", "6"],
    ["expr", "length", "hello"],
    ["seq", "3", "2", "15"],
    ["printf", "%s=%d %x %5.2f\\n", "a", "42", "255", "3.14159"],
    ["basename", "/a/b/c.txt", ".txt"],
    ["dirname", "/a/b/c.txt"],
    ["base64", "csv.txt"],
    ["readlink", "link"],
    ["realpath", "dir/sub"],
    ["cmp", "data.txt", "words.txt"],
    ["head", "-c", "0", "/nonexistent"],
    ["cat", "/nonexistent"],
    ["true"],
    ["false"],
]


@pytest.mark.parametrize("arch", ARCHES)
@pytest.mark.parametrize("argv", APPLETS, ids=[" ".join(a)[:40] for a in APPLETS])
def test_applet(arch, argv, tree):
    assert_same([bb(arch)] + argv, cwd=tree)


SCRIPTS = [
    "x=3; echo $((x * 7)); for i in 1 2 3; do echo item $i; done",
    "test -f data.txt && echo yes; test -d nope || echo no; [ 5 -gt 3 ] && echo gt",
    "set -- a b c; echo $# $2; shift; echo $*",
    "case foo.txt in *.txt) echo text;; *) echo other;; esac",
    "f() { echo in f: $1; return 4; }; f arg; echo rc=$?",
    "read a b < csv.txt; echo first=$a rest=$b",
    "i=0; while [ $i -lt 5 ]; do i=$((i+1)); done; echo $i; printf '%s\\n' done",
    "echo ${HOME:-none} ${UNSET:-default} ${#TEXT}; TEXT=abcdef; echo ${TEXT#ab} ${TEXT%ef}",
    "exit 7",
]


@pytest.mark.parametrize("arch", ARCHES)
@pytest.mark.parametrize("script", SCRIPTS)
def test_sh_builtins(arch, script, tree):
    assert_same([bb(arch), "sh", "-c", script], cwd=tree)


@pytest.mark.parametrize("arch", ARCHES)
def test_tar_list_and_extract(arch, tree, tmp_path_factory):
    archive = tree / "a.tar"
    with tarfile.open(archive, "w") as tf:
        tf.add(tree / "dir", arcname="dir")
        tf.add(tree / "data.txt", arcname="data.txt")
    assert_same([bb(arch), "tar", "-tvf", "a.tar"], cwd=tree)
    out = tmp_path_factory.mktemp("extract")
    g = run_guise([bb(arch), "tar", "-xf", str(archive)], cwd=out)
    assert g.status == 0, g.stderr
    assert (out / "dir" / "sub" / "deep.txt").read_text() == "deep\n"
    assert (out / "data.txt").read_text() == TEXT


@pytest.mark.parametrize("arch", ARCHES)
def test_gzip_round_trip(arch, tree):
    g = run_guise([bb(arch), "gzip", "-k", "data.txt"], cwd=tree)
    assert g.status == 0, g.stderr
    assert gzip.decompress((tree / "data.txt.gz").read_bytes()).decode() == TEXT
    (tree / "data.txt").unlink()
    g = run_guise([bb(arch), "gunzip", "data.txt.gz"], cwd=tree)
    assert g.status == 0, g.stderr
    assert (tree / "data.txt").read_text() == TEXT


# The processes issue: pipelines, $(…), subshells, traps, background jobs, xargs,
# find -exec, here-documents — busybox runs its applets by exec'ing /proc/self/exe.
JOB_SCRIPTS = [
    'x=$(echo a | tr a b); echo $x; echo "$(seq 3 | wc -l) lines"',
    'trap "echo trapped EXIT" EXIT; trap "echo got INT" INT; kill -INT $$; echo after',
    '(sleep 0.1; echo bg done) & echo started; wait; echo "jobs over"',
    '(cd /etc && pwd); pwd; (exit 3) || echo "subshell failed $?"',
    'echo hi there | xargs -n 1 echo item; seq 5 | xargs echo',
    'find /etc -maxdepth 1 -name "host*" -exec echo found {} \\; | sort',
    'cat <<EOT\nheredoc $((6 * 7))\nEOT\ncat <<"EOT"\nliteral $x\nEOT',
    'for f in data.txt words.txt; do wc -l < $f; done | sort -n | tail -1',
]


@pytest.mark.parametrize("arch", ARCHES)
@pytest.mark.parametrize("script", JOB_SCRIPTS)
def test_sh_processes(arch, script, tree):
    assert_same([bb(arch), "sh", "-c", script], cwd=tree)
