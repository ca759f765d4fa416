"""A raw disk image file behind a virtual disk, opened one of three ways:
read-write (writes reach the file), ``ro`` (the guest is told the disk is
read-only, and a write fails), or ``cow`` (copy-on-write: writes land in an
overlay in this process's memory, reads see them, and the file is never
modified).  ``spec`` is the command line's ``FILE[:ro|:cow]``."""
from __future__ import annotations

import os

SECTOR = 512
MODES = ("rw", "ro", "cow")


class DiskImageError(Exception):
    """The image cannot be used: one line for the user."""


class DiskImage:
    def __init__(self, path: str, mode: str = "rw"):
        if mode not in MODES:
            raise DiskImageError(f"{path}: unknown disk mode {mode!r} (use :ro or :cow)")
        self.path, self.mode = path, mode
        self.read_only = mode == "ro"
        try:
            self.fd = os.open(path, os.O_RDWR if mode == "rw" else os.O_RDONLY)
            size = os.fstat(self.fd).st_size
        except OSError as e:
            raise DiskImageError(f"{path}: {e.strerror}") from None
        self.sectors = size // SECTOR
        self.overlay: dict[int, bytes] = {}      # cow: sector -> its bytes

    @classmethod
    def from_spec(cls, spec: str) -> "DiskImage":
        path, sep, mode = spec.rpartition(":")
        if not sep or mode not in ("ro", "cow"):
            path, mode = spec, "rw"
        return cls(path, mode)

    def in_range(self, sector: int, size: int) -> bool:
        return 0 <= sector and sector * SECTOR + size <= self.sectors * SECTOR

    def read(self, sector: int, size: int) -> bytes:
        data = os.pread(self.fd, size, sector * SECTOR)
        if not self.overlay:
            return data
        out = bytearray(data)
        for n in range(size // SECTOR):
            mine = self.overlay.get(sector + n)
            if mine is not None:
                out[n * SECTOR:(n + 1) * SECTOR] = mine
        return bytes(out)

    def write(self, sector: int, data: bytes) -> None:
        if self.read_only:
            raise DiskImageError(f"{self.path} is read-only")
        if self.mode == "cow":
            for n in range(len(data) // SECTOR):
                self.overlay[sector + n] = data[n * SECTOR:(n + 1) * SECTOR]
            return
        os.pwrite(self.fd, data, sector * SECTOR)

    def flush(self) -> None:
        if self.mode == "rw":
            os.fsync(self.fd)

    def close(self) -> None:
        os.close(self.fd)
