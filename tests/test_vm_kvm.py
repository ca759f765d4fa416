"""The virtual PC on the KVM back end: the multiboot kernel in samples/ (long
mode, PIT interrupts through the PIC, the CMOS clock, the UART) prints the
same bytes and ends with the same status and line as on unicorn, and so does
samples/src/vm/mbvirtio.c on virtio-blk and virtio-console (MMIO exits to the
bus); each way a PC can end, a guest that spins with interrupts off, and MMIO
outside RAM and every device end the same way too.

Skipped, with the reason, where /dev/kvm is missing or cannot be opened.  On
a software KVM (PVM, as on the machines this was written on) guest code runs
about 1000x slower than on hardware, so `make test` boots only the small
multiboot kernels there and says so; the Debian kernel's boot on KVM, which
mounts an ext2 image from a virtio disk, runs in `make test` on hardware KVM
and in `make soak` on a software one
(test_linux_boots_on_kvm_and_reads_a_virtio_disk, GUISE_KVM_SOAK=1).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings

import pytest

from conftest import ROOT, SAMPLES
from hw.kvm import KvmError, kvm_kind
from test_vm_virtio import ext2_image  # noqa: F401  (the ext2 disk fixture)

KERNEL = SAMPLES / "mbkernel.elf"
KIND = kvm_kind()


def _unusable() -> str:
    """Why KVM cannot run here ('' if it can): missing device, no permission, old API."""
    if not KIND.usable:
        return KIND.detail
    from hw.kvm.vm import Kvm
    try:
        Kvm().close()
    except KvmError as e:
        return str(e)
    return ""


WHY_NOT = _unusable()
pytestmark = pytest.mark.skipif(bool(WHY_NOT), reason=f"no usable KVM: {WHY_NOT}")


def vm(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "guise", "vm", *map(str, args)], cwd=ROOT,
                          capture_output=True, timeout=timeout)


def boot(backend, append, *extra):
    return vm("run", "--multiboot", KERNEL, "--append", append, "--backend", backend, *extra)


def _say_software() -> None:
    if KIND.kind == "software":
        warnings.warn(f"KVM here is {KIND.detail}: make test boots only the multiboot kernels on it; "
                      "the Debian kernel's boot on KVM runs in `make soak`")


def test_multiboot_kernel_on_kvm_matches_unicorn():
    _say_software()
    kvm, uc = boot("kvm", "7"), boot("unicorn", "7")
    assert kvm.stdout.decode().splitlines()[-2:] == ["timer ticks: 10", "powering off"], kvm.stderr
    assert (kvm.stdout, kvm.returncode, kvm.stderr) == (uc.stdout, uc.returncode, uc.stderr)
    assert kvm.returncode == 7 and kvm.stderr == b"guise vm: powered off (code 7)\n"


@pytest.mark.parametrize("append, status, says", [
    ("halt", 100, "halted for good"),
    ("reboot", 101, "rebooted: reset through the i8042"),
    ("fault", 101, "rebooted: triple fault"),
])
def test_each_ending_on_kvm(append, status, says):
    p = boot("kvm", append)
    assert p.returncode == status, p.stderr
    assert b"timer ticks: 10" in p.stdout
    err = p.stderr.decode()
    assert err.count("\n") == 1 and err.startswith(f"guise vm: {says}"), err


def _tiny_kernel(tmp_path, body: str):
    src, elf = tmp_path / "k.S", tmp_path / "k.elf"
    src.write_text(".text\n.align 4\n.long 0x1BADB002, 0, -0x1BADB002\n.globl _start\n_start:\n" + body)
    cc = subprocess.run(["i686-linux-gnu-gcc", "-nostdlib", "-static", "-Wl,--build-id=none", "-Wl,-N",
                         "-Wl,-Ttext=0x100000", "-o", str(elf), str(src)], capture_output=True)
    if cc.returncode:
        pytest.skip("i686-linux-gnu-gcc missing (make -C samples deps installs it)")
    return elf


def test_timeout_ends_a_spin_with_interrupts_off(tmp_path):
    p = vm("run", "--multiboot", _tiny_kernel(tmp_path, "cli\n1: jmp 1b\n"), "--backend", "kvm", "--timeout", "1")
    assert p.returncode == 124 and p.stderr == b"guise vm: ended by --timeout: still running after 1 s\n"


def test_a_guest_that_writes_every_io_port_ends_the_same_on_both(tmp_path):
    """Zero to each of the 65536 ports but the power-off one, then cli; hlt."""
    kernel = _tiny_kernel(tmp_path, "cli\nxor %eax, %eax\nxor %edx, %edx\n"
                                    "1: cmp $0xf4, %dx\nje 2f\nout %al, %dx\n2: inc %dx\njnz 1b\nhlt\n")
    kvm, uc = (vm("run", "--multiboot", kernel, "--backend", b) for b in ("kvm", "unicorn"))
    assert kvm.returncode == uc.returncode == 100, (kvm.stderr, uc.stderr)
    assert kvm.stdout == uc.stdout and kvm.stderr == uc.stderr


def test_mmio_outside_ram_and_the_device_window_is_a_fault(tmp_path):
    p = vm("run", "--multiboot", _tiny_kernel(tmp_path, "movl $0x12345678, 0xe0000010\nhlt\n"), "--backend", "kvm")
    assert p.returncode == 102, p.stderr
    assert p.stderr.startswith(b"guise vm: stopped by a CPU fault: MMIO write of 4 bytes at 0xe0000010")


def test_mmio_in_the_device_window_reaches_the_bus_as_on_unicorn(tmp_path):
    """No device there: the write is ignored and the read is all ones, whose low
    byte the kernel powers off with."""
    kernel = _tiny_kernel(tmp_path, "movl $0x12345678, 0xd0000010\nmov 0xd0000000, %eax\nout %al, $0xf4\nhlt\n")
    kvm, uc = (vm("run", "--multiboot", kernel, "--backend", b, "--stats") for b in ("kvm", "unicorn"))
    assert kvm.returncode == uc.returncode == 255, (kvm.stderr, uc.stderr)
    for p in (kvm, uc):
        err = p.stderr.decode()
        assert "0xd0000000 ×1" in err and "0xd0000010 ×1" in err, err


def test_virtio_blk_and_console_on_kvm_match_unicorn(tmp_path):
    """samples/src/vm/mbvirtio.c reads sector 0 of a --disk and echoes a line from
    stdin over the virtio console: KVM's MMIO exits reach the same bus and
    devices as unicorn's MMIO hooks."""
    from test_vm_virtio import MBVIRTIO, sector_zero_image
    _say_software()
    image = sector_zero_image(tmp_path / "d.img")
    kvm, uc = (subprocess.run([sys.executable, "-m", "guise", "vm", "run", "--multiboot", MBVIRTIO, "--disk",
                               f"{image}:ro", "--console", "virtio", "--append", "echo", "--backend", b,
                               "--timeout", "60"], cwd=ROOT, input=b"typed\n", capture_output=True, timeout=120)
               for b in ("kvm", "unicorn"))
    assert b"sector 0: GUISE SECTOR ZERO: read through virtio-blk\n" in kvm.stdout, kvm.stderr
    assert b"hello over virtio-console\n" in kvm.stdout and b"echo: typed\n" in kvm.stdout, kvm.stdout
    assert (kvm.stdout, kvm.returncode, kvm.stderr) == (uc.stdout, uc.returncode, uc.stderr)
    assert kvm.returncode == 0


