"""The virtual PC's CPU on unicorn's system-mode x86.

The guest runs in slices through unicorn's own timeout, so no per-instruction
hook is ever installed.  Port I/O traps straight into the bus.  unicorn only
*reports* CPU exceptions and the SYSCALL instruction; the hooks deliver them
(``hw/x86.py`` in long mode: IDT gates, IST, the TSS stack on a privilege
change, error codes; a plain 32-bit IDT walk in protected mode).  Interrupts
the machine decides to deliver go the same way.  Time is the host's: the TSC
(unicorn's RDTSC reads the host's counter) advances in real time.

A multiboot kernel starts in 32-bit protected mode and may switch to long
mode itself, so the engine is always unicorn's 64-bit one (its 32-bit mode
refuses the 64-bit registers a long-mode guest needs), put into 32-bit
protected mode by :meth:`UnicornSystem.enter_protected`; each delivery looks
at EFER.LMA to pick the 32-bit or the 64-bit way.  A slice that ends while the guest sits just past a HLT is taken as the
guest halting (unicorn leaves HLT at once rather than waiting).
"""
from __future__ import annotations

import ctypes
import struct
from typing import Optional

from unicorn import (Uc, UcError, UC_ARCH_X86, UC_MODE_64, UC_HOOK_INSN, UC_HOOK_INTR,
                     UC_HOOK_INSN_INVALID, UC_PROT_ALL, UC_QUERY_TIMEOUT)
from unicorn import x86_const as X
from unicorn.x86_const import (UC_X86_INS_IN, UC_X86_INS_OUT, UC_X86_INS_SYSCALL, UC_X86_INS_CPUID,
                               UC_X86_REG_CR0, UC_X86_REG_CR4, UC_X86_REG_EIP, UC_X86_REG_EFLAGS,
                               UC_X86_REG_ESP, UC_X86_REG_CS,
                               UC_X86_REG_GDTR, UC_X86_REG_IDTR, UC_X86_REG_MSR, UC_X86_REG_RIP, UC_X86_REG_RFLAGS)

from hw.x86 import (D_A, D_B, D_CS, D_G, D_P, D_S, D_W, DATA, ENV_HFLAGS, ENV_SEGS, HF_CS32, HF_CS64,
                    HF_SS32, R_CS, R_DS, R_ES, R_SS, SEG_SIZE)
from .system import Exit, SystemCpu, triple_fault

IF = 0x200
HLT = 0xF4
NOWHERE = 0x8000_0000_0000_0000     # a non-canonical address: the slice never "arrives"
EFER, EFER_LMA = 0xC0000080, 1 << 10
HF_LMA = 1 << 14
CODE32 = D_G | D_B | D_P | D_S | D_CS | D_W | D_A
MULTIBOOT_CS, MULTIBOOT_DS = 0x08, 0x10


def _reg(name: str) -> int:
    return getattr(X, f"UC_X86_REG_{name.upper()}")


