"""A small PC: RAM, the legacy devices on one bus, and a CPU back end.

The unicorn back end runs the guest in slices (``SLICE`` seconds of host time,
through unicorn's own timeout, so no per-instruction hook is ever installed):
between slices, and whenever the guest halts, the machine advances its clock,
lets the timer raise its interrupt, and delivers the highest pending interrupt
of the PIC to the guest through its IDT, as the CPU would (32-bit protected
mode gates).  Port I/O traps straight into the bus.  A guest that halts with
interrupts enabled sleeps until the next timer tick or serial input.

How a run ends (``Exit.reason``): "poweroff" (the power-off port), "halt" (HLT
with interrupts disabled: nothing can wake it), "reboot" (the i8042 reset
line), "fault" (a CPU exception it cannot take: a triple fault resets a PC),
"timeout".  Not yet: 64-bit guests, the Linux boot protocol, virtio, and
CPU exceptions delivered to the guest's own handlers (unicorn reports an
invalid instruction as an error, which ends the run as a "fault").
"""
from __future__ import annotations

import dataclasses
import struct
import time
from typing import Optional

from unicorn import Uc, UcError, UC_ARCH_X86, UC_MODE_32, UC_HOOK_INSN, UC_HOOK_INTR, UC_PROT_ALL
from unicorn.x86_const import (UC_X86_INS_IN, UC_X86_INS_OUT, UC_X86_REG_EAX, UC_X86_REG_EBX,
                               UC_X86_REG_EIP, UC_X86_REG_EFLAGS, UC_X86_REG_ESP, UC_X86_REG_CS,
                               UC_X86_REG_IDTR)

from .bus import Bus
from .devices.cmos import Cmos
from .devices.i8042 import I8042
from .devices.pic import Pic
from .devices.pit import Pit
from .devices.poweroff import PowerOff
from .devices.serial import Serial

SLICE = 0.01                    # seconds of guest run between looks at the timer
IF = 0x200
HLT = 0xF4


@dataclasses.dataclass
class Exit:
    reason: str
    code: int = 0               # the power-off port's value
    detail: str = ""


class PcMachine:
    def __init__(self, ram_bytes: int, console, clock=time.monotonic):
        self.ram_bytes = ram_bytes
        self.clock = clock
        self.uc = Uc(UC_ARCH_X86, UC_MODE_32)
        self.uc.mem_map(0, ram_bytes, UC_PROT_ALL)
        self.bus = Bus()
        self.pic = Pic()
        self.serial = Serial(console, irq=lambda level: self.pic.set_level(4, level))
        self.pit = Pit(clock, self._tick)
        self.exit: Optional[Exit] = None
        for dev in (self.pic, self.serial, self.pit, Cmos(ram_bytes),
                    I8042(lambda: self._end(Exit("reboot", detail="reset through the i8042"))),
                    PowerOff(lambda code: self._end(Exit("poweroff", code))), ):
            self.bus.attach(dev)
        self.uc.hook_add(UC_HOOK_INSN, self._in, None, 1, 0, UC_X86_INS_IN)
        self.uc.hook_add(UC_HOOK_INSN, self._out, None, 1, 0, UC_X86_INS_OUT)
        self.uc.hook_add(UC_HOOK_INTR, self._exception)
        self.exceptions: list[int] = []

    # -- memory, for boot loaders ---------------------------------------------------
    def write(self, addr: int, data: bytes) -> None:
        self.uc.mem_write(addr, data)

    def read(self, addr: int, size: int) -> bytes:
        return bytes(self.uc.mem_read(addr, size))

    # -- traps -------------------------------------------------------------------------
    def _in(self, uc, port, size, _):
        return self.bus.read(port, size)

    def _out(self, uc, port, size, value, _):
        self.bus.write(port, size, value)
        if self.exit is not None:
            uc.emu_stop()

    def _exception(self, uc, intno, _):
        self.exceptions.append(intno)
        uc.emu_stop()

    def _tick(self) -> None:
        self.pic.set_level(0, True)
        self.pic.set_level(0, False)

    def _end(self, exit: Exit) -> None:
        if self.exit is None:
            self.exit = exit

    # -- running -----------------------------------------------------------------------
    def boot(self, entry: int, regs: dict) -> None:
        self.uc.reg_write(UC_X86_REG_EIP, entry)
        names = {"eax": UC_X86_REG_EAX, "ebx": UC_X86_REG_EBX}
        for name, value in regs.items():
            self.uc.reg_write(names[name], value)
        self.uc.reg_write(UC_X86_REG_EFLAGS, 0x2)                  # interrupts off, as multiboot says

    def run(self, timeout: Optional[float] = None) -> Exit:
        deadline = self.clock() + timeout if timeout else None
        while self.exit is None:
            if deadline is not None and self.clock() >= deadline:
                return Exit("timeout", detail=f"still running after {timeout:g} s")
            eip = self.uc.reg_read(UC_X86_REG_EIP)
            started = self.clock()
            try:
                self.uc.emu_start(eip, 0xFFFFFFFF, timeout=int(SLICE * 1e6))
            except UcError as e:
                return Exit("fault", detail=f"{e} at {self.uc.reg_read(UC_X86_REG_EIP):#x}")
            if self.exit is not None:
                break
            if self.exceptions:
                vector = self.exceptions.pop()
                if not self._deliver(vector, software=vector in (3, 4)):
                    return Exit("fault", detail=f"CPU exception {vector} with no handler to take it "
                                                f"(a triple fault: a PC would reset)")
                continue
            halted = self.clock() - started < SLICE * 0.9 and self._at_hlt()
            now = self.clock()
            self.pit.due(now)
            flags = self.uc.reg_read(UC_X86_REG_EFLAGS)
            if halted and not flags & IF:
                return Exit("halt", detail=f"halted with interrupts off at {self.uc.reg_read(UC_X86_REG_EIP):#x}")
            if flags & IF:
                vector = self.pic.acknowledge()
                if vector is None and halted:
                    self._sleep_until_interrupt(deadline)
                    vector = self.pic.acknowledge()
                if vector is not None and not self._deliver(vector):
                    return Exit("fault", detail=f"interrupt {vector:#x} with no usable IDT gate")
        return self.exit

    def _at_hlt(self) -> bool:
        eip = self.uc.reg_read(UC_X86_REG_EIP)
        return eip > 0 and self.read(eip - 1, 1)[0] == HLT

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

    def _deliver(self, vector: int, software: bool = False) -> bool:
        """Take ``vector`` through the guest's IDT: push EFLAGS, CS, EIP, load the
        gate's CS:EIP, and clear IF for an interrupt gate (32-bit gates, ring 0)."""
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
