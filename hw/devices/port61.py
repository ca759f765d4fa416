"""System control port B (0x61) of a PC's chipset: the gate of PIT channel 2
(bit 0), the speaker enable (bit 1), a refresh bit that toggles on every read
(bit 4) and channel 2's output (bit 5).  Kernels time the TSC against channel 2
through this port (Linux's ``pit_calibrate_tsc`` polls bit 5 for 10 ms), so
without it they cannot learn how fast their clock runs."""
from __future__ import annotations

PORT = 0x61


class Port61:
    def __init__(self, pit):
        self.ports = [(PORT, 1)]
        self.pit = pit                   # the i8254: channel 2's gate and output
        self.value = 0
        self.refresh = 0

    def read(self, port: int, size: int) -> int:
        self.refresh ^= 0x10
        out = 0x20 if self.pit.output(2) else 0
        return (self.value & 0x03) | self.refresh | out

    def write(self, port: int, size: int, value: int) -> None:
        self.pit.set_gate(2, bool(value & 1))
        self.value = value & 0x0F
