"""The registry (personalities/windows/registry.py, dlls/advapi32.py): the reg sample
and Wine's own reg.exe against wine64, persistence in the prefix's registry.txt,
and the file format itself.

Each test works under a key of its own (HKCU\\Software\\GuiseRegTest\\<name>) and
deletes it, since the wine prefix is shared by the whole session.
"""
from __future__ import annotations

import pytest

from conftest import SAMPLES
from test_windows import guise, prefix, wine  # noqa: F401  (fixtures)

WINE_REG = "/usr/lib/x86_64-linux-gnu/wine/x86_64-windows/reg.exe"


@pytest.mark.parametrize("arch", ["x64", "x86"])
def test_reg_sample_same_as_wine(arch, wine, prefix, tmp_path):
    name = f"sample-{arch}-{tmp_path.name}"
    env = {"GUISE_REG": "C:\\dir"}
    wstatus, wout = wine([SAMPLES / "reg-x64.exe", "run", name], tmp_path, env)
    g = guise([SAMPLES / f"reg-{arch}.exe", "run", name], tmp_path, prefix, env)
    assert g.stdout == wout, f"stdout differs\nwine  {wout!r}\nguise {g.stdout!r}\n{g.stderr[-2000:]!r}"
    assert g.status == wstatus == 0, g.stderr
    assert g.stderr == b""


def test_writes_persist_in_the_prefix(prefix, tmp_path):
    g = guise([SAMPLES / "reg-x86.exe", "keep", "kept"], tmp_path, prefix)
    assert g.status == 0, g.stderr
    text = (prefix / "registry.txt").read_text()
    section = text.split("[HKEY_CURRENT_USER\\Software\\GuiseRegTest\\kept]\n", 1)[1].split("\n[", 1)[0] + "\n"
    assert '"kept" = dword: 77\n' in section and '"text" = sz: "café"\n' in section, section
    g = guise([SAMPLES / "reg-x64.exe", "check", "kept"], tmp_path, prefix)      # another process
    assert g.stdout == b"open kept key: 0\r\nkept: rc 0 type 4 value 77\r\ndelete tree: 0\r\nopen after delete: 2\r\n"
    assert "GuiseRegTest\\kept" not in (prefix / "registry.txt").read_text()


def test_a_hand_written_value_is_read(prefix, tmp_path):
    """The file is the registry: a value written into it by hand is what the program reads."""
    g = guise([SAMPLES / "reg-x64.exe", "check", "hand"], tmp_path, prefix)    # seeds the file
    assert g.stdout == b"open kept key: 2\r\n" and g.status == 1
    reg = prefix / "registry.txt"
    reg.write_text(reg.read_text() + "[HKEY_CURRENT_USER\\Software\\GuiseRegTest\\hand]\n\"kept\" = dword: 0x10\n")
    g = guise([SAMPLES / "reg-x64.exe", "check", "hand"], tmp_path, prefix)
    assert g.stdout.startswith(b"open kept key: 0\r\nkept: rc 0 type 4 value 16\r\n"), g.stdout


def test_a_damaged_file_is_one_line_and_left_alone(prefix, tmp_path):
    prefix.mkdir()
    reg = prefix / "registry.txt"
    damaged = "[HKEY_CURRENT_USER\\Software\\GuiseRegTest\\bad]\n\"kept\" = dword: 5\n\"x\" = nosuchtype: 1\n"
    reg.write_text(damaged)
    g = guise([SAMPLES / "reg-x64.exe", "check", "bad"], tmp_path, prefix)
    assert g.status == 0
    assert g.stdout.startswith(b"open kept key: 0\r\nkept: rc 0 type 4 value 5\r\n")
    assert g.stderr.count(b"\n") == 1 and b"line 3: unknown type 'nosuchtype'" in g.stderr, g.stderr
    assert reg.read_text() == damaged          # not rewritten with what could be read of it


@pytest.mark.parametrize("steps", [
    [["add", "{k}", "/v", "name", "/d", "hello world", "/f"], ["query", "{k}"],
     ["add", "{k}", "/v", "n", "/t", "REG_DWORD", "/d", "42", "/f"], ["query", "{k}", "/v", "n"],
     ["add", "{k}\\sub", "/f"], ["query", "{k}", "/s"],
     ["delete", "{k}", "/v", "name", "/f"], ["query", "{k}"], ["delete", "{k}", "/f"], ["query", "{k}"]],
], ids=["add-query-delete"])
def test_wine_reg_exe(steps, wine, prefix, tmp_path):
    """Wine's reg.exe (delay-loads through ResolveDelayLoadedAPI): same output and status."""
    key = f"HKCU\\Software\\GuiseRegTest\\regexe-{tmp_path.name}"
    for step in steps:
        argv = [WINE_REG] + [a.format(k=key) for a in step]
        wstatus, wout = wine(argv, tmp_path)
        g = guise(argv, tmp_path, prefix, env={"WINEDEBUG": "-all"})
        assert (g.status, g.stdout) == (wstatus, wout), (step, g.stderr)


def test_format_round_trip():
    from personalities.windows import registry as R
    reg = R.Registry()
    assert reg.load(R.SEED) == []
    key = reg.key("HKEY_CURRENT_USER\\Software\\Odd", create=True)
    samples = {"sz": (R.REG_SZ, 'quote " back\\ é\n'.encode("utf-16-le") + b"\0\0"),
               "no nul": (R.REG_SZ, b"a\0"), "odd length": (R.REG_SZ, b"abc"),
               "multi": (R.REG_MULTI_SZ, "a\0b\0\0".encode("utf-16-le")),
               "empty multi": (R.REG_MULTI_SZ, b"\0\0"),
               "dword": (R.REG_DWORD, (0xFFFFFFFF).to_bytes(4, "little")),
               "short dword": (R.REG_DWORD, b"\1"), "qword": (R.REG_QWORD, (1 << 63).to_bytes(8, "little")),
               "bin": (R.REG_BINARY, bytes(range(256))), "none": (R.REG_NONE, b""),
               "custom": (0x7FFF, b"\xde\xad"), "": (R.REG_EXPAND_SZ, "%X%\0".encode("utf-16-le"))}
    for name, (kind, data) in samples.items():
        key.values[name.lower()] = (name, kind, data)
    text = reg.dump()
    again = R.Registry()
    assert again.load(text) == []
    assert again.dump() == text
    back = again.key("HKEY_CURRENT_USER\\Software\\Odd")
    assert {v[0]: (v[1], v[2]) for v in back.values.values()} == samples
    assert '"dword" = dword: 4294967295' in text and '"multi" = multi_sz: ["a", "b"]' in text