def test_a_device_that_is_not_kvm_is_refused_with_the_step():
    from hw.kvm.vm import Kvm
    with pytest.raises(KvmError, match="No such file"):
        Kvm("/nonexistent/kvm")
    with pytest.raises(KvmError, match="KVM_GET_API_VERSION"):
        Kvm("/dev/null")


def test_stats_count_the_same_port_io_on_both_back_ends():
    """One table, the same columns; the KVM exits' adds the time inside KVM_RUN."""
    from test_vm_stats import trap_table
    kvm, uc = boot("kvm", "0", "--stats"), boot("unicorn", "0", "--stats")
    k, u = trap_table(kvm.stderr), trap_table(uc.stderr)
    assert b"backend kvm" in kvm.stderr and b"guise vm: KVM exits " in kvm.stderr
    assert b"guise vm: unicorn hook calls " in uc.stderr
    assert k["port I/O"][0] == u["port I/O"][0] > 200    # every UART, PIC, PIT, CMOS access, one by one
    assert k["interrupts injected"] == k["interrupts"] == u["interrupts"] == 10
    assert k["HLT"][0] >= 10                              # the kernel sleeps in HLT between ticks
    assert len(k["port I/O"]) == 4 and k["port I/O"][3] > 0 and len(u["port I/O"]) == 3
    assert k["KVM_RUN"][0] == sum(row[0] for row in k.values() if isinstance(row, tuple) and len(row) == 4)


