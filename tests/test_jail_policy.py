"""What a jail allows beyond files: the --untrusted profile, --net, signals,
identity, host name, device nodes, and the audit log (JSON Lines, the summary,
and the same events for Python callers)."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading

import pytest

from conftest import BUSYBOX, ROOT

pytestmark = pytest.mark.skipif(not BUSYBOX["x86_64"].exists(), reason="busybox-static missing: make deps-test")
BB = str(BUSYBOX["x86_64"])


def guise(options, argv, timeout=120, **kw):
    return subprocess.run([sys.executable, "-m", "guise", "run", *options, "--", *argv],
                          capture_output=True, timeout=timeout, cwd=ROOT,
                          env={"PATH": "/usr/bin:/bin", "LC_ALL": "C", "HOME": "/root"}, **kw)


def sh(options, script, **kw):
    return guise(options, [BB, "sh", "-c", script], **kw)


def test_untrusted_identity_is_nobody():
    p = sh(["--untrusted"], "id -u; id -g; id -G")
    assert (p.returncode, p.stdout) == (0, b"65534\n65534\n65534\n"), p.stderr


def test_untrusted_cannot_become_root():
    # setuid(0) from nobody: EPERM (busybox su/chroot paths use the same call)
    p = guise(["--untrusted"], ["/usr/bin/python3", "-c",
                                "import os\ntry:\n os.setuid(0)\nexcept PermissionError as e:\n print(e.errno)"])
    assert (p.returncode, p.stdout) == (0, b"1\n"), p.stderr


def test_untrusted_has_no_network_by_default():
    p = sh(["--untrusted"], "nc 127.0.0.1 9 </dev/null; echo status=$?")
    assert b"status=1" in p.stdout and b"Permission denied" in p.stderr, p.stderr


def _listener():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    got = []

    def serve():
        srv.settimeout(60)
        try:
            conn, _ = srv.accept()
            with conn:
                got.append(conn.recv(100))
        except OSError:
            pass
    t = threading.Thread(target=serve, daemon=True)
    t.start()
    return srv, t, got


def test_loopback_network_reaches_localhost_only():
    srv, t, got = _listener()
    port = srv.getsockname()[1]
    try:
        p = sh(["--root", "/", "--net", "loopback"],
               f"echo hello | nc 127.0.0.1 {port}; echo local=$?; nc 192.0.2.1 80 </dev/null; echo remote=$?")
        t.join(10)
    finally:
        srv.close()
    assert got == [b"hello\n"], p.stderr
    assert b"local=0" in p.stdout and b"remote=1" in p.stdout, p.stdout
    assert b"Permission denied" in p.stderr


def test_net_none_refuses_inet_and_abstract_unix_but_not_unix_paths(tmp_path):
    code = ("import socket, errno\n"
            "for fam in (socket.AF_INET, socket.AF_INET6):\n"
            "    try: socket.socket(fam)\n"
            "    except PermissionError as e: print('inet', e.errno)\n"
            "s = socket.socket(socket.AF_UNIX)\n"
            "try: s.connect('\\0guise-test-abstract')\n"
            "except PermissionError as e: print('abstract', e.errno)\n"
            "a = socket.socket(socket.AF_UNIX); a.bind('/tmp/sock'); a.listen(1)\n"
            "b = socket.socket(socket.AF_UNIX); b.connect('/tmp/sock'); print('path ok')\n")
    p = guise(["--root", "/:ro", "--tmpfs", "/tmp", "--net", "none"], ["/usr/bin/python3", "-c", code])
    assert p.stdout == b"inet 13\ninet 13\nabstract 13\npath ok\n", p.stderr


def test_signals_reach_only_the_jail(tmp_path):
    outside = subprocess.Popen(["sleep", "60"])
    try:
        p = sh(["--untrusted"], f"kill -TERM {outside.pid}; echo kill=$?; kill -0 $$ && echo self")
        assert outside.poll() is None, "the jail killed a host process"
        assert p.stdout == b"kill=1\nself\n" and b"No such process" in p.stderr, (p.stdout, p.stderr)
    finally:
        outside.kill()
        outside.wait()


def test_hostname_is_the_jails():
    p = sh(["--root", "/", "--hostname", "cell7"], "hostname; uname -n")
    assert p.stdout == b"cell7\ncell7\n", p.stderr


def test_device_nodes_are_refused_in_any_jail(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    p = guise(["--root", str(root), "--bind", f"{BB}:/busybox:ro"],
              ["/busybox", "sh", "-c", "/busybox mknod /disk b 8 0; echo blk=$?; /busybox mknod /pipe p; echo fifo=$?"])
    assert p.stdout == b"blk=1\nfifo=0\n", p.stderr
    assert not (root / "disk").exists() and (root / "pipe").exists()


def test_audit_log_records_opens_execs_denials_and_limit_hits(tmp_path):
    log = tmp_path / "audit.jsonl"
    p = sh(["--untrusted", "--audit", str(log), "--limit", "procs=64,output=1M"],
           "cat /etc/hostname >/dev/null; mknod /tmp/d c 1 3; nc 10.0.0.1 80 </dev/null; "
           "echo x > /proc/sysrq-trigger; kill -0 1; exec /usr/bin/yes")
    assert p.returncode == 121, p.stderr
    events = [json.loads(line) for line in log.read_text().splitlines()]
    for e in events:
        assert {"time", "pid", "call", "decision"} <= set(e), e
    def has(**want):
        return any(all(e.get(k) == v for k, v in want.items()) for e in events)
    assert has(call="openat", path="/etc/hostname", decision="allow")
    assert has(call="execve", path="/usr/bin/yes", decision="allow")
    assert has(call="mknodat", path="/tmp/d", decision="deny", errno="EPERM")
    assert has(call="socket", decision="deny", errno="EACCES")
    assert has(call="openat", path="/proc/sysrq-trigger", decision="deny")
    assert has(call="limit", decision="limit", detail="output=1M")
    assert has(call="kill", decision="deny", errno="ESRCH")


def test_audit_summary_without_a_log_file():
    p = sh(["--untrusted", "--audit-summary"], "mknod /tmp/d b 8 0; mknod /tmp/e b 8 1; true")
    err = p.stderr.decode()
    assert p.returncode == 0
    assert "--- guise audit:" in err and "mknodat EPERM" in err and "/tmp/d" in err, err


def test_untrusted_refuses_kernel_level_calls():
    # each call straight from the guest (python's ctypes reaches the raw syscall)
    code = ("import ctypes, os\n"
            "libc = ctypes.CDLL(None, use_errno=True)\n"
            "for name, nr, args in [('ptrace', 101, (16, 1, 0, 0)), ('mount', 165, (b'x', b'/tmp', b'tmpfs', 0, 0)),\n"
            "                       ('bpf', 321, (0, 0, 0)), ('reboot', 169, (0, 0, 0, 0)),\n"
            "                       ('init_module', 175, (0, 0, b'')), ('unshare', 272, (0x20000,)),\n"
            "                       ('process_vm_readv', 310, (1, 0, 0, 0, 0, 0))]:\n"
            "    r = libc.syscall(nr, *args)\n"
            "    print(name, r, os.strerror(ctypes.get_errno()) if r < 0 else '')\n")
    p = guise(["--untrusted"], ["/usr/bin/python3", "-c", code])
    lines = p.stdout.decode().splitlines()
    assert len(lines) == 7, p.stderr
    for line in lines:
        assert line.endswith("-1 Operation not permitted"), line


def test_python_callers_get_the_audit_events(tmp_path):
    code = ("import sandbox.jail as J, guise.api as api\n"
            "cfg = J.JailConfig(root='/', audit_summary=True)\n"
            "jail = J.build_jail(cfg)\n"
            f"res = api.run(['{BB}', 'cat', '/etc/hostname'], jail=jail)\n"
            "print(res.exit_status, sorted({(e['call'], e.get('path')) for e in jail.audit.events()"
            " if e.get('path') == '/etc/hostname'}))\n"
            "jail.close()\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120, cwd=ROOT)
    assert p.stdout.decode().splitlines()[-1] == "0 [('openat', '/etc/hostname')]", p.stderr


def test_priority_changes_reach_only_the_jail():
    # as root the emulator could renice any host process; a jail narrows it to its own
    outside = subprocess.Popen(["sleep", "60"])
    try:
        p = sh(["--root", "/"], f"renice -n 7 -p {outside.pid}; echo other=$?; renice -n 3 -p $$; echo self=$?; "
                                "renice -n 5 -u root; echo user=$?")
        assert p.stdout == b"other=1\nself=0\nuser=0\n", p.stderr
        assert os.getpriority(os.PRIO_PROCESS, outside.pid) == 0
    finally:
        outside.kill()
        outside.wait()


def test_untrusted_files_never_get_set_id_bits():
    p = sh(["--untrusted"], "touch /tmp/f; chmod 6755 /tmp/f; stat -c %a /tmp/f; mkdir -m 2775 /tmp/d; stat -c %a /tmp/d")
    assert p.stdout == b"755\n775\n", p.stderr


def test_tmpfs_is_private_on_the_host(tmp_path):
    # inside, /tmp is open to all like a fresh tmpfs; on the host no other user can reach it
    guest = subprocess.Popen([sys.executable, "-m", "guise", "run", "--root", "/:ro", "--tmpfs", "/tmp", "--",
                              BB, "sh", "-c", "stat -c %a /tmp; echo ready; sleep 30"],
                             cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env={"PATH": "/usr/bin:/bin", "TMPDIR": str(tmp_path)})
    try:
        assert guest.stdout.readline() == b"1777\n" and guest.stdout.readline() == b"ready\n"
        made = [d for d in tmp_path.iterdir() if d.name.startswith("guise-tmpfs-")]
        assert len(made) == 1 and made[0].stat().st_mode & 0o777 == 0o700
    finally:
        guest.kill()
        guest.wait()


def test_sigio_owner_must_be_in_the_jail():
    outside = subprocess.Popen(["sleep", "60"])
    code = ("import fcntl, os\n"
            "r, w = os.pipe()\n"
            f"for who in (os.getpid(), {outside.pid}, -os.getpgrp()):\n"
            "    try: print(fcntl.fcntl(r, fcntl.F_SETOWN, who))\n"
            "    except OSError as e: print(e.errno)\n")
    try:
        p = guise(["--root", "/"], ["/usr/bin/python3", "-c", code])
        assert p.stdout == b"0\n3\n1\n", p.stderr            # ESRCH outside, EPERM for a group
    finally:
        outside.kill()
        outside.wait()


def test_untrusted_run_from_a_directory_under_tmp(tmp_path):
    # --untrusted makes /tmp private; the directory the user runs from stays visible, read-only
    (tmp_path / "data").write_text("mine\n")
    p = subprocess.run([sys.executable, "-m", "guise", "run", "--untrusted", "--", BB, "sh", "-c",
                        "pwd; cat data; echo x > new || echo refused; echo y > /tmp/own && cat /tmp/own"],
                       capture_output=True, timeout=120, cwd=tmp_path,
                       env={"PATH": "/usr/bin:/bin", "LC_ALL": "C", "PYTHONPATH": str(ROOT)})
    assert p.stdout == f"{tmp_path}\nmine\nrefused\ny\n".encode(), p.stderr
    assert not (tmp_path / "new").exists()
