"""The virtual PC's rows of the benchmark: guest instructions per second of each
CPU back end (hw/calibrate.py's counted loop), and the Debian cloud kernel's
boot with a busybox initramfs on KVM, guise against `qemu-system-x86_64 -accel
kvm` on the same kernel and initramfs.

A boot that fails or runs past the timeout is a row too, with what happened
(the status and the last console line), since on a software KVM (PVM) that is
the interesting result.  On a software KVM both hide from the guest what it
cannot emulate: guise hides CMPXCHG16B and XSAVE itself, QEMU gets
``-cpu qemu64,-cx16`` (its default model, which has no XSAVE, without CX16).
"""
from __future__ import annotations

import glob
import os
import stat
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
INIT_LAST_LINE = "six times seven is 42"


def initramfs(path: Path) -> bool:
    """The busybox initramfs of tests/test_vm_linux.py (its /init prints a marker and
    a sum, then powers off); False without busybox-static."""
    from test_vm_linux import INIT, newc
    if not os.path.exists("/bin/busybox"):
        return False
    d, r = stat.S_IFDIR | 0o755, stat.S_IFREG | 0o755
    path.write_bytes(newc([("bin", d, b"", 0, 0), ("bin/busybox", r, Path("/bin/busybox").read_bytes(), 0, 0),
                           ("bin/sh", stat.S_IFLNK | 0o777, b"busybox", 0, 0), ("dev", d, b"", 0, 0),
                           ("dev/console", stat.S_IFCHR | 0o600, b"", 5, 1), ("proc", d, b"", 0, 0),
                           ("init", r, INIT.encode(), 0, 0)]))
    return True


def boot(cmd: list[str], timeout: float) -> str:
    """Run a boot; the seconds until the init script's last line, or what happened."""
    t0 = time.perf_counter()
    seen = None
    tail = b""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=ROOT)
    watchdog = threading.Timer(timeout, p.kill)          # a silent guest must not outlast the timeout
    watchdog.start()
    try:
        while chunk := p.stdout.read1(65536):
            tail = (tail + chunk)[-4096:]
            if seen is None and INIT_LAST_LINE.encode() in tail:
                seen = time.perf_counter() - t0
    finally:
        watchdog.cancel()
        if p.poll() is None:
            p.kill()
        p.wait()
    if seen is not None:
        return f"{seen:.2f} s"
    took = time.perf_counter() - t0
    last = next((line for line in reversed(tail.decode(errors="replace").splitlines()) if line.strip()),
                "(nothing on the console)")
    ended = f"timeout after {took:.0f} s" if took >= timeout else f"ended (status {p.returncode}) after {took:.0f} s"
    return f"{ended}; last line: `{last.strip()[:140]}`"


def rows(timeout: float) -> list[str]:
    from hw import calibrate
    from hw.kvm import kvm_kind
    kind = kvm_kind()
    entry = calibrate.calibrate(seconds=0.5)

    def ips(backend):
        v = entry.get(backend)
        return f"{v / 1e6:.1f} M" if v else f"does not run: {entry.get(backend + ' error')}"
    out = ["## Virtual PC", "",
           f"KVM on this host: {kind.detail}.", "",
           "| back end | guest instructions/s (counted loop, 64-bit) |", "|---|---:|",
           f"| unicorn | {ips('unicorn')} |", f"| kvm | {ips('kvm')} |", ""]
    kernels = sorted(glob.glob("/boot/vmlinuz-*-cloud-amd64"))
    if not kernels or not kind.usable:
        return out + [f"Debian kernel boot on KVM: not run ({'no kernel' if not kernels else kind.detail})."]
    kernel = kernels[-1]
    with tempfile.TemporaryDirectory() as tmp:
        cpio = Path(tmp, "init.cpio")
        if not initramfs(cpio):
            return out + ["Debian kernel boot on KVM: not run (busybox-static missing)."]
        append = "console=ttyS0"
        guise = boot([sys.executable, "-m", "guise", "vm", "run", "--kernel", kernel, "--initrd", str(cpio),
                      "--append", append, "--backend", "kvm", "--timeout", str(timeout)], timeout + 30)
        cpu = "qemu64,-cx16" if kind.kind == "software" else "host"
        qemu = boot(["qemu-system-x86_64", "-accel", "kvm", "-cpu", cpu, "-M", "microvm", "-m", "256M",
                     "-nographic", "-no-reboot", "-kernel", kernel, "-initrd", str(cpio), "-append", append],
                    timeout)
    return out + [f"Boot of {Path(kernel).name} with a busybox initramfs to its init script's last line, on KVM "
                  f"(timeout {timeout:.0f} s):", "",
                  "| | time or what happened |", "|---|---|",
                  f"| guise --backend kvm | {guise} |", f"| qemu-system-x86_64 -accel kvm -cpu {cpu} -M microvm | {qemu} |"]


if __name__ == "__main__":
    print("\n".join(rows(float(sys.argv[1]) if len(sys.argv) > 1 else 900)))
