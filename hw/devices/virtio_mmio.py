"""The virtio-mmio transport, version 2 (virtio 1.x spec, section 4.2), with
split virtqueues: what a virtio device (``virtio_blk.py``, ``virtio_console.py``) needs to
talk to a guest driver through a 0x200-byte register window and one
interrupt line.

The transport keeps the registers (magic, version, device and vendor IDs,
feature words, queue selection and addresses, status, interrupt status and
acknowledgement) and the queues; the device behind it gives its ID, its
feature bits, its configuration space and ``serve(queue, transport)``, which
takes the available buffers and returns them used.  Buffers are read and
written in guest RAM through ``memory`` (``read(addr, size)``,
``write(addr, data)``, which raise ``OutsideRam`` beyond it): a device never
sees a CPU back end.  A queue or buffer outside RAM, like a malformed chain,
sets DEVICE_NEEDS_RESET, as the spec allows, and the guest goes on.

Only what a Linux guest negotiates is offered: VIRTIO_F_VERSION_1, no event
index, no indirect descriptors, so a request is one chain of direct
descriptors.  A driver that sets FEATURES_OK with a bit the device did not
offer sees FEATURES_OK cleared, as the spec asks.
"""
from __future__ import annotations

import struct

from hw.cpu.system import OutsideRam

MAGIC, VENDOR = 0x74726976, 0x53495547         # "virt", "GUIS"
VERSION_1 = 1 << 32
DESC_NEXT, DESC_WRITE = 1, 2
AVAIL_NO_INTERRUPT = 1
STATUS_FEATURES_OK, STATUS_NEEDS_RESET = 8, 64
INT_USED, INT_CONFIG = 1, 2
WINDOW = 0x200
QUEUE_MAX = 256

(MAGIC_VALUE, VERSION, DEVICE_ID, VENDOR_ID, DEVICE_FEATURES, DEVICE_FEATURES_SEL, DRIVER_FEATURES,
 DRIVER_FEATURES_SEL, QUEUE_SEL, QUEUE_NUM_MAX, QUEUE_NUM, QUEUE_READY, QUEUE_NOTIFY, INTERRUPT_STATUS,
 INTERRUPT_ACK, STATUS, QUEUE_DESC_LOW, QUEUE_DESC_HIGH, QUEUE_DRIVER_LOW, QUEUE_DRIVER_HIGH,
 QUEUE_DEVICE_LOW, QUEUE_DEVICE_HIGH, CONFIG_GENERATION, CONFIG) = (
    0x000, 0x004, 0x008, 0x00C, 0x010, 0x014, 0x020, 0x024, 0x030, 0x034, 0x038, 0x044, 0x050, 0x060,
    0x064, 0x070, 0x080, 0x084, 0x090, 0x094, 0x0A0, 0x0A4, 0x0FC, 0x100)
_ADDRESS_REGS = {QUEUE_DESC_LOW: "desc", QUEUE_DRIVER_LOW: "avail", QUEUE_DEVICE_LOW: "used"}


class QueueError(Exception):
    """The driver handed the device a malformed chain: the device needs a reset."""


class Virtqueue:
    """One split virtqueue in guest RAM."""

    def __init__(self):
        self.num = QUEUE_MAX
        self.ready = False
        self.desc = self.avail = self.used = 0
        self.last_avail = 0

    def set_address(self, which: str, high: bool, value: int) -> None:
        old = getattr(self, which)
        new = (old & 0xFFFFFFFF) | value << 32 if high else (old & ~0xFFFFFFFF) | value
        setattr(self, which, new)

    def pop(self, memory):
        """The next available chain as (head, [(addr, length, device-writable)]), or None."""
        avail_idx = struct.unpack("<H", memory.read(self.avail + 2, 2))[0]
        if self.last_avail == avail_idx:
            return None
        slot = self.avail + 4 + 2 * (self.last_avail % self.num)
        head = struct.unpack("<H", memory.read(slot, 2))[0]
        self.last_avail = (self.last_avail + 1) & 0xFFFF
        chain, index = [], head
        for _ in range(self.num):
            if index >= self.num:
                raise QueueError(f"descriptor {index} beyond the queue's {self.num}")
            addr, length, flags, nxt = struct.unpack("<QIHH", memory.read(self.desc + 16 * index, 16))
            chain.append((addr, length, bool(flags & DESC_WRITE)))
            if not flags & DESC_NEXT:
                return head, chain
            index = nxt
        raise QueueError("a descriptor chain loops")

    def push(self, memory, head: int, written: int) -> None:
        used_idx = struct.unpack("<H", memory.read(self.used + 2, 2))[0]
        memory.write(self.used + 4 + 8 * (used_idx % self.num), struct.pack("<II", head, written))
        memory.write(self.used + 2, struct.pack("<H", (used_idx + 1) & 0xFFFF))

    def wants_interrupt(self, memory) -> bool:
        return not struct.unpack("<H", memory.read(self.avail, 2))[0] & AVAIL_NO_INTERRUPT


