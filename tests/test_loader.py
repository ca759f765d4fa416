"""The ELF loader on real binaries, and its one-line errors on malformed ones."""
from __future__ import annotations

import io
import struct

import pytest

from conftest import SAMPLES, run_guise
from loader import LoaderError, load_image


def load(path):
    with open(path, "rb") as f:
        return load_image(f, str(path))


def test_host_ls_is_dynamic_pie():
    im = load("/bin/ls")
    assert (im.format, im.arch, im.bits) == ("elf", "x86_64", 64)
    assert im.position_independent and not im.static
    assert im.interpreter == "/lib64/ld-linux-x86-64.so.2"
    assert "libc.so.6" in im.needed
    assert im.phdr_vaddr == 64 and im.phnum > 5


@pytest.mark.parametrize("name,arch,static,pie,interp", [
    ("hello-static-glibc-x86_64", "x86_64", True, False, None),
    ("hello-static-musl-x86_64", "x86_64", True, False, None),
    ("hello-dynamic-glibc-x86_64", "x86_64", False, True, "/lib64/ld-linux-x86-64.so.2"),
    ("hello-static-glibc-i386", "i386", True, False, None),
    ("hello-static-musl-i386", "i386", True, False, None),
    ("hello-dynamic-glibc-i386", "i386", False, True, "/lib/ld-linux.so.2"),
])
def test_samples(name, arch, static, pie, interp):
    im = load(SAMPLES / name)
    assert im.arch == arch and im.bits == (64 if arch == "x86_64" else 32)
    assert im.static == static and im.interpreter == interp
    assert im.position_independent == pie
    assert not im.exec_stack
    lo, hi = im.span
    assert lo <= im.entry < hi


def test_tls_segment():
    im = load(SAMPLES / "tls-static-glibc-x86_64")
    assert im.tls is not None and im.tls.memsz >= 64 + 16


def _elf_files():
    """Every ELF sample, and a fixed sample of the host's programs and libraries of
    both classes (every fourth: pyelftools, the reference, takes 5 ms a file)."""
    import glob
    paths = sorted(str(p) for p in SAMPLES.iterdir() if not p.suffix)
    for pattern in ("/usr/bin/*", "/lib/x86_64-linux-gnu/*.so*", "/usr/lib32/*.so*"):
        paths += sorted(glob.glob(pattern))[::4]
    out = []
    for p in paths:
        try:
            with open(p, "rb") as f:
                if f.read(4) == b"\x7fELF":
                    out.append(p)
        except OSError:
            pass
    return out


def test_reader_agrees_with_pyelftools():
    """The loader's struct reader against pyelftools, the reference, on every ELF file
    at hand: entry, type, segments, interpreter, TLS, stack, needed libraries, soname."""
    from elftools.elf.elffile import ELFFile
    files = _elf_files()
    assert len(files) > 100
    checked = 0
    for path in files:
        with open(path, "rb") as f:
            data = f.read()
        ref = ELFFile(io.BytesIO(data))
        if ref["e_machine"] not in ("EM_X86_64", "EM_386") or ref["e_type"] not in ("ET_EXEC", "ET_DYN"):
            continue
        im = load(path)
        checked += 1
        loads = [s.header for s in ref.iter_segments() if s["p_type"] == "PT_LOAD"]
        assert [(s.vaddr, s.memsz, s.filesz, s.offset) for s in im.segments] == \
            [(h.p_vaddr, h.p_memsz, h.p_filesz, h.p_offset) for h in loads], path
        assert im.entry == ref["e_entry"] and im.position_independent == (ref["e_type"] == "ET_DYN"), path
        interp = next((s.get_interp_name() for s in ref.iter_segments() if s["p_type"] == "PT_INTERP"), None)
        assert im.interpreter == interp, path
        tls = next((s.header for s in ref.iter_segments() if s["p_type"] == "PT_TLS"), None)
        assert (im.tls and (im.tls.vaddr, im.tls.filesz, im.tls.memsz)) == \
            (tls and (tls.p_vaddr, tls.p_filesz, tls.p_memsz)), path
        dyn = next((s for s in ref.iter_segments() if s["p_type"] == "PT_DYNAMIC"), None)
        tags = list(dyn.iter_tags()) if dyn is not None else []
        assert im.needed == [t.needed for t in tags if t.entry.d_tag == "DT_NEEDED"], path
        assert im.soname == next((t.soname for t in tags if t.entry.d_tag == "DT_SONAME"), None), path
    assert checked > 100


