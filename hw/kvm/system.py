"""The virtual PC's CPU on KVM: one vCPU, guest RAM in memory slot 0, and the
run loop that turns VM exits into bus accesses.

Interrupts: no in-kernel irqchip or PIT.  The machine's own i8259 pair and
i8254 (``hw/devices``) stay the interrupt controllers on both back ends, so a
guest sees the same devices, the same port behaviour and the same timing on
unicorn and on KVM, and ``--stats`` counts the same things; the vector the PIC
acknowledges is injected with KVM_INTERRUPT when KVM says the vCPU can take
it (``ready_for_interrupt_injection`` and IF), and when it cannot the next
KVM_RUN asks for an interrupt-window exit.  The price is a VM exit per timer
tick, which is nothing next to the exits of port I/O.  (KVM_CREATE_IRQCHIP
would also bring a local APIC and an I/O APIC this PC does not model.)

Slices: KVM_RUN runs until the guest needs the VMM; a periodic SIGALRM
(``setitimer``) makes it return with EINTR at the end of a slice, so the
machine's clock and timer still get their turn.  That needs the main thread.

Exits and what they become: port I/O, and MMIO in the bus's window
(``hw/bus.py``: the virtio-mmio devices), go to the bus, as unicorn's hooks
send them; MMIO elsewhere outside RAM ends the run as a fault, as unicorn's
unmapped access does;
HLT ends the slice; SHUTDOWN is a triple fault; an internal error (the
hypervisor could not emulate an instruction) or a failed entry ends the run
with reason "hypervisor" and a line that names the instruction's address.
"""
from __future__ import annotations

import signal
import threading
import time
from typing import Optional

from hw.bus import MMIO_WINDOW
from hw.cpu.system import Exit, SystemCpu, triple_fault
from hw.cpuid import APIC, TSC_DEADLINE, X2APIC
from . import abi
from .host import kvm_kind
from .vm import Kvm, KvmError, Vcpu, Vm

# What a software KVM (PVM) cannot emulate, measured with Debian's kernel:
# `lock cmpxchg16b`, hidden through CPUID (Linux then does without it), and
# XRSTOR, which cannot be: PVM shows the host's XSAVE and AVX bits whatever the
# table says (it clears the others it is told to), so a Linux guest is told
# `noxsave` on its command line instead and uses FXSAVE/FXRSTOR.
CX16 = 1 << 13
SOFTWARE_KERNEL_ARGS = "noxsave"
KVM_LEAF_FEATURES = 0x40000001
# kvmclock (old and new MSRs), no I/O delay, stable clock: what helps timing
# without a local APIC (PV EOI, PV IPIs and async page faults all need one)
KVM_CLOCK_FEATURES = 1 << 0 | 1 << 1 | 1 << 3 | 1 << 24
CR0_PE, CR0_ET, CR0_NE, CR0_WP, CR0_PG = 1, 1 << 4, 1 << 5, 1 << 16, 1 << 31
CR4_PAE = 1 << 5
EFER_LME, EFER_LMA = 1 << 8, 1 << 10
APIC_BASE, APIC_BASE_BSP = 0xFEE00000, 1 << 8


def guest_cpuid(kvm: Kvm, software: bool):
    """What KVM can offer, minus what this PC lacks (a local APIC, like hw/cpuid.py
    for unicorn) and, on a software KVM, what it cannot emulate."""
    table = kvm.supported_cpuid()
    for e in table.entries[:table.nent]:
        if e.function == 1:
            e.edx &= ~APIC
            e.ecx &= ~(X2APIC | TSC_DEADLINE | (CX16 if software else 0))
        elif e.function == KVM_LEAF_FEATURES:
            e.eax &= KVM_CLOCK_FEATURES
    return table


def _segment(selector: int, code: bool, long: bool = False) -> abi.Segment:
    return abi.Segment(base=0, limit=0xFFFFFFFF, selector=selector, type=0xB if code else 0x3, present=1,
                       dpl=0, db=0 if long else 1, s=1, l=1 if long else 0, g=1)


def _wake(signum, frame) -> None:
    """SIGALRM: nothing to do; its arrival is what makes KVM_RUN return."""


