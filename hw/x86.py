"""What an x86 CPU does that unicorn's system mode leaves to its user.

unicorn runs guest code in real, protected and long mode, with the guest's
own page tables, but it never *delivers* anything: a CPU exception (a page
fault, #GP, #UD), an external interrupt or the SYSCALL instruction only calls
a hook (unicorn's ``helper_syscall`` just skips the instruction).  A guest OS
needs all three done as the CPU would, so this module does them: it walks the
IDT, picks the stack (the TSS's RSP0 on a privilege change, or an IST entry),
pushes the frame with the error code, loads CS/SS and jumps to the handler.

The privilege change is the part unicorn's API cannot express: writing CS or
SS through ``reg_write`` in 64-bit mode sets only the selector, never the
hidden descriptor cache nor the CPL (which QEMU keeps in ``hflags``).  So a
transition to ring 0 edits the saved CPU context: ``uc_context_save`` is a
plain copy of QEMU's ``CPUX86State``, whose leading fields (registers, EIP,
EFLAGS, the lazy flags, hflags, the segment caches) have had the same layout
since QEMU 2.  :func:`probe_layout` checks that layout against the running
library once (by writing registers through the API and finding them in the
copy) and refuses to run a long-mode guest if it differs, rather than
corrupting it.

Exceptions are delivered inside unicorn's interrupt hook, not after the
slice stops: QEMU remembers the exception "in flight" (``old_exception``, for
its double-fault rules) until its own delivery code clears it, which unicorn
never runs, so a second page fault would become a #DF and a third a silent
triple fault.  The hook clears it, reads the error code QEMU computed
(``error_code``; for a page fault the real P/W/U/I bits), and delivers at
once.  Both fields lie beyond the documented registers, so
:func:`probe_exception_fields` finds them by making a scratch engine take a
page fault whose error code is known.
"""
from __future__ import annotations

import ctypes
import struct

from hw.cpu.uclib import lib as uclib
from unicorn.x86_const import (UC_X86_REG_CR0, UC_X86_REG_CR3, UC_X86_REG_CR4, UC_X86_REG_CS,
                               UC_X86_REG_GDTR, UC_X86_REG_IDTR, UC_X86_REG_MSR, UC_X86_REG_R11,
                               UC_X86_REG_RCX, UC_X86_REG_RFLAGS, UC_X86_REG_RIP, UC_X86_REG_RSP,
                               UC_X86_REG_SS, UC_X86_REG_TR, UC_X86_REG_RBX)

# CPUX86State (QEMU target/i386/cpu.h): regs[16], eip, eflags, cc_dst, cc_src,
# cc_src2, cc_op, df, hflags, hflags2, segs[6] of {selector, base, limit, flags}
ENV_RIP, ENV_HFLAGS, ENV_SEGS, SEG_SIZE = 0x80, 0xB0, 0xB8, 24
R_ES, R_CS, R_SS, R_DS = 0, 1, 2, 3
HF_CPL, HF_CS32, HF_SS32, HF_CS64 = 3, 1 << 4, 1 << 5, 1 << 15

# descriptor bits as QEMU keeps them in a segment cache's flags (the high dword)
D_A, D_W, D_CS, D_S, D_P, D_L, D_B, D_G = 1 << 8, 1 << 9, 1 << 11, 1 << 12, 1 << 15, 1 << 21, 1 << 22, 1 << 23
CODE64 = D_G | D_L | D_P | D_S | D_CS | D_W | D_A          # D_W is the code's R bit
DATA = D_G | D_B | D_P | D_S | D_W | D_A
DPL_SHIFT = 13

IF, TF, NT, RF, VM = 1 << 9, 1 << 8, 1 << 14, 1 << 16, 1 << 17
CR0_PG, EFER = 1 << 31, 0xC0000080
MSR_STAR, MSR_LSTAR, MSR_FMASK = 0xC0000081, 0xC0000082, 0xC0000084
PHYS = 0x000FFFFFFFFFF000
VECTORS_WITH_ERROR = {8, 10, 11, 12, 13, 14, 17, 21}


