"""One bus for the machine's devices: port I/O (and, later, MMIO) routed to the
device that claims the address, for every CPU back end alike.

A device declares the ports it answers with ``ports`` (a list of (first, count))
and implements ``read(port, size) -> int`` and ``write(port, size, value)``.
A port nobody claims reads as all ones and ignores writes, as on a PC's ISA bus.
"""
from __future__ import annotations

import collections


class Bus:
    def __init__(self):
        self._ports: dict[int, object] = {}
        self.unclaimed = collections.Counter()    # port -> accesses nobody answered (for --stats)

    def attach(self, device) -> None:
        for first, count in device.ports:
            for port in range(first, first + count):
                if port in self._ports:
                    raise ValueError(f"port {port:#x} claimed twice")
                self._ports[port] = device

    def read(self, port: int, size: int) -> int:
        dev = self._ports.get(port)
        if dev is None:
            self.unclaimed[port] += 1
            return (1 << (8 * size)) - 1
        return dev.read(port, size) & ((1 << (8 * size)) - 1)

    def write(self, port: int, size: int, value: int) -> None:
        dev = self._ports.get(port)
        if dev is None:
            self.unclaimed[port] += 1
            return
        dev.write(port, size, value & ((1 << (8 * size)) - 1))
