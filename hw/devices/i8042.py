"""The i8042 keyboard controller (0x60 data, 0x64 status/command): no keyboard,
but the two things kernels use it for — the self test, and command 0xFE, which
pulses the CPU reset line (how a PC reboots)."""
from __future__ import annotations


class I8042:
    def __init__(self, reset):
        self.ports = [(0x60, 1), (0x64, 1)]
        self.reset = reset               # callable(): the machine resets
        self.output: list[int] = []
        self.config = 0x45
        self.expect_config = False

    def read(self, port: int, size: int) -> int:
        if port == 0x64:
            return 0x1C | (1 if self.output else 0)      # system flag, command/data; OBF
        return self.output.pop(0) if self.output else 0

    def write(self, port: int, size: int, value: int) -> None:
        if port == 0x60:
            if self.expect_config:
                self.config, self.expect_config = value, False
            return
        if value == 0xFE:
            self.reset()
        elif value == 0xAA:
            self.output.append(0x55)
        elif value == 0x20:
            self.output.append(self.config)
        elif value == 0x60:
            self.expect_config = True
