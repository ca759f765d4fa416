"""The CPUID a guest of this machine sees: unicorn's CPU model, minus what the
machine does not have.

unicorn answers CPUID from its QEMU CPU model, which claims an on-chip local
APIC; this PC has none (its interrupts come from the i8259 pair), and a kernel
that believes the bit maps the APIC's registers at 0xfee00000, where there is
nothing.  So the answers are the user-mode CPU's (``hw.cpu.unicorn_cpu.cpuid``: a
scratch engine asked once per leaf and subleaf) with the APIC, x2APIC and
TSC-deadline bits cleared.
"""
from __future__ import annotations

from unicorn.x86_const import UC_X86_REG_EAX, UC_X86_REG_EBX, UC_X86_REG_ECX, UC_X86_REG_EDX

from hw.cpu.unicorn_cpu import cpuid

REGS = (UC_X86_REG_EAX, UC_X86_REG_EBX, UC_X86_REG_ECX, UC_X86_REG_EDX)
APIC, X2APIC, TSC_DEADLINE = 1 << 9, 1 << 21, 1 << 24


class Cpuid:
    def __init__(self):
        self._cache: dict[tuple[int, int], tuple[int, int, int, int]] = {}

    def query(self, leaf: int, sub: int) -> tuple[int, int, int, int]:
        key = (leaf, sub)
        if key not in self._cache:
            a, b, c, d = cpuid(leaf, sub)
            if leaf == 1:
                d &= ~APIC
                c &= ~(X2APIC | TSC_DEADLINE)
            self._cache[key] = (a, b, c, d)
        return self._cache[key]

    def hook(self, uc, _) -> bool:
        """UC_HOOK_INSN for CPUID: answer and skip the instruction's own answer."""
        leaf, sub = uc.reg_read(UC_X86_REG_EAX), uc.reg_read(UC_X86_REG_ECX)
        for reg, value in zip(REGS, self.query(leaf & 0xFFFFFFFF, sub & 0xFFFFFFFF)):
            uc.reg_write(reg, value)
        return True
