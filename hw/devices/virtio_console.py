"""A virtio console (virtio 1.x spec, section 5.3) behind the virtio-mmio
transport: one port, the console, which Linux names hvc0.

No feature bits: without MULTIPORT a driver uses port 0 as its console
through two queues, receive (0) and transmit (1), and needs no control
queue; without SIZE there is no window size to report.  What the guest
transmits goes to ``output`` (the terminal, like the UART's), used at once.
What the user types arrives through :meth:`VirtioConsole.feed` and waits
until the guest has put buffers in the receive queue: a driver keeps some
there while it runs, and a byte never waits for an interrupt it cannot take.
"""
from __future__ import annotations

import struct

DEVICE_ID = 3
RECEIVEQ, TRANSMITQ = 0, 1


class VirtioConsole:
    device_id = DEVICE_ID
    queues = 2
    features = 0

    def __init__(self, output):
        self.output = output            # callable(bytes)
        self.pending = bytearray()      # typed, not yet in a guest buffer
        self.counts = {"sent": 0, "received": 0}

    def config(self) -> bytes:
        """cols, rows (no SIZE feature: unused), max_nr_ports, emerg_wr (unused)."""
        return struct.pack("<HHII", 0, 0, 1, 0)

    def write_config(self, offset: int, size: int, value: int) -> None:
        """emerg_wr is for EMERG_WRITE, not offered: writes are ignored."""

    def serve(self, queue, transport) -> bool:
        if queue is transport.queues[TRANSMITQ]:
            return self._transmit(queue, transport)
        return self._receive(queue, transport)

    def feed(self, data: bytes, transport) -> None:
        """Bytes typed at the console: into the guest's receive buffers as soon as
        it has some (now, or when it next adds buffers and notifies)."""
        self.pending += data
        transport.notify(RECEIVEQ)

    def _transmit(self, queue, transport) -> bool:
        served = False
        while (item := queue.pop(transport.memory)) is not None:
            head, chain = item
            data = transport.gather(chain)
            if data:
                self.output(data)
                self.counts["sent"] += len(data)
            queue.push(transport.memory, head, 0)
            served = True
        return served

    def _receive(self, queue, transport) -> bool:
        served = False
        while self.pending and (item := queue.pop(transport.memory)) is not None:
            head, chain = item
            room = sum(length for _, length, writable in chain if writable)
            n = transport.scatter(chain, bytes(self.pending[:room]))
            del self.pending[:n]
            self.counts["received"] += n
            queue.push(transport.memory, head, n)
            served = True
        return served
