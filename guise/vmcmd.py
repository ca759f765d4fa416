"""``guise vm …``: a whole guest OS on the virtual PC of ``hw/``.

``guise vm run --multiboot KERNEL`` (or ``--kernel BZIMAGE``) boots a kernel on
the unicorn or the KVM back end with the guest's serial console on the
terminal (stdout, and stdin with Ctrl-A x to quit: ``guise/vmconsole.py``),
and exits with a status that says how the guest ended.  ``guise vm info`` says which back ends this
host has, what kind of KVM it is, and how fast each runs guest code.
"""
from __future__ import annotations

import argparse
import re
import sys
import time

from . import exitcodes
from .errors import GuiseError

# how a guest's run ended -> guise's exit status (power-off: the guest's own code)
ENDINGS = {"halt": exitcodes.VM_HALT, "reboot": exitcodes.VM_REBOOT, "fault": exitcodes.VM_FAULT,
           "timeout": exitcodes.VM_TIMEOUT, "panic": exitcodes.VM_PANIC,
           "hypervisor": exitcodes.VM_HYPERVISOR, "quit": exitcodes.VM_QUIT}
SAY = {"poweroff": "powered off", "halt": "halted for good", "reboot": "rebooted",
       "fault": "stopped by a CPU fault", "timeout": "ended by --timeout", "panic": "kernel panic",
       "hypervisor": "stopped by the hypervisor", "quit": "quit"}
VM_EPILOG = "exit status:\n  0 when the guest powers off through ACPI (S5), or its code on port 0xf4;\n" + \
    "\n".join(f"  {status:<4} {text}" for status, text in exitcodes.VM_TABLE)


