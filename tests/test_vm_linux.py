"""The virtual PC boots Debian's own kernel (linux-image-cloud-amd64) through the
Linux 64-bit boot protocol on unicorn: a busybox initramfs built here (newc
cpio written in Python) runs its /init, whose output reaches stdout through
the 16550; a kernel with no root file system panics and guise says so.
The kernel is decompressed on the host by default (hw/bzimage.py); booted with
its own decompressor instead (--decompress guest) it prints the same.
Also: bad kernels (a corrupt payload among them) and too little memory are
one-line errors, and long-mode exception delivery (page faults through the
guest's IDT) is exact.
"""
from __future__ import annotations

import glob
import os
import shutil
import stat
import struct
import subprocess
import sys

import pytest

from conftest import ROOT

KERNELS = sorted(glob.glob("/boot/vmlinuz-*-cloud-amd64"))
KERNEL = KERNELS[-1] if KERNELS else None
BUSYBOX = "/bin/busybox"
need_kernel = pytest.mark.skipif(KERNEL is None, reason="linux-image-cloud-amd64 not installed (make test installs it)")

INIT = """#!/bin/sh
/bin/busybox mount -t proc proc /proc
echo GUISE-INIT-MARKER
echo "six times seven is $((6 * 7))"
/bin/busybox cat /proc/cmdline
/bin/busybox poweroff -f
"""


def vm(*args, timeout=240):
    return subprocess.run([sys.executable, "-m", "guise", "vm", *map(str, args)], cwd=ROOT,
                          stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)


def newc(entries) -> bytes:
    """A newc ("070701") cpio archive of (name, mode, data, rdev_major, rdev_minor)."""
    out = bytearray()
    for ino, (name, mode, data, major, minor) in enumerate([*entries, ("TRAILER!!!", 0, b"", 0, 0)], 1):
        name_b = name.encode() + b"\0"
        fields = [ino, mode, 0, 0, 1, 0, len(data), 0, 0, major, minor, len(name_b), 0]
        out += b"070701" + b"".join(b"%08X" % f for f in fields) + name_b
        out += b"\0" * (-len(out) % 4) + data
        out += b"\0" * (-len(out) % 4)
    return bytes(out)


def busybox_initramfs(path, init: str, extra=()):
    """Write a newc initramfs to ``path``: busybox as /bin/sh, /dev/console, the
    directories init mounts on, ``init`` as /init, and ``extra`` entries."""
    if not os.path.exists(BUSYBOX):
        pytest.skip("busybox-static not installed (make test installs it)")
    with open(BUSYBOX, "rb") as f:
        busybox = f.read()
    d, r = stat.S_IFDIR | 0o755, stat.S_IFREG | 0o755
    path.write_bytes(newc([("bin", d, b"", 0, 0), ("bin/busybox", r, busybox, 0, 0),
                           ("bin/sh", stat.S_IFLNK | 0o777, b"busybox", 0, 0),
                           ("dev", d, b"", 0, 0), ("dev/console", stat.S_IFCHR | 0o600, b"", 5, 1),
                           ("proc", d, b"", 0, 0), ("sys", d, b"", 0, 0), ("mnt", d, b"", 0, 0),
                           ("init", r, init.encode(), 0, 0), *extra]))
    return path


@pytest.fixture(scope="module")
def initramfs(tmp_path_factory):
    return busybox_initramfs(tmp_path_factory.mktemp("initramfs") / "init.cpio", INIT)


@need_kernel
def test_debian_kernel_boots_a_busybox_initramfs(initramfs):
    p = vm("run", "--kernel", KERNEL, "--initrd", initramfs, "--append", "console=ttyS0 quiet-guise=1",
           "--timeout", "200")
    out = p.stdout.decode(errors="replace")
    assert "Linux version" in out and "Run /init as init process" in out, out[-2000:]
    lines = out.splitlines()
    assert "GUISE-INIT-MARKER" in lines, out[-2000:]
    assert "six times seven is 42" in lines
    assert any(line.startswith("console=ttyS0 quiet-guise=1") for line in lines)
    # `poweroff -f` with ACPI: \_S5 from the DSDT into PM1a_CNT (hw/devices/pm.py)
    assert "ACPI: PM: Preparing to enter system sleep state S5" in out
    assert p.returncode == 0, p.stderr
    assert p.stderr.decode() == "guise vm: powered off (ACPI S5)\n"


SAME_INIT = """#!/bin/sh
/bin/busybox mount -t proc proc /proc
echo GUISE-INIT-MARKER
/bin/busybox uname -r
echo "kernel symbols: $(/bin/busybox wc -l < /proc/kallsyms)"
echo "six times seven is $((6 * 7))"
/bin/busybox poweroff -f
"""


