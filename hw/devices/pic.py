"""The two cascaded i8259A interrupt controllers of a PC (master 0x20/0x21,
slave 0xa0/0xa1, slave on the master's line 2).

Enough of the chip for the kernels that program it: the ICW1-ICW4
initialisation (vector base, auto-EOI), the mask (OCW1), non-specific and
specific EOI (OCW2), and reading IRR/ISR (OCW3).  Lines are edge-triggered:
``set_level(irq, True)`` after a low level latches a request.

``changed`` turns true whenever what the pair presents to the CPU may have
changed (a new request, an EOI, a new mask): the machine clears it when a
slice starts and ends the slice early when it turns true with a request
waiting, so an interrupt a device raises is taken at once, not at the next tick.
"""
from __future__ import annotations


class _Chip:
    def __init__(self, base: int):
        self.base = base
        self.irr = self.isr = 0
        self.imr = 0xFF
        self.vector = 0x08 if base == 0x20 else 0x70
        self.init_step = 0
        self.needs_icw4 = False
        self.auto_eoi = False
        self.read_isr = False
        self.levels = 0

    def highest(self, bits: int):
        for n in range(8):
            if bits & (1 << n):
                return n
        return None

    def pending(self):
        """The line the chip would present to the CPU now, or None."""
        n = self.highest(self.irr & ~self.imr)
        if n is None:
            return None
        served = self.highest(self.isr)
        return n if served is None or n < served else None

    def write(self, port: int, value: int) -> None:
        if port == self.base:
            if value & 0x10:                     # ICW1: start initialisation
                self.init_step, self.needs_icw4 = 1, bool(value & 1)
                self.imr = self.isr = self.irr = 0
                self.read_isr = False
            elif value & 0x08:                   # OCW3
                if value & 0x02:
                    self.read_isr = bool(value & 1)
            elif value & 0x20:                   # OCW2: EOI
                if value & 0x40:
                    self.isr &= ~(1 << (value & 7))
                else:
                    n = self.highest(self.isr)
                    if n is not None:
                        self.isr &= ~(1 << n)
            return
        if self.init_step == 1:                  # ICW2: vector base
            self.vector = value & 0xF8
            self.init_step = 2
        elif self.init_step == 2:                # ICW3: cascade wiring (fixed here)
            self.init_step = 3 if self.needs_icw4 else 0
        elif self.init_step == 3:                # ICW4
            self.auto_eoi = bool(value & 2)
            self.init_step = 0
        else:                                    # OCW1: the mask
            self.imr = value

    def read(self, port: int) -> int:
        if port == self.base:
            return self.isr if self.read_isr else self.irr
        return self.imr


class Pic:
    def __init__(self):
        self.master, self.slave = _Chip(0x20), _Chip(0xA0)
        self.ports = [(0x20, 2), (0xA0, 2)]
        self.changed = False

    def _chip(self, port: int) -> _Chip:
        return self.master if port < 0xA0 else self.slave

    def read(self, port: int, size: int) -> int:
        return self._chip(port).read(port)

    def write(self, port: int, size: int, value: int) -> None:
        self._chip(port).write(port, value)
        self.changed = True

    def set_level(self, irq: int, level: bool) -> None:
        chip, n = (self.master, irq) if irq < 8 else (self.slave, irq - 8)
        bit = 1 << n
        if level and not chip.levels & bit:
            chip.irr |= bit
            self.changed = True
        chip.levels = chip.levels | bit if level else chip.levels & ~bit
        if chip is self.slave:
            self.set_level(2, self.slave.pending() is not None)

    def acknowledge(self):
        """The vector the CPU takes now (INTA), or None if no request is pending."""
        n = self.master.pending()
        if n is None:
            return None
        chip = self.master
        if n == 2 and self.slave.pending() is not None:
            self._take(self.master, 2)
            chip, n = self.slave, self.slave.pending()
        self._take(chip, n)
        return chip.vector + n

    @staticmethod
    def _take(chip: _Chip, n: int) -> None:
        chip.irr &= ~(1 << n)
        if not chip.auto_eoi:
            chip.isr |= 1 << n
