"""The CPUID a guest of this machine sees: unicorn's CPU model, minus what the
machine does not have.

unicorn answers CPUID from its QEMU CPU model, which claims an on-chip local
APIC; this PC has none (its interrupts come from the i8259 pair), and a kernel
that believes the bit maps the APIC's registers at 0xfee00000, where there is
nothing.  So the answers are those of a scratch unicorn engine (asked once per
leaf) with the APIC, x2APIC and TSC-deadline bits cleared.
"""
from __future__ import annotations

from unicorn import Uc, UC_ARCH_X86, UC_MODE_64
from unicorn.x86_const import UC_X86_REG_EAX, UC_X86_REG_EBX, UC_X86_REG_ECX, UC_X86_REG_EDX

REGS = (UC_X86_REG_EAX, UC_X86_REG_EBX, UC_X86_REG_ECX, UC_X86_REG_EDX)
CODE = 0x1000
APIC, X2APIC, TSC_DEADLINE = 1 << 9, 1 << 21, 1 << 24


class Cpuid:
    def __init__(self):
        self._model = None
        self._cache: dict[tuple[int, int], tuple[int, int, int, int]] = {}
        self.calls = 0

    def query(self, leaf: int, sub: int) -> tuple[int, int, int, int]:
        key = (leaf, sub)
        if key not in self._cache:
            if self._model is None:
                self._model = Uc(UC_ARCH_X86, UC_MODE_64)
                self._model.mem_map(CODE, 0x1000)
                self._model.mem_write(CODE, b"\x0f\xa2")
            m = self._model
            m.reg_write(UC_X86_REG_EAX, leaf)
            m.reg_write(UC_X86_REG_ECX, sub)
            m.emu_start(CODE, CODE + 2)
            a, b, c, d = (m.reg_read(r) for r in REGS)
            if leaf == 1:
                d &= ~APIC
                c &= ~(X2APIC | TSC_DEADLINE)
            self._cache[key] = (a, b, c, d)
        return self._cache[key]

    def hook(self, uc, _) -> bool:
        """UC_HOOK_INSN for CPUID: answer and skip the instruction's own answer."""
        self.calls += 1
        leaf, sub = uc.reg_read(UC_X86_REG_EAX), uc.reg_read(UC_X86_REG_ECX)
        for reg, value in zip(REGS, self.query(leaf & 0xFFFFFFFF, sub & 0xFFFFFFFF)):
            uc.reg_write(reg, value)
        return True
