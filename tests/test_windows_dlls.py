"""The program's own DLLs as real PE modules (personalities/windows/modules.py):
usedll with mylib and mydep (samples/src/win), against wine64 where the output
can be compared, and the search path, bad DLLs and loader details on their own.

The x86 build is held to wine64's output for the x64 build (wine64 has no 32-bit
side here), with the DLL names and pointer widths of the x86 build.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from conftest import SAMPLES
from test_windows import CANNOT_EXECUTE, NOT_IMPLEMENTED, guise, prefix, wine  # noqa: F401  (fixtures)


def x86_view(out: bytes) -> bytes:
    return out.replace(b"x64", b"x86").replace(b"0000000000000000", b"00000000")


def ship(tmp_path, arch: str, dlls=("mylib", "mydep")):
    """usedll and its DLLs copied into a directory of their own; the program's path."""
    d = tmp_path / "app"
    d.mkdir(exist_ok=True)
    shutil.copy(SAMPLES / f"usedll-{arch}.exe", d)
    for name in dlls:
        shutil.copy(SAMPLES / f"{name}-{arch}.dll", d)
    return d / f"usedll-{arch}.exe"


@pytest.mark.parametrize("arch", ["x64", "x86"])
@pytest.mark.parametrize("args", [[], ["load", "copy.dll"], ["load", "bad.dll"], ["load", "wrongbits.dll"],
                                  ["load", "nothere.dll"]], ids=lambda a: " ".join(a) or "all")
def test_same_as_wine(args, arch, wine, prefix, tmp_path):
    """Import table, LoadLibrary/GetProcAddress (name, ordinal, forwarders), FreeLibrary,
    delay-load, loader lists, DllMain and TLS callback order; then the load of a copy
    (relocated: its preferred base is taken), a truncated file, a DLL of the other
    width and a missing one, as LoadLibrary's result and error code."""
    wdir, gdir = tmp_path / "wine", tmp_path / "guise"
    for d in (wdir, gdir):
        d.mkdir()

    for d, a in ((wdir, "x64"), (gdir, arch)):
        shutil.copy(SAMPLES / f"mylib-{a}.dll", d / "copy.dll")
        (d / "bad.dll").write_bytes((SAMPLES / f"mylib-{a}.dll").read_bytes()[:3000])
        shutil.copy(SAMPLES / f"mylib-{'x86' if a == 'x64' else 'x64'}.dll", d / "wrongbits.dll")
    wstatus, wout = wine([SAMPLES / "usedll-x64.exe", *args], wdir)
    g = guise([SAMPLES / f"usedll-{arch}.exe", *args], gdir, prefix)
    if arch == "x86":
        wout = x86_view(wout)
    assert g.stdout == wout, f"stdout differs\nwine  {wout!r}\nguise {g.stdout!r}\n{g.stderr[-2000:]!r}"
    assert g.status == wstatus, g.stderr
    assert g.stderr == b""


@pytest.mark.parametrize("where", ["cwd", "System32", "PATH"])
def test_search_path(where, prefix, tmp_path):
    """Not next to the program: the current directory, C:\\Windows\\System32, then PATH
    (the guest's is Windows' own, C:\\Windows\\system32;C:\\Windows)."""
    exe = ship(tmp_path, "x64", dlls=())
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    dest = {"cwd": cwd, "System32": prefix / "Windows" / "System32", "PATH": prefix / "Windows"}[where]
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("mylib", "mydep"):
        shutil.copy(SAMPLES / f"{name}-x64.dll", dest)
    g = guise([exe], cwd, prefix)
    assert g.status == 0, g.stderr
    assert g.stdout.startswith(b"mylib: attach (static)"), g.stdout[:200]
    assert b"delay-loaded mydep_twice(5) = 10" in g.stdout


DLL_NOT_FOUND = 116


@pytest.mark.parametrize("arch", ["x64", "x86"])
def test_missing_program_dll_stops_the_start(arch, wine, prefix, tmp_path):
    """An imported DLL that is neither emulated nor found: the program never starts
    (Windows and Wine: STATUS_DLL_NOT_FOUND before any of its code runs)."""
    exe = ship(tmp_path, arch, dlls=())
    g = guise([exe], tmp_path, prefix)
    assert g.stderr == f"guise: usedll-{arch}.exe: cannot find DLL mylib-{arch}.dll\n".encode()
    assert (g.status, g.stdout) == (DLL_NOT_FOUND, b"")
    (tmp_path / "w").mkdir()
    wstatus, wout = wine([ship(tmp_path / "w", "x64", dlls=())], tmp_path)
    assert (wstatus, wout) == (0xC0000135 & 0xFF, b"")


def patched_import(exe, old: bytes, new: bytes) -> None:
    """mylib next to ``exe`` with the DLL name ``old`` in its import table made ``new``."""
    lib = exe.parent / f"mylib-{exe.stem.split('-')[1]}.dll"
    data = lib.read_bytes()
    assert data.count(old + b"\0") == 1 and len(new) <= len(old)
    lib.write_bytes(data.replace(old + b"\0", new.ljust(len(old) + 1, b"\0")))


@pytest.mark.parametrize("arch", ["x64", "x86"])
def test_missing_dll_of_a_program_dll_is_named(arch, prefix, tmp_path):
    exe = ship(tmp_path, arch)
    patched_import(exe, b"msvcrt.dll", b"nosuch.dll")
    g = guise([exe], tmp_path, prefix)
    assert g.stderr == f"guise: mylib-{arch}.dll: cannot find DLL nosuch.dll\n".encode()
    assert (g.status, g.stdout) == (DLL_NOT_FOUND, b"")


