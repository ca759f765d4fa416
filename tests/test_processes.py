"""First steps of the processes issue: fork, execve in place, wait, pipes between processes."""
import pytest

from conftest import assert_same, run_guise

SHELL_CASES = [
    "echo start; ls /etc | wc -l; x=$(echo sub); echo \"got $x\"",
    "(exit 3); echo rc=$?; /bin/false || echo false-failed",
    "sh -c 'exit 7'; echo child=$?",
    "for i in 1 2 3; do echo $i; done | sort -r | head -2",
    "sh -c 'kill -SEGV $$'; echo child=$?",
]


@pytest.mark.parametrize("script", SHELL_CASES)
def test_dash(script):
    assert_same(["/bin/sh", "-c", script])


def test_bash_pipeline(tmp_path):
    for i, n in enumerate([3, 1, 2]):
        (tmp_path / f"f{i}.txt").write_text("x\n" * n)
    assert_same(["/bin/bash", "-c", 'for f in *.txt; do wc -l "$f"; done | sort -n | tail -3'],
                cwd=tmp_path)


def test_python_subprocess():
    code = ("import subprocess; r = subprocess.run(['echo', 'hi'], capture_output=True); "
            "print(r.stdout, r.returncode); print(subprocess.call(['sh', '-c', 'exit 5']))")
    assert_same(["/usr/bin/python3", "-c", code])


def test_exec_failure_returns_to_caller(tmp_path):
    bad = tmp_path / "bad"
    bad.write_bytes(b"\x7fELF garbage")
    bad.chmod(0o755)
    g = assert_same(["/usr/bin/python3", "-c",
                     f"import os\ntry:\n    os.execv('{bad}', ['bad'])\nexcept OSError as e:\n    print(e.errno)"])
    assert g.stdout == b"8\n"


def test_child_killed_by_signal_seen_by_parent():
    g = run_guise(["/bin/sh", "-c", "kill -9 $$"])
    assert g.status == -9


def test_make_j2(tmp_path):
    (tmp_path / "Makefile").write_text(
        "all: c\n\techo done\n"
        "a:\n\techo A > a.out; cat a.out\n"
        "b:\n\tsh -c 'echo B' > b.out; cp b.out b2.out\n"
        "c: a b\n\tcat a.out b2.out | sort > c.out; wc -l c.out\n")
    g = assert_same(["/usr/bin/make", "-j2", "-s"], cwd=tmp_path, check_stderr=True)
    assert (tmp_path / "c.out").read_text() == "A\nB\n" and g.status == 0