@pytest.mark.parametrize("faster", ["kvm", "unicorn"])
def test_auto_picks_the_faster_back_end_by_the_cached_calibration(tmp_path, faster):
    from hw.calibrate import host_key
    speeds = {"kvm": 2e9, "unicorn": 1e9} if faster == "kvm" else {"kvm": 1e6, "unicorn": 1e9}
    (tmp_path / "guise").mkdir()
    (tmp_path / "guise" / "vm-calibration.json").write_text(json.dumps({host_key(): {"when": 0, **speeds}}))
    p = subprocess.run([sys.executable, "-m", "guise", "vm", "run", "--multiboot", KERNEL, "--append", "3",
                        "--stats"], cwd=ROOT, capture_output=True, timeout=120,
                       env={**os.environ, "XDG_CACHE_HOME": str(tmp_path)})
    assert p.returncode == 3 and f", backend {faster}, ".encode() in p.stderr, p.stderr


SOAK = os.environ.get("GUISE_KVM_SOAK") == "1"
SOAK_TIMEOUT = int(os.environ.get("GUISE_KVM_SOAK_TIMEOUT", "3000"))
HARDWARE = KIND.kind == "hardware"
# hardware KVM boots Debian's kernel in seconds: make test; a software one takes many minutes: make soak
slow_unless_hardware = (lambda test: test) if HARDWARE else pytest.mark.slow


@slow_unless_hardware
@pytest.mark.skipif(not (SOAK or HARDWARE), reason="on a software KVM the Debian kernel's boot on KVM runs in "
                                                   "`make soak` (GUISE_KVM_SOAK=1)")
@pytest.mark.xfail(KIND.kind == "software", strict=False,
                   reason="a software KVM (PVM) runs the kernel about 100x slower than unicorn and cannot "
                          "emulate every instruction: the boot may not finish")
def test_linux_boots_on_kvm_and_reads_a_virtio_disk(ext2_image, tmp_path):
    """Debian's kernel with the virtio initramfs of test_vm_virtio.py mounts an ext2
    image from a read-only --disk, through KVM's MMIO exits."""
    from test_vm_linux import KERNEL as LINUX
    from test_vm_virtio import virtio_initramfs
    if LINUX is None:
        pytest.skip("linux-image-cloud-amd64 not installed (make test installs it)")
    image, digest, total = ext2_image
    timeout = SOAK_TIMEOUT if SOAK else 200
    p = vm("run", "--kernel", LINUX, "--initrd", virtio_initramfs(tmp_path / "init.cpio"), "--disk", f"{image}:ro",
           "--append", "console=ttyS0", "--backend", "kvm", "--timeout", timeout, "--stats", timeout=timeout + 120)
    out = p.stdout.decode(errors="replace")
    print(f"KVM ({KIND.detail}): status {p.returncode}; {p.stderr.decode(errors='replace')}"
          f"last console lines:\n{chr(10).join(out.splitlines()[-8:])}")
    lines = out.splitlines()
    assert "mounted" in lines and "hello from an ext2 image on virtio-blk" in lines, p.stderr
    assert f"sha256: {digest}" in lines and f"sum: {total}" in lines
    assert p.returncode == 0, p.stderr
