"""A power-off port (0xf4, like QEMU's isa-debug-exit): a guest that writes a
value there turns the machine off, and the value becomes ``guise vm run``'s
exit status.  Real PCs power off through ACPI; small test kernels use this."""
from __future__ import annotations

PORT = 0xF4


class PowerOff:
    def __init__(self, off):
        self.ports = [(PORT, 1)]
        self.off = off                   # callable(code)

    def read(self, port: int, size: int) -> int:
        return 0xFF

    def write(self, port: int, size: int, value: int) -> None:
        self.off(value)