def test_windows_own_dll_may_be_missing_until_called(prefix, tmp_path):
    """A DLL every Windows has but guise does not emulate lets the program start; its
    imports stop at their first call."""
    exe = ship(tmp_path, "x64")
    patched_import(exe, b"msvcrt.dll", b"winmm.dll")
    g = guise([exe], tmp_path, prefix)
    assert g.status == NOT_IMPLEMENTED
    assert g.stderr.startswith(b"guise: not implemented: winmm.dll!") and g.stderr.count(b"\n") == 1


@pytest.mark.parametrize("present", [True, False, "without an export"])
def test_info_marks_program_dlls(present, tmp_path):
    exe = ship(tmp_path, "x64", dlls=("mylib",) if present else ())
    if present == "without an export":
        lib = exe.parent / "mylib-x64.dll"
        lib.write_bytes(lib.read_bytes().replace(b"mylib_bump\0", b"mylib_bum?\0"))
    p = subprocess.run([sys.executable, "-m", "guise", "info", str(exe)], capture_output=True, text=True,
                       cwd=tmp_path, env={**os.environ, "GUISE_WINDOWS_PREFIX": str(tmp_path / "prefix")})
    assert p.returncode == 0, p.stderr
    line = next(line for line in p.stdout.splitlines() if line.startswith("imports mylib-x64.dll"))
    if present == "without an export":
        assert "(program DLL)" in line and "mylib_bump [missing]" in line and line.count("[missing]") == 1
    elif present:
        assert "(program DLL)" in line and "[missing]" not in line
        assert line.endswith("(from Z:" + str(exe.parent / "mylib-x64.dll").replace("/", "\\") + ")")
        assert "missing DLLs" not in p.stdout
    else:
        assert "(DLL not found)" in line and "mylib_add [missing]" in line
        assert "missing DLLs" in p.stdout and p.stdout.rstrip().splitlines()[-2].endswith("mylib-x64.dll")
    assert not (tmp_path / "prefix").exists()      # guise info only reads


@pytest.mark.parametrize("damage", ["truncated", "not a PE", "missing export"])
def test_bad_dll_the_program_imports_is_one_line(damage, prefix, tmp_path):
    exe = ship(tmp_path, "x86")
    lib = exe.parent / "mylib-x86.dll"
    if damage == "truncated":
        lib.write_bytes(lib.read_bytes()[:0x400])
    elif damage == "not a PE":
        lib.write_bytes(b"MZ" + b"\0" * 200)
    else:      # mylib without mylib_bump: the name in the export table no longer matches
        data = lib.read_bytes()
        assert data.count(b"mylib_bump\0") == 1
        lib.write_bytes(data.replace(b"mylib_bump\0", b"mylib_bum?\0"))
    g = guise([exe], tmp_path, prefix)
    assert g.status == CANNOT_EXECUTE, g.stderr
    assert g.stderr.startswith(b"guise: ") and g.stderr.count(b"\n") == 1, g.stderr
    assert b"mylib-x86.dll" in g.stderr
    assert g.stdout == b""


def test_wine_builtin_dll_is_never_loaded(prefix, tmp_path):
    """A DLL carrying Wine's builtin marker is one of Wine's system DLLs: not the program's."""
    exe = ship(tmp_path, "x64")
    lib = exe.parent / "mylib-x64.dll"
    data = bytearray(lib.read_bytes())
    data[0x40:0x50] = b"Wine builtin DLL"            # the DOS stub: harmless to the DLL itself
    lib.write_bytes(bytes(data))
    g = guise([exe], tmp_path, prefix)
    assert g.status == NOT_IMPLEMENTED
    assert b"mylib: attach" not in g.stdout


def test_trace_shows_the_dll_calls(prefix, tmp_path):
    exe = ship(tmp_path, "x64")
    g = guise([exe], tmp_path, prefix, options=["--trace"])
    assert g.status == 0
    lines = g.stderr.decode().splitlines()
    assert any(line.startswith('KERNEL32.dll!LoadLibraryA("mydep-x64.dll") = 0x') for line in lines), lines[:60]
    assert any(line.startswith("KERNEL32.dll!FreeLibrary(") and line.endswith("= 1") for line in lines)


@pytest.mark.parametrize("arch", ["x64", "x86"])
def test_exports_match_lief(arch):
    """The loader's export table (names, ordinals with the ordinal base, forwarders)
    against lief's reading of the same DLL."""
    lief = pytest.importorskip("lief")
    from loader.pe import parse_pe
    path = SAMPLES / f"mylib-{arch}.dll"
    info = parse_pe(path.read_bytes(), str(path)).details["pe"]
    ref = lief.parse(str(path)).get_export()
    assert {e.ordinal: e.function_rva for e in ref.entries} == info.export_ordinals
    assert {e.name: e.function_rva for e in ref.entries if e.name} == info.exports
    lo, size = info.export_range
    text = lambda rva: bytes(info.memory[rva:info.memory.index(0, rva)]).decode()      # noqa: E731
    assert {e.name: str(e.forward_information) for e in ref.entries if e.is_forwarded} == \
        {n: text(rva) for n, rva in info.exports.items() if lo <= rva < lo + size}
    assert {e.name for e in ref.entries if e.is_forwarded} == {"mylib_strlen", "mylib_pid", "mylib_twice"}
    assert 7 in info.export_ordinals and info.export_ordinals[7] not in info.exports.values()
