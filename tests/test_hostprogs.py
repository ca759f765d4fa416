"""The host's own dynamically linked programs, with the host's ld.so and libc, on the
emulated CPU: coreutils, grep, sed, awk, python3, perl — compared with native runs."""
from __future__ import annotations

import os
import shutil

import pytest

from conftest import assert_same, assert_same_effects, need, run_guise, twin_copies

TEXT = "".join(f"{i:04d} {'even' if i % 2 == 0 else 'odd'} {i * i % 97}\n" for i in range(200))


@pytest.fixture
def files(tmp_path):
    (tmp_path / "t.txt").write_text(TEXT)
    (tmp_path / "w.txt").write_text("b\na\nc\na\n")
    (tmp_path / "old.txt").write_text("before 1970\n")
    for name in ("t.txt", "w.txt"):
        os.utime(tmp_path / name, (1_500_000_000, 1_500_000_000))
    os.utime(tmp_path / "old.txt", (-2_147_472_000, -2_147_472_000))
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
    ["/usr/bin/stat", "t.txt", "old.txt"],                  # statx: birth time too
    ["/usr/bin/stat", "-c", "%n %W %i %h %b %Y", "t.txt", "."],
    ["/bin/ls", "-l", "--time-style=full-iso", "old.txt"],
    ["/bin/cat", "/proc/self/comm"],
    ["/usr/bin/env"],
    ["/usr/bin/ionice"],
    ["/usr/bin/sha256sum", "/usr/share/common-licenses/GPL-3"],
    ["/usr/bin/wc", "-lwc", "/usr/share/common-licenses/GPL-3"],
    ["/usr/bin/find", ".", "-printf", "%p %s %m %y %TY\\n"],
    ["/usr/bin/sort", "-S", "4k", "-T", ".", "t.txt"],
]


@pytest.mark.parametrize("argv", COREUTILS, ids=[" ".join(a)[:40] for a in COREUTILS])
def test_coreutils(argv, files):
    assert_same(argv, cwd=files, stdin=b"piped input\n")


def test_memory_size_as_native(tmp_path):
    """sysinfo's layout: glibc reads the page count and unit from it, and sort sizes its
    buffer by free memory (a wrong mem_unit once made it sort in 8-line temp files)."""
    assert_same(["/usr/bin/python3", "-c", "import os; print(os.sysconf('SC_PHYS_PAGES'))"])
    (tmp_path / "n.txt").write_text("".join(f"{i}\n" for i in range(20000)))
    env = dict(os.environ, TMPDIR=str(tmp_path / "absent"))    # no room for temp files
    assert_same(["/usr/bin/sort", "-r", "n.txt"], cwd=tmp_path, env=env)


DEV_FD = [
    "diff <(seq 1 10) <(seq 2 11); echo $?",               # process substitution: /dev/fd/63
    "paste -d, <(seq 3) <(seq 4 6)",
    "bash <(echo echo from a script in a pipe)",           # exec of /dev/fd/N
    "readlink /dev/stdin /dev/fd; cat /dev/stdin <<< here; stat -L -c %F /dev/fd/0 < /dev/null",
    "exec 7< /etc/hostname; cat /dev/fd/7 | wc -c; ls -l /dev/fd/7 | cut -c1",
]


@pytest.mark.parametrize("script", DEV_FD, ids=[s[:30] for s in DEV_FD])
def test_dev_fd_names_the_guests_descriptors(script):
    """/dev/fd/N and /dev/std* are links into /proc/self/fd: the guest's fd 63 is not
    the emulator's, so they must lead to the guest's own descriptors."""
    assert_same(["/bin/bash", "-c", script])


def test_pseudo_terminals():
    """openpty (TIOCGPTN, TIOCSPTLCK, TIOCGPTPEER), a child on its own pty, script(1)."""
    assert_same(["/usr/bin/python3", "-c", "import os, pty\n"
                 "m, s = os.openpty(); os.write(m, b'hi\\n'); print(os.read(s, 10), os.ttyname(s)[:9])\n"
                 "pid, fd = pty.fork()\n"
                 "if pid == 0: print('child on', os.ttyname(0)[:9]); os._exit(5)\n"
                 "print(os.read(fd, 100).strip(), os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))"])
    assert_same(["/usr/bin/script", "-qc", "echo in script; tty | cut -c1-9", "/dev/null"])


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


@pytest.fixture
def twins(files, tmp_path_factory):
    return twin_copies(files, tmp_path_factory, 1_500_000_000)


