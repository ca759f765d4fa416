"""A small PC: RAM, the legacy devices on one bus, and a CPU back end.

One machine for both boot paths: ``PcMachine(..., long_mode=False)`` is a
32-bit protected-mode CPU (multiboot kernels), ``long_mode=True`` a 64-bit one
entered the way the Linux 64-bit boot protocol asks (paging on, flat
segments).  The devices, the bus, the clock and the run loop are the same for
both, and for both CPU back ends (``backend="unicorn"`` or ``"kvm"``, behind
``hw/cpu/system.py``'s interface): the back end runs the guest and traps its
port I/O and MMIO into the bus; the machine owns time and interrupts.

The guest runs in slices that end when the next timer tick is due (at most
``SLICE`` seconds of host time), whatever the guest's interrupt flag: between
slices, and whenever the guest halts, the machine advances its clock, lets
the timer raise its interrupt, and has the back end deliver the highest
pending interrupt of the PIC, as the CPU would.  A guest that halts with
interrupts enabled sleeps until the next timer tick or serial input, and
stays halted until an interrupt comes.  Time is the host's: the PIT and the
CMOS clock advance in real time.

How a run ends (``Exit.reason``): "poweroff" (the power-off port, or ACPI S5
through ``hw/devices/pm.py``, which a Linux guest finds in ``install_acpi``'s tables),
"halt" (HLT with interrupts disabled: nothing can wake it), "reboot" (the
i8042 reset line, or a triple fault: an exception the guest cannot take, which
resets a PC as in QEMU), "panic" (the guest's kernel said it panicked and then
stopped), "fault" (the CPU could not go on: memory outside RAM and every
device, an emulation failure), "quit" (Ctrl-A x at the console), "timeout".
``measure=True`` (``guise vm run --stats``) has the back end count and time its
traps (``hw/cpu/trapcost.py``).
"""
from __future__ import annotations

import collections
import re
import threading
import time
from typing import Optional

from . import acpi
from .bus import MMIO_WINDOW, Bus
from .cpu.system import Exit, make_system_cpu
from .devices.cmos import Cmos
from .devices.i8042 import I8042
from .devices.pic import Pic
from .devices.pit import Pit
from .devices.pm import AcpiPm
from .devices.port61 import Port61
from .devices.poweroff import PowerOff
from .devices.serial import Serial
from .devices.virtio_mmio import WINDOW, VirtioMmio

__all__ = ["Exit", "PcMachine"]

ACPI_TABLES = 0xE0000           # in the BIOS area, where a guest looks for the RSDP
VIRTIO_IRQS = (5, 10, 11, 7, 3, 6)      # ISA lines no device of this PC uses
VIRTIO_STRIDE = 0x1000          # one page per virtio-mmio device in the bus's MMIO window
SLICE = 0.01                    # seconds of guest run between looks at the timer, at most
MIN_SLICE = 0.0002              # a shorter slice costs more in its setup than it runs
PANIC_END = re.compile(rb"---\[ end Kernel panic[^\n]*\]---")    # Linux's last words, in full


