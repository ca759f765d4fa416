"""One bus for the machine's devices: port I/O and MMIO routed to the device
that claims the address, for every CPU back end alike.

A device declares the ports it answers with ``ports`` (a list of (first, count))
and implements ``read(port, size) -> int`` and ``write(port, size, value)``.
A port nobody claims reads as all ones and ignores writes, as on a PC's ISA bus.

MMIO devices live in one window above RAM (``MMIO_WINDOW``, which a back end
maps as a whole): a device declares ``mmio`` (a list of (base, size)) and
implements ``mmio_read(offset, size) -> int`` and ``mmio_write(offset, size,
value)``, offsets counted from its own base.  An address in the window that
no device claims reads as all ones and ignores writes.
"""
from __future__ import annotations

import collections


MMIO_WINDOW = (0xD000_0000, 0x10_0000)     # base, size: below 4 GiB, above any RAM this PC has


class Bus:
    def __init__(self):
        self._ports: dict[int, object] = {}
        self._mmio: list[tuple[int, int, object]] = []      # (base, end, device)
        self.unclaimed = collections.Counter()    # port or address -> accesses nobody answered (--stats)

    def attach(self, device) -> None:
        for base, size in getattr(device, "mmio", ()):
            lo, hi = MMIO_WINDOW[0], MMIO_WINDOW[0] + MMIO_WINDOW[1]
            if not lo <= base < base + size <= hi or any(b < base + size and base < e for b, e, _ in self._mmio):
                raise ValueError(f"MMIO range {base:#x}+{size:#x} outside the window or claimed twice")
            self._mmio.append((base, base + size, device))
        for first, count in getattr(device, "ports", ()):
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

    def _mmio_device(self, addr: int):
        for base, end, dev in self._mmio:
            if base <= addr < end:
                return base, dev
        self.unclaimed[addr] += 1
        return 0, None

    def mmio_read(self, addr: int, size: int) -> int:
        base, dev = self._mmio_device(addr)
        if dev is None:
            return (1 << (8 * size)) - 1
        return dev.mmio_read(addr - base, size) & ((1 << (8 * size)) - 1)

    def mmio_write(self, addr: int, size: int, value: int) -> None:
        base, dev = self._mmio_device(addr)
        if dev is not None:
            dev.mmio_write(addr - base, size, value & ((1 << (8 * size)) - 1))