class VirtioMmio:
    def __init__(self, base: int, irq, memory, device):
        self.mmio = [(base, WINDOW)]
        self.base = base
        self.irq = irq                   # callable(level: bool)
        self.memory = memory
        self.device = device
        self.offered = device.features | VERSION_1
        self._reset()

    def _reset(self) -> None:
        self.status = self.interrupt_status = 0
        self.device_features_sel = self.driver_features_sel = 0
        self.driver_features = 0
        self.queue_sel = 0
        self.queues = [Virtqueue() for _ in range(self.device.queues)]
        self.irq(False)

    @property
    def queue(self):
        return self.queues[self.queue_sel] if self.queue_sel < len(self.queues) else None

    # -- registers -----------------------------------------------------------------------
    def mmio_read(self, offset: int, size: int) -> int:
        if offset >= CONFIG:
            config = self.device.config()
            return int.from_bytes(config[offset - CONFIG:offset - CONFIG + size].ljust(size, b"\0"), "little")
        q = self.queue
        if offset == MAGIC_VALUE:
            return MAGIC
        if offset == VERSION:
            return 2
        if offset == DEVICE_ID:
            return self.device.device_id
        if offset == VENDOR_ID:
            return VENDOR
        if offset == DEVICE_FEATURES:
            return self.offered >> 32 * self.device_features_sel & 0xFFFFFFFF if self.device_features_sel < 2 else 0
        if offset == QUEUE_NUM_MAX:
            return QUEUE_MAX if q else 0
        if offset == QUEUE_READY:
            return int(bool(q and q.ready))
        if offset == INTERRUPT_STATUS:
            return self.interrupt_status
        if offset == STATUS:
            return self.status
        if offset == CONFIG_GENERATION:
            return 0
        return 0

    def mmio_write(self, offset: int, size: int, value: int) -> None:
        q = self.queue
        if offset == DEVICE_FEATURES_SEL:
            self.device_features_sel = value
        elif offset == DRIVER_FEATURES_SEL:
            self.driver_features_sel = value
        elif offset == DRIVER_FEATURES and self.driver_features_sel < 2:
            shift = 32 * self.driver_features_sel
            self.driver_features = self.driver_features & ~(0xFFFFFFFF << shift) | value << shift
        elif offset == QUEUE_SEL:
            self.queue_sel = value
        elif offset == QUEUE_NUM and q:
            q.num = value if 0 < value <= QUEUE_MAX and not value & (value - 1) else q.num
        elif offset == QUEUE_READY and q:
            q.ready = bool(value & 1)
        elif offset in (QUEUE_DESC_LOW, QUEUE_DRIVER_LOW, QUEUE_DEVICE_LOW) and q:
            q.set_address(_ADDRESS_REGS[offset], False, value)
        elif offset in (QUEUE_DESC_HIGH, QUEUE_DRIVER_HIGH, QUEUE_DEVICE_HIGH) and q:
            q.set_address(_ADDRESS_REGS[offset - 4], True, value)
        elif offset == QUEUE_NOTIFY:
            self.notify(value)
        elif offset == INTERRUPT_ACK:
            self.interrupt_status &= ~value
            if not self.interrupt_status:
                self.irq(False)
        elif offset == STATUS:
            self._set_status(value)
        elif offset >= CONFIG:
            self.device.write_config(offset - CONFIG, size, value)

    def _set_status(self, value: int) -> None:
        if value == 0:
            self._reset()
            return
        if value & STATUS_FEATURES_OK and self.driver_features & ~self.offered:
            value &= ~STATUS_FEATURES_OK
        self.status = value

    def notify(self, index: int) -> None:
        """Serve queue ``index``: the driver wrote QUEUE_NOTIFY, or the device has
        something for the guest that came from the host (console input)."""
        if index >= len(self.queues) or not self.queues[index].ready or self.status & STATUS_NEEDS_RESET:
            return
        q = self.queues[index]
        try:
            served = self.device.serve(q, self)
        except (QueueError, OutsideRam):
            self.status |= STATUS_NEEDS_RESET
            self._interrupt(INT_CONFIG)
            return
        if served and q.wants_interrupt(self.memory):
            self._interrupt(INT_USED)

    def _interrupt(self, why: int) -> None:
        self.interrupt_status |= why
        self.irq(True)

    # -- for devices: buffers in guest RAM --------------------------------------------------
    def gather(self, chain) -> bytes:
        """The device-readable part of a chain, in order."""
        return b"".join(self.memory.read(addr, length) for addr, length, writable in chain if not writable)

    def put_last(self, chain, data: bytes) -> None:
        """Write ``data`` at the end of the chain's device-writable part (virtio-blk's
        status byte comes last, whatever the request wrote before it)."""
        for addr, length, writable in reversed(chain):
            if writable and length >= len(data):
                self.memory.write(addr + length - len(data), data)
                return

    def scatter(self, chain, data: bytes) -> int:
        """Write ``data`` into the device-writable part of a chain; bytes written."""
        done = 0
        for addr, length, writable in chain:
            if writable and done < len(data):
                piece = data[done:done + length]
                self.memory.write(addr, piece)
                done += len(piece)
        return done
