"""The first things a user tries: hello, ls, python3."""
from conftest import assert_same, run_guise


def test_ls_la_etc():
    assert_same(["/bin/ls", "-la", "/etc"])


def test_python3_hashlib():
    g = assert_same(["/usr/bin/python3", "-c",
                     "import json,hashlib; print(hashlib.sha256(b'x').hexdigest())"])
    assert g.stdout.strip() == b"2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"


def test_missing_program_is_127():
    g = run_guise(["/nonexistent/prog"])
    assert g.status == 127
    assert g.stderr.count(b"\n") == 1 and b"No such file" in g.stderr


def test_shebang_script(tmp_path):
    script = tmp_path / "s.sh"
    script.write_text('#!/bin/sh -e\necho "script: $0 $1"\nexit 4\n')
    script.chmod(0o755)
    g = assert_same([script, "A"])
    assert g.status == 4