class LayoutError(Exception):
    """The unicorn library's saved CPU state is not laid out as guise expects."""


class DeliveryError(Exception):
    """The guest cannot take this interrupt or exception (no usable gate, stack
    not mapped): on a PC this escalates to a double and then a triple fault."""


def probe_layout(uc) -> int:
    """Check the CPUX86State layout in ``uc``'s saved context; return the offset of
    the CPU state inside the context blob."""
    ctx = uc.context_save()
    total = ctx.size
    base = ctypes.cast(ctx.context, ctypes.c_void_p).value
    size = struct.unpack("<Q", ctypes.string_at(base, 8))[0]
    header = total - size
    saved = [uc.reg_read(r) for r in (UC_X86_REG_RIP, UC_X86_REG_RBX, UC_X86_REG_CS)]
    uc.reg_write(UC_X86_REG_RIP, 0x1234_5678_9A)
    uc.reg_write(UC_X86_REG_RBX, 0xFEDC_BA98_7654)
    uc.reg_write(UC_X86_REG_CS, 0x3B)
    uc.context_update(ctx)
    blob = ctypes.string_at(base + header, size)
    for r, v in zip((UC_X86_REG_RIP, UC_X86_REG_RBX, UC_X86_REG_CS), saved):
        uc.reg_write(r, v)
    ok = (struct.unpack_from("<Q", blob, ENV_RIP)[0] == 0x1234_5678_9A
          and struct.unpack_from("<Q", blob, 3 * 8)[0] == 0xFEDC_BA98_7654
          and struct.unpack_from("<I", blob, ENV_SEGS + R_CS * SEG_SIZE)[0] == 0x3B)
    if not ok:
        raise LayoutError("this unicorn build keeps its CPU state in a layout guise does not know; "
                          "long-mode guests need unicorn 2.0-2.1")
    return header


_EXC_FIELDS = None


def probe_exception_fields(header: int) -> tuple[int, int]:
    """Offsets of ``error_code`` and ``old_exception`` in the saved CPU state: a
    scratch engine writes to a read-only page in user mode (error code 7) and,
    after that is cleared, to a not-present page in kernel mode (error code 2)."""
    global _EXC_FIELDS
    if _EXC_FIELDS is not None:
        return _EXC_FIELDS
    from unicorn import Uc, UC_ARCH_X86, UC_MODE_64, UC_HOOK_INTR
    uc = Uc(UC_ARCH_X86, UC_MODE_64)
    uc.mem_map(0, 1 << 20)
    uc.mem_write(0x1000, struct.pack("<Q", 0x2007))
    uc.mem_write(0x2000, struct.pack("<Q", 0x3007))
    uc.mem_write(0x3000, struct.pack("<Q", 0x4007))
    pt = bytearray(b"".join(struct.pack("<Q", i << 12 | 7) for i in range(256)))
    struct.pack_into("<Q", pt, 0x10 * 8, 0)                    # 0x10000: not present
    struct.pack_into("<Q", pt, 0x11 * 8, 0x11000 | 5)          # 0x11000: read-only
    uc.mem_write(0x4000, bytes(pt))
    uc.mem_write(0x5000, bytes.fromhex("88042500000100"))      # mov [0x10000], al
    uc.reg_write(UC_X86_REG_CR4, 1 << 5)
    uc.reg_write(UC_X86_REG_CR3, 0x1000)
    uc.reg_write(UC_X86_REG_MSR, (EFER, (1 << 8) | (1 << 10)))
    uc.reg_write(UC_X86_REG_CR0, 0x80010031)
    ctx = uc.context_save()
    ptr = ctypes.cast(ctx.context, ctypes.c_void_p).value + header
    size = ctx.size - header
    seen = []

    def hook(uc, intno, _):
        uc.context_update(ctx)
        seen.append(ctypes.string_at(ptr, size))
        uc.emu_stop()
    h = uc.hook_add(UC_HOOK_INTR, hook)
    uc.emu_start(0x5000, 0x8000_0000_0000_0000, timeout=1_000_000)
    uc.hook_del(h)
    if len(seen) != 1:
        raise LayoutError("a scratch page fault did not reach the hook")
    ints = [struct.unpack_from("<i", seen[0], i)[0] for i in range(0, size - 3, 4)]
    errors = [i * 4 for i, v in enumerate(ints) if v == 2]
    inflight = [i * 4 for i, v in enumerate(ints) if v == 14]
    for err in errors:
        for old in inflight:
            if 0 < old - err < 256:
                _EXC_FIELDS = (err, old)
                return _EXC_FIELDS
    raise LayoutError("cannot find QEMU's error_code/old_exception in this unicorn's CPU state")


