"""The terminal as the guest's serial console: what the user types goes to the
guest's UART, and Ctrl-A x quits, as in QEMU.

When stdin is a terminal it is put in raw mode for the run (so keys such as
Ctrl-C reach the guest, and the guest's own line discipline echoes), and its
mode is restored when the run ends, however it ends.  A reader thread takes
stdin's bytes and hands them to the machine (``console_input``, ``quit``),
watching for the escape: Ctrl-A then x quits, Ctrl-A twice sends one Ctrl-A,
Ctrl-A then anything else sends both.  End of input just stops the reader.
"""
from __future__ import annotations

import os
import termios
import threading
import tty

ESCAPE, QUIT = 0x01, ord("x")


class Escapes:
    """The Ctrl-A state machine: ``feed(data)`` returns (bytes for the guest, quit?)."""

    def __init__(self):
        self.pending = False

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        out = bytearray()
        for byte in data:
            if self.pending:
                self.pending = False
                if byte == QUIT:
                    return bytes(out), True
                out += bytes([ESCAPE]) if byte == ESCAPE else bytes([ESCAPE, byte])
            elif byte == ESCAPE:
                self.pending = True
            else:
                out.append(byte)
        return bytes(out), False


class Console:
    """``with Console(machine):`` around a run; stdin's file descriptor 0 by default."""

    def __init__(self, machine, fd: int = 0):
        self.machine, self.fd = machine, fd
        self.saved = None

    def __enter__(self):
        if os.isatty(self.fd):
            self.saved = termios.tcgetattr(self.fd)
            tty.setraw(self.fd, termios.TCSANOW)
        threading.Thread(target=self._read, name="guise-vm-console", daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        if self.saved is not None:
            termios.tcsetattr(self.fd, termios.TCSADRAIN, self.saved)

    def _read(self) -> None:
        escapes = Escapes()
        while True:
            try:
                data = os.read(self.fd, 1024)
            except OSError:
                return
            if not data:
                return
            text, quit_ = escapes.feed(data)
            if text:
                self.machine.console_input(text)
            if quit_:
                self.machine.quit("Ctrl-A x at the console")
                return