class PcMachine:
    def __init__(self, ram_bytes: int, console, clock=time.monotonic, long_mode: bool = False,
                 backend: str = "unicorn", measure: bool = False):
        self.ram_bytes = ram_bytes
        self.clock = clock
        self.long_mode = long_mode
        self.bus = Bus()
        self.pic = Pic()
        self.console = console
        self.serial = Serial(self.console_output, irq=lambda level: self.pic.set_level(4, level))
        self.input_sink = self.serial.feed      # where typed bytes go: the UART, or a virtio console
        self.pit = Pit(clock, self._tick)
        self.exit: Optional[Exit] = None
        for dev in (self.pic, self.serial, self.pit, Port61(self.pit), Cmos(ram_bytes),
                    I8042(lambda: self._end(Exit("reboot", detail="reset through the i8042"))),
                    PowerOff(lambda code: self._end(Exit("poweroff", code))),
                    AcpiPm(clock, lambda: self._end(Exit("poweroff", 0, detail="ACPI S5")))):
            self.bus.attach(dev)
        self.cpu = make_system_cpu(backend, ram_bytes, self.bus, long_mode, self._stopping, measure)
        self.virtio: list[tuple[int, int, int]] = []      # (base, size, irq) of each virtio-mmio device
        self.counts = {"slices": 0, "interrupts": 0}
        self.tail = b""             # the console's last bytes (panic detection)
        self._input: collections.deque[bytes] = collections.deque()     # console input from other threads
        self._wake = threading.Event()  # input or a quit ends a halted guest's wait

    # -- memory, for boot loaders ---------------------------------------------------
    def write(self, addr: int, data: bytes) -> None:
        self.cpu.write(addr, data)

    def read(self, addr: int, size: int) -> bytes:
        return self.cpu.read(addr, size)

    def attach(self, device) -> None:
        self.bus.attach(device)

    def add_virtio(self, device) -> VirtioMmio:
        """Put a virtio device (hw/devices/virtio_blk.py) on the next virtio-mmio
        window and interrupt line; a Linux guest finds it in the ACPI tables."""
        n = len(self.virtio)
        if n == len(VIRTIO_IRQS):
            raise ValueError(f"this PC has room for {n} virtio devices")
        base, irq = MMIO_WINDOW[0] + n * VIRTIO_STRIDE, VIRTIO_IRQS[n]
        transport = VirtioMmio(base, lambda level: self.pic.set_level(irq, level), self, device)
        self.bus.attach(transport)
        self.virtio.append((base, WINDOW, irq))
        return transport

    def install_acpi(self) -> int:
        """Write the ACPI tables that describe this machine (hw/acpi.py); return
        the RSDP's address, for boot_params."""
        self.write(ACPI_TABLES, acpi.tables(ACPI_TABLES, self.virtio))
        return ACPI_TABLES

    # -- devices -----------------------------------------------------------------------
    def console_output(self, data: bytes) -> None:
        """What the guest writes on its console (the UART or a virtio console):
        to the terminal, its tail kept to recognise a panic."""
        self.console(data)
        self.tail = (self.tail + data)[-512:]

    def _tick(self) -> None:
        self.pic.set_level(0, True)
        self.pic.set_level(0, False)

    def console_input(self, data: bytes) -> None:
        """Bytes typed at the console, from any thread: the console device
        (``input_sink``) receives them between slices."""
        self._input.append(data)
        self._wake.set()

    def quit(self, detail: str) -> None:
        """End the run from any thread (Ctrl-A x at the console)."""
        self._end(Exit("quit", detail=detail))
        self._wake.set()

    def _stopping(self) -> bool:
        """After a device access: end the slice for a power-off or reset, or to take
        an interrupt a device has just raised."""
        return self.exit is not None or (self.pic.changed and self.pic.master.pending() is not None)

    def _end(self, exit: Exit) -> None:
        if self.exit is None:
            self.exit = exit

    # -- running -----------------------------------------------------------------------
    def boot(self, entry: int, regs: dict) -> None:
        """Enter a multiboot kernel: 32-bit, flat, interrupts off."""
        self.cpu.enter_protected(entry, regs)

    def run(self, timeout: Optional[float] = None) -> Exit:
        deadline = self.clock() + timeout if timeout else None
        cpu = self.cpu
        halted = False
        while self.exit is None:
            now = self.clock()
            if deadline is not None and now >= deadline:
                return Exit("timeout", detail=f"still running after {timeout:g} s")
            self.pit.due(now)
            while self._input:
                self.input_sink(self._input.popleft())
            if cpu.interruptible():
                vector = self.pic.acknowledge()
                if vector is not None:
                    self.counts["interrupts"] += 1
                    end = cpu.inject(vector)
                    if end is not None:
                        return end
                    halted = False
                elif halted:
                    self._sleep_until_interrupt(deadline)
                    continue
            elif halted:
                return self._stopped(f"halted with interrupts off at {cpu.pc():#x}")
            elif self.pic.master.pending() is not None:
                cpu.want_interrupt()
            self.counts["slices"] += 1
            self.pic.changed = False
            end = cpu.run(self._slice(now, deadline))
            if end is not None:
                return end
            if self.exit is not None:
                break
            if PANIC_END.search(self.tail):
                return self._stopped("the kernel panicked")
            halted = cpu.halted()
        return self.exit

    def _slice(self, now: float, deadline: Optional[float]) -> float:
        """Run until the next timer tick is due (at most SLICE), so ticks arrive on time."""
        until = min(filter(None, (now + SLICE, self.pit.next_deadline(), deadline)))
        return max(until - now, MIN_SLICE)

    def _stopped(self, detail: str) -> Exit:
        """A guest that can never run again: a kernel panic if its console says so."""
        text = self.tail.decode("latin-1")
        at = text.rfind("Kernel panic - not syncing")
        if at >= 0:
            line = text[at:].split("\n")[0].strip().rstrip("]- \r").strip()
            return Exit("panic", detail=line)
        return Exit("halt", detail=detail)

    def _sleep_until_interrupt(self, deadline) -> None:
        """HLT with interrupts on: wait (on the host) for the next timer tick."""
        now = self.clock()
        wake = min(filter(None, (now + SLICE, self.pit.next_deadline(), deadline)))
        if wake > now and self._wake.wait(wake - now):
            self._wake.clear()
