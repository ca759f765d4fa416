"""The virtual PC's CPU on unicorn's system-mode x86.

The guest runs in slices, ended by a native block hook (``StopSwitch`` from
``hw/cpu/stopswitch.py``) that a preemption thread turns into uc_emu_stop
when the slice's time is up, so the engine stops before a block's first
instruction.  Not by unicorn's own ``timeout``: its timer thread calls
uc_emu_stop at any moment, unicorn notices the request after the next memory
access and restarts that instruction, so a read-modify-write whose store
already landed runs twice (unicorn issue #1105; with 2.1.4 a loop of
``inc qword [mem]`` stopped every 200 µs counts about one extra per stop).
In a Linux guest that corrupts counters and page-table updates at random and
the boot stalls.  Port I/O traps straight into the bus.  unicorn only
*reports* CPU exceptions and the SYSCALL instruction; the hooks deliver them
(``hw/x86.py`` in long mode: IDT gates, IST, the TSS stack on a privilege
change, error codes; a plain 32-bit IDT walk in protected mode).  Interrupts
the machine decides to deliver go the same way.  Time is the host's: the TSC
(unicorn's RDTSC reads the host's counter) advances in real time.

A multiboot kernel starts in 32-bit protected mode and may switch to long
mode itself, so the engine is always unicorn's 64-bit one (its 32-bit mode
refuses the 64-bit registers a long-mode guest needs), put into 32-bit
protected mode by :meth:`UnicornSystem.enter_protected`; each delivery looks
at EFER.LMA to pick the 32-bit or the 64-bit way.  A slice that ends while the guest sits just past a HLT is taken as the
guest halting (unicorn leaves HLT at once rather than waiting).
"""
from __future__ import annotations

import ctypes
import mmap
import struct
import threading
import time
from typing import Optional

from unicorn import (Uc, UcError, UC_ARCH_X86, UC_MODE_64, UC_HOOK_BLOCK, UC_HOOK_INSN, UC_HOOK_INTR,
                     UC_HOOK_INSN_INVALID, UC_PROT_ALL)
from unicorn import x86_const as X
from unicorn.x86_const import (UC_X86_INS_IN, UC_X86_INS_OUT, UC_X86_INS_SYSCALL, UC_X86_INS_CPUID,
                               UC_X86_REG_CR0, UC_X86_REG_CR4, UC_X86_REG_EIP, UC_X86_REG_EFLAGS,
                               UC_X86_REG_ESP, UC_X86_REG_CS,
                               UC_X86_REG_GDTR, UC_X86_REG_IDTR, UC_X86_REG_MSR, UC_X86_REG_RIP, UC_X86_REG_RFLAGS)

from hw.x86 import (D_A, D_B, D_CS, D_G, D_P, D_S, D_W, DATA, ENV_HFLAGS, ENV_SEGS, HF_CS32, HF_CS64,
                    HF_SS32, R_CS, R_DS, R_ES, R_SS, SEG_SIZE)
from unicorn.unicorn_py3.unicorn import uclib as _lib
from .stopswitch import StopSwitch
from .system import Exit, OutsideRam, SystemCpu, check_ram, triple_fault

IF = 0x200
HLT = 0xF4
NOWHERE = 0x8000_0000_0000_0000     # a non-canonical address: the slice never "arrives"
EFER, EFER_LMA = 0xC0000080, 1 << 10
HF_LMA = 1 << 14
CODE32 = D_G | D_B | D_P | D_S | D_CS | D_W | D_A
MULTIBOOT_CS, MULTIBOOT_DS = 0x08, 0x10
WINDOW_SLICE = 0.0002               # seconds: a slice while an interrupt waits for IF


def _reg(name: str) -> int:
    return getattr(X, f"UC_X86_REG_{name.upper()}")


class _Preempter:
    """A thread that ends the running slice at its deadline by turning the block
    hook's switch to uc_emu_stop; ``disarm`` (under the same lock) turns it back,
    so a late timer never stops the next slice."""

    def __init__(self, switch: StopSwitch):
        self.switch = switch
        self.cond = threading.Condition()
        self.deadline: Optional[float] = None
        self.fired = False
        threading.Thread(target=self._loop, name="guise-vm-slice", daemon=True).start()

    def arm(self, seconds: float) -> None:
        with self.cond:
            self.deadline, self.fired = time.monotonic() + seconds, False
            self.cond.notify()

    def disarm(self) -> bool:
        """Stop timing; True if the slice was ended by its deadline."""
        with self.cond:
            self.deadline = None
            self.switch.idle()
            return self.fired

    def _loop(self) -> None:
        with self.cond:
            while True:
                if self.deadline is None:
                    self.cond.wait()
                    continue
                left = self.deadline - time.monotonic()
                if left > 0:
                    self.cond.wait(left)
                    continue
                self.switch.stop()
                self.fired, self.deadline = True, None