def test_python3_files(twins):
    """The os module over the file-system calls: stat family, times, links, fds, pread/pwrite."""
    script = (
        "import os, stat, time, errno\n"
        "fd = os.open('n', os.O_CREAT | os.O_RDWR | os.O_EXCL, 0o640)\n"
        "os.write(fd, b'hello world'); print(os.pread(fd, 5, 6)); os.pwrite(fd, b'W', 6)\n"
        "os.ftruncate(fd, 8); os.fsync(fd); print(os.fstat(fd).st_size, open('n').read())\n"
        "for name, flags in (('r', os.O_RDONLY), ('w', os.O_WRONLY), ('rw', os.O_RDWR)):\n"
        "    f = os.open('t.txt', flags)\n"
        "    print(name, stat.filemode(os.lstat(f'/proc/self/fd/{f}').st_mode), os.readlink(f'/proc/self/fd/{f}')[-5:])\n"
        "    os.close(f)\n"
        "os.utime('n', ns=(5, 123456789)); print(os.stat('n').st_mtime_ns)\n"
        "os.utime('n'); print(time.time() - os.stat('n').st_mtime < 60)\n"
        "os.utime(fd, (7, 8)); print(os.fstat(fd).st_mtime)\n"
        "os.utime('n', (-100, -200)); print(os.stat('n').st_atime, os.stat('n').st_mtime)\n"
        "os.symlink('n', 'sl'); os.link('n', 'hl'); print(os.stat('hl').st_nlink, os.readlink('sl'))\n"
        "print(sorted((e.name, e.is_dir(), e.is_symlink()) for e in os.scandir('.')))\n"
        "os.mkdir('d', 0o700); os.rename('d', 'd2'); print(oct(os.stat('d2').st_mode))\n"
        "for f in (lambda: os.open('nope', 0), lambda: os.mkdir('d2'), lambda: os.rmdir('t.txt'),\n"
        "          lambda: os.readlink('n'), lambda: os.execv('t.txt', ['t.txt'])):\n"
        "    try: f()\n"
        "    except OSError as e: print(errno.errorcode[e.errno])\n")
    assert_same_effects(["/usr/bin/python3", "-c", script], *twins)


def test_python3_process_calls(files):
    """Limits of the guest's own address space, memfds, scheduling, inode flags, fd listing."""
    script = (
        "import os, resource, fcntl\n"
        "resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30)); print(resource.getrlimit(resource.RLIMIT_AS))\n"
        "try: x = bytearray(2 << 30)\n"
        "except MemoryError: print('MemoryError')\n"
        "y = bytearray(64 << 20); print(len(y))\n"
        "resource.setrlimit(resource.RLIMIT_STACK, (1 << 20, resource.RLIM_INFINITY))\n"
        "print(resource.getrlimit(resource.RLIMIT_STACK))\n"
        "fd = os.memfd_create('m', os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING); os.write(fd, b'abc')\n"
        "fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_WRITE)\n"
        "print(os.readlink(f'/proc/self/fd/{fd}'), os.pread(fd, 3, 0), fcntl.fcntl(fd, fcntl.F_GET_SEALS))\n"
        "print(os.listdir('/proc/self/fd'))\n"
        "print(os.sched_getscheduler(0), os.sched_get_priority_max(os.SCHED_FIFO), os.sched_get_priority_min(os.SCHED_RR), os.sched_rr_get_interval(0) >= 0)\n"
        "for f in (lambda: os.write(fd, b'x'), lambda: os.memfd_create('n' * 300), lambda: os.sched_get_priority_max(77)):\n"
        "    try: f()\n"
        "    except OSError as e: print(e)\n")
    assert_same(["/usr/bin/python3", "-c", script], cwd=files)
    assert_same(["/usr/bin/lsattr", "t.txt"], cwd=files)


def test_python3_error_exit():
    g = assert_same(["/usr/bin/python3", "-c", "import sys; print('out'); sys.exit('fatal')"])
    assert g.status == 1


def test_perl():
    need("/usr/bin/perl", "perl is installed by `make deps-test`")
    assert_same(["/usr/bin/perl", "-e",
                 'my %h = map { $_ => length } qw(alpha be gamma); '
                 'print join(",", map {"$_=$h{$_}"} sort keys %h), "\\n"; '
                 'printf("%.5f %s\\n", sqrt(2), scalar reverse "guise");'])


def test_perl_files(twins):
    need("/usr/bin/perl", "perl is installed by `make deps-test`")
    assert_same_effects(["/usr/bin/perl", "-le",
                 "opendir(D, '.'); print join(' ', sort grep { !/^\\./ } readdir D); "
                 "print join(' ', (stat 't.txt')[7, 9]), ' ', (stat 'old.txt')[9]; "
                 "mkdir 'pd'; rename 'pd', 'pe'; print -d 'pe' ? 'dir' : 'none'; "
                 "utime 1, 2, 't.txt'; print((stat 't.txt')[9]); symlink 't.txt', 'l'; print readlink 'l'; "
                 "open(F, '<', 'w.txt'); my @l = <F>; print scalar(@l); exit 3"], *twins)


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
    # the task is named after the guest program, as after an execve
    g = run_guise(["/bin/grep", "-E", "^(Name|State):", "/proc/self/status"])
    assert g.stdout.startswith(b"Name:\tgrep\n"), g.stdout
    g = run_guise(["/usr/bin/python3", "-c", "import ctypes; b = ctypes.create_string_buffer(16); "
                   "l = ctypes.CDLL(None); l.prctl(15, b'renamed', 0, 0, 0); l.prctl(16, b, 0, 0, 0); "
                   "print(b.value.decode(), open('/proc/self/comm').read().strip())"])
    assert g.stdout == b"renamed renamed\n", g.stderr
