"""The virtual PC (hw/) through `guise vm`: the multiboot kernel in samples/
boots on the unicorn back end, talks through the serial console, counts timer
interrupts, reads the CMOS clock and ends each way a PC can end; the devices
behave as their data sheets say.

The same kernel on the KVM back end: tests/test_vm_kvm.py.
"""
from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import time

import pytest

from conftest import ROOT, SAMPLES
from hw.devices.cmos import Cmos
from hw.devices.pic import Pic
from hw.devices.pit import FREQ, Pit
from hw.devices.pm import PM1_CNT, PM1_EVT, PM_TMR, AcpiPm
from hw.devices.serial import Serial

KERNEL = SAMPLES / "mbkernel.elf"


def vm(*args, timeout=60):
    return subprocess.run([sys.executable, "-m", "guise", "vm", *map(str, args)], cwd=ROOT,
                          stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)


def boot(append, *extra):
    return vm("run", "--multiboot", KERNEL, "--append", append, *extra)


def test_multiboot_kernel_boots_and_powers_off_with_its_code():
    t0 = time.monotonic()
    p = boot("7")
    took = time.monotonic() - t0
    lines = p.stdout.decode().splitlines()
    assert lines[:3] == ["guise multiboot kernel", "cmdline: 7", "memory above 1 MiB: 63 MiB"], p.stdout
    assert lines[3] == f"rtc year: {time.gmtime().tm_year}"           # the CMOS shows the host's clock
    assert lines[4:] == ["timer ticks: 10", "powering off"]
    assert p.returncode == 7
    assert p.stderr.decode() == "guise vm: powered off (code 7)\n"
    assert took >= 0.1                 # ten ticks at 100 Hz: the PIT keeps real time


@pytest.mark.parametrize("append, status, says", [
    ("halt", 100, "halted for good"),
    ("reboot", 101, "rebooted"),
    ("fault", 101, "rebooted: triple fault"),
])
def test_each_ending_has_its_status_and_one_line(append, status, says):
    p = boot(append)
    assert p.returncode == status, p.stderr
    assert b"timer ticks: 10" in p.stdout
    err = p.stderr.decode()
    assert err.count("\n") == 1 and err.startswith(f"guise vm: {says}"), err


def test_memory_size_reaches_the_guest():
    p = boot("0", "--mem", "128M")
    assert b"memory above 1 MiB: 127 MiB" in p.stdout and p.returncode == 0


def test_timeout_ends_a_guest_that_runs_on(tmp_path):
    # a multiboot kernel that spins forever with interrupts off
    spin = tmp_path / "spin.elf"
    src = tmp_path / "spin.S"
    src.write_text(".text\n.align 4\n.long 0x1BADB002, 0, -0x1BADB002\n.globl _start\n_start: jmp _start\n")
    cc = subprocess.run(["i686-linux-gnu-gcc", "-nostdlib", "-static", "-Wl,--build-id=none", "-Wl,-N", "-Wl,-Ttext=0x100000",
                         "-o", str(spin), str(src)], capture_output=True)
    if cc.returncode:
        pytest.skip("i686-linux-gnu-gcc missing (make -C samples deps installs it)")
    t0 = time.monotonic()
    p = vm("run", "--multiboot", spin, "--timeout", "1")
    assert p.returncode == 124 and b"ended by --timeout" in p.stderr
    assert time.monotonic() - t0 < 20


@pytest.mark.parametrize("kernel, status, words", [
    ("/bin/true", 126, "not a multiboot kernel"),
    ("/nonexistent", 127, "No such file"),
])
def test_bad_kernels_are_one_line_errors(kernel, status, words):
    p = vm("run", "--multiboot", kernel)
    assert p.returncode == status and p.stderr.count(b"\n") == 1 and words.encode() in p.stderr


def test_vm_info_reports_backends_and_speed(tmp_path):
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    p = subprocess.run([sys.executable, "-m", "guise", "vm", "info"], cwd=ROOT, env=env, capture_output=True,
                       timeout=120)
    out = p.stdout.decode()
    assert p.returncode == 0, p.stderr
    rows = dict(line.split(None, 1) for line in out.splitlines() if not line.startswith("auto"))
    speed = float(rows["unicorn"].split("works: ")[1].split(" M")[0])
    assert speed > 10                                  # millions of guest instructions a second
    assert any(k in rows["kvm"] for k in ("PVM", "hardware", "/dev/kvm missing", "may not open"))
    assert "measured now" in rows["calibration"]
    cache = json.loads((tmp_path / "guise" / "vm-calibration.json").read_text())
    [entry] = cache.values()
    assert entry["unicorn"] == pytest.approx(speed * 1e6, rel=0.01)
    again = subprocess.run([sys.executable, "-m", "guise", "vm", "info"], cwd=ROOT, env=env, capture_output=True,
                           timeout=120)
    assert "measured now" not in again.stdout.decode() and f"works: {speed:.1f} M" in again.stdout.decode()


# -- devices, by their registers -----------------------------------------------------
def test_uart_transmits_receives_and_keeps_its_divisor():
    out = []
    irq = []
    u = Serial(out.append, irq=irq.append)
    u.write(0x3FB, 1, 0x80)                 # DLAB
    u.write(0x3F8, 1, 1)
    u.write(0x3F9, 1, 0)
    u.write(0x3FB, 1, 0x03)
    assert (u.read(0x3F8, 1), u.dll) == (0, 1)
    u.write(0x3F8, 1, ord("x"))
    assert out == [b"x"] and u.read(0x3FD, 1) & 0x60 == 0x60      # THR empty again
    u.write(0x3F9, 1, 0x01)                 # interrupt on received data
    u.feed(b"ab")
    assert irq[-1] is True and u.read(0x3FD, 1) & 1
    assert (u.read(0x3F8, 1), u.read(0x3F8, 1)) == (ord("a"), ord("b"))
    assert irq[-1] is False and not u.read(0x3FD, 1) & 1
    u.write(0x3FF, 1, 0x5A)
    assert u.read(0x3FF, 1) == 0x5A


