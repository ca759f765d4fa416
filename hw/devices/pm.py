"""The ACPI fixed power-management registers (the PM1a event and control blocks
and the PM timer, at the ports the FADT names): how a Linux guest powers off.

With ACPI on, Linux's ``poweroff`` evaluates ``\\_S5`` in the DSDT and writes
its sleep type into PM1a_CNT.SLP_TYP (bits 10-12), then sets SLP_EN (bit 13);
this device turns the machine off when it sees SLP_EN with the S5 type.  Other
sleep states are not offered (the DSDT names only ``\\_S5``).  SCI_EN always
reads 1: the machine is in ACPI mode from reset, so the FADT has no SMI command
port.  The PM timer is the 32-bit free-running 3.579545 MHz counter, read from
the machine's clock; Linux uses it as a clocksource and to check the TSC rate.
"""
from __future__ import annotations

PM1_EVT, PM1_CNT, PM_TMR = 0x600, 0x604, 0x608      # PM1a event (4), control (2), timer (4)
SCI_IRQ = 9
SLP_TYP_S5 = 5
PM_TIMER_HZ = 3579545
SCI_EN, SLP_EN, SLP_TYP_SHIFT = 1, 1 << 13, 10


class AcpiPm:
    def __init__(self, clock, power_off):
        self.ports = [(PM1_EVT, 4), (PM1_CNT, 2), (PM_TMR, 4)]
        self.clock = clock
        self.power_off = power_off       # callable(): the guest asked for S5
        self.status = self.enable = 0
        self.control = SCI_EN

    def read(self, port: int, size: int) -> int:
        if port >= PM_TMR:
            return int(self.clock() * PM_TIMER_HZ) >> 8 * (port - PM_TMR)
        if port >= PM1_CNT:
            return self.control >> 8 * (port - PM1_CNT)
        reg = self.status | self.enable << 16
        return reg >> 8 * (port - PM1_EVT)

    def write(self, port: int, size: int, value: int) -> None:
        if PM1_CNT <= port < PM_TMR:
            shift = 8 * (port - PM1_CNT)
            mask = ((1 << 8 * size) - 1) << shift
            self.control = (self.control & ~mask | value << shift) & 0xFFFF | SCI_EN
            if self.control & SLP_EN and (self.control >> SLP_TYP_SHIFT) & 7 == SLP_TYP_S5:
                self.power_off()
            self.control &= ~SLP_EN                  # write-only: reads as 0
        elif port < PM1_CNT:
            shift = 8 * (port - PM1_EVT)
            bits = value << shift
            self.status &= ~bits & 0xFFFF           # status bits clear when written with 1
            if port - PM1_EVT + size > 2:
                mask = ((1 << 8 * size) - 1) << shift >> 16
                self.enable = (self.enable & ~mask | bits >> 16) & 0xFFFF
