"""A 16550A UART (COM1 at 0x3f8, IRQ 4): what guest kernels use as their console.

Output bytes go to ``sink`` as they are written; bytes given to ``feed`` are
what the guest reads.  The divisor latch, line and modem control and scratch
registers keep what the guest writes (kernels probe them); the FIFO is always
ready, so a transmit never waits.
"""
from __future__ import annotations

import collections

RBR_THR, IER, IIR_FCR, LCR, MCR, LSR, MSR, SCR = range(8)
LSR_DATA, LSR_THRE, LSR_TEMT = 0x01, 0x20, 0x40
IER_RDA, IER_THRE = 0x01, 0x02
IIR_NONE, IIR_THRE, IIR_RDA, IIR_FIFO = 0x01, 0x02, 0x04, 0xC0
LCR_DLAB = 0x80


class Serial:
    def __init__(self, sink, base: int = 0x3F8, irq=None):
        self.ports = [(base, 8)]
        self.base = base
        self.sink = sink                 # callable(bytes)
        self.irq = irq                   # callable(level: bool), or None
        self.input: collections.deque[int] = collections.deque()
        self.ier = self.lcr = self.mcr = self.scr = 0
        self.dll, self.dlm = 12, 0       # 9600 baud until the guest says otherwise
        self.thre_pending = False

    def feed(self, data: bytes) -> None:
        self.input.extend(data)
        self._update()

    def read(self, port: int, size: int) -> int:
        reg = port - self.base
        if self.lcr & LCR_DLAB and reg in (RBR_THR, IER):
            return self.dll if reg == RBR_THR else self.dlm
        if reg == RBR_THR:
            value = self.input.popleft() if self.input else 0
            self._update()
            return value
        if reg == IER:
            return self.ier
        if reg == IIR_FCR:
            iir = self._iir()
            if iir == IIR_THRE:
                self.thre_pending = False    # reading IIR acknowledges THRE
                self._update()
            return iir | IIR_FIFO
        if reg == LCR:
            return self.lcr
        if reg == MCR:
            return self.mcr
        if reg == LSR:
            return LSR_THRE | LSR_TEMT | (LSR_DATA if self.input else 0)
        if reg == MSR:
            return 0xB0                      # CTS, DSR, DCD: a cable is plugged in
        return self.scr

    def write(self, port: int, size: int, value: int) -> None:
        reg = port - self.base
        if self.lcr & LCR_DLAB and reg in (RBR_THR, IER):
            if reg == RBR_THR:
                self.dll = value
            else:
                self.dlm = value
            return
        if reg == RBR_THR:
            self.sink(bytes([value]))
            self.thre_pending = True
        elif reg == IER:
            self.ier = value & 0x0F
            self.thre_pending = bool(value & IER_THRE)
        elif reg == LCR:
            self.lcr = value
        elif reg == MCR:
            self.mcr = value
        elif reg == SCR:
            self.scr = value
        self._update()

    def _iir(self) -> int:
        if self.ier & IER_RDA and self.input:
            return IIR_RDA
        if self.ier & IER_THRE and self.thre_pending:
            return IIR_THRE
        return IIR_NONE

    def _update(self) -> None:
        if self.irq is not None:
            self.irq(self._iir() != IIR_NONE)
