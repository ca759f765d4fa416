"""A bzImage's kernel unpacked on the host (hw/bzimage.py): payloads made by the
same compressors, with the same options, as the kernel's build uses
(scripts/Makefile.lib: the tool's output, then the uncompressed size as 4
little-endian bytes, except for gzip whose trailer already ends with it).

A tiny "kernel" ELF stands in for vmlinux: its code reads a byte from its
second segment and writes it to the power-off port, so ``guise vm run``'s
exit status shows that the segments went to their physical addresses and the
CPU entered at the ELF's entry in 64-bit mode.
"""
from __future__ import annotations

import shutil
import struct
import subprocess
import sys

import pytest

from conftest import ROOT
from hw import bzimage
from hw.linuxboot import LinuxImage, load

CODE_AT, DATA_AT, ANSWER = 0x1000000, 0x1200000, 42
# movabs al, [DATA_AT]; out 0xf4, al; hlt
CODE = b"\xa0" + struct.pack("<Q", DATA_AT) + b"\xe6\xf4\xf4"

COMPRESSORS = {        # format -> the kernel build's command (reads stdin, writes stdout)
    "gzip": ["gzip", "-n", "-f", "-9"],
    "bzip2": ["bzip2", "-9"],
    "lzma": ["lzma", "-9"],
    "xz": ["xz", "--check=crc32", "--x86", "--lzma2=dict=32MiB"],
    "lz4": ["lz4", "-l", "-12", "--favor-decSpeed"],
    "zstd": ["zstd", "-22", "--ultra"],
}


def vmlinux(entry: int = CODE_AT, code_at: int = CODE_AT, virtual: int = 0) -> bytes:
    """An ELF64 x86-64 executable: CODE at ``code_at``, ANSWER (and a page of bss)
    at DATA_AT; ``virtual`` is added to each segment's virtual address."""
    segs = [(code_at, CODE, len(CODE)), (DATA_AT, bytes([ANSWER]), 0x1000)]
    phoff, body_at = 64, 64 + 56 * len(segs)
    out = bytearray(struct.pack("<4sBBBB8xHHIQQQIHHHHHH", b"\x7fELF", 2, 1, 1, 0, 2, 62, 1, entry, phoff, 0,
                                0, 64, 56, len(segs), 64, 0, 0))
    bodies = b""
    for paddr, data, memsz in segs:
        out += struct.pack("<IIQQQQQQ", 1, 7, body_at + len(bodies), paddr + virtual, paddr, len(data), memsz, 0x1000)
        bodies += data
    return bytes(out + bodies)


def compress(fmt: str, data: bytes) -> bytes:
    cmd = COMPRESSORS[fmt] if fmt != "lzo" else ["lzop", "-9"]
    if not shutil.which(cmd[0]):
        pytest.skip(f"{cmd[0]} missing (make test installs it)")
    out = subprocess.run(cmd, input=data, capture_output=True, check=True).stdout
    return out if fmt == "gzip" else out + struct.pack("<I", len(data))


