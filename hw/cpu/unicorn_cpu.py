"""Unicorn back end of the CPU interface (user-mode use).

The trap path is the hot path of every emulated program, so it bypasses the
Python binding's per-call wrappers: the SYSCALL / INT 0x80 callback is a raw
ctypes callback that reads all argument registers with one
``uc_reg_read_batch`` into arrays allocated once, calls the personality's
handler and writes one result register.  Measured on the project machines this
brings a whole dispatch to about 2 µs, against ~9 µs through ``Uc.reg_read``.
"""
from __future__ import annotations

import ctypes
import weakref
from collections.abc import Callable, Sequence

from . import uclib
from .base import (Cpu, CpuError, MemoryFault, StopReason, PROT_READ, PROT_WRITE,
                   PROT_EXEC)
from .protmap import ProtMap
from .stopswitch import StopSwitch

_lib = uclib.lib
unicorn, X = uclib.const, uclib.x86
# the SYSCALL hook gets (uc, user_data); declaring none spares converting them at each trap
_HOOK_SYSCALL = ctypes.CFUNCTYPE(None)
_HOOK_INTR = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_uint32, ctypes.c_void_p)
_HOOK_MEM_INVALID = ctypes.CFUNCTYPE(ctypes.c_bool, ctypes.c_void_p, ctypes.c_int,
                                     ctypes.c_uint64, ctypes.c_int, ctypes.c_int64,
                                     ctypes.c_void_p)
_HOOK_CODE = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint32,
                              ctypes.c_void_p)


class _TlbEntry(ctypes.Structure):
    _fields_ = [("paddr", ctypes.c_uint64), ("perms", ctypes.c_uint32)]


_HOOK_TLB_FILL = ctypes.CFUNCTYPE(ctypes.c_bool, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_int,
                                  ctypes.POINTER(_TlbEntry), ctypes.c_void_p)
# the right an access needs, by unicorn's access type
_NEEDS = {unicorn.UC_MEM_READ: unicorn.UC_PROT_READ, unicorn.UC_MEM_WRITE: unicorn.UC_PROT_WRITE,
          unicorn.UC_MEM_FETCH: unicorn.UC_PROT_EXEC}
# uc_emu_start's "until": an address no instruction starts at.  0 would do as "no end"
# for any start but 0, where unicorn stops before running anything, so a jump to NULL
# would restart at NULL forever instead of faulting.
NO_END = (1 << 64) - 1
_CTL_TLB_FLUSH = uclib.ctl_write(unicorn.UC_CTL_TLB_FLUSH, 0)
_CTL_TB_FLUSH = uclib.ctl_write(unicorn.UC_CTL_TB_FLUSH, 0)
_CTL_TLB_TYPE = uclib.ctl_write(unicorn.UC_CTL_TLB_TYPE, 1)
_CTL_REMOVE_CACHE = uclib.ctl_write(unicorn.UC_CTL_TB_REMOVE_CACHE, 2)

_REGS = {name[len("UC_X86_REG_"):].lower(): value for name, value in vars(X).items()
         if name.startswith("UC_X86_REG_")}

_ACCESS = {
    unicorn.UC_MEM_READ_UNMAPPED: "read", unicorn.UC_MEM_WRITE_UNMAPPED: "write",
    unicorn.UC_MEM_FETCH_UNMAPPED: "exec", unicorn.UC_MEM_READ_PROT: "read",
    unicorn.UC_MEM_WRITE_PROT: "write", unicorn.UC_MEM_FETCH_PROT: "exec",
}
_MEM_ERRORS = {
    unicorn.UC_ERR_READ_UNMAPPED: "read", unicorn.UC_ERR_WRITE_UNMAPPED: "write",
    unicorn.UC_ERR_FETCH_UNMAPPED: "exec", unicorn.UC_ERR_READ_PROT: "read",
    unicorn.UC_ERR_WRITE_PROT: "write", unicorn.UC_ERR_FETCH_PROT: "exec",
    unicorn.UC_ERR_READ_UNALIGNED: "read", unicorn.UC_ERR_WRITE_UNALIGNED: "write",
    unicorn.UC_ERR_FETCH_UNALIGNED: "exec",
}


def _perms(prot: int) -> int:
    p = 0
    if prot & PROT_READ:
        p |= unicorn.UC_PROT_READ
    if prot & PROT_WRITE:
        p |= unicorn.UC_PROT_WRITE
    if prot & PROT_EXEC:
        p |= unicorn.UC_PROT_EXEC
    return p