@need_kernel
def test_host_and_guest_decompression_boot_alike(tmp_path):
    """The kernel unpacked by guise (the default) and by its own decompressor
    on the virtual CPU: the init script prints the same, both power off.
    ``quiet``: a kernel message printed while init writes (the TSC's refined
    calibration comes about then) could split one of its lines."""
    init = busybox_initramfs(tmp_path / "init.cpio", SAME_INIT)
    runs = {how: vm("run", "--kernel", KERNEL, "--initrd", init, "--append", "console=ttyS0 quiet", "--stats",
                    "--decompress", how, "--timeout", "200") for how in ("host", "guest")}
    said = {}
    for how, p in runs.items():
        assert p.returncode == 0, p.stderr
        said[how] = [line for line in p.stdout.decode(errors="replace").splitlines() if not line.startswith("[")]
    assert said["host"] == said["guest"], said
    assert said["host"][0] == "GUISE-INIT-MARKER" and said["host"][-1] == "six times seven is 42", said
    assert b"guise vm: the kernel was decompressed on the host (lz4, " in runs["host"].stderr
    assert b"guise vm: the kernel decompresses itself in the guest (asked for)\n" in runs["guest"].stderr


@need_kernel
def test_a_corrupt_kernel_payload_is_a_one_line_error(tmp_path):
    """4 KiB of the compressed kernel zeroed: found on the host before any boot."""
    with open(KERNEL, "rb") as f:
        data = bytearray(f.read())
    start = (data[0x1F1] + 1) * 512 + struct.unpack_from("<I", data, 0x248)[0]
    data[start + (1 << 20):start + (1 << 20) + 4096] = bytes(4096)
    (tmp_path / "vmlinuz").write_bytes(data)
    p = vm("run", "--kernel", tmp_path / "vmlinuz", "--timeout", "60")
    assert p.returncode == 126, p.stderr
    assert p.stderr.startswith(f"guise: {tmp_path / 'vmlinuz'}: corrupt ".encode()) and b" payload: " in p.stderr
    assert p.stderr.count(b"\n") == 1, p.stderr


@need_kernel
@pytest.mark.parametrize("command, status, line", [
    ("reboot -f", 101, "guise vm: rebooted: reset through the i8042\n"),
    ("halt -f", 100, "guise vm: halted for good: halted with interrupts off at 0x"),
])
def test_reboot_and_halt_end_the_run_their_own_way(command, status, line, tmp_path):
    init = busybox_initramfs(tmp_path / "init.cpio", f"#!/bin/sh\necho about to {command}\n/bin/busybox {command}\n")
    p = vm("run", "--kernel", KERNEL, "--initrd", init, "--append", "console=ttyS0", "--timeout", "200")
    assert f"about to {command}" in p.stdout.decode(errors="replace")
    assert p.returncode == status, p.stderr
    assert p.stderr.decode().startswith(line) and p.stderr.count(b"\n") == 1, p.stderr


@need_kernel
def test_a_kernel_panic_ends_the_run_with_its_reason():
    p = vm("run", "--kernel", KERNEL, "--append", "console=ttyS0", "--timeout", "200")
    assert p.returncode == 103, p.stderr
    assert p.stderr.decode() == ("guise vm: kernel panic: Kernel panic - not syncing: VFS: Unable to mount "
                                 "root fs on unknown-block(0,0)\n")


@pytest.mark.parametrize("make, status, words", [
    (lambda k, t: "/bin/true", 126, "not a Linux bzImage"),
    (lambda k, t: "/nonexistent", 127, "No such file"),
    (lambda k, t: _truncated(k, t), 126, "truncated kernel"),
])
def test_bad_bzimages_are_one_line_errors(make, status, words, tmp_path):
    if KERNEL is None and words == "truncated kernel":
        pytest.skip("no kernel to truncate")
    p = vm("run", "--kernel", make(KERNEL, tmp_path))
    assert p.returncode == status and p.stderr.count(b"\n") == 1 and words.encode() in p.stderr, p.stderr


def _truncated(kernel, tmp_path):
    path = tmp_path / "vmlinuz"
    with open(kernel, "rb") as f:
        path.write_bytes(f.read(200_000))
    return path


@need_kernel
def test_too_little_memory_and_a_missing_initrd(tmp_path):
    p = vm("run", "--kernel", KERNEL, "--mem", "64M")
    assert p.returncode == 2 and b"needs more guest RAM: use --mem" in p.stderr and p.stderr.count(b"\n") == 1
    p = vm("run", "--kernel", KERNEL, "--initrd", tmp_path / "missing")
    assert p.returncode == 127 and b"No such file" in p.stderr


