"""virtio-mmio and virtio-blk on the virtual PC: Debian's kernel, told about the
device by the ACPI tables (its virtio_mmio is built without command-line
devices), loads the virtio modules from the initramfs, mounts an ext2 image
from ``--disk`` read-only, prints a file from it and computes something, then
powers off.  ``:cow`` writes never reach the image file; ``:ro`` is read-only
for the guest too.  With ``--console virtio`` the kernel's console is hvc0,
both ways.  The multiboot sample samples/src/vm/mbvirtio.c reads sector 0 and
talks over the virtio console by polling.  The transport and the block device
by their registers.
"""
from __future__ import annotations

import hashlib
import os
import select
import shutil
import stat
import struct
import subprocess
import sys
import time

import pytest
from hypothesis import given, settings, strategies as st

from conftest import ROOT, SAMPLES
from hw.cpu.system import check_ram
from test_vm_linux import KERNEL, busybox_initramfs, need_kernel, vm

MBVIRTIO = SAMPLES / "mbvirtio.elf"

MODULES = ["kernel/drivers/virtio/virtio.ko", "kernel/drivers/virtio/virtio_ring.ko",
           "kernel/drivers/virtio/virtio_mmio.ko", "kernel/drivers/block/virtio_blk.ko"]
INIT = """#!/bin/sh
b=/bin/busybox
$b mount -t proc proc /proc
$b mount -t sysfs sys /sys
$b mount -t devtmpfs dev /dev
for m in virtio_ring virtio virtio_mmio virtio_blk; do $b insmod /lib/$m.ko || echo "insmod $m failed"; done
$b mount -t ext2 -o ro /dev/vda /mnt && echo mounted
$b cat /mnt/greeting.txt
echo "sha256: $($b sha256sum /mnt/numbers | $b cut -c1-64)"
echo "sum: $($b awk '{ s += $1 } END { print s }' /mnt/numbers)"
ACTION
$b poweroff -f
"""


def module_entries(kernel, modules=MODULES):
    """initramfs entries for ``modules`` of ``kernel``'s package, or None."""
    kdir = os.path.join("/lib/modules", os.path.basename(kernel).removeprefix("vmlinuz-"))
    entries = [("lib", stat.S_IFDIR | 0o755, b"", 0, 0)]
    for rel in modules:
        path = os.path.join(kdir, rel)
        if not os.path.exists(path):
            return None
        with open(path, "rb") as f:
            entries.append((f"lib/{os.path.basename(rel)}", stat.S_IFREG | 0o644, f.read(), 0, 0))
    return entries


def build_ext2(d):
    """A 4 MiB ext2 image made by mke2fs -d in directory ``d``: (path, sha256 and sum
    of its numbers file)."""
    (d / "root").mkdir()
    (d / "root" / "greeting.txt").write_text("hello from an ext2 image on virtio-blk\n")
    numbers = "".join(f"{n * n}\n" for n in range(1, 2001))
    (d / "root" / "numbers").write_text(numbers)
    image = d / "disk.ext2"
    subprocess.run(["mke2fs", "-q", "-F", "-t", "ext2", "-d", d / "root", image, "4M"], check=True,
                   capture_output=True)
    return image, hashlib.sha256(numbers.encode()).hexdigest(), sum(n * n for n in range(1, 2001))


@pytest.fixture(scope="module")
def ext2_image(tmp_path_factory):
    if not shutil.which("mke2fs"):
        pytest.skip("mke2fs missing (e2fsprogs; make test installs it)")
    return build_ext2(tmp_path_factory.mktemp("disk"))


def virtio_initramfs(path, action=""):
    entries = module_entries(KERNEL)
    if entries is None:
        pytest.skip("the kernel's virtio modules are missing (linux-image-cloud-amd64)")
    return busybox_initramfs(path, INIT.replace("ACTION", action), entries)


def _init(tmp_path, action=""):
    return virtio_initramfs(tmp_path / "init.cpio", action)


