"""The i8254 programmable interval timer (ports 0x40-0x43); channel 0 drives IRQ 0.

Time is the machine's clock (``clock()`` in seconds): the counters are
computed from it when read, and ``due(now)`` says how many IRQ 0 edges have
passed since the last look, so a guest that slept in HLT gets its ticks.
Modes 2 and 3 (rate generator, square wave) repeat; mode 0 fires once.
"""
from __future__ import annotations

FREQ = 1193182


class _Channel:
    def __init__(self):
        self.reload = 0x10000
        self.mode = 3
        self.access = 3          # lobyte/hibyte
        self.write_lo = True
        self.pending_lo = 0
        self.start = 0.0
        self.latched = None
        self.read_lo = True
        self.armed = False
        self.fired = 0
        self.gate = True         # channel 2's gate is port 0x61 bit 0; 0 and 1 are always on

    def count(self, now: float) -> int:
        ticks = int((now - self.start) * FREQ)
        return self.reload - ticks % self.reload if self.mode in (2, 3) else max(self.reload - ticks, 0)


class Pit:
    def __init__(self, clock, irq0):
        self.clock = clock
        self.irq0 = irq0             # callable(): one edge on IRQ 0
        self.ch = [_Channel() for _ in range(3)]
        self.ports = [(0x40, 4)]

    def write(self, port: int, size: int, value: int) -> None:
        if port == 0x43:
            n = value >> 6
            if n == 3:
                return                               # read-back: not used by the kernels we boot
            c = self.ch[n]
            access = (value >> 4) & 3
            if access == 0:
                c.latched = c.count(self.clock())
                c.read_lo = True
                return
            c.access, c.mode, c.write_lo = access, (value >> 1) & 7, True
            if c.mode > 5:
                c.mode -= 4
            return
        c = self.ch[port - 0x40]
        if c.access == 3 and c.write_lo:
            c.pending_lo, c.write_lo = value, False
            return
        if c.access == 3:
            value = c.pending_lo | value << 8
            c.write_lo = True
        elif c.access == 2:
            value <<= 8
        c.reload = value or 0x10000
        c.start, c.fired, c.armed = self.clock(), 0, True

    def read(self, port: int, size: int) -> int:
        if port == 0x43:
            return 0xFF
        c = self.ch[port - 0x40]
        value = c.latched if c.latched is not None else c.count(self.clock())
        if c.access == 3:
            byte = value & 0xFF if c.read_lo else value >> 8
            c.read_lo = not c.read_lo
            if c.read_lo:
                c.latched = None
            return byte
        c.latched = None
        return value & 0xFF if c.access == 1 else value >> 8

    def set_gate(self, n: int, high: bool) -> None:
        """A rising gate restarts the count (modes 0-3 reload on it, as the chip does)."""
        c = self.ch[n]
        if high and not c.gate:
            c.start = self.clock()
        c.gate = high

    def output(self, n: int) -> bool:
        """The OUT pin of channel ``n`` now: modes 0/1 go high at terminal count;
        mode 3 is high for the first half of each period, mode 2 low for one tick."""
        c = self.ch[n]
        if not c.gate:
            return c.mode not in (0, 1)
        count = c.count(self.clock())
        if c.mode in (0, 1):
            return count == 0
        if c.mode == 3:
            return count > c.reload // 2
        return count != 1

    def next_deadline(self):
        """When channel 0 next fires (machine clock seconds), or None."""
        c = self.ch[0]
        if not c.armed:
            return None
        return c.start + (c.fired + 1) * c.reload / FREQ

    def due(self, now: float) -> None:
        """Raise IRQ 0 for each period of channel 0 that has passed (at most a few:
        a guest that was away long gets ticks, not a storm of them)."""
        c = self.ch[0]
        if not c.armed:
            return
        periods = int((now - c.start) * FREQ / c.reload)
        if periods > c.fired:
            c.fired = periods if periods - c.fired < 8 else periods
            self.irq0()
            if c.mode not in (2, 3):
                c.armed = False
