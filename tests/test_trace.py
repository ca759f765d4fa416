"""--trace, --trace-json and --stats show what the guest asked of the kernel."""
import json

from conftest import run_guise


def test_trace_strace_format(tmp_path):
    g = run_guise(["/bin/cat", "/etc/hostname"], options=["--trace"])
    assert g.status == 0
    lines = g.stderr.decode().splitlines()
    assert 'openat(AT_FDCWD, "/etc/hostname", O_RDONLY) = 3' in lines
    assert any(l.startswith("write(1, ") and l.endswith(f") = {len(g.stdout)}") for l in lines)
    assert lines[-1] == "exit_group(0) = ?"
    # errors are shown the strace way
    g = run_guise(["/bin/cat", "/nonexistent"], options=["--trace"])
    assert 'openat(AT_FDCWD, "/nonexistent", O_RDONLY) = -1 ENOENT (No such file or directory)' \
        in g.stderr.decode().splitlines()


def test_trace_json(tmp_path):
    out = tmp_path / "t.jsonl"
    g = run_guise(["/bin/cat", "/etc/hostname"], options=["--trace-json", str(out)])
    assert g.status == 0 and g.stderr == b""
    events = [json.loads(l) for l in out.read_text().splitlines()]
    names = [e["syscall"] for e in events]
    assert names[-1] == "exit_group"
    opened = [e for e in events if e["syscall"] == "openat" and '"/etc/hostname"' in e["args"][1]]
    assert opened and opened[0]["ret"] == 3 and opened[0]["errno"] is None


def test_unimplemented_is_traced_and_counted():
    # python3 asks for a syscall guise does not implement (e.g. rseq/socket differ by version);
    # use a number no kernel has, through ctypes
    code = "import ctypes; l=ctypes.CDLL(None, use_errno=True); print(l.syscall(999), ctypes.get_errno())"
    g = run_guise(["/usr/bin/python3", "-c", code], options=["--trace", "--stats"])
    assert g.stdout == b"-1 38\n"
    err = g.stderr.decode()
    assert "(not implemented)" in err
    assert "unimplemented" in err and "syscall_999" in err


def test_stats_summary():
    g = run_guise(["/bin/true"], options=["--stats"])
    assert g.status == 0
    err = g.stderr.decode()
    assert "--- guise stats ---" in err and "exit_group" in err and "syscalls:" in err


def test_follow_forks_tags_each_line_with_its_pid():
    g = run_guise(["/bin/sh", "-c", "ls / | wc -l"], options=["--trace", "-f"])
    lines = g.stderr.decode().splitlines()
    pids = {l.split("]")[0] for l in lines if l.startswith("[pid ")}
    assert len(pids) >= 3                       # the shell and its two children
    assert all(l.startswith("[pid ") for l in lines if "(" in l)
    assert any("execve(" in l and '"/usr/bin/ls"' in l for l in lines)