@need_kernel
def test_debian_kernel_reads_an_ext2_image_through_virtio_blk(ext2_image, tmp_path):
    image, digest, total = ext2_image
    before = image.read_bytes()
    p = vm("run", "--kernel", KERNEL, "--initrd", _init(tmp_path), "--disk", f"{image}:ro",
           "--append", "console=ttyS0", "--timeout", "200")
    out = p.stdout.decode(errors="replace")
    lines = out.splitlines()
    assert "mounted" in lines, out[-3000:]
    assert "hello from an ext2 image on virtio-blk" in lines
    assert f"sha256: {digest}" in lines and f"sum: {total}" in lines
    assert "virtio_blk virtio0: [vda] 8192 512-byte logical blocks" in out
    assert p.returncode == 0 and p.stderr == b"guise vm: powered off (ACPI S5)\n", p.stderr
    assert image.read_bytes() == before


@need_kernel
def test_cow_writes_stay_in_the_run_and_ro_refuses_them(ext2_image, tmp_path):
    image, _, _ = ext2_image
    before = image.read_bytes()
    # remount read-write, write a file, read it back, flush: the image file must not change
    action = ("echo ro=$($b cat /sys/block/vda/ro); $b mount -o remount,rw /mnt && echo remounted-rw; "
              "echo written > /mnt/new.txt; $b sync; $b cat /mnt/new.txt")
    p = vm("run", "--kernel", KERNEL, "--initrd", _init(tmp_path, action), "--disk", f"{image}:cow",
           "--append", "console=ttyS0", "--timeout", "200")
    lines = p.stdout.decode(errors="replace").splitlines()
    assert "ro=0" in lines and "remounted-rw" in lines and "written" in lines, lines[-30:]
    assert p.returncode == 0, p.stderr
    assert image.read_bytes() == before
    p = vm("run", "--kernel", KERNEL, "--initrd", _init(tmp_path, action), "--disk", f"{image}:ro",
           "--append", "console=ttyS0", "--timeout", "200")
    lines = p.stdout.decode(errors="replace").splitlines()
    assert "ro=1" in lines and "remounted-rw" not in lines and "written" not in lines, lines[-30:]
    assert p.returncode == 0 and image.read_bytes() == before


CONSOLE_MODULES = [*MODULES[:3], "kernel/drivers/char/virtio_console.ko"]
CONSOLE_INIT = """#!/bin/sh
b=/bin/busybox
$b mount -t proc proc /proc
$b mount -t sysfs sys /sys
$b mount -t devtmpfs dev /dev
for m in virtio_ring virtio virtio_mmio virtio_console; do $b insmod /lib/$m.ko; done
exec </dev/hvc0 >/dev/hvc0 2>&1
echo "GUISE-HVC-MARKER on $($b tty), console $($b cat /sys/class/tty/console/active)"
echo "six times seven is $((6 * 7))"
echo "<0>GUISE kernel message" > /dev/kmsg
echo type something
read line
echo "got: $line"
$b poweroff -f
"""