class UnicornCpu(Cpu):
    """One unicorn engine in 64-bit or 32-bit protected mode, flat segments."""

    # Where the i386 GDT lives: the top page of the 4 GiB space, which Linux
    # never gives to 32-bit processes either.
    GDT_ADDR = 0xFFFFF000

    def __init__(self, arch: str):
        if arch == "x86_64":
            mode, self.bits, self.pc_reg = unicorn.UC_MODE_64, 64, "rip"
        elif arch == "i386":
            mode, self.bits, self.pc_reg = unicorn.UC_MODE_32, 32, "eip"
        else:
            raise CpuError(f"unsupported CPU architecture {arch!r}")
        self.arch = arch
        self._uch = uclib.open_engine(mode)
        weakref.finalize(self, uclib.close, self._uch)
        self._callbacks: list = []          # keep ctypes callbacks alive
        self._pending: BaseException | None = None
        self._stop: StopReason | None = None
        self._int80 = None
        self._fault_info: tuple | None = None
        self.insn_count = 0
        self.in_trap = False
        self._resume_adjust = 0
        self._add_hook(unicorn.UC_HOOK_INTR, _HOOK_INTR(self._on_intr))
        self._on_mem_invalid_cb = _HOOK_MEM_INVALID(self._on_mem_invalid)
        self._prot = ProtMap()
        _lib.uc_ctl(self._uch, _CTL_TLB_TYPE, ctypes.c_int(unicorn.UC_TLB_VIRTUAL))
        self._add_hook(unicorn.UC_HOOK_TLB_FILL, _HOOK_TLB_FILL(self._on_tlb_fill))
        self._switch: StopSwitch | None = None        # see make_preemptible
        self._code_ranges: list = []                  # see _mark_code
        self._code_hooks: list = []
        if arch == "i386":
            self._setup_flat_gdt()
        # Power-on/FNINIT state that programs rely on: 64-bit x87 precision, all
        # exceptions masked.  Unicorn leaves both at 0 (single precision, unmasked).
        self.set_reg("fpcw", 0x037F)
        self.set_reg("mxcsr", 0x1F80)

    # -- hooks -------------------------------------------------------------
    def _add_hook(self, htype: int, cb, *extra, begin: int = 1, end: int = 0) -> int:
        handle = ctypes.c_size_t()
        err = _lib.uc_hook_add(self._uch, ctypes.byref(handle), htype, cb, None,
                               ctypes.c_uint64(begin), ctypes.c_uint64(end), *extra)
        if err != unicorn.UC_ERR_OK:
            raise CpuError(f"uc_hook_add failed: {uclib.strerror(err)}")
        if not any(kept is cb for kept in self._callbacks):     # keep it alive, once
            self._callbacks.append(cb)
        return handle.value

    def _on_intr(self, _uc, intno, _user):
        if intno == 0x80 and self._int80 is not None:
            self._int80()
            return
        self._stop = StopReason("interrupt", intno=intno, pc=self.reg(self.pc_reg))
        _lib.uc_emu_stop(self._uch)

    def make_preemptible(self) -> bool:
        """Install the preemption hook (once) and retranslate so every block calls it.

        An instruction-count limit would also stop the engine exactly, but runs a
        hook per instruction, which makes guest code several times slower; the
        stop switch (see stopswitch) costs a native call per block.
        """
        if self._switch is None:
            self._switch = StopSwitch()
            self._add_hook(unicorn.UC_HOOK_BLOCK, ctypes.c_void_p(self._switch.address))
            _lib.uc_ctl(self._uch, _CTL_TB_FLUSH)
        return True

    def preempt(self) -> None:
        if self._switch is not None:
            self._switch.stop()

    def _on_mem_invalid(self, _uc, access, address, size, _value, _user):
        self._fault_info = (_ACCESS.get(access, "access"), address)
        return False

    def _on_tlb_fill(self, _uc, page, access, entry, _user):
        """Virtual TLB (see protmap): a page gets the rights it is mapped with, so data
        pages lack execute and take fast stores.  The access asked for is always
        granted here: unicorn then checks it against the mapping and reports an
        unmapped or protected page with its own precise error."""
        perms = self._prot.lookup(page)
        e = entry[0]
        e.paddr = page
        e.perms = (perms or 0) | _NEEDS.get(access, 0)
        return True

    def add_trap(self, kind: str, arg_regs: Sequence[str], result_reg: str,
                 handler: Callable[..., int | None]) -> None:
        n = len(arg_regs)
        ids = (ctypes.c_int * n)(*[_REGS[r] for r in arg_regs])
        vals = (ctypes.c_uint64 * n)()
        base = ctypes.addressof(vals)
        ptrs = (ctypes.c_void_p * n)(*[base + 8 * i for i in range(n)])
        result = ctypes.c_uint64()
        result_addr = ctypes.addressof(result)
        result_id = _REGS[result_reg]
        mask = (1 << self.bits) - 1
        read_batch, reg_write, uch = _lib.uc_reg_read_batch, _lib.uc_reg_write, self._uch
        # arguments as ready-made ctypes objects: ctypes then passes them without
        # converting a Python int at every call (a quarter of the trap's cost)
        n_arg, result_id, result_addr = ctypes.c_int(n), ctypes.c_int(result_id), ctypes.c_void_p(result_addr)
        # 32-bit registers still come back through 64-bit slots: zero them first
        # so the upper half never carries stale data.
        if self.bits == 32:
            ctypes.memset(vals, 0, 8 * n)

        def trap(*_unused):
            read_batch(uch, ids, ptrs, n_arg)
            self.in_trap = True
            try:
                r = handler(*vals)
            except BaseException as exc:       # surfaces from run()
                self._pending = exc
                _lib.uc_emu_stop(uch)
                return
            finally:
                self.in_trap = False
            if r is not None:
                result.value = r & mask
                reg_write(uch, result_id, result_addr)

        # unicorn shows the SYSCALL instruction's own address inside its hook,
        # but the address after INT 0x80 inside the interrupt hook
        self._resume_adjust = 2 if kind == "syscall" else 0
        if kind == "syscall":
            self._add_hook(unicorn.UC_HOOK_INSN, _HOOK_SYSCALL(trap),
                           ctypes.c_int(X.UC_X86_INS_SYSCALL))
        elif kind == "int80":
            self._int80 = trap
        else:
            raise CpuError(f"unknown trap kind {kind!r}")

    def resume_pc(self) -> int:
        """Inside a trap handler: where the guest continues when the handler returns."""
        return self.reg(self.pc_reg)

    def count_instructions(self) -> None:
        """Opt-in: count every executed instruction (slow: a hook per instruction)."""
        def on_code(_uc, _addr, _size, _user):
            self.insn_count += 1
        self._add_hook(unicorn.UC_HOOK_CODE, _HOOK_CODE(on_code))

    # -- memory ------------------------------------------------------------
    def mem_map(self, addr: int, size: int, prot: int) -> None:
        self._mem_op("map", _lib.uc_mem_map(self._uch, addr, size, _perms(prot)), addr, size)
        self._prot.set(addr, addr + size, _perms(prot))
        self._mark_code(addr, addr + size, prot)

    def mem_map_ptr(self, addr: int, size: int, prot: int, host_ptr: int) -> None:
        self._mem_op("map", _lib.uc_mem_map_ptr(self._uch, addr, size, _perms(prot), host_ptr), addr, size)
        self._prot.set(addr, addr + size, _perms(prot))
        self._mark_code(addr, addr + size, prot)

    def mem_unmap(self, addr: int, size: int) -> None:
        self._mem_op("unmap", _lib.uc_mem_unmap(self._uch, addr, size), addr, size)
        self._prot.set(addr, addr + size, None)
        self._mark_code(addr, addr + size, 0)

    def mem_protect(self, addr: int, size: int, prot: int) -> None:
        self._mem_op("protect", _lib.uc_mem_protect(self._uch, addr, size, _perms(prot)), addr, size)
        self._prot.update(addr, addr + size, _perms(prot))
        # unicorn drops TLB entries only when a page's write right changes
        _lib.uc_ctl(self._uch, _CTL_TLB_FLUSH)
        if prot & PROT_EXEC:
            # unicorn watches stores for self-modifying code only while a page is
            # executable: code written while it was not must be translated afresh
            _lib.uc_ctl(self._uch, _CTL_REMOVE_CACHE, ctypes.c_uint64(addr), ctypes.c_uint64(addr + size))
        self._mark_code(addr, addr + size, prot)

    @staticmethod
    def _mem_op(what: str, err: int, addr: int, size: int) -> None:
        if err != unicorn.UC_ERR_OK:
            raise CpuError(f"cannot {what} {size:#x} bytes at {addr:#x}: {uclib.strerror(err)}")

    def _mark_code(self, start: int, end: int, prot: int) -> None:
        """Keep one do-nothing fetch-protection hook over each executable range,
        after [start, end) became ``prot`` (0 when unmapped).

        Unicorn skips two pieces of self-modifying-code upkeep where a memory hook
        is installed: after translating a block it otherwise scans the whole TLB
        (thousands of entries, at every new block: a tenth of python3's start-up),
        and stores to such pages always take the checked path.  Bounded to the
        executable ranges, the hooks spare the scan, keep code pages checked, and
        leave data pages their fast stores.
        """
        if not prot & PROT_EXEC and not any(lo < end and start < hi for lo, hi in self._code_ranges):
            return          # no code came or went: most maps are data, and a walk costs
        ranges = self._prot.ranges_with(unicorn.UC_PROT_EXEC)
        if ranges == self._code_ranges:
            return
        for h in self._code_hooks:
            _lib.uc_hook_del(self._uch, ctypes.c_size_t(h))
        self._code_hooks = [self._add_hook(unicorn.UC_HOOK_MEM_FETCH_PROT, self._on_mem_invalid_cb,
                                           begin=lo, end=hi - 1) for lo, hi in ranges]
        self._code_ranges = ranges

    def mem_read(self, addr: int, size: int) -> bytes:
        buf = ctypes.create_string_buffer(size)
        if _lib.uc_mem_read(self._uch, addr, buf, size) != unicorn.UC_ERR_OK:
            raise MemoryFault(addr, size, "read")
        return buf.raw

    def mem_write(self, addr: int, data: bytes) -> None:
        if type(data) is not bytes:
            data = bytes(data)
        if _lib.uc_mem_write(self._uch, addr, data, len(data)) != unicorn.UC_ERR_OK:
            raise MemoryFault(addr, len(data), "write")

    def mem_regions(self):
        return uclib.mem_regions(self._uch)

    # -- registers ---------------------------------------------------------
    # Inside a SYSCALL hook unicorn holds RIP at the instruction itself and adds
    # its length after the hook returns; the program counter is presented here as
    # the address the guest resumes at, whether or not a trap is in progress.
    def reg(self, name: str) -> int:
        v = uclib.reg_read(self._uch, _REGS[name])
        if self.in_trap and name == self.pc_reg:
            v += self._resume_adjust
        return v

    def set_reg(self, name: str, value: int) -> None:
        if self.in_trap and name == self.pc_reg:
            value -= self._resume_adjust
        uclib.reg_write(self._uch, _REGS[name], value)

    def set_fs_base(self, value: int) -> None:
        uclib.reg_write(self._uch, X.UC_X86_REG_FS_BASE, value)

    def set_gs_base(self, value: int) -> None:
        uclib.reg_write(self._uch, X.UC_X86_REG_GS_BASE, value)

    def set_gdt_entry(self, index: int, base: int, limit: int, access: int, flags: int) -> None:
        desc = (limit & 0xFFFF) | ((base & 0xFFFFFF) << 16) | (access << 40) \
            | (((limit >> 16) & 0xF) << 48) | ((flags & 0xF) << 52) | (((base >> 24) & 0xFF) << 56)
        self.mem_write(self.GDT_ADDR + 8 * index, desc.to_bytes(8, "little"))

    def load_segment(self, name: str, selector: int) -> None:
        try:
            uclib.reg_write(self._uch, _REGS[name], selector)
        except uclib.UcError as e:
            raise CpuError(f"cannot load {name}={selector:#x}: {e}") from None

    def save_context(self):
        ctx = uclib.Context(self._uch)
        _lib.uc_context_save(self._uch, ctx.handle)
        return ctx

    def restore_context(self, ctx) -> None:
        """Load ``ctx`` as saved (callers inside a trap then set the pc with ``set_reg``)."""
        _lib.uc_context_restore(self._uch, ctx.handle)

    def _setup_flat_gdt(self) -> None:
        """Ring-3 flat code/data segments at Linux's compat selectors (0x23/0x2b)."""
        self.mem_map(self.GDT_ADDR, 0x1000, PROT_READ | PROT_WRITE)
        uclib.reg_write(self._uch, X.UC_X86_REG_GDTR, (0, self.GDT_ADDR, 0x1000 - 1, 0x0))
        # access: present | DPL | S | type ; flags: 4K granularity | 32-bit
        self.set_gdt_entry(4, 0, 0xFFFFF, 0xFA, 0xC)    # user code, DPL3
        self.set_gdt_entry(5, 0, 0xFFFFF, 0xF2, 0xC)    # user data, DPL3
        self.set_gdt_entry(6, 0, 0xFFFFF, 0x92, 0xC)    # ring-0 stack (unicorn runs at CPL0)
        self.load_segment("cs", 0x23)
        for seg in ("ds", "es", "fs", "gs"):
            self.load_segment(seg, 0x2B)
        self.load_segment("ss", 0x30)

    # -- running -----------------------------------------------------------
    def run(self, pc: int, count: int = 0) -> StopReason | None:
        self._stop = None
        self._pending = None
        if self._switch is not None:
            self._switch.idle()
        err = _lib.uc_emu_start(self._uch, pc, NO_END, 0, count)
        if self._pending is not None:
            exc, self._pending = self._pending, None
            raise exc
        if err == unicorn.UC_ERR_OK:
            return self._stop
        cur = self.reg(self.pc_reg)
        if err in _MEM_ERRORS:
            where = self._locate_fault(cur)
            if where is None:              # it ran this time: the map changed meanwhile
                if count == 1:
                    return self._stop
                return self.run(self.reg(self.pc_reg), max(count - 1, 0))
            return StopReason("fault", address=where[1], access=where[0], pc=cur)
        if err == unicorn.UC_ERR_INSN_INVALID:
            return StopReason("invalid-insn", pc=cur)
        if err == unicorn.UC_ERR_EXCEPTION:
            return self._stop or StopReason("interrupt", pc=cur, detail="unhandled CPU exception")
        return StopReason("internal", pc=cur, detail=uclib.strerror(err))

    def _locate_fault(self, pc: int) -> tuple[str, int] | None:
        """(access, address) of the memory fault at ``pc``, or None if it did not recur.

        Unicorn names the faulting address only to a memory-fault hook, and any such
        hook keeps every store on its slow path for good.  So the hook is installed
        only now, and the faulting instruction run once more under it: x86 faults
        are precise, so the retry meets the same fault (a string instruction resumes
        where it stopped).  The TLB is flushed first, because the fill hook lets any
        access into it so that unicorn makes the check itself.
        """
        _lib.uc_ctl(self._uch, _CTL_TLB_FLUSH)
        self._fault_info = None
        hook = self._add_hook(unicorn.UC_HOOK_MEM_INVALID, self._on_mem_invalid_cb)
        try:
            err = _lib.uc_emu_start(self._uch, pc, NO_END, 0, 1)
        finally:
            _lib.uc_hook_del(self._uch, ctypes.c_size_t(hook))
            _lib.uc_ctl(self._uch, _CTL_TLB_FLUSH)
        if err == unicorn.UC_ERR_OK:
            return None
        return self._fault_info or (_MEM_ERRORS.get(err, "access"), pc)

    def stop(self) -> None:
        _lib.uc_emu_stop(self._uch)


