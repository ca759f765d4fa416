"""The MC146818 CMOS real-time clock (index 0x70, data 0x71): the host's time of
day in BCD, 24-hour mode, never "update in progress", and the RAM size bytes
firmware leaves there."""
from __future__ import annotations

import time


def _bcd(v: int) -> int:
    return (v // 10) << 4 | v % 10


class Cmos:
    def __init__(self, ram_bytes: int, clock=time.time):
        self.ports = [(0x70, 2)]
        self.index = 0
        self.clock = clock
        self.ram = bytearray(128)
        ext = max(min((ram_bytes - (1 << 20)) // 1024, 0xFFFF), 0)        # KiB above 1 MiB
        self.ram[0x17], self.ram[0x18] = ext & 0xFF, ext >> 8
        self.ram[0x30], self.ram[0x31] = ext & 0xFF, ext >> 8
        self.ram[0x15], self.ram[0x16] = 640 & 0xFF, 640 >> 8
        self.ram[0x0A], self.ram[0x0B], self.ram[0x0D] = 0x26, 0x02, 0x80

    def read(self, port: int, size: int) -> int:
        if port == 0x70:
            return self.index
        t = time.gmtime(self.clock())
        clock = {0x00: t.tm_sec, 0x02: t.tm_min, 0x04: t.tm_hour, 0x06: (t.tm_wday + 1) % 7 + 1,
                 0x07: t.tm_mday, 0x08: t.tm_mon, 0x09: t.tm_year % 100, 0x32: t.tm_year // 100}
        if self.index in clock:
            return _bcd(clock[self.index])
        return self.ram[self.index]

    def write(self, port: int, size: int, value: int) -> None:
        if port == 0x70:
            self.index = value & 0x7F            # bit 7 masks NMI
        elif self.index not in (0x0A, 0x0D):
            self.ram[self.index] = value