def add_parser(subparsers) -> None:
    from .cli import COMMANDS
    vm = subparsers.add_parser("vm", help=COMMANDS["vm"],
                               description="Boot a guest kernel on a small virtual PC (hw/).")
    actions = vm.add_subparsers(dest="vm_action", required=True, metavar="ACTION")
    run = actions.add_parser("run", help="boot a kernel; its serial console is this terminal",
                             epilog=VM_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    kind = run.add_mutually_exclusive_group(required=True)
    kind.add_argument("--multiboot", metavar="KERNEL", help="a multiboot-1 ELF kernel (samples/bin/mbkernel.elf; mbvirtio.elf drives --disk and "
                           "--console virtio)")
    kind.add_argument("--kernel", metavar="BZIMAGE", help="a Linux bzImage (64-bit boot protocol)")
    run.add_argument("--append", default="", metavar="CMDLINE", help="the kernel command line")
    run.add_argument("--initrd", metavar="FILE", help="an initial RAM disk (with --kernel)")
    run.add_argument("--disk", action="append", default=[], metavar="FILE[:ro|:cow]",
                     help="a raw disk image as a virtio block device (repeatable): :ro read-only for the "
                          "guest, :cow writes kept in memory, the file never changes.  A Linux guest finds it "
                          "in the ACPI tables; a multiboot kernel at 0xd0000000 (one page per virtio device)")
    run.add_argument("--console", default="serial", choices=("serial", "virtio"),
                     help="the guest's console on this terminal: serial, the 16550 UART (COM1; a Linux guest "
                          "wants console=ttyS0 in --append), or virtio, a virtio console device, which adds "
                          "console=hvc0 to a Linux kernel's command line (Debian's kernel has virtio_console "
                          "as a module: its initramfs loads it and opens /dev/hvc0 itself, and the kernel's "
                          "messages from before that are not shown)")
    run.add_argument("--decompress", default="host", choices=("host", "guest"),
                     help="where a bzImage's compressed kernel is unpacked: host (default; gzip, bzip2, lzma, "
                          "xz, lz4 and zstd, else guest) or guest (the kernel's own decompressor, on the virtual CPU)")
    run.add_argument("--mem", metavar="SIZE", help="guest RAM (default 64M; 256M with --kernel)")
    run.add_argument("--backend", default="auto", choices=("auto", "unicorn", "kvm"),
                     help="CPU back end (auto: the faster here, by the cached calibration of guise vm info)")
    run.add_argument("--timeout", type=float, metavar="SECONDS", help="end a guest that runs longer")
    run.add_argument("--stats", action="store_true",
                     help="print how the run went at the end: slices, interrupts, what nobody answered, and "
                          "the back end's traps (unicorn hook calls or KVM exits) by kind, with their count "
                          "and host time (measured only with --stats)")
    info = actions.add_parser("info", help="which back ends work here, what kind of KVM, how fast each runs guest code")
    info.add_argument("--recalibrate", action="store_true", help="measure again instead of using the cached figures")


def run(args) -> int:
    return cmd_run(args) if args.vm_action == "run" else cmd_info(args)


def _size(text: str) -> int:
    m = re.fullmatch(r"(\d+)([KMG]?)i?B?", text.strip(), re.IGNORECASE)
    if not m:
        raise GuiseError(f"--mem {text}: expected a size such as 64M or 1G", exitcodes.USAGE)
    size = int(m.group(1)) << {"": 0, "K": 10, "M": 20, "G": 30}[m.group(2).upper()]
    if not 4 << 20 <= size <= 3 << 30:
        raise GuiseError(f"--mem {text}: between 4M and 3G", exitcodes.USAGE)
    return size & ~0xFFFF


def _read(path: str, what: str, limit: int = 1 << 30) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(limit)
    except OSError as e:
        raise GuiseError(f"{path}: {e.strerror}", exitcodes.NOT_FOUND) from None


def _machine(mem: int, console, long_mode: bool, backend: str, measure: bool):
    from hw.kvm import KvmError
    from hw.machine import PcMachine
    try:
        return PcMachine(mem, console, long_mode=long_mode, backend=backend, measure=measure)
    except KvmError as e:
        raise GuiseError(f"--backend {backend}: {e}", exitcodes.VM_HYPERVISOR) from None


def _add_disks(machine, specs) -> None:
    from hw.devices.virtio_blk import VirtioBlk
    from hw.diskimage import DiskImage, DiskImageError
    for spec in specs:
        try:
            machine.add_virtio(VirtioBlk(DiskImage.from_spec(spec)))
        except DiskImageError as e:
            raise GuiseError(f"--disk {e}", exitcodes.NOT_FOUND) from None
        except ValueError as e:
            raise GuiseError(f"--disk {spec}: {e}", exitcodes.USAGE) from None


def _add_console(machine, kind: str) -> str:
    """Put the console device on the machine; what a Linux kernel's command line needs for it."""
    if kind == "serial":
        return ""
    from hw.devices.virtio_console import VirtioConsole
    device = VirtioConsole(machine.console_output)
    transport = machine.add_virtio(device)
    machine.input_sink = lambda data: device.feed(data, transport)
    return "console=hvc0"


def cmd_run(args) -> int:
    from hw.boot import BootError, multiboot
    backend = args.backend
    if backend == "auto":
        from hw import calibrate
        backend = calibrate.fastest(calibrate.cached() or calibrate.calibrate(seconds=0.05))
    if args.initrd and not args.kernel:
        raise GuiseError("--initrd needs --kernel", exitcodes.USAGE)
    mem = _size(args.mem or ("256M" if args.kernel else "64M"))
    out = sys.stdout.buffer

    def console(data: bytes) -> None:
        out.write(data)
        out.flush()
    if args.kernel:
        from hw.linuxboot import LinuxImage, TooLittleMemory, load
        image = _read(args.kernel, "kernel")
        initrd = _read(args.initrd, "initrd") if args.initrd else b""
        try:
            kernel = LinuxImage(image)
            machine = _machine(mem, console, True, backend, args.stats)
            _add_disks(machine, args.disk)
            console_arg = _add_console(machine, args.console)
            cmdline = " ".join(filter(None, (console_arg, args.append, machine.cpu.kernel_args)))
            entry, zero_page = load(kernel, machine, mem, cmdline, initrd, rsdp=machine.install_acpi(),
                                   decompress=args.decompress)
        except TooLittleMemory as e:
            raise GuiseError(f"{args.kernel}: {e}", exitcodes.USAGE) from None
        except BootError as e:
            raise GuiseError(f"{args.kernel}: {e}", exitcodes.CANNOT_EXECUTE) from None
        from hw.linuxboot import BOOT_CS, BOOT_DS, GDT, GDT_LIMIT, PML4
        machine.cpu.enter_long_mode(PML4, entry, {"rsi": zero_page}, BOOT_CS, BOOT_DS, (GDT, GDT_LIMIT))
    else:
        image = _read(args.multiboot, "kernel", 64 << 20)
        machine = _machine(mem, console, False, backend, args.stats)
        _add_disks(machine, args.disk)
        _add_console(machine, args.console)
        try:
            loaded = multiboot(image, machine, mem, args.append)
        except BootError as e:
            raise GuiseError(f"{args.multiboot}: {e}", exitcodes.CANNOT_EXECUTE) from None
        machine.boot(loaded.entry, loaded.regs)
    from .vmconsole import Console
    t0 = time.monotonic()
    if sys.stdin is not None:
        with Console(machine, sys.stdin.fileno()):
            end = machine.run(timeout=args.timeout)
    else:
        end = machine.run(timeout=args.timeout)
    took = time.monotonic() - t0
    if end.reason == "poweroff":
        line = f"{SAY['poweroff']} ({end.detail or f'code {end.code}'})"
    else:
        line = SAY[end.reason] + (f": {end.detail}" if end.detail else "")
    out.flush()
    sys.stderr.write(f"guise vm: {line}\n")
    if args.stats:
        counts = ", ".join(f"{k} {v}" for k, v in machine.counts.items())
        busiest = machine.bus.unclaimed.most_common(8)
        unclaimed = ", ".join(f"{port:#x} ×{n}" for port, n in busiest) or "none"
        if len(machine.bus.unclaimed) > len(busiest):
            unclaimed += f" and {len(machine.bus.unclaimed) - len(busiest)} more"
        sys.stderr.write(f"guise vm: {took:.3f} s, backend {backend}, {mem >> 20} MiB; {counts}; "
                         f"ports and MMIO nobody answered: {unclaimed}\n"
                         + (f"guise vm: {kernel.how}\n" if args.kernel else "")
                         + "".join(f"guise vm: {line}\n" for line in machine.cpu.stats()))
    return end.code if end.reason == "poweroff" else ENDINGS[end.reason]


def cmd_info(args) -> int:
    from hw import calibrate
    from hw.kvm import kvm_kind
    entry = None if args.recalibrate else calibrate.cached()
    when = "measured now"
    if entry is None:
        entry = calibrate.calibrate()
    else:
        when = "measured " + time.strftime("%Y-%m-%d %H:%M", time.localtime(entry["when"]))

    def speed(backend: str) -> str:
        ips = entry.get(backend)
        if not ips:
            return f"does not run here: {entry.get(backend + ' error', 'not measured')}"
        return f"works: {ips / 1e6:.1f} M guest instructions/s"
    pick = calibrate.fastest(entry)
    other = "kvm" if pick == "unicorn" else "unicorn"
    ratio = f" ({entry[pick] / entry[other]:.0f}x the speed of {other} here)" if entry.get(other) else ""
    rows = [("unicorn", speed("unicorn")),
            ("kvm", f"{kvm_kind().detail}; {speed('kvm')}"),
            ("auto picks", pick + ratio),
            ("calibration", f"a counted loop in 64-bit mode for {entry.get('seconds', 0):g} s on each, {when}; "
                            f"cached in {calibrate.cache_path()} (--recalibrate measures again)")]
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    return 0