_TSC_KHZ: Optional[int] = None


def host_tsc_khz() -> int:
    """The host's TSC rate, which the guest's RDTSC reads (unicorn returns the host
    counter): measured once against the monotonic clock over 20 ms, with a
    native RDTSC (a few bytes of code in an executable page)."""
    global _TSC_KHZ
    if _TSC_KHZ is None:
        page = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
        page[:10] = bytes.fromhex("0f3148c1e2204809d0c3")   # rdtsc; shl rdx,32; or rax,rdx; ret
        rdtsc = ctypes.CFUNCTYPE(ctypes.c_uint64)(ctypes.addressof(ctypes.c_char.from_buffer(page)))
        t0, c0 = time.perf_counter_ns(), rdtsc()
        time.sleep(0.02)
        t1, c1 = time.perf_counter_ns(), rdtsc()
        _TSC_KHZ = (c1 - c0) * 1_000_000 // (t1 - t0)
    return _TSC_KHZ


def linux_args() -> str:
    """What a Linux guest's command line gets on this back end.  Linux calibrates
    the TSC against the PIT by timing port reads, which Python hooks make too
    uneven: it often gives up, marks the TSC unstable and keeps time by timer
    ticks; telling it the rate skips that.  noreplace-smp keeps the kernel from
    rewriting its LOCK prefixes (9216 in Debian 6.1) for one CPU by text_poke, two
    page-table switches (full TLB flushes here) each: 0.2-0.3 s of a boot on
    unicorn, for no gain: a LOCK-prefixed instruction costs unicorn no more
    than the plain one (one CPU, no parallel atomics)."""
    return f"tsc_early_khz={host_tsc_khz()} noreplace-smp"


