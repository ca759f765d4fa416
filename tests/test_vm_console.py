"""The terminal is the guest's serial console: what is typed reaches the guest's
UART (the test types into a pseudo-terminal, as a user would), the terminal's
mode comes back after the run, and Ctrl-A x quits with its own status."""
from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import termios
import time

from conftest import ROOT
from guise.vmconsole import Escapes
from test_vm_linux import KERNEL, busybox_initramfs, need_kernel


def run_on_pty(tmp_path, init: str, script):
    """Boot the Debian kernel with ``init`` on a pseudo-terminal; ``script`` is a list of
    (text to wait for, bytes to type).  Returns (output, status, stderr, mode kept?)."""
    initrd = busybox_initramfs(tmp_path / "init.cpio", init)
    master, slave = pty.openpty()
    before = termios.tcgetattr(slave)
    p = subprocess.Popen([sys.executable, "-m", "guise", "vm", "run", "--kernel", KERNEL, "--initrd", initrd,
                          "--append", "console=ttyS0", "--timeout", "120"],
                         cwd=ROOT, stdin=slave, stdout=slave, stderr=subprocess.PIPE)
    out, deadline = b"", time.monotonic() + 150
    try:
        while time.monotonic() < deadline:
            if script and script[0][0].encode() in out:
                os.write(master, script.pop(0)[1])
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    out += os.read(master, 65536)
                except OSError:
                    break
            elif p.poll() is not None:
                break
        status = p.wait(timeout=30)
        kept = termios.tcgetattr(slave) == before
    finally:
        os.close(master)
        os.close(slave)
    return out.decode(errors="replace"), status, p.stderr.read().decode(), kept


@need_kernel
def test_typed_input_reaches_the_guest_and_the_terminal_mode_comes_back(tmp_path):
    init = "#!/bin/sh\necho type something\nread line\necho \"got: $line\"\n/bin/busybox poweroff -f\n"
    out, status, err, kept = run_on_pty(tmp_path, init, [("type something", b"hello guest\r")])
    assert "got: hello guest" in out, out[-2000:]
    assert status == 0 and err == "guise vm: powered off (ACPI S5)\n"
    assert kept


@need_kernel
def test_ctrl_a_x_quits_with_its_own_status(tmp_path):
    init = "#!/bin/sh\necho ready to wait\n/bin/busybox sleep 100\n/bin/busybox poweroff -f\n"
    out, status, err, kept = run_on_pty(tmp_path, init, [("ready to wait", b"\x01x")])
    assert "ready to wait" in out
    assert status == 105 and err == "guise vm: quit: Ctrl-A x at the console\n", (status, err)
    assert kept


def test_escapes_like_qemu():
    e = Escapes()
    assert e.feed(b"ab\x01\x01c") == (b"ab\x01c", False)      # Ctrl-A twice: one Ctrl-A
    assert e.feed(b"\x01") == (b"", False)                    # split across reads
    assert e.feed(b"q") == (b"\x01q", False)                  # anything else: both
    assert e.feed(b"xy\x01xz") == (b"xy", True)