class KvmSystem(SystemCpu):
    """--stats: VM exits by kind, each with its cost in host time: spent here
    handling it, and inside the KVM_RUN that ended with it (the guest's run since
    the last exit plus the hypervisor's work).  The clock is read around every
    KVM_RUN anyway, for the slice's deadline; with ``measure`` off nothing else
    is done."""
    name = "kvm"
    trap_title = "KVM exits"
    trap_extra = "in KVM_RUN"
    run_call = "KVM_RUN"

    def __init__(self, ram_bytes, bus, long_mode, stopping, measure=False):
        super().__init__(ram_bytes, bus, long_mode, stopping, measure)
        kind = kvm_kind()
        if not kind.usable:
            raise KvmError(kind.detail)
        if threading.current_thread() is not threading.main_thread():
            raise KvmError("the KVM back end runs in the main thread only (its slices end by SIGALRM)")
        self.kvm = Kvm()
        self.vm = Vm(self.kvm, ram_bytes)
        self.vcpu = Vcpu(self.vm)
        self.vcpu.set_cpuid(guest_cpuid(self.kvm, kind.kind == "software"))
        self.kernel_args = SOFTWARE_KERNEL_ARGS if kind.kind == "software" else ""
        self.run_state = self.vcpu.run
        self.mmio_lo, self.mmio_hi = MMIO_WINDOW[0], MMIO_WINDOW[0] + MMIO_WINDOW[1]
        self._halted = False
        self.injected = 0

    def close(self) -> None:
        self.vcpu.close()
        self.vm.close()
        self.kvm.close()

    # -- memory and boot states -------------------------------------------------------
    def write(self, addr: int, data: bytes) -> None:
        self.vm.write(addr, data)

    def read(self, addr: int, size: int) -> bytes:
        return self.vm.read(addr, size)

    def _enter(self, entry: int, regs: dict[str, int], sregs: abi.Sregs) -> None:
        # KVM shows CPUID's APIC bit as the APIC base MSR's enable bit says (it
        # updates leaf 1 at every change), so this PC without one disables it
        sregs.apic_base = APIC_BASE | APIC_BASE_BSP
        self.vcpu.set_sregs(sregs)
        r = abi.Regs(rip=entry, rflags=0x2)
        for name, value in regs.items():
            setattr(r, "r" + name[1:] if name.startswith("e") else name, value)
        self.vcpu.set_regs(r)

    def enter_protected(self, entry: int, regs: dict[str, int]) -> None:
        s = self.vcpu.sregs()
        s.cs = _segment(0x08, code=True)
        s.ds = s.es = s.fs = s.gs = s.ss = _segment(0x10, code=False)
        s.cr0, s.cr4, s.efer = CR0_PE | CR0_ET, 0, 0
        self._enter(entry, regs, s)

    def enter_long_mode(self, cr3, entry, regs, cs, ds, gdt=None) -> None:
        s = self.vcpu.sregs()
        if gdt is not None:
            s.gdt = abi.Dtable(base=gdt[0], limit=gdt[1])
        s.cs = _segment(cs, code=True, long=True)
        s.ds = s.es = s.fs = s.gs = s.ss = _segment(ds, code=False)
        s.cr3, s.cr4, s.efer = cr3, CR4_PAE, EFER_LME | EFER_LMA
        s.cr0 = CR0_PG | CR0_WP | CR0_NE | CR0_ET | CR0_PE
        self._enter(entry, regs, s)

    def pc(self) -> int:
        return self.vcpu.regs().rip

    # -- running -----------------------------------------------------------------------
    def halted(self) -> bool:
        return self._halted

    def interruptible(self) -> bool:
        run = self.run_state
        return bool(run.ready_for_interrupt_injection and run.if_flag)

    def inject(self, vector: int) -> Optional[Exit]:
        self.vcpu.interrupt(vector)
        self.injected += 1
        return None

    def want_interrupt(self) -> None:
        self.run_state.request_interrupt_window = 1

    def run(self, seconds: float) -> Optional[Exit]:
        self._halted = False
        old = signal.signal(signal.SIGALRM, _wake)
        signal.setitimer(signal.ITIMER_REAL, seconds, seconds)
        try:
            return self._run(time.monotonic() + seconds)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)

    def _run(self, deadline: float) -> Optional[Exit]:
        run, vcpu, clock = self.run_state, self.vcpu, time.perf_counter
        while True:
            t0 = clock()
            try:
                vcpu.enter()
            except InterruptedError:
                self._count("slice end (signal)", t0, clock())
                return None
            except OSError as e:
                return Exit("hypervisor", detail=f"KVM_RUN failed: {e.strerror}")
            t1 = clock()
            reason = run.exit_reason
            kind = abi.EXIT_NAMES.get(reason, f"exit {reason}")
            if reason == abi.EXIT_IO:
                self._port_io(run.exit.io)
            elif reason == abi.EXIT_HLT:
                self._halted = True
            elif reason == abi.EXIT_MMIO:
                if not self._mmio(run.exit.mmio):
                    m = run.exit.mmio
                    self._count(kind, t0, t1)
                    return Exit("fault", detail=f"MMIO {'write' if m.is_write else 'read'} of {m.len} bytes at "
                                f"{m.phys_addr:#x}, outside RAM and the device window (at {self.pc():#x})")
            elif reason == abi.EXIT_SHUTDOWN:
                self._count(kind, t0, t1)
                return triple_fault(f"KVM shutdown at {self.pc():#x}")
            elif reason in (abi.EXIT_INTERNAL_ERROR, abi.EXIT_FAIL_ENTRY, abi.EXIT_UNKNOWN):
                self._count(kind, t0, t1)
                return Exit("hypervisor", detail=self._failure(reason))
            elif reason == abi.EXIT_IRQ_WINDOW_OPEN:
                run.request_interrupt_window = 0      # asked by want_interrupt(): the guest can take it now
            elif reason != abi.EXIT_INTR:
                return Exit("hypervisor", detail=f"unexpected KVM exit {kind} at {self.pc():#x}")
            t2 = clock()
            self._count(kind, t0, t1, t2)
            if reason not in (abi.EXIT_IO, abi.EXIT_MMIO) or self.stopping() or t2 >= deadline:
                return None

    def stats(self) -> list[str]:
        return [*super().stats(), f"interrupts injected {self.injected}"]

    def _count(self, kind: str, t0: float, t1: float, t2: Optional[float] = None) -> None:
        if self.costs is not None:
            self.costs.add(kind, 0.0 if t2 is None else t2 - t1, extra=t1 - t0)
            self.costs.ran(t1 - t0)

    def _port_io(self, io) -> None:
        area, port, size = self.vcpu.area, io.port, io.size
        at = io.data_offset
        if io.direction == abi.IO_OUT:
            for i in range(at, at + io.count * size, size):
                self.bus.write(port, size, int.from_bytes(area[i:i + size], "little"))
        else:
            for i in range(at, at + io.count * size, size):
                area[i:i + size] = self.bus.read(port, size).to_bytes(size, "little")

    def _mmio(self, m) -> bool:
        """An access outside RAM: in the bus's MMIO window it goes to the bus (the
        value of a read goes back through kvm_run, which KVM_RUN hands to the
        instruction); False if it is outside the window too."""
        addr, size = m.phys_addr, m.len
        if not self.mmio_lo <= addr < self.mmio_hi or size > 8:
            return False
        if m.is_write:
            self.bus.mmio_write(addr, size, int.from_bytes(bytes(m.data[:size]), "little"))
        else:
            m.data[:size] = self.bus.mmio_read(addr, size).to_bytes(size, "little")
        return True

    def _failure(self, reason: int) -> str:
        run = self.run_state
        if reason == abi.EXIT_INTERNAL_ERROR:
            sub = run.exit.internal.suberror
            what = abi.INTERNAL_SUBERRORS.get(sub, f"suberror {sub}")
            return f"KVM internal error ({what}) at {self.pc():#x}{self._code_at()}"
        if reason == abi.EXIT_FAIL_ENTRY:
            return f"KVM could not enter the guest (hardware reason {run.exit.fail_entry.hardware_entry_failure_reason:#x})"
        return f"KVM exit unknown (hardware reason {run.exit.hardware_exit_reason:#x}) at {self.pc():#x}"

    def _code_at(self) -> str:
        """The bytes at the guest's RIP (through its page tables), to name the
        instruction the hypervisor failed on."""
        try:
            phys = self.vcpu.translate(self.pc())
            return "" if phys is None else f" (code bytes {self.read(phys, 8).hex(' ')})"
        except (KvmError, ValueError):
            return ""
