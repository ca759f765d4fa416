"""A small PC: RAM, the legacy devices on one bus, and a CPU back end.

One machine for both boot paths: ``PcMachine(..., long_mode=False)`` is a
32-bit protected-mode CPU (multiboot kernels), ``long_mode=True`` a 64-bit one
entered the way the Linux 64-bit boot protocol asks (paging on, flat
segments).  The devices, the bus, the clock and the run loop are the same.

The unicorn back end runs the guest in slices (``SLICE`` seconds of host time,
through unicorn's own timeout, so no per-instruction hook is ever installed):
between slices, and whenever the guest halts, the machine advances its clock,
lets the timer raise its interrupt, and delivers the highest pending interrupt
of the PIC to the guest through its IDT, as the CPU would.  Port I/O traps
straight into the bus.  A guest that halts with interrupts enabled sleeps
until the next timer tick or serial input.

unicorn only *reports* CPU exceptions and the SYSCALL instruction; the hooks
stop the slice and the loop delivers them (``hw/x86.py`` in long mode: IDT
gates, IST, the TSS stack on a privilege change, error codes).  Time is the
host's: the PIT, the CMOS clock and the TSC (unicorn's RDTSC reads the host's
counter) all advance in real time, so a kernel's TSC calibration against the
PIT finds the host's TSC rate.

How a run ends (``Exit.reason``): "poweroff" (the power-off port, or ACPI S5),
"halt" (HLT with interrupts disabled: nothing can wake it), "reboot" (the
i8042 reset line, or a triple fault: an exception the guest cannot take, which
resets a PC as in QEMU), "panic" (the guest's kernel said it panicked and then
stopped), "fault" (the emulator could not go on: memory outside RAM and every
device), "timeout".
"""
from __future__ import annotations

import dataclasses
import struct
import time
from typing import Optional

from unicorn import (Uc, UcError, UC_ARCH_X86, UC_MODE_32, UC_MODE_64, UC_HOOK_INSN, UC_HOOK_INTR,
                     UC_HOOK_INSN_INVALID, UC_PROT_ALL, UC_QUERY_TIMEOUT)
from unicorn.x86_const import (UC_X86_INS_IN, UC_X86_INS_OUT, UC_X86_INS_SYSCALL, UC_X86_INS_CPUID,
                               UC_X86_REG_EAX, UC_X86_REG_EBX, UC_X86_REG_EIP, UC_X86_REG_EFLAGS,
                               UC_X86_REG_ESP, UC_X86_REG_CS, UC_X86_REG_IDTR, UC_X86_REG_RIP,
                               UC_X86_REG_RFLAGS)

from .bus import Bus
from .devices.cmos import Cmos
from .devices.i8042 import I8042
from .devices.pic import Pic
from .devices.pit import Pit
from .devices.port61 import Port61
from .devices.poweroff import PowerOff
from .devices.serial import Serial

SLICE = 0.01                    # seconds of guest run between looks at the timer
# With interrupts off there is nothing to deliver, so the slice only ends for
# --timeout.  Measured reason it is not SLICE too: with unicorn 2.1.4, a stop
# request (the slice timer) that arrives while the guest takes a page fault
# loses the fault and the faulting store (reproduced with an emu_stop from an
# OUT hook just before a faulting store); Linux's decompressor then fails
# ("Decoding failed").  Long quiet slices make that rare, not impossible.
QUIET_SLICE = 30.0
IF = 0x200
HLT = 0xF4
NOWHERE = 0x8000_0000_0000_0000     # a non-canonical address: the slice never "arrives"


@dataclasses.dataclass
class Exit:
    reason: str
    code: int = 0               # the power-off port's value
    detail: str = ""