def test_pic_remaps_masks_and_orders_by_priority():
    p = Pic()
    for port, v in ((0x20, 0x11), (0x21, 0x20), (0x21, 4), (0x21, 1),
                    (0xA0, 0x11), (0xA1, 0x28), (0xA1, 2), (0xA1, 1)):
        p.write(port, 1, v)
    p.write(0x21, 1, 0xFE)                  # only IRQ 0
    p.write(0xA1, 1, 0xFF)
    p.set_level(1, True)
    assert p.acknowledge() is None          # masked
    p.set_level(0, True)
    assert p.acknowledge() == 0x20
    p.set_level(0, False)
    p.set_level(0, True)
    assert p.acknowledge() is None          # IRQ 0 still in service until EOI
    p.write(0x20, 1, 0x20)                  # EOI
    assert p.acknowledge() == 0x20
    p.write(0x20, 1, 0x20)
    p.write(0x21, 1, 0xF8)                  # unmask 0-2: the slave's line 8 comes through 2
    p.write(0xA1, 1, 0xFE)
    p.set_level(8, True)
    assert p.acknowledge() == 0x21          # IRQ 1, latched while masked, outranks line 2
    assert p.acknowledge() is None
    p.write(0x20, 1, 0x20)
    assert p.acknowledge() == 0x28


def test_pit_counts_down_and_fires_at_its_rate():
    now = [0.0]
    fired = []
    t = Pit(lambda: now[0], lambda: fired.append(now[0]))
    t.write(0x43, 1, 0x34)                  # channel 0, lobyte/hibyte, mode 2
    t.write(0x40, 1, 1193 & 0xFF)
    t.write(0x40, 1, 1193 >> 8)            # about 1 kHz
    now[0] = 0.5 * 1193 / FREQ
    t.write(0x43, 1, 0x00)                  # latch
    count = t.read(0x40, 1) | t.read(0x40, 1) << 8
    assert abs(count - 597) <= 2
    for ms in range(1, 11):
        now[0] = ms * 1193 / FREQ + 1e-7
        t.due(now[0])
    assert len(fired) == 10


def test_cmos_shows_the_time_in_bcd():
    c = Cmos(64 << 20, clock=lambda: 1_700_000_000)     # 2023-11-14 22:13:20 UTC
    regs = {}
    for index in (0x00, 0x02, 0x04, 0x07, 0x08, 0x09, 0x32):
        c.write(0x70, 1, index)
        regs[index] = c.read(0x71, 1)
    assert regs == {0x00: 0x20, 0x02: 0x13, 0x04: 0x22, 0x07: 0x14, 0x08: 0x11, 0x09: 0x23, 0x32: 0x20}
    c.write(0x70, 1, 0x30)
    low = c.read(0x71, 1)
    c.write(0x70, 1, 0x31)
    assert low | c.read(0x71, 1) << 8 == 63 * 1024        # KiB above 1 MiB


def test_acpi_pm_powers_off_only_on_s5_and_counts_its_timer():
    now = [1.0]
    off = []
    pm = AcpiPm(lambda: now[0], lambda: off.append(True))
    assert pm.read(PM1_CNT, 2) & 1                      # SCI_EN: in ACPI mode from reset
    pm.write(PM1_CNT, 2, 3 << 10 | 1 << 13)             # SLP_EN with S3's type: not offered
    pm.write(PM1_CNT, 2, 5 << 10)                       # S5's type, SLP_EN not yet
    assert not off and not pm.read(PM1_CNT, 2) & 1 << 13
    pm.write(PM1_CNT, 2, 5 << 10 | 1 << 13)
    assert off == [True]
    t0 = pm.read(PM_TMR, 4)
    now[0] += 0.001
    assert pm.read(PM_TMR, 4) - t0 == pytest.approx(3579.545, abs=1)
    pm.write(PM1_EVT + 2, 2, 0x0120)                    # PM1_EN
    assert pm.read(PM1_EVT, 4) >> 16 == 0x0120


def test_acpi_tables_check_out():
    from hw import acpi
    blob = acpi.tables(0xE0000, [(0xD0000000, 0x200, 5)])
    assert blob[:8] == b"RSD PTR " and sum(blob[:20]) % 256 == 0 and sum(blob[:36]) % 256 == 0
    xsdt = struct.unpack_from("<Q", blob, 24)[0] - 0xE0000
    fadt = struct.unpack_from("<Q", blob, xsdt + 36)[0] - 0xE0000
    dsdt = struct.unpack_from("<I", blob, fadt + 40)[0] - 0xE0000
    for at, sig in ((xsdt, b"XSDT"), (fadt, b"FACP"), (dsdt, b"DSDT")):
        length = struct.unpack_from("<I", blob, at + 4)[0]
        assert blob[at:at + 4] == sig and sum(blob[at:at + length]) % 256 == 0
    aml = blob[dsdt + 36:]
    assert b"\x08_S5_\x12\x08\x04\x0a\x05\x0a\x05\x00\x00" in aml      # Name(_S5, Package{5, 5, 0, 0})
    assert b"LNRO0005\0" in aml and struct.pack("<II", 0xD0000000, 0x200) in aml
