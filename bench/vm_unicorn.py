"""The virtual PC's unicorn row of the benchmark: the Debian cloud kernel booted
by guise on unicorn against ``qemu-system-x86_64 -accel tcg -M microvm`` (QEMU's
own emulator), with the same kernel, the same initramfs (busybox, the virtio
modules, an init that mounts an ext2 disk read-only, prints from it, computes,
and powers off) and the same disk as a virtio-mmio block device, timed to the
init script's last line.  guise runs both ways a bzImage's kernel can be
unpacked (``--decompress host``, the default, and ``guest``, the kernel's own
decompressor on the emulated CPU: hw/linuxboot.py).  Each is run ``runs``
times, the three in turn; the row shows the best and the median of the runs
that got there, and what happened to any that did not.  Both kernels get the same command line:
what guise adds on unicorn (hw/cpu/unicorn_system.py's linux_args: the host's
TSC rate, which unicorn's RDTSC and QEMU's TCG both read, and noreplace-smp)
goes to QEMU's too; without the TSC rate QEMU's guest calibrates its TSC
against the PIT and, on a busy host, often fails and hangs.
"""
from __future__ import annotations

import glob
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from vm_boot import INIT_LAST_LINE, boot
from hw.cpu.unicorn_system import linux_args

LAST = 'echo "six times seven is $((6 * 7))"'      # prints vm_boot's INIT_LAST_LINE, computed by the guest
assert INIT_LAST_LINE == "six times seven is 42"


def _seconds(result: str):
    """boot()'s answer as seconds, or None when it says what happened instead."""
    try:
        return float(result.removesuffix(" s"))
    except ValueError:
        return None


def rows(timeout: float, runs: int = 5) -> list[str]:
    kernels = sorted(glob.glob("/boot/vmlinuz-*-cloud-amd64"))
    if not kernels or not os.path.exists("/bin/busybox") or not shutil.which("mke2fs"):
        return ["Debian kernel boot on unicorn: not run (needs linux-image-cloud-amd64, busybox-static, e2fsprogs)."]
    from test_vm_virtio import build_ext2, module_entries, INIT
    from test_vm_linux import busybox_initramfs
    kernel = kernels[-1]
    entries = module_entries(kernel)
    if entries is None:
        return ["Debian kernel boot on unicorn: not run (the kernel's virtio modules are missing)."]
    with tempfile.TemporaryDirectory() as tmp:
        image, _, _ = build_ext2(Path(tmp))
        cpio = busybox_initramfs(Path(tmp, "init.cpio"), INIT.replace("ACTION", LAST), entries)
        append = "console=ttyS0"
        guise_cmd = [sys.executable, "-m", "guise", "vm", "run", "--backend", "unicorn", "--kernel", kernel,
                     "--initrd", str(cpio), "--disk", f"{image}:ro", "--append", append, "--timeout", str(timeout)]
        append += " " + linux_args()                        # what guise adds on unicorn
        qemu_cmd = ["qemu-system-x86_64", "-accel", "tcg", "-M", "microvm", "-m", "256M", "-nodefaults",
                    "-no-user-config", "-nographic", "-serial", "stdio", "-no-reboot",
                    "-kernel", kernel, "-initrd", str(cpio), "-append", append,
                    "-drive", f"id=d0,file={image},format=raw,if=none,readonly=on",
                    "-device", "virtio-blk-device,drive=d0"]
        cmds = {"guise": guise_cmd, "guest": guise_cmd + ["--decompress", "guest"], "qemu": qemu_cmd}
        results = {who: [] for who in cmds}
        for _ in range(runs):           # round by round, so a change in the host's load hits all three
            for who, cmd in cmds.items():
                results[who].append(boot(cmd, timeout + 30) if shutil.which(cmd[0]) else f"{cmd[0]} missing")
    cells, times = {}, {}
    for who, got in results.items():
        secs = [s for s in map(_seconds, got) if s is not None]
        failed = [g for g in got if _seconds(g) is None]
        cells[who] = "; ".join(filter(None, (
            secs and f"{min(secs):.2f} s (median {statistics.median(secs):.2f} s)",
            failed and f"{len(failed)} of {len(got)} runs failed: {failed[0]}")))
        if secs:
            times[who] = min(secs)

    def ratio(who):
        return f"{times[who] / times['qemu']:.2f}x" if who in times and "qemu" in times else "—"
    met = "—" if not {"guise", "qemu"} <= times.keys() else "met" if times["guise"] <= 2 * times["qemu"] else "missed"
    return [f"Boot of {Path(kernel).name}: busybox initramfs with the virtio modules, an ext2 disk on "
            f"virtio-mmio read-only, to the init script's last line (best of {runs}):", "",
            "| | time | ratio |", "|---|---|---:|",
            f"| guise --backend unicorn | {cells['guise']} | {ratio('guise')} |",
            f"| guise --backend unicorn --decompress guest | {cells['guest']} | {ratio('guest')} |",
            f"| qemu-system-x86_64 -accel tcg -M microvm | {cells['qemu']} | 1.00x |", "",
            "| target | result |", "|---|---|",
            f"| boot on unicorn ≤ 2x QEMU's TCG | {met} |"]


if __name__ == "__main__":
    print("\n".join(rows(float(sys.argv[1]) if len(sys.argv) > 1 else 120)))