# -- malformed input ---------------------------------------------------------------
def elf64(phdrs=None, e_type=2, machine=62, phentsize=56, phnum=None, phoff=64, cls=2, data=1):
    """A minimal ELF64 header + program headers + 4 KiB of code."""
    phdrs = phdrs if phdrs is not None else [(1, 5, 0, 0x400000, 0x1000, 0x1000, 0x1000)]
    phnum = len(phdrs) if phnum is None else phnum
    ident = b"\x7fELF" + bytes([cls, data, 1]) + bytes(9)
    hdr = ident + struct.pack("<HHIQQQIHHHHHH", e_type, machine, 1, 0x400078, phoff, 0, 0, 64,
                              phentsize, phnum, 0, 0, 0)
    ph = b"".join(struct.pack("<IIQQQQQQ", t, fl, off, va, va, fs, ms, al) for t, fl, off, va, fs, ms, al in phdrs)
    body = hdr + ph
    return body + b"\x90" * (0x1000 - len(body))


BAD = {
    "empty": b"",
    "truncated header": b"\x7fELF\x02\x01\x01" + bytes(20),
    "bad class": elf64(cls=7),
    "big-endian": elf64(data=2),
    "aarch64": elf64(machine=183),
    "relocatable": elf64(e_type=1),
    "no PT_LOAD": elf64(phdrs=[(4, 4, 0, 0, 0, 0, 4)]),
    "segment beyond EOF": elf64(phdrs=[(1, 5, 0, 0x400000, 0x9000, 0x9000, 0x1000)]),
    "filesz > memsz": elf64(phdrs=[(1, 5, 0, 0x400000, 0x1000, 0x10, 0x1000)]),
    "overlapping": elf64(phdrs=[(1, 5, 0, 0x400000, 0x1000, 0x2000, 0x1000),
                                (1, 6, 0, 0x401000, 0x1000, 0x1000, 0x1000)]),
    "bogus phentsize": elf64(phentsize=20),
    "huge phnum": elf64(phnum=60000),
    "phdrs beyond EOF": elf64(phoff=0x7FFFFFFF),
    "script": b"#!/bin/sh\necho hi\n",
    "random": bytes(range(256)) * 4,
}


@pytest.mark.parametrize("name", BAD)
def test_malformed_is_loader_error(name):
    with pytest.raises(LoaderError) as e:
        load_image(io.BytesIO(BAD[name]), "bad")
    assert "\n" not in str(e.value) and str(e.value).startswith("bad: ")


def test_minimal_valid_elf_loads():
    im = load_image(io.BytesIO(elf64()), "min")
    assert im.arch == "x86_64" and not im.position_independent


@pytest.mark.parametrize("name", ["empty", "aarch64", "overlapping", "random", "huge phnum"])
def test_run_malformed_one_line_126(name, tmp_path):
    f = tmp_path / name.replace(" ", "_")
    f.write_bytes(BAD[name])
    f.chmod(0o755)
    g = run_guise([f])
    assert g.status == 126, g.stderr
    assert g.stderr.startswith(b"guise: ") and g.stderr.count(b"\n") == 1


def test_missing_interpreter_127(tmp_path):
    data = bytearray((SAMPLES / "hello-dynamic-glibc-x86_64").read_bytes())
    old = b"/lib64/ld-linux-x86-64.so.2"
    i = data.index(old)
    data[i:i + len(old)] = b"/nonexistent/ld-linux.so.9"[:len(old)].ljust(len(old), b"x")
    f = tmp_path / "nointerp"
    f.write_bytes(bytes(data))
    f.chmod(0o755)
    g = run_guise([f])
    assert g.status == 127
    assert g.stderr.count(b"\n") == 1 and b"interpreter" in g.stderr


def test_info_dynamic_and_static():
    from conftest import ROOT
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-m", "guise", "info", "/bin/ls"], capture_output=True,
                         cwd=ROOT, check=True).stdout.decode()
    assert "PIE" in out and "dynamic" in out and "/lib64/ld-linux-x86-64.so.2" in out and "linux" in out
    out = subprocess.run([sys.executable, "-m", "guise", "info", str(SAMPLES / "hello-static-glibc-i386")],
                         capture_output=True, cwd=ROOT, check=True).stdout.decode()
    assert "i386" in out and "static" in out and "ELF32" in out