PF_GUEST = r"""
.code64
handler:                          # maps the faulting page, counts, returns
    push %rax
    push %rbx
    mov %cr2, %rax
    shr $12, %rax
    mov %rax, %rbx
    shl $12, %rbx
    or $3, %rbx
    mov %rbx, 0x4000(,%rax,8)
    mov %cr2, %rax
    invlpg (%rax)
    incq 0xA000
    mov 16(%rsp), %rax            # the error code: not present, write, kernel
    mov %rax, 0xA010
    pop %rbx
    pop %rax
    add $8, %rsp
    iretq
.org 0x100
main:                             # 8-byte stores straddling every page of 2-8 MiB
    mov $0x1FFFFC, %rdi
1:  mov %rdi, (%rdi)
    add $8, %rdi
    cmp $0x7FFFF4, %rdi
    jb 1b
    hlt
"""


def _long_mode_guest(tmp_path, source: str):
    """A PcMachine in long mode running ``source`` (GNU as, placed at 0x9000, entered
    at 0x9100): 0-2 MiB mapped by 4 KiB pages at 0x4000, 2-8 MiB not present, the
    page-fault gate at 0x9000."""
    if not shutil.which("as") or not shutil.which("objcopy"):
        pytest.skip("binutils missing")
    (tmp_path / "g.S").write_text(source)
    subprocess.run(["as", "--64", "-o", tmp_path / "g.o", tmp_path / "g.S"], check=True)
    subprocess.run(["objcopy", "-O", "binary", tmp_path / "g.o", tmp_path / "g.bin"], check=True)
    from unicorn.x86_const import UC_X86_REG_GDTR, UC_X86_REG_IDTR
    from hw.machine import PcMachine
    m = PcMachine(16 << 20, lambda b: None, long_mode=True)
    w = m.write
    w(0x1000, struct.pack("<Q", 0x2003))
    w(0x2000, struct.pack("<Q", 0x3003))
    w(0x3000, struct.pack("<4Q", 0x4003, 0x5003, 0x6003, 0x7003))
    w(0x4000, b"".join(struct.pack("<Q", i << 12 | 3) for i in range(512)))     # 0-2 MiB present
    w(0x8000 + 14 * 16, struct.pack("<HHBBHII", 0x9000, 0x10, 0, 0x8E, 0, 0, 0))
    w(0x500, struct.pack("<4Q", 0, 0, 0x00AF9A000000FFFF, 0x00CF92000000FFFF))
    w(0x9000, (tmp_path / "g.bin").read_bytes())
    m.cpu.uc.reg_write(UC_X86_REG_IDTR, (0, 0x8000, 0xFFF, 0))
    m.cpu.uc.reg_write(UC_X86_REG_GDTR, (0, 0x500, 31, 0))
    m.cpu.enter_long_mode(0x1000, 0x9100, {"rsp": 0xF000}, 0x10, 0x18)
    return m


def test_long_mode_page_faults_reach_the_guest_handler(tmp_path):
    """1536 not-present pages, each faulting once with error code 2 (a write to
    a not-present page) on the guest's own IDT; every store lands."""
    m = _long_mode_guest(tmp_path, PF_GUEST)
    end = m.run(timeout=60)
    assert end.reason == "halt"
    faults, _, error = struct.unpack("<QQQ", m.read(0xA000, 24))
    assert (faults, error) == (1536, 2)
    data = m.read(0x1FFFFC, 0x7FFFF4 - 0x1FFFFC)
    assert all(struct.unpack_from("<Q", data, off)[0] == 0x1FFFFC + off for off in range(0, len(data), 8 * 997))


RMW_GUEST = PF_GUEST.replace("""main:                             # 8-byte stores straddling every page of 2-8 MiB
    mov $0x1FFFFC, %rdi
1:  mov %rdi, (%rdi)
    add $8, %rdi
    cmp $0x7FFFF4, %rdi
    jb 1b
    hlt""", """main:                             # count in memory, faulting in a page every 4096 rounds
    mov $0x200000, %rdi
    mov $RMW_ROUNDS, %rcx
1:  incq 0xA020
    addb $1, (%rdi)
    add $1, %rdi
    dec %rcx
    jnz 1b
    hlt""")


def test_slices_never_run_an_instruction_twice(tmp_path):
    """A guest that adds to memory in a loop over many slices and page faults counts
    exactly: ending a slice must not replay a read-modify-write (unicorn's own
    timeout does, see hw/cpu/unicorn_system.py)."""
    rounds = 4_000_000
    m = _long_mode_guest(tmp_path, RMW_GUEST.replace("RMW_ROUNDS", str(rounds)))
    end = m.run(timeout=60)
    assert end.reason == "halt", end
    assert m.counts["slices"] > 10
    assert struct.unpack("<Q", m.read(0xA020, 8))[0] == rounds
    assert struct.unpack("<Q", m.read(0xA000, 8))[0] == rounds // 4096 + 1        # page faults taken
    assert m.read(0x200000, rounds) == b"\x01" * rounds
