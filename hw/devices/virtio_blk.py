"""A virtio block device (virtio 1.x spec, section 5.2) over a raw disk image
(``hw/diskimage.py``), behind the virtio-mmio transport.

One request queue.  Each request is a chain: a 16-byte header the device
reads (type, reserved, first sector), the data (device-writable for a read,
device-readable for a write), and a status byte the device writes last.
Offered: FLUSH (a flush reaches the host file with fsync), BLK_SIZE (512),
SEG_MAX, and RO for a ``:ro`` image, so the guest mounts it read-only and a
write that comes anyway fails with an I/O error.  A ``:cow`` image accepts
writes that only this run sees.  GET_ID answers the image's file name.
"""
from __future__ import annotations

import os
import struct

from hw.diskimage import SECTOR, DiskImageError

DEVICE_ID = 2
F_SEG_MAX, F_RO, F_BLK_SIZE, F_FLUSH = 1 << 2, 1 << 5, 1 << 6, 1 << 9
T_IN, T_OUT, T_FLUSH, T_GET_ID = 0, 1, 4, 8
S_OK, S_IOERR, S_UNSUPP = 0, 1, 2
SEG_MAX = 126
ID_BYTES = 20


class VirtioBlk:
    device_id = DEVICE_ID
    queues = 1

    def __init__(self, disk):
        self.disk = disk
        self.features = F_SEG_MAX | F_BLK_SIZE | F_FLUSH | (F_RO if disk.read_only else 0)
        self.counts = {"reads": 0, "writes": 0, "flushes": 0, "errors": 0}

    def config(self) -> bytes:
        """capacity (sectors), size_max, seg_max, geometry (unused), blk_size."""
        return struct.pack("<QIIHBBI", self.disk.sectors, 0, SEG_MAX, 0, 0, 0, SECTOR)

    def write_config(self, offset: int, size: int, value: int) -> None:
        """The configuration space is read-only here (no writeback cache toggle)."""

    def serve(self, queue, transport) -> bool:
        served = False
        while (item := queue.pop(transport.memory)) is not None:
            head, chain = item
            queue.push(transport.memory, head, self._request(chain, transport))
            served = True
        return served

    def _request(self, chain, transport) -> int:
        """Carry out one request; the bytes written into the chain (data and status).
        Only what the request produced is written, then the status into the chain's
        last writable byte: the chain's lengths are the guest's, and never decide
        how much the host allocates."""
        out = transport.gather(chain)
        room = sum(length for _, length, writable in chain if writable)
        if len(out) < 16 or room < 1:
            self.counts["errors"] += 1
            return 0
        kind, _, sector = struct.unpack_from("<IIQ", out)
        data, status = b"", S_OK
        try:
            if kind == T_IN:
                size = (room - 1) // SECTOR * SECTOR
                if not self.disk.in_range(sector, size):
                    raise DiskImageError("read beyond the disk's end")
                data = self.disk.read(sector, size)
                self.counts["reads"] += 1
            elif kind == T_OUT:
                payload = out[16:]
                if not self.disk.in_range(sector, len(payload)):
                    raise DiskImageError("write beyond the disk's end")
                self.disk.write(sector, payload)
                self.counts["writes"] += 1
            elif kind == T_FLUSH:
                self.disk.flush()
                self.counts["flushes"] += 1
            elif kind == T_GET_ID:
                data = os.path.basename(self.disk.path).encode()[:ID_BYTES].ljust(ID_BYTES, b"\0")[:room - 1]
            else:
                status = S_UNSUPP
        except (DiskImageError, OSError):
            self.counts["errors"] += 1
            data, status = b"", S_IOERR
        written = transport.scatter(chain, data)
        transport.put_last(chain, bytes([status]))
        return written + 1
