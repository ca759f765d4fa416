"""Debian's busybox-static, amd64 and i386: single-process applets on files, and
`sh -c` scripts, compared byte for byte with the native run of the same binary.

`make deps-test` installs the amd64 package and unpacks the i386 one under .cache/.
"""
from __future__ import annotations

import gzip
import os
import tarfile

import pytest

from conftest import BUSYBOX, assert_same, assert_same_effects, need, run_guise, twin_copies

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


@pytest.fixture
def twins(tree, tmp_path_factory):
    """Two identical copies of ``tree``: one for the native run, one for guise."""
    return twin_copies(tree, tmp_path_factory, FIXED_TIME)


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
    ["env"],                                                   # exactly the native environment
    ["ls", "-li", "data.txt", "dir"],
    ["stat", "-c", "%n %i %h %b %B %o %f %A %u %g %U %G", "data.txt", "link", "dir"],
    ["stat", "-L", "-c", "%N %s %F", "link"],
    ["date", "-u", "-d", "@-2147472000", "+%Y-%m-%d %T"],
    ["sort", "-t", " ", "-k4,4n", "-k2,2r", "data.txt"],
    ["grep", "-E", "-o", "[0-9]+$", "data.txt"],
    ["hexdump", "-C", "csv.txt"],
    ["diff", "-u", "words.txt", "csv.txt"],
    ["tac", "words.txt"],
    ["nl", "words.txt"],
    ["paste", "-s", "-d", ",", "words.txt"],
    ["sha1sum", "data.txt"],
    ["cksum", "data.txt"],
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
    "exec 3>f3; echo to3 >&3; exec 3>&-; read l < f3; echo got $l; umask; umask 027; umask",
    "cd dir/sub && echo ${PWD##*/} && cd - >/dev/null && echo ${PWD##*/}; cd /nonexistent",
    "for f in *; do [ -L \"$f\" ] && echo link $f; [ -d \"$f\" ] && echo dir $f; done; echo ${#f}",
    "printf '%s\\n' $((1<<62)) $((-7/2)) $((-7%3)) $((0x10)); echo $((1/0))",
    "ulimit -v 100000; ulimit -v; ulimit -s 4096; ulimit -s; ulimit -n",
]


@pytest.mark.parametrize("arch", ARCHES)
@pytest.mark.parametrize("script", SCRIPTS)
def test_sh_builtins(arch, script, tree):
    assert_same([bb(arch), "sh", "-c", script], cwd=tree)


@pytest.mark.parametrize("arch", ARCHES)
def test_tar_list_and_extract(arch, tree, tmp_path_factory):
    archive = tmp_path_factory.mktemp("archive") / "a.tar"
    with tarfile.open(archive, "w") as tf:
        for name in ("dir", "data.txt", "link", "words.txt"):
            tf.add(tree / name, arcname=name)
    assert_same([bb(arch), "tar", "-tvf", archive], cwd=tree)
    native, guest = tmp_path_factory.mktemp("native"), tmp_path_factory.mktemp("guise")
    assert_same_effects([bb(arch), "tar", "-xvf", archive], native, guest)
    assert (guest / "dir" / "sub" / "deep.txt").read_text() == "deep\n"
    assert (guest / "data.txt").read_text() == TEXT
    assert os.readlink(guest / "link") == "data.txt"
    assert os.stat(guest / "data.txt").st_mtime == FIXED_TIME


@pytest.mark.parametrize("arch", ARCHES)
def test_tar_create(arch, twins):
    assert_same_effects([bb(arch), "tar", "-cf", "t.tar", "dir", "data.txt", "link"], *twins)
    assert_same([bb(arch), "tar", "-tvf", "t.tar"], cwd=twins[1])


@pytest.mark.parametrize("arch", ARCHES)
def test_gzip_round_trip(arch, twins, tree):
    assert_same([bb(arch), "gzip", "-9", "-c", "data.txt"], cwd=tree)
    assert_same_effects([bb(arch), "gzip", "-k", "data.txt"], *twins)
    assert gzip.decompress((twins[1] / "data.txt.gz").read_bytes()).decode() == TEXT
    for side in twins:
        (side / "data.txt").unlink()
    assert_same_effects([bb(arch), "gunzip", "-v", "data.txt.gz"], *twins)
    assert (twins[1] / "data.txt").read_text() == TEXT
    assert_same([bb(arch), "zcat", "missing.gz"], cwd=tree)


# Applets that change the tree: run natively in one copy and under guise in another.
CHANGES = [
    ["cp", "-a", "dir", "link", "copy"],
    ["cp", "-p", "link", "deref"],
    ["mv", "data.txt", "dir/moved"],
    ["rm", "-r", "dir", "link"],
    ["rmdir", "dir/sub"],
    ["ln", "-s", "data.txt", "l2"],
    ["ln", "data.txt", "hard"],
    ["mkdir", "-p", "-m", "700", "a/b/c"],
    ["touch", "-d", "1901-12-14 00:00:00", "old", "data.txt"],
    ["sh", "-c", "touch -d '1901-12-14 00:00:00' old; stat -c '%Y %y %n' old; ls -l --full-time old"],
    ["touch", "-d", "2100-01-01 00:00:00", "future"],
    ["touch", "-r", "csv.txt", "-h", "link"],
    ["chmod", "-R", "go-rx", "dir"],
    ["truncate", "-s", "5", "data.txt"],
    ["dd", "if=data.txt", "of=out", "bs=7", "count=3", "seek=2", "status=none"],
    ["split", "-l", "25", "data.txt", "part_"],
    ["sed", "-i", "s/alpha/ALPHA/", "data.txt"],
    ["install", "-m", "751", "words.txt", "dir/inst"],
    ["mkfifo", "fifo"],
    ["sh", "-c", "echo x >> data.txt; : > empty; umask 077; echo p > priv; ls -l priv empty"],
]


@pytest.mark.parametrize("arch", ARCHES)
@pytest.mark.parametrize("argv", CHANGES, ids=[" ".join(a)[:40] for a in CHANGES])
def test_applet_changes(arch, argv, twins):
    assert_same_effects([bb(arch)] + argv, *twins)


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
    './data.txt; echo "status $?"; /etc/passwd; echo $?; ./dir; echo $?; ./nonexistent; echo $?',
    'ulimit -v 16000; awk "BEGIN { s = \\"x\\"; while (1) s = s s }"; echo "status $?"',
]


@pytest.mark.parametrize("arch", ARCHES)
@pytest.mark.parametrize("script", JOB_SCRIPTS)
def test_sh_processes(arch, script, tree):
    assert_same([bb(arch), "sh", "-c", script], cwd=tree)