class PcMachine:
    def __init__(self, ram_bytes: int, console, clock=time.monotonic, long_mode: bool = False):
        self.ram_bytes = ram_bytes
        self.clock = clock
        self.long_mode = long_mode
        self.uc = Uc(UC_ARCH_X86, UC_MODE_64 if long_mode else UC_MODE_32)
        self.uc.mem_map(0, ram_bytes, UC_PROT_ALL)
        self.pc, self.flags_reg = (UC_X86_REG_RIP, UC_X86_REG_RFLAGS) if long_mode else \
            (UC_X86_REG_EIP, UC_X86_REG_EFLAGS)
        self.bus = Bus()
        self.pic = Pic()
        self.console = console
        self.serial = Serial(self._console, irq=lambda level: self.pic.set_level(4, level))
        self.pit = Pit(clock, self._tick)
        self.exit: Optional[Exit] = None
        for dev in (self.pic, self.serial, self.pit, Port61(self.pit), Cmos(ram_bytes),
                    I8042(lambda: self._end(Exit("reboot", detail="reset through the i8042"))),
                    PowerOff(lambda code: self._end(Exit("poweroff", code))), ):
            self.bus.attach(dev)
        self.uc.hook_add(UC_HOOK_INSN, self._in, None, 1, 0, UC_X86_INS_IN)
        self.uc.hook_add(UC_HOOK_INSN, self._out, None, 1, 0, UC_X86_INS_OUT)
        self.uc.hook_add(UC_HOOK_INTR, self._exception)
        self.uc.hook_add(UC_HOOK_INSN_INVALID, self._invalid)
        self.event = None           # what stopped the slice: ("exception", vector) or ("syscall",)
        self.cpu = None
        self.trace = None           # callable(str) for debugging, or None
        self.counts = {"slices": 0, "port I/O": 0, "exceptions": 0, "syscalls": 0, "interrupts": 0}
        self.tail = b""             # the console's last bytes (panic detection)
        if long_mode:
            from .cpuid import Cpuid
            from .x86 import LongMode
            self.cpu = LongMode(self.uc)
            self.cpuid = Cpuid()
            self.uc.hook_add(UC_HOOK_INSN, self._syscall, None, 1, 0, UC_X86_INS_SYSCALL)
            self.uc.hook_add(UC_HOOK_INSN, self.cpuid.hook, None, 1, 0, UC_X86_INS_CPUID)

    # -- memory, for boot loaders ---------------------------------------------------
    def write(self, addr: int, data: bytes) -> None:
        self.uc.mem_write(addr, data)

    def read(self, addr: int, size: int) -> bytes:
        return bytes(self.uc.mem_read(addr, size))

    def attach(self, device) -> None:
        self.bus.attach(device)

    # -- traps -------------------------------------------------------------------------
    def _console(self, data: bytes) -> None:
        self.console(data)
        self.tail = (self.tail + data)[-512:]

    def _in(self, uc, port, size, _):
        self.counts["port I/O"] += 1
        return self.bus.read(port, size)

    def _out(self, uc, port, size, value, _):
        self.counts["port I/O"] += 1
        self.bus.write(port, size, value)
        if self.exit is not None:
            uc.emu_stop()

    def _exception(self, uc, intno, _):
        self.counts["exceptions"] += 1
        if self.trace:
            self.trace(f"exception {intno} at {uc.reg_read(self.pc):#x}")
        if self.cpu is None:
            self.event = ("exception", intno)
            uc.emu_stop()
            return
        from .x86 import DeliveryError
        try:
            self.cpu.take_exception(intno)
        except DeliveryError as e:
            self._end(self._triple_fault(f"CPU exception {intno} at {uc.reg_read(UC_X86_REG_RIP):#x}: {e}"))
            uc.emu_stop()

    def _invalid(self, uc, _):
        self._exception(uc, 6, None)             # #UD: Linux's BUG()/WARN() use ud2
        return True

    def _syscall(self, uc, _):
        self.event = ("syscall",)
        uc.emu_stop()

    def _tick(self) -> None:
        self.pic.set_level(0, True)
        self.pic.set_level(0, False)

    def _end(self, exit: Exit) -> None:
        if self.exit is None:
            self.exit = exit

    # -- running -----------------------------------------------------------------------
    def boot(self, entry: int, regs: dict) -> None:
        """Enter a multiboot kernel: 32-bit, flat, interrupts off."""
        self.uc.reg_write(UC_X86_REG_EIP, entry)
        names = {"eax": UC_X86_REG_EAX, "ebx": UC_X86_REG_EBX}
        for name, value in regs.items():
            self.uc.reg_write(names[name], value)
        self.uc.reg_write(UC_X86_REG_EFLAGS, 0x2)                  # interrupts off, as multiboot says

    def run(self, timeout: Optional[float] = None) -> Exit:
        deadline = self.clock() + timeout if timeout else None
        uc = self.uc
        while self.exit is None:
            if deadline is not None and self.clock() >= deadline:
                return Exit("timeout", detail=f"still running after {timeout:g} s")
            pc = uc.reg_read(self.pc)
            slice_s = SLICE if uc.reg_read(self.flags_reg) & IF else QUIET_SLICE
            if deadline is not None:
                slice_s = max(min(slice_s, deadline - self.clock()), 0.001)
            self.counts["slices"] += 1
            if self.cpu is not None:
                self.cpu.clear_inflight()
            try:
                uc.emu_start(pc, NOWHERE if self.long_mode else 0xFFFFFFFF, timeout=int(slice_s * 1e6))
            except UcError as e:
                return Exit("fault", detail=f"{e} at {uc.reg_read(self.pc):#x}")
            if self.exit is not None:
                break
            if b"end Kernel panic" in self.tail:
                return self._stopped("the kernel panicked")
            event, self.event = self.event, None
            if event is not None:
                end = self._take(event)
                if end is not None:
                    return end
            now = self.clock()
            halted = event is None and not uc.query(UC_QUERY_TIMEOUT) and self._at_hlt()
            self.pit.due(now)
            flags = uc.reg_read(self.flags_reg)
            if halted and not flags & IF:
                return self._stopped(f"halted with interrupts off at {uc.reg_read(self.pc):#x}")
            if flags & IF:
                vector = self.pic.acknowledge()
                if vector is None and halted:
                    self._sleep_until_interrupt(deadline)
                    vector = self.pic.acknowledge()
                if vector is not None:
                    self.counts["interrupts"] += 1
                    end = self._interrupt(vector)
                    if end is not None:
                        return end
        return self.exit

    def _take(self, event) -> Optional[Exit]:
        """Deliver what stopped the slice: a SYSCALL, or an exception in 32-bit mode
        (in long mode the hook delivers exceptions itself: see hw/x86.py)."""
        from .x86 import DeliveryError
        if event[0] == "syscall":
            self.counts["syscalls"] += 1
            if self.cpu is None:
                return None              # no SYSCALL in 32-bit mode: unicorn stepped over it
            try:
                self.cpu.syscall()
            except DeliveryError as e:
                return self._triple_fault(f"SYSCALL: {e}")
            return None
        if not self._deliver32(event[1]):
            return self._triple_fault(f"CPU exception {event[1]} with no handler to take it")
        return None

    def _interrupt(self, vector: int) -> Optional[Exit]:
        if self.cpu is None:
            if not self._deliver32(vector):
                return Exit("fault", detail=f"interrupt {vector:#x} with no usable IDT gate")
            return None
        from .x86 import DeliveryError
        try:
            self.cpu.deliver(vector)
        except DeliveryError as e:
            return self._triple_fault(f"interrupt {vector:#x}: {e}")
        return None

    def _triple_fault(self, why: str) -> Exit:
        return Exit("reboot", detail=f"triple fault ({why}); a PC resets")

    def _stopped(self, detail: str) -> Exit:
        """A guest that can never run again: a kernel panic if its console says so."""
        text = self.tail.decode("latin-1")
        at = text.rfind("Kernel panic - not syncing")
        if at >= 0:
            line = text[at:].split("\n")[0].strip().rstrip("]- \r").strip()
            return Exit("panic", detail=line)
        return Exit("halt", detail=detail)

    def _at_hlt(self) -> bool:
        pc = self.uc.reg_read(self.pc)
        if pc == 0:
            return False
        try:
            before = self.cpu.read(pc - 1, 1) if self.cpu else self.read(pc - 1, 1)
        except Exception:
            return False
        return before[0] == HLT

    def _sleep_until_interrupt(self, deadline) -> None:
        """HLT with interrupts on: wait (on the host) for the next timer tick."""
        wake = self.pit.next_deadline()
        if wake is None:
            wake = self.clock() + SLICE
        if deadline is not None:
            wake = min(wake, deadline)
        pause = wake - self.clock()
        if pause > 0:
            time.sleep(pause)
        self.pit.due(self.clock())

    def _deliver32(self, vector: int) -> bool:
        """Take ``vector`` through the guest's 32-bit IDT: push EFLAGS, CS, EIP, load
        the gate's CS:EIP, and clear IF for an interrupt gate (ring 0 only)."""
        _, base, limit, _ = self.uc.reg_read(UC_X86_REG_IDTR)
        if vector * 8 + 7 > limit:
            return False
        lo, selector, _zero, attr, hi = struct.unpack("<HHBBH", self.read(base + vector * 8, 8))
        if not attr & 0x80 or attr & 0x0F not in (0x0E, 0x0F):
            return False
        flags = self.uc.reg_read(UC_X86_REG_EFLAGS)
        esp = self.uc.reg_read(UC_X86_REG_ESP) - 12
        eip = self.uc.reg_read(UC_X86_REG_EIP)
        cs = self.uc.reg_read(UC_X86_REG_CS)
        self.write(esp, struct.pack("<III", eip, cs, flags))
        self.uc.reg_write(UC_X86_REG_ESP, esp)
        if selector != cs:
            self.uc.reg_write(UC_X86_REG_CS, selector)
        if attr & 0x0F == 0x0E:
            self.uc.reg_write(UC_X86_REG_EFLAGS, flags & ~IF)
        self.uc.reg_write(UC_X86_REG_EIP, lo | hi << 16)
        return True