class UnicornSystem(SystemCpu):
    """--stats: hook calls by kind and the host time inside them, that is in the
    Python handler and what it calls (the bus, a device, an exception's delivery,
    and the delivery a SYSCALL or a 32-bit exception gets after its slice), not
    the ctypes callback around it (about 2 µs a call: ARCHITECTURE.md)."""
    name = "unicorn"
    trap_title = "unicorn hook calls"
    run_call = "uc_emu_start"

    @property
    def kernel_args(self) -> str:
        return linux_args()

    def __init__(self, ram_bytes, bus, long_mode, stopping, measure=False):
        super().__init__(ram_bytes, bus, long_mode, stopping, measure)
        hook = self.costs.timed if self.costs is not None else (lambda kind, handler: handler)
        self.uc = uc = Uc(UC_ARCH_X86, UC_MODE_64)
        uc.mem_map(0, ram_bytes, UC_PROT_ALL)
        switch = StopSwitch()
        handle = ctypes.c_size_t()
        _lib.uc_hook_add(uc._uch, ctypes.byref(handle), UC_HOOK_BLOCK, ctypes.c_void_p(switch.address),
                         None, ctypes.c_uint64(1), ctypes.c_uint64(0))
        self.preempter = _Preempter(switch)
        from hw.bus import MMIO_WINDOW
        self.mmio_base = MMIO_WINDOW[0]
        uc.mmio_map(*MMIO_WINDOW, hook("MMIO", self._mmio_read), None, hook("MMIO", self._mmio_write), None)
        self.pc_reg, self.flags_reg = UC_X86_REG_RIP, UC_X86_REG_RFLAGS
        uc.hook_add(UC_HOOK_INSN, hook("port I/O", self._in), None, 1, 0, UC_X86_INS_IN)
        uc.hook_add(UC_HOOK_INSN, hook("port I/O", self._out), None, 1, 0, UC_X86_INS_OUT)
        uc.hook_add(UC_HOOK_INTR, hook("exceptions", self._exception))
        uc.hook_add(UC_HOOK_INSN_INVALID, hook("exceptions", self._invalid))
        self.event = None           # what stopped the slice: ("exception", vector) or ("syscall",)
        self._device_stop = False   # the slice was ended by a device access (see stopping)
        self._window = False        # an interrupt waits for IF (see want_interrupt)
        self.end: Optional[Exit] = None     # a fault the exception hook could not deliver
        self._halted = False
        from hw.cpuid import Cpuid
        from hw.x86 import LongMode
        self.cpu = LongMode(uc)     # delivery in long mode (and the page walk)
        self.cpuid = Cpuid()
        uc.hook_add(UC_HOOK_INSN, hook("SYSCALL", self._syscall), None, 1, 0, UC_X86_INS_SYSCALL)
        uc.hook_add(UC_HOOK_INSN, hook("CPUID", self.cpuid.hook), None, 1, 0, UC_X86_INS_CPUID)

    # -- memory and boot states -------------------------------------------------------
    def write(self, addr: int, data: bytes) -> None:
        check_ram(addr, len(data), self.ram_bytes)
        self.uc.mem_write(addr, data)

    def read(self, addr: int, size: int) -> bytes:
        check_ram(addr, size, self.ram_bytes)
        return bytes(self.uc.mem_read(addr, size))

    def enter_protected(self, entry: int, regs: dict[str, int]) -> None:
        """Flat 32-bit protected mode in the 64-bit engine: EFER, CR4 cleared, CR0
        = PE|ET, and in the saved CPU state (``hw/x86.py``'s layout) the mode
        flags QEMU keeps in hflags (no LMA, no CS64; 32-bit CS and SS) and the
        hidden parts of CS and the data segments."""
        uc = self.uc
        uc.reg_write(UC_X86_REG_MSR, (EFER, 0))
        uc.reg_write(UC_X86_REG_CR4, 0)
        uc.reg_write(UC_X86_REG_CR0, 0x11)
        ctx = uc.context_save()
        env = (ctypes.c_char * (ENV_SEGS + 6 * SEG_SIZE)).from_address(
            ctypes.cast(ctx.context, ctypes.c_void_p).value + self.cpu.header)
        hflags = struct.unpack_from("<I", env, ENV_HFLAGS)[0] & ~(HF_LMA | HF_CS64) | HF_CS32 | HF_SS32
        struct.pack_into("<I", env, ENV_HFLAGS, hflags)
        struct.pack_into("<IIQII", env, ENV_SEGS + R_CS * SEG_SIZE, MULTIBOOT_CS, 0, 0, 0xFFFFFFFF, CODE32)
        for seg in (R_SS, R_DS, R_ES):
            struct.pack_into("<IIQII", env, ENV_SEGS + seg * SEG_SIZE, MULTIBOOT_DS, 0, 0, 0xFFFFFFFF, DATA)
        uc.context_restore(ctx)
        uc.reg_write(UC_X86_REG_RIP, entry)
        for name, value in regs.items():
            uc.reg_write(_reg(name), value)
        uc.reg_write(UC_X86_REG_RFLAGS, 0x2)

    def enter_long_mode(self, cr3, entry, regs, cs, ds, gdt=None) -> None:
        if gdt is not None:
            self.uc.reg_write(UC_X86_REG_GDTR, (0, gdt[0], gdt[1], 0))
        self.cpu.enter_long_mode(cr3, entry, {_reg(n): v for n, v in regs.items()}, cs, ds)

    def pc(self) -> int:
        return self.uc.reg_read(self.pc_reg)

    def _in_long_mode(self) -> bool:
        return self.long_mode or bool(self.uc.reg_read(UC_X86_REG_MSR, EFER) & EFER_LMA)

    # -- traps -------------------------------------------------------------------------
    def _in(self, uc, port, size, _):
        return self.bus.read(port, size)

    def _out(self, uc, port, size, value, _):
        self.bus.write(port, size, value)
        self._after_device_write()

    def _mmio_read(self, uc, offset, size, _):
        return self.bus.mmio_read(self.mmio_base + offset, size)

    def _mmio_write(self, uc, offset, size, value, _):
        self.bus.mmio_write(self.mmio_base + offset, size, value)
        self._after_device_write()

    def _after_device_write(self) -> None:
        """End the slice at the next block if the machine asks (power-off, reset, an
        interrupt to take): through the block hook's switch, since a uc_emu_stop
        here would restart the instruction that wrote, writing twice."""
        if self.stopping():
            self._device_stop = True
            self.preempter.switch.stop()

    def _exception(self, uc, intno, _):
        if self.trace:
            self.trace(f"exception {intno} at {uc.reg_read(self.pc_reg):#x}")
        if not self._in_long_mode():
            self.event = ("exception", intno)
            uc.emu_stop()
            return
        from hw.x86 import DeliveryError
        try:
            self.cpu.take_exception(intno)
        except DeliveryError as e:
            self.end = triple_fault(f"CPU exception {intno} at {uc.reg_read(UC_X86_REG_RIP):#x}: {e}")
            uc.emu_stop()

    def _invalid(self, uc, _):
        self._exception(uc, 6, None)             # #UD: Linux's BUG()/WARN() use ud2
        return True

    def _syscall(self, uc, _):
        self.event = ("syscall",)
        uc.emu_stop()

    # -- running -----------------------------------------------------------------------
    def run(self, seconds: float) -> Optional[Exit]:
        uc = self.uc
        self._halted = self._device_stop = False
        self.cpu.clear_inflight()
        if self._window:
            seconds, self._window = min(seconds, WINDOW_SLICE), False
        self.preempter.arm(seconds)
        t0 = time.perf_counter() if self.costs is not None else 0.0
        try:
            uc.emu_start(self.pc(), NOWHERE if self.long_mode else 0xFFFFFFFF)
        except UcError as e:
            return Exit("fault", detail=f"{e} at {self.pc():#x}")
        finally:
            preempted = self.preempter.disarm()
            if self.costs is not None:
                self.costs.ran(time.perf_counter() - t0)
        if self.end is not None:
            return self.end
        event, self.event = self.event, None
        if event is not None:
            if self.costs is None:
                return self._take(event)
            t0 = time.perf_counter()
            try:
                return self._take(event)
            finally:
                self.costs.add("SYSCALL" if event[0] == "syscall" else "exceptions", time.perf_counter() - t0, 0)
        # HLT ends a slice at once; one that ran out of time or that a device
        # stopped did not halt (if the timer fires just after a HLT, the guest
        # sees a spurious wake-up, which an idle loop tolerates)
        self._halted = not preempted and not self._device_stop and self._at_hlt()
        return None

    def want_interrupt(self) -> None:
        """unicorn cannot stop when the guest sets IF again, so the next slice is a
        short one, and the machine looks again after it."""
        self._window = True

    def halted(self) -> bool:
        return self._halted

    def interruptible(self) -> bool:
        return bool(self.uc.reg_read(self.flags_reg) & IF)

    def _take(self, event) -> Optional[Exit]:
        """Deliver what stopped the slice: a SYSCALL, or an exception in 32-bit mode
        (in long mode the hook delivers exceptions itself: see hw/x86.py)."""
        from hw.x86 import DeliveryError
        if event[0] == "syscall":
            if not self._in_long_mode():
                return None              # no SYSCALL in 32-bit mode: unicorn stepped over it
            try:
                self.cpu.syscall()
            except DeliveryError as e:
                return triple_fault(f"SYSCALL: {e}")
            return None
        if not self._deliver32(event[1]):
            return triple_fault(f"CPU exception {event[1]} with no handler to take it")
        return None

    def inject(self, vector: int) -> Optional[Exit]:
        if not self._in_long_mode():
            if not self._deliver32(vector):
                return Exit("fault", detail=f"interrupt {vector:#x} with no usable IDT gate")
            return None
        from hw.x86 import DeliveryError
        try:
            self.cpu.deliver(vector)
        except DeliveryError as e:
            return triple_fault(f"interrupt {vector:#x}: {e}")
        return None

    def _at_hlt(self) -> bool:
        pc = self.pc()
        if pc == 0:
            return False
        try:
            before = self.cpu.read(pc - 1, 1) if self._in_long_mode() else self.read(pc - 1, 1)
        except Exception:
            return False
        return before[0] == HLT

    def _deliver32(self, vector: int) -> bool:
        """Take ``vector`` through the guest's 32-bit IDT: push EFLAGS, CS, EIP, load
        the gate's CS:EIP, and clear IF for an interrupt gate (ring 0 only).  False
        if it cannot: no present gate, or the IDT or the stack outside RAM."""
        _, base, limit, _ = self.uc.reg_read(UC_X86_REG_IDTR)
        if vector * 8 + 7 > limit:
            return False
        flags = self.uc.reg_read(UC_X86_REG_EFLAGS)
        esp = self.uc.reg_read(UC_X86_REG_ESP) - 12
        eip = self.uc.reg_read(UC_X86_REG_EIP)
        cs = self.uc.reg_read(UC_X86_REG_CS)
        try:
            lo, selector, _zero, attr, hi = struct.unpack("<HHBBH", self.read(base + vector * 8, 8))
            if not attr & 0x80 or attr & 0x0F not in (0x0E, 0x0F):
                return False
            self.write(esp, struct.pack("<III", eip, cs, flags))
        except OutsideRam:
            return False
        self.uc.reg_write(UC_X86_REG_ESP, esp)
        if selector != cs:
            self.uc.reg_write(UC_X86_REG_CS, selector)
        if attr & 0x0F == 0x0E:
            self.uc.reg_write(UC_X86_REG_EFLAGS, flags & ~IF)
        self.uc.reg_write(UC_X86_REG_EIP, lo | hi << 16)
        return True