def bzimage_of(payload: bytes, setup_sects: int = 4) -> bytes:
    """A bzImage around ``payload``: the setup header of boot protocol 2.15 (64-bit
    entry), a 0x800-byte stand-in for the decompressor, then the payload."""
    setup = bytearray((setup_sects + 1) * 512)
    protected = bytes(0x800) + payload
    protected += bytes(-len(protected) % 16)                                # syssize counts 16-byte units
    setup[0x1F1] = setup_sects
    struct.pack_into("<I", setup, 0x1F4, (len(protected) + 15) // 16)      # syssize
    setup[0x1FE:0x206] = b"\x55\xaa\xeb\x6aHdrS"
    struct.pack_into("<H", setup, 0x206, 0x20F)
    setup[0x211] = 1                                                        # LOADED_HIGH
    struct.pack_into("<IIBBHI", setup, 0x22C, 0x7FFFFFFF, 0x200000, 1, 21, 1, 2048)
    struct.pack_into("<II", setup, 0x248, 0x800, len(payload))
    struct.pack_into("<QI", setup, 0x258, CODE_AT, 0x400000)                # pref_address, init_size
    return bytes(setup) + protected


class Ram:
    """A machine's RAM as boot loaders see it: write(addr, bytes)."""
    def __init__(self):
        self.writes = {}

    def write(self, addr, data):
        self.writes[addr] = bytes(data)


@pytest.mark.parametrize("fmt", sorted(COMPRESSORS))
def test_each_format_unpacks_to_the_kernels_segments(fmt):
    image = LinuxImage(bzimage_of(compress(fmt, vmlinux())))
    ram = Ram()
    entry, zero_page = load(image, ram, 64 << 20, "console=ttyS0")
    assert entry == CODE_AT
    assert ram.writes[CODE_AT] == CODE
    assert ram.writes[DATA_AT] == bytes([ANSWER]) + bytes(0xFFF)           # bss zeroed up to memsz
    assert image.how.startswith(f"the kernel was decompressed on the host ({fmt}, ")
    assert struct.unpack_from("<I", ram.writes[zero_page], 0x214)[0] == CODE_AT


def test_a_virtual_entry_is_translated_to_its_physical_address():
    blob = vmlinux(entry=0xFFFFFFFF81000000, virtual=0xFFFFFFFF80000000)
    assert bzimage.parse_vmlinux("raw", blob).entry == CODE_AT


def test_lzo_and_unknown_payloads_fall_back_to_the_guests_decompressor():
    for payload, why in [(compress("lzo", vmlinux()), "LZO payload: no host decompressor"),
                         (b"\x00\x01\x02\x03" * 64, "payload in an unknown format (magic 00010203)")]:
        image = LinuxImage(bzimage_of(payload))
        ram = Ram()
        entry, _ = load(image, ram, 64 << 20, "")
        assert (entry, ram.writes[CODE_AT]) == (CODE_AT + 0x200, image.protected)
        assert image.how == f"the kernel decompresses itself in the guest ({why})"


def test_guest_decompression_on_request():
    image = LinuxImage(bzimage_of(compress("gzip", vmlinux())))
    ram = Ram()
    entry, _ = load(image, ram, 64 << 20, "", decompress="guest")
    assert entry == CODE_AT + 0x200 and ram.writes[CODE_AT] == image.protected


def _corrupt(payload: bytes, at: int, data: bytes) -> bytes:
    return payload[:at] + data + payload[at + len(data):]


@pytest.mark.parametrize("fmt, damage, words", [
    ("gzip", lambda p: _corrupt(p, len(p) - 8, b"\0\0\0\0"), "corrupt gzip payload: Error -3"),   # the CRC
    ("xz", lambda p: _corrupt(p, 40, b"\xff" * 8), "corrupt xz payload"),
    ("bzip2", lambda p: p[:len(p) // 2], "corrupt bzip2 payload: it ends before its stream does"),
    ("lz4", lambda p: _corrupt(p, 4, b"\xff\xff\xff\x7f"), "corrupt lz4 payload: a block of"),
    ("zstd", lambda p: _corrupt(p, len(p) - 4, b"\1\0\0\0"), r"unpacks to \d+ bytes, the kernel.s build recorded 1"),
])
def test_a_corrupt_payload_is_an_error(fmt, damage, words):
    with pytest.raises(bzimage.CorruptKernel, match=words):
        bzimage.unpack(bzimage_of(damage(compress(fmt, vmlinux()))), 5 * 512)


def test_a_payload_that_is_no_x86_64_elf_or_lies_outside_the_file():
    with pytest.raises(bzimage.CorruptKernel, match="the gzip payload is not an x86-64 ELF kernel"):
        bzimage.unpack(bzimage_of(compress("gzip", b"MZ" + bytes(200))), 5 * 512)
    with pytest.raises(bzimage.CorruptKernel, match="entry 0x2000000 is in none of its segments"):
        bzimage.unpack(bzimage_of(compress("gzip", vmlinux(entry=0x2000000))), 5 * 512)
    data = bytearray(bzimage_of(compress("gzip", vmlinux())))
    struct.pack_into("<I", data, 0x24C, len(data))
    with pytest.raises(bzimage.CorruptKernel, match="is not inside the file"):
        bzimage.unpack(bytes(data), 5 * 512)


def vm(*args, backend="unicorn"):
    return subprocess.run([sys.executable, "-m", "guise", "vm", "run", "--backend", backend, *map(str, args)],
                          cwd=ROOT, stdin=subprocess.DEVNULL, capture_output=True, timeout=120)


@pytest.mark.parametrize("fmt, backend", [("zstd", "unicorn"), ("lz4", "unicorn"), ("lz4", "kvm")])
def test_guise_vm_run_enters_the_unpacked_kernel(fmt, backend, tmp_path):
    """The tiny kernel powers off with the byte its second segment holds."""
    if backend == "kvm":
        from test_vm_kvm import WHY_NOT
        if WHY_NOT:
            pytest.skip(f"no usable KVM: {WHY_NOT}")
    (tmp_path / "bzImage").write_bytes(bzimage_of(compress(fmt, vmlinux())))
    p = vm("--kernel", tmp_path / "bzImage", "--mem", "64M", "--timeout", "30", "--stats", backend=backend)
    assert p.returncode == ANSWER, p.stderr
    assert f"the kernel was decompressed on the host ({fmt}, 0.0 MiB".encode() in p.stderr


def test_guise_vm_run_refuses_a_corrupt_payload_in_one_line(tmp_path):
    payload = compress("gzip", vmlinux())
    (tmp_path / "bzImage").write_bytes(bzimage_of(_corrupt(payload, len(payload) - 8, b"\0\0\0\0")))
    p = vm("--kernel", tmp_path / "bzImage", "--mem", "64M")
    assert p.returncode == 126, p.stderr
    assert p.stderr.decode().startswith(f"guise: {tmp_path / 'bzImage'}: corrupt gzip payload: Error -3 ")
    assert p.stderr.count(b"\n") == 1, p.stderr


def test_a_kernel_linked_off_its_alignment_is_refused(tmp_path):
    (tmp_path / "bzImage").write_bytes(bzimage_of(compress("gzip", vmlinux(entry=0x1100000, code_at=0x1100000))))
    p = vm("--kernel", tmp_path / "bzImage", "--mem", "64M")
    assert p.returncode == 126 and p.stderr.count(b"\n") == 1, p.stderr
    assert b"the kernel ELF is linked at 0x1100000, not a multiple of its kernel_alignment 0x200000" in p.stderr