def type_when(argv, prompt: bytes, line: bytes, timeout: float = 200):
    """Run guise with pipes; write ``line`` to its stdin once ``prompt`` is on its
    stdout, as a user would.  (stdout, status, stderr)"""
    p = subprocess.Popen(argv, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, deadline = b"", time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if prompt and prompt in out:
                p.stdin.write(line)
                p.stdin.flush()
                prompt = b""
            if select.select([p.stdout], [], [], 0.2)[0]:
                data = os.read(p.stdout.fileno(), 65536)
                if not data:
                    break
                out += data
        status = p.wait(timeout=30)
    finally:
        p.kill()
        p.stdin.close()
    return out.decode(errors="replace"), status, p.stderr.read()


@need_kernel
def test_debian_kernel_console_on_virtio_console(tmp_path):
    """--console virtio: the init script's output and the kernel's messages come
    over the virtio console (hvc0, /dev/console), and a line typed at its prompt
    goes back in.  (What the kernel logged before the module loaded is lost:
    Linux replays it while the port is not yet usable.)"""
    entries = module_entries(KERNEL, CONSOLE_MODULES)
    if entries is None:
        pytest.skip("the kernel has no virtio_console module (linux-image-cloud-amd64)")
    initrd = busybox_initramfs(tmp_path / "init.cpio", CONSOLE_INIT, entries)
    out, status, err = type_when([sys.executable, "-m", "guise", "vm", "run", "--kernel", KERNEL, "--initrd", initrd,
                                  "--console", "virtio", "--timeout", "200"], b"type something", b"typed over hvc0\n")
    lines = out.splitlines()
    assert "GUISE-HVC-MARKER on /dev/hvc0, console hvc0" in lines, out[-3000:]
    assert "six times seven is 42" in lines and "got: typed over hvc0" in lines, out[-3000:]
    assert "] GUISE kernel message" in out
    assert status == 0 and err == b"guise vm: powered off (ACPI S5)\n", err


def test_multiboot_kernel_talks_over_virtio_console(tmp_path):
    """mbvirtio.c writes a line to the console's transmit queue, then echoes one
    line that guise's stdin put in its receive queue."""
    p = subprocess.run([sys.executable, "-m", "guise", "vm", "run", "--multiboot", MBVIRTIO, "--console", "virtio",
                        "--append", "echo", "--backend", "unicorn", "--timeout", "60"], cwd=ROOT,
                       input=b"a line typed at the console\n", capture_output=True, timeout=120)
    assert p.stdout.decode().splitlines() == [
        "guise virtio kernel", "virtio-mmio at 0xd0000000: version 2, device 3", "hello over virtio-console",
        "virtio-console: wrote a line to port 0", "echo: a line typed at the console", "virtio devices: 1"], p.stderr
    assert p.returncode == 0 and p.stderr == b"guise vm: powered off (code 0)\n"


# a driver that puts queue 0's available ring outside RAM, notifies, and powers off with the status register
RING_OUTSIDE_RAM = ("movl $0xF0000000, 0xd0000090\nmovl $1, 0xd0000044\nmovl $0, 0xd0000050\n"
                    "mov 0xd0000070, %eax\nout %al, $0xf4\nhlt\n")


@pytest.mark.parametrize("backend", ["unicorn", "kvm"])
def test_a_queue_outside_ram_sets_needs_reset_and_the_guest_goes_on(tmp_path, backend):
    from test_vm_kvm import WHY_NOT, _tiny_kernel
    if backend == "kvm" and WHY_NOT:
        pytest.skip(f"no usable KVM: {WHY_NOT}")
    image = sector_zero_image(tmp_path / "d.img")
    p = vm("run", "--multiboot", _tiny_kernel(tmp_path, RING_OUTSIDE_RAM), "--disk", image, "--backend", backend)
    assert p.returncode == 64 and p.stderr == b"guise vm: powered off (code 64)\n", p.stderr   # DEVICE_NEEDS_RESET


def test_disk_option_errors_are_one_line(tmp_path):
    p = vm("run", "--multiboot", MBVIRTIO, "--disk", tmp_path / "x")
    assert p.returncode == 127 and p.stderr.count(b"\n") == 1 and b"No such file" in p.stderr
    if KERNEL:
        p = vm("run", "--kernel", KERNEL, "--disk", tmp_path / "missing.img:ro")
        assert p.returncode == 127 and p.stderr.count(b"\n") == 1 and b"No such file" in p.stderr


def sector_zero_image(path, text=b"GUISE SECTOR ZERO: read through virtio-blk"):
    """A 64 KiB raw image whose sector 0 starts with ``text`` and a NUL."""
    path.write_bytes((text + b"\0").ljust(64 << 10, b"\xA5"))
    return path


def test_multiboot_kernel_reads_sector_zero_through_virtio_blk(tmp_path):
    """samples/src/vm/mbvirtio.c finds the device in the MMIO window, negotiates,
    and reads sector 0 with one request, polling the used ring."""
    image = sector_zero_image(tmp_path / "d.img")
    p = vm("run", "--multiboot", MBVIRTIO, "--disk", f"{image}:ro", "--backend", "unicorn")
    assert p.stdout.decode().splitlines() == [
        "guise virtio kernel", "virtio-mmio at 0xd0000000: version 2, device 2",
        "virtio-blk: 128 sectors; sector 0 read with status 0, 513 bytes",
        "sector 0: GUISE SECTOR ZERO: read through virtio-blk", "virtio devices: 1"], p.stderr
    assert p.returncode == 0 and p.stderr == b"guise vm: powered off (code 0)\n"


# -- the transport and the device, by their registers ------------------------------------
class Ram:
    """Guest RAM as the back ends show it to devices: OutsideRam beyond its end."""

    def __init__(self, size):
        self.data = bytearray(size)

    def read(self, addr, size):
        check_ram(addr, size, len(self.data))
        return bytes(self.data[addr:addr + size])

    def write(self, addr, data):
        check_ram(addr, len(data), len(self.data))
        self.data[addr:addr + len(data)] = data


class Driver:
    """The guest driver's side of a virtio-mmio device in a Ram: it checks the
    identity registers, negotiates VERSION_1 and sets up each queue with 8
    entries (queue n's descriptors, available and used rings a page apart from
    QUEUES + 0x3000 * n), then offers chains of (address, length, writable)."""
    QUEUES = 0x10000

    def __init__(self, device, device_id):
        from hw.devices.virtio_mmio import VirtioMmio
        self.ram, self.irq = Ram(1 << 17), []
        self.dev = dev = VirtioMmio(0xD0000000, self.irq.append, self.ram, device)
        r = dev.mmio_read
        assert (r(0, 4), r(4, 4), r(8, 4)) == (0x74726976, 2, device_id)
        dev.mmio_write(0x14, 4, 1)
        assert r(0x10, 4) & 1                               # VERSION_1 in the high word
        dev.mmio_write(0x70, 4, 1 | 2)
        dev.mmio_write(0x24, 4, 1)
        dev.mmio_write(0x20, 4, 1)
        dev.mmio_write(0x70, 4, 1 | 2 | 8)
        assert r(0x70, 4) & 8                               # FEATURES_OK kept
        for n in range(device.queues):
            dev.mmio_write(0x30, 4, n)
            dev.mmio_write(0x38, 4, 8)
            for reg, addr in zip((0x80, 0x90, 0xA0), self.rings(n)):
                dev.mmio_write(reg, 4, addr)
            dev.mmio_write(0x44, 4, 1)

    def rings(self, n):
        return [self.QUEUES + 0x3000 * n + 0x1000 * i for i in range(3)]

    def offer(self, n, chain, notify=True):
        desc, avail, _ = self.rings(n)
        for i, (addr, length, writable) in enumerate(chain):
            flags = (1 if i + 1 < len(chain) else 0) | (2 if writable else 0)
            self.ram.write(desc + 16 * i, struct.pack("<QIHH", addr, length, flags, i + 1))
        idx = struct.unpack("<H", self.ram.read(avail + 2, 2))[0]
        self.ram.write(avail + 4 + 2 * (idx % 8), struct.pack("<H", 0))
        self.ram.write(avail + 2, struct.pack("<H", idx + 1))
        if notify:
            self.dev.mmio_write(0x50, 4, n)

    def used(self, n):
        """(used index, bytes written into the last chain used)."""
        used = self.rings(n)[2]
        idx = struct.unpack("<H", self.ram.read(used + 2, 2))[0]
        return idx, struct.unpack("<I", self.ram.read(used + 4 + 8 * ((idx - 1) % 8) + 4, 4))[0]

    def take_interrupt(self):
        assert self.dev.mmio_read(0x60, 4) & 1 and self.irq[-1] is True
        self.dev.mmio_write(0x64, 4, 1)
        assert self.irq[-1] is False


def test_virtio_blk_serves_reads_writes_and_flushes_over_mmio(tmp_path):
    from hw.devices.virtio_blk import VirtioBlk
    from hw.diskimage import DiskImage
    img = tmp_path / "d.img"
    img.write_bytes(bytes(range(256)) * 8 * 4)              # 16 sectors
    d = Driver(VirtioBlk(DiskImage(str(img), "cow")), 2)
    ram = d.ram
    assert struct.unpack("<Q", bytes(d.dev.mmio_read(0x100 + i, 1) for i in range(8)))[0] == 16  # capacity

    def request(kind, sector, data_addr, data_len, writable):
        ram.write(0x5000, struct.pack("<IIQ", kind, 0, sector))
        before = d.used(0)[0]
        d.offer(0, [(0x5000, 16, False), (data_addr, data_len, writable), (0x6000, 1, True)])
        assert d.used(0)[0] == before + 1
        d.take_interrupt()
        return ram.read(0x6000, 1)[0]

    assert request(0, 2, 0x8000, 1024, True) == 0
    assert ram.read(0x8000, 1024) == (bytes(range(256)) * 4)
    ram.write(0x8000, b"\xAB" * 512)
    assert request(1, 3, 0x8000, 512, False) == 0           # cow: seen by the guest...
    assert request(0, 3, 0x9000, 512, True) == 0 and ram.read(0x9000, 512) == b"\xAB" * 512
    assert img.read_bytes()[3 * 512:4 * 512] == bytes(range(256)) * 2     # ...never by the file
    assert request(4, 0, 0x8000, 0, False) == 0             # flush
    assert request(0, 15, 0x8000, 1024, True) == 1          # past the end: I/O error
    assert request(9, 0, 0x8000, 16, True) == 2             # unknown request: unsupported
    assert request(0, 0, 0x8000, 0xFFFFFFF0, True) == 1     # a 4 GiB read: an I/O error, nothing allocated
    assert d.used(0)[1] == 1                                # only the status byte written


def test_virtio_console_transmits_and_keeps_input_until_the_guest_has_buffers():
    from hw.devices.virtio_console import VirtioConsole
    out = []
    con = VirtioConsole(out.append)
    d = Driver(con, 3)
    assert struct.unpack("<HHII", bytes(d.dev.mmio_read(0x100 + i, 1) for i in range(12)))[2] == 1  # one port
    d.ram.write(0x8000, b"hello, ")
    d.ram.write(0x9000, b"host\n")
    d.offer(1, [(0x8000, 7, False), (0x9000, 5, False)])    # transmit: one chain, two buffers
    assert out == [b"hello, host\n"] and d.used(1) == (1, 0)
    d.take_interrupt()
    con.feed(b"typed before any buffer", d.dev)               # waits in the device
    assert d.used(0) == (0, 0) and d.irq[-1] is False
    d.offer(0, [(0xA000, 16, True)])                         # the driver fills its receive queue:
    assert d.used(0) == (1, 16) and d.ram.read(0xA000, 16) == b"typed before any"
    d.take_interrupt()
    d.offer(0, [(0xA000, 16, True)], notify=False)           # a buffer waiting for input
    con.feed(b"!", d.dev)
    assert d.used(0) == (2, 8) and d.ram.read(0xA000, 8) == b" buffer!"
    d.take_interrupt()


REGISTER = st.sampled_from([0x14, 0x20, 0x24, 0x30, 0x38, 0x44, 0x50, 0x64, 0x70, 0x80, 0x84, 0x90, 0x94,
                            0xA0, 0xA4, 0x100, 0x104, 0x108])
# addresses and values a guest driver might write: small ones land in RAM, the rest do not
VALUE = st.one_of(st.integers(0, 16), st.sampled_from([0x8000, 0x1FFF0, 0x20000, 0xFFFFFFFF]),
                  st.integers(0, 0xFFFFFFFF))


@settings(max_examples=150, deadline=None)
@given(writes=st.lists(st.tuples(REGISTER, VALUE), max_size=40), garbage=st.binary(min_size=64, max_size=64))
def test_random_register_writes_never_raise(tmp_path_factory, writes, garbage):
    """Whatever a guest writes to a virtio-mmio window, with rings anywhere and
    garbage in them, the transport and its devices never raise into the VMM."""
    from hw.devices.virtio_blk import VirtioBlk
    from hw.devices.virtio_console import VirtioConsole
    from hw.devices.virtio_mmio import VirtioMmio
    from hw.diskimage import DiskImage
    img = tmp_path_factory.getbasetemp() / "fuzz.img"
    if not img.exists():
        img.write_bytes(bytes(4096))
    for device in (VirtioBlk(DiskImage(str(img), "cow")), VirtioConsole(lambda data: None)):
        ram = Ram(1 << 17)
        for at in range(0, 1 << 17, 0x2000):
            ram.write(at, garbage)
        dev = VirtioMmio(0xD0000000, lambda level: None, ram, device)
        for reg, value in writes:
            dev.mmio_write(reg, 4, value)
            dev.mmio_read(reg, 4)
        if isinstance(device, VirtioConsole):
            device.feed(b"typed", dev)


def test_a_read_write_image_takes_the_writes():
    import tempfile
    from hw.diskimage import DiskImage
    with tempfile.NamedTemporaryFile() as f:
        f.write(bytes(4096))
        f.flush()
        disk = DiskImage.from_spec(f.name)
        assert disk.mode == "rw" and disk.sectors == 8
        disk.write(1, b"\x5A" * 512)
        disk.flush()
        assert open(f.name, "rb").read()[512:1024] == b"\x5A" * 512
        assert DiskImage.from_spec(f.name + ":ro").read_only
