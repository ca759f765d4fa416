"""The system-mode CPU contract: what the virtual PC (``hw/machine.py``) needs of
a back end, so one machine with one set of devices runs on unicorn and on KVM.

The user-mode :class:`hw.cpu.base.Cpu` does not fit here: it maps and protects
virtual pages for one process and traps system calls, while a PC has one
physical RAM, boots into a state a boot protocol describes, and traps port
I/O, MMIO, HLT and interrupts.  A back end owns guest RAM and the CPU state;
the machine owns the devices (through the bus it hands the back end), time,
the interrupt controllers and the decision of when to deliver what.

``run(seconds)`` runs the guest for at most that much host time, dispatching
port I/O and MMIO to the bus on the way, and returns early when the guest
halts, when ``stopping()`` turns true after a device access (power-off,
reset, or an interrupt a device has just raised), or with an :class:`Exit`
when the CPU itself cannot go on (a triple fault, an emulation failure).
"""
from __future__ import annotations

import abc
import dataclasses
from typing import Callable, Optional

from .trapcost import TrapCosts


@dataclasses.dataclass
class Exit:
    """How a guest's run ended: reason is one of poweroff, halt, reboot, panic,
    fault, quit, timeout (see hw/machine.py)."""
    reason: str
    code: int = 0               # the power-off port's value
    detail: str = ""


class OutsideRam(ValueError):
    """A host-side access to guest-physical memory (a boot loader, a device's
    DMA) that is not all in RAM: the caller decides what the guest sees."""


def check_ram(addr: int, size: int, ram_bytes: int) -> None:
    """OutsideRam unless [addr, addr + size) is guest RAM."""
    if addr < 0 or size < 0 or addr + size > ram_bytes:
        raise OutsideRam(f"guest RAM [{addr:#x}, +{size:#x}) is outside the {ram_bytes >> 20} MiB")


def triple_fault(why: str) -> Exit:
    return Exit("reboot", detail=f"triple fault ({why}); a PC resets")


class SystemCpu(abc.ABC):
    name: str                   # "unicorn" or "kvm", for --stats and errors
    trap_title: str             # what --stats calls its traps
    trap_extra = ""             # a back end's extra --stats column (TrapCosts)
    run_call: str               # what runs the guest's code, for --stats
    kernel_args = ""            # what a Linux guest's command line needs on this back end

    def __init__(self, ram_bytes: int, bus, long_mode: bool, stopping: Callable[[], bool],
                 measure: bool = False):
        self.ram_bytes, self.bus, self.long_mode, self.stopping = ram_bytes, bus, long_mode, stopping
        # --stats: count and time the traps (hw/cpu/trapcost.py); None keeps that off the hot path
        self.costs = TrapCosts(self.run_call, self.trap_extra) if measure else None
        self.trace: Optional[Callable[[str], None]] = None

    # guest-physical RAM, for boot loaders and devices: OutsideRam beyond it ----------
    @abc.abstractmethod
    def write(self, addr: int, data: bytes) -> None: ...
    @abc.abstractmethod
    def read(self, addr: int, size: int) -> bytes: ...


    # boot states ---------------------------------------------------------------------
    @abc.abstractmethod
    def enter_protected(self, entry: int, regs: dict[str, int]) -> None:
        """Flat 32-bit protected mode, paging and interrupts off (multiboot)."""
    @abc.abstractmethod
    def enter_long_mode(self, cr3: int, entry: int, regs: dict[str, int], cs: int, ds: int,
                        gdt: Optional[tuple[int, int]] = None) -> None:
        """64-bit mode with paging on through ``cr3``, flat ``cs``/``ds`` from the
        guest's GDT (``gdt``: its base and limit, loaded into GDTR), interrupts
        off (the Linux 64-bit boot protocol)."""

    # running -------------------------------------------------------------------------
    @abc.abstractmethod
    def run(self, seconds: float) -> Optional[Exit]:
        """Run the guest for at most ``seconds``; an Exit if the CPU cannot go on."""
    @abc.abstractmethod
    def halted(self) -> bool:
        """The last ``run`` ended because the guest executed HLT."""
    @abc.abstractmethod
    def interruptible(self) -> bool:
        """The guest can take an external interrupt now (IF set, nothing in the way)."""
    @abc.abstractmethod
    def inject(self, vector: int) -> Optional[Exit]:
        """Deliver external interrupt ``vector``; an Exit if the guest cannot take it."""
    def want_interrupt(self) -> None:
        """An interrupt is pending but ``interruptible()`` said no: end the next
        ``run`` as soon as the guest can take it (a back end that runs in short
        slices anyway need not do anything)."""
    @abc.abstractmethod
    def pc(self) -> int: ...

    def stats(self) -> list[str]:
        """Lines for --stats: what the back end trapped, by kind, and what each kind
        cost (hw/cpu/trapcost.py), if it was made with ``measure``."""
        if self.costs is None:
            return [f"{self.trap_title}: not measured (the back end was made without measure)"]
        return self.costs.table(self.trap_title)

    def close(self) -> None:
        """Release what the back end holds on the host (descriptors, guest RAM)
        before the process ends, for callers that make many machines."""


def make_system_cpu(backend: str, ram_bytes: int, bus, long_mode: bool,
                    stopping: Callable[[], bool], measure: bool = False) -> SystemCpu:
    if backend == "unicorn":
        from .unicorn_system import UnicornSystem
        return UnicornSystem(ram_bytes, bus, long_mode, stopping, measure)
    if backend == "kvm":
        from hw.kvm.system import KvmSystem
        return KvmSystem(ram_bytes, bus, long_mode, stopping, measure)
    raise ValueError(f"unknown back end {backend!r}")