class UnicornSystem(SystemCpu):
    name = "unicorn"
    # With interrupts off there is nothing to deliver, so the slice only ends for
    # --timeout.  Measured reason it is not SLICE too: with unicorn 2.1.4, a stop
    # request (the slice timer) that arrives while the guest takes a page fault
    # loses the fault and the faulting store (reproduced with an emu_stop from an
    # OUT hook just before a faulting store); Linux's decompressor then fails
    # ("Decoding failed").  Long quiet slices make that rare, not impossible.
    quiet_slice = 30.0

    def __init__(self, ram_bytes, bus, long_mode, stopping):
        super().__init__(ram_bytes, bus, long_mode, stopping)
        self.uc = uc = Uc(UC_ARCH_X86, UC_MODE_64)
        uc.mem_map(0, ram_bytes, UC_PROT_ALL)
        self.pc_reg, self.flags_reg = UC_X86_REG_RIP, UC_X86_REG_RFLAGS
        uc.hook_add(UC_HOOK_INSN, self._in, None, 1, 0, UC_X86_INS_IN)
        uc.hook_add(UC_HOOK_INSN, self._out, None, 1, 0, UC_X86_INS_OUT)
        uc.hook_add(UC_HOOK_INTR, self._exception)
        uc.hook_add(UC_HOOK_INSN_INVALID, self._invalid)
        self.counts = {"port I/O": 0, "exceptions": 0, "syscalls": 0}
        self.event = None           # what stopped the slice: ("exception", vector) or ("syscall",)
        self.end: Optional[Exit] = None     # a fault the exception hook could not deliver
        self._halted = False
        from hw.cpuid import Cpuid
        from hw.x86 import LongMode
        self.cpu = LongMode(uc)     # delivery in long mode (and the page walk)
        self.cpuid = Cpuid()
        uc.hook_add(UC_HOOK_INSN, self._syscall, None, 1, 0, UC_X86_INS_SYSCALL)
        uc.hook_add(UC_HOOK_INSN, self.cpuid.hook, None, 1, 0, UC_X86_INS_CPUID)

    # -- memory and boot states -------------------------------------------------------
    def write(self, addr: int, data: bytes) -> None:
        self.uc.mem_write(addr, data)

    def read(self, addr: int, size: int) -> bytes:
        return bytes(self.uc.mem_read(addr, size))

    def enter_protected(self, entry: int, regs: dict[str, int]) -> None:
        """Flat 32-bit protected mode in the 64-bit engine: EFER, CR4 cleared, CR0
        = PE|ET, and in the saved CPU state (``hw/x86.py``'s layout) the mode
        flags QEMU keeps in hflags (no LMA, no CS64; 32-bit CS and SS) and the
        hidden parts of CS and the data segments."""
        uc = self.uc
        uc.reg_write(UC_X86_REG_MSR, (EFER, 0))
        uc.reg_write(UC_X86_REG_CR4, 0)
        uc.reg_write(UC_X86_REG_CR0, 0x11)
        ctx = uc.context_save()
        env = (ctypes.c_char * (ENV_SEGS + 6 * SEG_SIZE)).from_address(
            ctypes.cast(ctx.context, ctypes.c_void_p).value + self.cpu.header)
        hflags = struct.unpack_from("<I", env, ENV_HFLAGS)[0] & ~(HF_LMA | HF_CS64) | HF_CS32 | HF_SS32
        struct.pack_into("<I", env, ENV_HFLAGS, hflags)
        struct.pack_into("<IIQII", env, ENV_SEGS + R_CS * SEG_SIZE, MULTIBOOT_CS, 0, 0, 0xFFFFFFFF, CODE32)
        for seg in (R_SS, R_DS, R_ES):
            struct.pack_into("<IIQII", env, ENV_SEGS + seg * SEG_SIZE, MULTIBOOT_DS, 0, 0, 0xFFFFFFFF, DATA)
        uc.context_restore(ctx)
        uc.reg_write(UC_X86_REG_RIP, entry)
        for name, value in regs.items():
            uc.reg_write(_reg(name), value)
        uc.reg_write(UC_X86_REG_RFLAGS, 0x2)

    def enter_long_mode(self, cr3, entry, regs, cs, ds, gdt=None) -> None:
        if gdt is not None:
            self.uc.reg_write(UC_X86_REG_GDTR, (0, gdt[0], gdt[1], 0))
        self.cpu.enter_long_mode(cr3, entry, {_reg(n): v for n, v in regs.items()}, cs, ds)

    def pc(self) -> int:
        return self.uc.reg_read(self.pc_reg)

    def stats(self) -> str:
        return "hook calls: " + ", ".join(f"{kind} {n}" for kind, n in
                                          {**self.counts, "CPUID": self.cpuid.calls}.items())

    def _in_long_mode(self) -> bool:
        return self.long_mode or bool(self.uc.reg_read(UC_X86_REG_MSR, EFER) & EFER_LMA)

    # -- traps -------------------------------------------------------------------------
    def _in(self, uc, port, size, _):
        self.counts["port I/O"] += 1
        return self.bus.read(port, size)

    def _out(self, uc, port, size, value, _):
        self.counts["port I/O"] += 1
        self.bus.write(port, size, value)
        if self.stopping():
            uc.emu_stop()

    def _exception(self, uc, intno, _):
        self.counts["exceptions"] += 1
        if self.trace:
            self.trace(f"exception {intno} at {uc.reg_read(self.pc_reg):#x}")
        if not self._in_long_mode():
            self.event = ("exception", intno)
            uc.emu_stop()
            return
        from hw.x86 import DeliveryError
        try:
            self.cpu.take_exception(intno)
        except DeliveryError as e:
            self.end = triple_fault(f"CPU exception {intno} at {uc.reg_read(UC_X86_REG_RIP):#x}: {e}")
            uc.emu_stop()

    def _invalid(self, uc, _):
        self._exception(uc, 6, None)             # #UD: Linux's BUG()/WARN() use ud2
        return True

    def _syscall(self, uc, _):
        self.event = ("syscall",)
        uc.emu_stop()

    # -- running -----------------------------------------------------------------------
    def run(self, seconds: float) -> Optional[Exit]:
        uc = self.uc
        self._halted = False
        self.cpu.clear_inflight()
        try:
            uc.emu_start(self.pc(), NOWHERE if self.long_mode else 0xFFFFFFFF, timeout=int(seconds * 1e6))
        except UcError as e:
            return Exit("fault", detail=f"{e} at {self.pc():#x}")
        if self.end is not None:
            return self.end
        if self.stopping():
            return None
        event, self.event = self.event, None
        if event is not None:
            return self._take(event)
        self._halted = not uc.query(UC_QUERY_TIMEOUT) and self._at_hlt()
        return None

    def halted(self) -> bool:
        return self._halted

    def interruptible(self) -> bool:
        return bool(self.uc.reg_read(self.flags_reg) & IF)

    def _take(self, event) -> Optional[Exit]:
        """Deliver what stopped the slice: a SYSCALL, or an exception in 32-bit mode
        (in long mode the hook delivers exceptions itself: see hw/x86.py)."""
        from hw.x86 import DeliveryError
        if event[0] == "syscall":
            self.counts["syscalls"] += 1
            if not self._in_long_mode():
                return None              # no SYSCALL in 32-bit mode: unicorn stepped over it
            try:
                self.cpu.syscall()
            except DeliveryError as e:
                return triple_fault(f"SYSCALL: {e}")
            return None
        if not self._deliver32(event[1]):
            return triple_fault(f"CPU exception {event[1]} with no handler to take it")
        return None

    def inject(self, vector: int) -> Optional[Exit]:
        if not self._in_long_mode():
            if not self._deliver32(vector):
                return Exit("fault", detail=f"interrupt {vector:#x} with no usable IDT gate")
            return None
        from hw.x86 import DeliveryError
        try:
            self.cpu.deliver(vector)
        except DeliveryError as e:
            return triple_fault(f"interrupt {vector:#x}: {e}")
        return None

    def _at_hlt(self) -> bool:
        pc = self.pc()
        if pc == 0:
            return False
        try:
            before = self.cpu.read(pc - 1, 1) if self._in_long_mode() else self.read(pc - 1, 1)
        except Exception:
            return False
        return before[0] == HLT

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