class LongMode:
    """Interrupt, exception and SYSCALL delivery for a 64-bit guest on ``uc``;
    guest-virtual memory through the guest's page tables."""

    def __init__(self, uc):
        self.uc = uc
        self.header = probe_layout(uc)
        self.ctx = uc.context_save()
        self.deliveries = 0
        self.privilege_changes = 0
        self.error_at, self.inflight_at = probe_exception_fields(self.header)
        self._q = ctypes.c_uint64()         # q()'s buffer, read by the C library directly
        self._q_ptr = ctypes.cast(ctypes.byref(self._q), ctypes.POINTER(ctypes.c_char))
        self._mmu = None                    # (paging on, CR3) while a delivery runs: see deliver

    def _env(self, size: int):
        """The CPU state, saved into ``self.ctx``, as a writable buffer (call
        ``uc.context_restore(self.ctx)`` to make changes real)."""
        self.uc.context_update(self.ctx)
        return (ctypes.c_char * size).from_address(ctypes.cast(self.ctx.context, ctypes.c_void_p).value
                                                   + self.header)

    def clear_inflight(self) -> None:
        """Forget an exception QEMU still thinks is in flight (one a stop request
        overtook before it reached the hook): the next one would be a #DF."""
        env = self._env(self.inflight_at + 4)
        if struct.unpack_from("<i", env, self.inflight_at)[0] != -1:
            struct.pack_into("<i", env, self.inflight_at, -1)
            self.uc.context_restore(self.ctx)

    def take_exception(self, vector: int) -> None:
        """From unicorn's interrupt hook: forget the exception in flight, then
        deliver it with the error code QEMU computed for it."""
        env = self._env(self.inflight_at + 4)
        error = struct.unpack_from("<i", env, self.error_at)[0] & 0xFFFFFFFF
        struct.pack_into("<i", env, self.inflight_at, -1)
        self.uc.context_restore(self.ctx)
        self.deliver(vector, error if vector in VECTORS_WITH_ERROR else None)

    # -- memory ----------------------------------------------------------------------
    def q(self, phys: int) -> int:
        """A page-table entry: through unicorn's C library, a quarter of the binding's
        cost (a delivery reads a dozen)."""
        if uclib.uc_mem_read(self.uc._uch, phys, self._q_ptr, 8):
            raise DeliveryError(f"physical address {phys:#x} is outside RAM")
        return self._q.value

    def walk(self, va: int):
        """(physical address or None, writable, user, no-execute) for ``va``."""
        paging, cr3 = self._mmu or (self.uc.reg_read(UC_X86_REG_CR0) & CR0_PG, self.uc.reg_read(UC_X86_REG_CR3))
        if not paging:
            return va, True, True, False
        table = cr3 & PHYS
        writable = user = True
        nx = False
        for shift in (39, 30, 21, 12):
            try:
                entry = self.q(table + ((va >> shift) & 0x1FF) * 8)
            except Exception:
                return None, False, False, False
            if not entry & 1:
                return None, writable, user, nx
            writable &= bool(entry & 2)
            user &= bool(entry & 4)
            nx |= bool(entry >> 63)
            if shift in (30, 21) and entry & 0x80:
                mask = (1 << shift) - 1
                return (entry & PHYS & ~mask) | (va & mask), writable, user, nx
            table = entry & PHYS
        return table | (va & 0xFFF), writable, user, nx

    def read(self, va: int, size: int) -> bytes:
        out = b""
        while size > 0:
            phys = self.walk(va)[0]
            if phys is None:
                raise DeliveryError(f"guest address {va:#x} is not mapped")
            n = min(size, 0x1000 - (va & 0xFFF))
            out += bytes(self.uc.mem_read(phys, n))
            va, size = va + n, size - n
        return out

    def write(self, va: int, data: bytes) -> None:
        while data:
            phys = self.walk(va)[0]
            if phys is None:
                raise DeliveryError(f"guest address {va:#x} is not mapped")
            n = min(len(data), 0x1000 - (va & 0xFFF))
            self.uc.mem_write(phys, data[:n])
            va, data = va + n, data[n:]

    # -- exceptions --------------------------------------------------------------------
    def cpl(self) -> int:
        return self.uc.reg_read(UC_X86_REG_CS) & 3

    def _descriptor(self, selector: int) -> int:
        """The high dword (QEMU's segment-cache flags) of GDT entry ``selector``."""
        _, base, limit, _ = self.uc.reg_read(UC_X86_REG_GDTR)
        index = selector & ~7
        if index == 0 or index + 7 > limit:
            raise DeliveryError(f"code selector {selector:#x} is not in the GDT")
        return struct.unpack("<I", self.read(base + index + 4, 4))[0]

    def _load(self, cs: int, cs_flags: int, ss: int, ss_flags: int, cpl: int) -> None:
        """Load CS and SS with their hidden parts and the CPL, which only the saved
        context can reach (see the module docstring)."""
        buf = self._env(ENV_SEGS + 6 * SEG_SIZE)
        struct.pack_into("<IIQII", buf, ENV_SEGS + R_CS * SEG_SIZE, cs, 0, 0, 0xFFFFFFFF, cs_flags)
        struct.pack_into("<IIQII", buf, ENV_SEGS + R_SS * SEG_SIZE, ss, 0, 0, 0xFFFFFFFF, ss_flags)
        hflags = struct.unpack_from("<I", buf, ENV_HFLAGS)[0] & ~HF_CPL
        if cs_flags & D_L:
            hflags |= HF_CS64 | HF_CS32 | HF_SS32
        struct.pack_into("<I", buf, ENV_HFLAGS, hflags | cpl)
        self.uc.context_restore(self.ctx)
        self.privilege_changes += 1

    def deliver(self, vector: int, error=None) -> None:
        """Take ``vector`` through the 64-bit IDT as the CPU does for an interrupt
        or exception (``error``: the error code to push, or None).  Its four page
        walks (IDT, GDT, TSS, stack) share one read of CR0 and CR3: nothing can
        change them while it runs."""
        uc = self.uc
        self._mmu = (uc.reg_read(UC_X86_REG_CR0) & CR0_PG, uc.reg_read(UC_X86_REG_CR3))
        try:
            self._deliver(vector, error)
        finally:
            self._mmu = None

    def _deliver(self, vector: int, error) -> None:
        uc = self.uc
        _, idt, limit, _ = uc.reg_read(UC_X86_REG_IDTR)
        if vector * 16 + 15 > limit:
            raise DeliveryError(f"vector {vector} is beyond the IDT's limit")
        lo, selector, ist, attr, mid, hi = struct.unpack("<HHBBHI", self.read(idt + vector * 16, 12))
        if not attr & 0x80 or attr & 0x0F not in (0x0E, 0x0F):
            raise DeliveryError(f"IDT gate {vector} is not a present 64-bit interrupt or trap gate")
        target = lo | mid << 16 | hi << 32
        flags = self._descriptor(selector)
        if not flags & D_L:
            raise DeliveryError(f"IDT gate {vector} does not lead to 64-bit code")
        dpl = flags >> DPL_SHIFT & 3
        cpl = self.cpl()
        rip, rsp, rflags = (uc.reg_read(r) for r in (UC_X86_REG_RIP, UC_X86_REG_RSP, UC_X86_REG_RFLAGS))
        cs, ss = uc.reg_read(UC_X86_REG_CS), uc.reg_read(UC_X86_REG_SS)
        tss = uc.reg_read(UC_X86_REG_TR)[1]
        if ist & 7:
            new_rsp = struct.unpack("<Q", self.read(tss + 0x24 + 8 * ((ist & 7) - 1), 8))[0]
        elif dpl < cpl:
            new_rsp = struct.unpack("<Q", self.read(tss + 4 + 8 * dpl, 8))[0]
        else:
            new_rsp = rsp
        new_rsp &= ~0xF
        frame = [rip, cs, rflags, rsp, ss]
        if error is not None:
            frame.insert(0, error)
        new_rsp -= 8 * len(frame)
        self.write(new_rsp, struct.pack(f"<{len(frame)}Q", *frame))
        if dpl != cpl or (selector & ~3 | dpl) != cs:
            self._load(selector & ~3 | dpl, flags, dpl if dpl != cpl else ss,
                       dpl << DPL_SHIFT if dpl != cpl else DATA, dpl)
        new_flags = rflags & ~(TF | NT | RF | VM)
        if attr & 0x0F == 0x0E:
            new_flags &= ~IF
        uc.reg_write(UC_X86_REG_RSP, new_rsp)
        uc.reg_write(UC_X86_REG_RFLAGS, new_flags)
        self._jump(target)
        self.deliveries += 1

    def _jump(self, rip: int) -> None:
        """Set RIP through the saved context, not ``reg_write``: from a hook, unicorn
        2.1.4's RIP write leaves its ``skip_sync_pc_on_exit`` set until the next
        stop, and that stop then resumes at a stale RIP, re-running instructions."""
        env = self._env(ENV_RIP + 8)
        struct.pack_into("<Q", env, ENV_RIP, rip)
        self.uc.context_restore(self.ctx)

    def syscall(self) -> None:
        """SYSCALL, after unicorn has stepped over it: RCX and R11 keep the return
        RIP and RFLAGS, CS/SS come from STAR, RIP from LSTAR, RFLAGS loses FMASK."""
        uc = self.uc
        if not uc.reg_read(UC_X86_REG_MSR, EFER) & 1:
            raise DeliveryError("SYSCALL with EFER.SCE clear (#UD)")
        rip, rflags = uc.reg_read(UC_X86_REG_RIP), uc.reg_read(UC_X86_REG_RFLAGS)
        star = uc.reg_read(UC_X86_REG_MSR, MSR_STAR)
        lstar = uc.reg_read(UC_X86_REG_MSR, MSR_LSTAR)
        fmask = uc.reg_read(UC_X86_REG_MSR, MSR_FMASK)
        uc.reg_write(UC_X86_REG_RCX, rip)
        uc.reg_write(UC_X86_REG_R11, rflags)
        cs = star >> 32 & 0xFFFC
        self._load(cs, CODE64, cs + 8, DATA, 0)
        uc.reg_write(UC_X86_REG_RFLAGS, rflags & ~fmask & ~RF)
        uc.reg_write(UC_X86_REG_RIP, lstar)

    def enter_long_mode(self, cr3: int, entry: int, regs: dict, cs: int, ds: int) -> None:
        """The state a 64-bit boot protocol promises: paging on with ``cr3``,
        flat CS (64-bit) and data segments, interrupts off."""
        uc = self.uc
        uc.reg_write(UC_X86_REG_CR4, 1 << 5)                       # PAE
        uc.reg_write(UC_X86_REG_CR3, cr3)
        uc.reg_write(UC_X86_REG_MSR, (EFER, (1 << 8) | (1 << 10)))  # LME, LMA
        uc.reg_write(UC_X86_REG_CR0, CR0_PG | 1 << 16 | 1 << 5 | 1 << 4 | 1)   # PG WP NE ET PE
        self._load(cs, CODE64, ds, DATA, 0)
        buf = self._env(ENV_SEGS + 6 * SEG_SIZE)
        for seg in (R_ES, R_DS):
            struct.pack_into("<IIQII", buf, ENV_SEGS + seg * SEG_SIZE, ds, 0, 0, 0xFFFFFFFF, DATA)
        uc.context_restore(self.ctx)
        for reg, value in regs.items():
            uc.reg_write(reg, value)
        uc.reg_write(UC_X86_REG_RFLAGS, 0x2)
        uc.reg_write(UC_X86_REG_RIP, entry)