_cpuid_cache: dict[tuple[int, int], tuple[int, int, int, int]] = {}


def cpuid(leaf: int, sub: int = 0) -> tuple[int, int, int, int]:
    """(eax, ebx, ecx, edx) of CPUID ``leaf``/``sub`` as unicorn's CPU model reports it.

    Runs the instruction once in a scratch engine (about 0.3 ms), so that the
    personality can tell the guest the same feature bits (AT_HWCAP) the CPU will
    show it, and the virtual PC (hw/cpuid.py) can answer from the same model less
    what its machine lacks.
    """
    key = (leaf, sub)
    if key not in _cpuid_cache:
        uch = uclib.open_engine(unicorn.UC_MODE_64)
        try:
            _lib.uc_mem_map(uch, 0x1000, 0x1000, unicorn.UC_PROT_ALL)
            _lib.uc_mem_write(uch, 0x1000, b"\x0f\xa2", 2)
            uclib.reg_write(uch, X.UC_X86_REG_RAX, leaf)
            uclib.reg_write(uch, X.UC_X86_REG_RCX, sub)
            _lib.uc_emu_start(uch, 0x1000, 0x1002, 0, 0)
            _cpuid_cache[key] = tuple(uclib.reg_read(uch, r) for r in (X.UC_X86_REG_EAX, X.UC_X86_REG_EBX,
                                                                       X.UC_X86_REG_ECX, X.UC_X86_REG_EDX))
        finally:
            uclib.close(uch)
    return _cpuid_cache[key]
