"""A Windows guest process: the mapped PE, its environment blocks, the API thunks
and the run loop.

Every imported function is bound to a 16-byte stub on the thunk pages::

    x64:  mov eax, MAGIC|index ; syscall ; ret
    x86:  mov eax, MAGIC|index ; int 0x80 ; ret N     (N: what a stdcall callee pops)

so a call into the API costs one trap, the same raw-ctypes path the Linux
personality's syscalls use (hw.cpu ``add_trap``), and nothing hooks ordinary
guest instructions.  The handler fetches the arguments the export declares
(rcx, rdx, r8, r9 then the stack on x64; the stack on x86), calls the Python
implementation and the stub's ``ret`` returns to the caller.

An implementation that must call back into the guest (``_initterm``,
``atexit`` handlers, TLS callbacks, the entry point itself) is a generator that
yields ``Call(fn, args)``: the dispatcher builds a call frame below the stub's
stack, sends the guest there with a return address on the RESUME stub, and
resumes the generator with the guest function's result when it traps there.
"""
from __future__ import annotations

import collections
import dataclasses
import os
import struct
import time
import types

from hw.cpu import PROT_READ, PROT_WRITE, PROT_EXEC, make_cpu
from loader import pe as peloader
from loader.errors import LoaderError
from personalities.guestmem import GuestFault, GuestMemory
from . import apisets, cmdline, modules, seh, teb as tebmod, threads
from .errors import (AccessViolation, NotImplementedApi, ProcessExit, STATUS_ACCESS_VIOLATION,
                     STATUS_ILLEGAL_INSTRUCTION, STATUS_INTEGER_DIVIDE_BY_ZERO, STATUS_BREAKPOINT)
from .handles import FileObject, HandleTable
from .heap import Heap
from .paths import PathMapper
from .spec import Export, VarArgs
from .vmem import AddressSpace, MEM_IMAGE

MAGIC = 0x47000000
STUB = 16
THUNK_AREA = 1 << 20
STACK_SIZE = 1 << 20
NOT_IMPLEMENTED_STATUS = 122      # guise's "not implemented yet" status (guise/exitcodes.py)
INTERNAL_STATUS = 125
U32 = frozenset(("int", "uint", "long", "bool", "word"))


@dataclasses.dataclass
class Call:
    """Yielded by a generator implementation: call guest ``fn`` with ``args``."""
    fn: int
    args: tuple = ()
    at: int = 0             # set on entry: where its return address (the RESUME stub) sits


@dataclasses.dataclass
class Bound:
    label: str                       # DLL!Name as the program imported it
    export: Export | None
    reader: object = None
    impl: object = None


@dataclasses.dataclass
class Result:
    exit_status: int | None = None
    signal: int | None = None
    message: str = ""
    guise_status: int | None = None
    syscalls: dict = dataclasses.field(default_factory=dict)      # API calls, by DLL!Name
    unimplemented: dict = dataclasses.field(default_factory=dict)
    instructions: int | None = None
    wall: float = 0.0


class Module:
    """An emulated DLL as the process sees it: a handle (a mapped header page) and
    the thunks/data already handed out for its exports."""

    def __init__(self, dll, base: int):
        self.dll = dll
        self.base = base
        self.addresses: dict[str, int] = {}


class WindowsProcess:
    def __init__(self, image, path: bytes, argv: list[bytes], envp: list[bytes], fs, *,
                 tracer=None, count_instructions: bool = False, jail=None, base: int | None = None):
        self.image = image
        self.info: peloader.PeInfo = image.details["pe"]
        self.bits = image.bits
        self.ptr = self.bits // 8
        self.fs = fs
        self.jail = jail
        self.tracer = tracer
        self.count_instructions = count_instructions
        self.cpu = make_cpu(image.arch)
        self.mem = GuestMemory(self.cpu, self.bits)
        self.space = AddressSpace(self.cpu, self.bits)
        self.paths = PathMapper(fs)
        self.handles = HandleTable()
        self.counts: collections.Counter = collections.Counter()
        self.unimpl: collections.Counter = collections.Counter()
        self.bound: list[Bound] = []
        self.modules: dict[str, Module] = {}      # canonical name -> Module
        self.pending: list = []                   # generator frames waiting on guest calls
        self.state: dict = {}                     # per-DLL state (CRT streams, atexit list...)
        self._deferred: list | None = []          # data-export initialisers waiting for the PEB
        self.pid = os.getpid()
        self.tid = self.pid + 1
        self.exe_guest = image.details.get("resolved") or fs.absolute(path)
        self.argv = [os.fsdecode(a) for a in argv]
        self.env = windows_environment([os.fsdecode(e) for e in envp], self.bits)
        self._build(base)
        threads.attach(self)

    # -- building the process ---------------------------------------------------
    def _build(self, base: int | None) -> None:
        info, image = self.info, self.image
        want = info.image_base if base is None else base
        if not self.space.is_free(want, want + info.size_of_image):
            want = self.space.find_free(info.size_of_image, top_down=False)
        if want != info.image_base:
            try:
                peloader.relocate(image, want)
            except LoaderError as e:
                raise ExecFailure(str(e), 126) from None
        self.image_base = want
        self.space.reserve(want, info.size_of_image, 0, name="[image]")   # keep the heap out
        self.thunk_base = self.space.find_free(THUNK_AREA, top_down=True)
        self.space.map(self.thunk_base, THUNK_AREA, PROT_READ | PROT_EXEC, name="[api thunks]")
        self.heap = Heap(self.space)
        self._install_trap()
        self.resume_stub = self._stub(Bound("[resume]", None, impl=self._resume))
        self.boot_stub = self._stub(Bound("[boot]", None, impl=self._boot))
        self._bind_imports()
        modules.map_pe(self, image, want, os.fsdecode(self.exe_guest))
        self._build_environment()
        deferred, self._deferred = self._deferred, None
        for init, addr in deferred:
            init(self, addr)

    def _alloc(self, size: int) -> int:
        return self.heap.alloc(size, zero=True)

    def tls_array(self) -> int:
        """A thread's ThreadLocalStoragePointer: the image's TLS template copied for it."""
        tls_array = self._alloc(self.ptr * 64)
        t = self.info.tls
        if t is not None:
            tmpl = self.mem.read(self.image_base + t.raw_start, t.raw_end - t.raw_start) \
                if t.raw_end > t.raw_start else b""
            block = self._alloc(len(tmpl) + t.zero_fill + 16)
            self.mem.write(block, tmpl)
            self.mem.put_ptr(tls_array, block)
        modules.fill_tls(self, tls_array)
        return tls_array

    def _build_environment(self) -> None:
        info = self.info
        # the main thread's stack (reserve from the header, at least 1 MiB)
        size = max(STACK_SIZE, (info.stack_reserve + 0xFFFF) & ~0xFFFF)
        lo = self.space.find_free(size)
        self.space.map(lo, size, PROT_READ | PROT_WRITE, name="[stack]")
        self.stack_lo, self.stack_hi = lo, lo + size
        tls_array = self.tls_array()
        if info.tls is not None and info.tls.index_rva:
            self.mem.put_u32(self.image_base + info.tls.index_rva, 0)
        # standard handles share guise's own descriptors 0, 1, 2
        self.std = [self.handles.add(FileObject(fd, ("CONIN$", "CONOUT$", "CONOUT$")[fd], owned=False))
                    for fd in (0, 1, 2)]
        b = tebmod.Builder(self.mem, self.bits, self._alloc)
        self.exe_windows = self.paths.to_windows(self.exe_guest)
        self.command_line = cmdline.build([self.exe_windows] + self.argv[1:])
        env_block = self._alloc(2)
        params = b.params(self.command_line, self.exe_windows, self.paths.cwd(), env_block, tuple(self.std))
        short = self.exe_windows.rsplit("\\", 1)[-1]
        ldr = b.ldr([(self.image_base, self.image_base + self.image.entry, self.info.size_of_image,
                      self.exe_windows, short)])
        self.peb = b.peb(self.image_base, self.heap.base, params, ldr)
        self.ldr = ldr
        modules.list_loaded(self)
        self.teb = b.teb(self.peb, self.stack_lo, self.stack_hi, tls_array, self.pid, self.tid)
        self.layout = b.L
        if self.bits == 64:
            self.cpu.set_gs_base(self.teb)
        else:
            # Windows' own selector for fs: GDT entry 7, a data segment based at the TEB
            self.cpu.set_gdt_entry(7, self.teb, 0xFFF, 0xF2, 0x4)
            self.cpu.load_segment("fs", 0x3B)

    # -- thunks -------------------------------------------------------------------
    def _install_trap(self) -> None:
        bound = self.bound
        counts = self.counts
        if self.bits == 64:
            def trap(rax, rcx, rdx, r8, r9, rsp):
                idx = rax - MAGIC
                if not 0 <= idx < len(bound):
                    raise StrayTrap(rax)
                b = bound[idx]
                counts[idx] += 1
                r = b.impl(self, *b.reader(rcx, rdx, r8, r9, rsp))
                if type(r) is types.GeneratorType:
                    return self._start_frame(r, rsp)
                if type(r) is float:         # the stub moves rax into xmm0
                    return struct.unpack("<Q", struct.pack("<d", r))[0]
                return r
            self.cpu.add_trap("syscall", ("rax", "rcx", "rdx", "r8", "r9", "rsp"), "rax", self._guard(trap))
        else:
            def trap(eax, esp):
                idx = eax - MAGIC
                if not 0 <= idx < len(bound):
                    raise StrayTrap(eax)
                b = bound[idx]
                counts[idx] += 1
                r = b.impl(self, *b.reader(esp))
                if type(r) is types.GeneratorType:
                    return self._start_frame(r, esp)
                if type(r) is float:         # the stub loads edx:eax into st(0)
                    bits = struct.unpack("<Q", struct.pack("<d", r))[0]
                    self.cpu.set_reg("edx", bits >> 32)
                    return bits & 0xFFFFFFFF
                return r
            self.cpu.add_trap("int80", ("eax", "esp"), "eax", self._guard(trap))
        if self.count_instructions:
            self.cpu.count_instructions()

    def _guard(self, trap):
        def guarded(*regs):
            try:
                return trap(*regs)
            except GuestFault as e:
                raise AccessViolation(e.address, e.write) from None
        return guarded

    def _stub(self, b: Bound) -> int:
        idx = len(self.bound)           # shared by all threads' views of the process
        addr = self.thunk_base + STUB * idx
        if addr + STUB > self.thunk_base + THUNK_AREA:
            raise ExecFailure("too many imported functions for the thunk area", 126)
        if b.reader is None:
            b.reader = self._reader(b.export)
        if b.impl is None:
            b.impl = self._impl(b)
        self.bound.append(b)
        code = b"\xb8" + struct.pack("<I", MAGIC + idx)
        if b.impl is WindowsProcess._resume:
            # the guest function's result is in rax/eax, which the stub needs for the
            # index: keep it in r10 (x64) / ecx (x86), both volatile in every convention
            code = (b"\x49\x89\xc2" if self.bits == 64 else b"\x89\xc1") + code
        double = b.export is not None and b.export.ret == "double"
        if self.bits == 64:
            # movq xmm0, rax for a double result
            code += b"\x0f\x05" + (b"\x66\x48\x0f\x6e\xc0" if double else b"") + b"\xc3"
        else:
            pop = 4 * b.export.slots(32) if (b.export is not None and b.export.conv == "stdcall") else 0
            # push edx; push eax; fld qword [esp]; add esp, 8 for a double result in st(0)
            code += b"\xcd\x80" + (b"\x52\x50\xdd\x04\x24\x83\xc4\x08" if double else b"") \
                + (b"\xc2" + struct.pack("<H", pop) if pop else b"\xc3")
        self.cpu.mem_write(addr, code.ljust(STUB, b"\xcc"))
        return addr

    def _impl(self, b: Bound):
        exp = b.export
        if exp is None or exp.impl is None:
            label = b.label

            def missing(p, *_args):
                p.unimpl[label] += 1
                raise NotImplementedApi(label)
            return missing
        if self.tracer is not None:
            from .trace import traced
            return traced(self.tracer, b.label, exp)
        return exp.impl

    def _reader(self, exp: Export | None):
        """A function from the trap's registers to the declared argument values."""
        kinds = [k for k in (exp.args if exp is not None else ()) if k != "..."]
        variadic = exp is not None and exp.variadic
        mem, bits = self.mem, self.bits
        floats = [i for i, k in enumerate(kinds) if k == "f64"]
        cpu = self.cpu
        if bits == 64:
            n = len(kinds)
            masks = tuple(0xFFFFFFFF if k in U32 else 0xFFFFFFFFFFFFFFFF for k in kinds)

            def read(rcx, rdx, r8, r9, rsp):
                regs = (rcx, rdx, r8, r9)
                if n <= 4:
                    vals = regs[:n]
                else:
                    vals = regs + struct.unpack(f"<{n - 4}Q", mem.read(rsp + 40, 8 * (n - 4)))
                vals = tuple(v & m for v, m in zip(vals, masks))
                if floats:            # the first four doubles travel in xmm0-3, not the integer registers
                    vals = list(vals)
                    for i in floats:
                        raw = cpu.reg(f"xmm{i}") & 0xFFFFFFFFFFFFFFFF if i < 4 else vals[i]
                        vals[i] = struct.unpack("<d", struct.pack("<Q", raw))[0]
                    vals = tuple(vals)
                if variadic:
                    def slot(i, regs=regs, rsp=rsp):
                        return regs[i] if i < 4 else mem.u64(rsp + 8 + 8 * i)
                    return vals + (VarArgs(slot, 64, n),)
                return vals
            return read
        slots = exp.slots(32) if exp is not None else 0
        wide = [k in ("i64", "f64") for k in kinds]
        any_wide = any(wide)
        fmt = f"<{slots}I"
        size = 4 * slots

        def read32(esp):
            raw = struct.unpack(fmt, mem.read(esp + 4, size)) if slots else ()
            if any_wide:
                vals, i = [], 0
                for w in wide:
                    if w:
                        vals.append(raw[i] | raw[i + 1] << 32)
                        i += 2
                        if kinds[len(vals) - 1] == "f64":
                            vals[-1] = struct.unpack("<d", struct.pack("<Q", vals[-1]))[0]
                    else:
                        vals.append(raw[i])
                        i += 1
                raw = tuple(vals)
            if variadic:
                return raw + (VarArgs(lambda i, esp=esp: mem.u32(esp + 4 + 4 * i), 32, slots),)
            return raw
        return read32

    # -- imports and modules ----------------------------------------------------------
    def module(self, dll_name: str) -> Module | None:
        """The emulated module for an imported or LoadLibrary'd name, mapped on first use."""
        from .dlls import find_dll
        canon = apisets.canonical(dll_name)
        mod = self.modules.get(canon)
        if mod is not None:
            return mod
        dll = find_dll(canon)
        if dll is None:
            return None
        base = self.space.find_free(0x10000, top_down=True)
        self.space.map(base, 0x1000, PROT_READ, name=dll.name, kind=MEM_IMAGE)
        self.cpu.mem_write(base, b"MZ")            # a module handle that points at a header
        mod = Module(dll, base)
        self.modules[canon] = mod
        return mod

    def resolve(self, dll_name: str, name: str | None, ordinal: int | None = None,
                missing_ok: bool = True) -> int:
        """The address an import (or GetProcAddress) gets: a data export's storage or
        a stub; an unknown export gets a stub that stops when called (0 if not
        ``missing_ok``, for GetProcAddress)."""
        mod = self.module(dll_name)
        if mod is not None and name is None and ordinal is not None:
            name = mod.dll.ordinals.get(ordinal)
        label = f"{dll_name}!{name if name is not None else '#%d' % ordinal}"
        if mod is not None:
            key = name
            if key in mod.addresses:
                return mod.addresses[key]
            exp = mod.dll.exports.get(name) if name is not None else None
            if exp is None and not missing_ok:
                return 0
            if exp is not None and exp.data:
                addr = self._alloc(exp.data)
                mod.addresses[key] = addr
                if exp.init is not None:
                    if self._deferred is not None:       # still building: after the environment
                        self._deferred.append((exp.init, addr))
                    else:
                        exp.init(self, addr)
                return addr
            addr = self._stub(Bound(label, exp))
            mod.addresses[key] = addr
            return addr
        if not missing_ok:
            return 0
        return self._stub(Bound(label, None))

    def _bind_imports(self) -> None:
        """Emulated DLLs' exports, and the program's own DLLs loaded (modules.py)."""
        try:
            modules.bind_imports(self, self.image)
        except modules.LoadFailure as e:
            raise ExecFailure(str(e), e.status) from None
        modules.pin_all(self)

    # -- calls back into the guest --------------------------------------------------
    def _start_frame(self, gen, sp: int):
        """An implementation returned a generator: remember where its stub returns."""
        frame = [gen, sp, self.cpu.resume_pc()]
        self.pending.append(frame)
        return self._advance(frame, None)

    def _advance(self, frame, value):
        gen, sp, ret_pc = frame
        try:
            req = gen.send(value)
        except StopIteration as stop:
            self.pending.pop()
            self.cpu.set_reg("rsp" if self.bits == 64 else "esp", sp)
            self.cpu.set_reg(self.cpu.pc_reg, ret_pc)
            return stop.value
        self._enter_guest(req, sp)
        return None

    def _enter_guest(self, req: Call, sp: int) -> None:
        cpu, mem = self.cpu, self.mem
        base = (sp - 0x100) & ~0xF
        if self.bits == 64:
            args = list(req.args)
            for i, reg in enumerate(("rcx", "rdx", "r8", "r9")):
                cpu.set_reg(reg, args[i] if i < len(args) else 0)
            extra = args[4:]
            base -= (8 * len(extra) + 15) & ~15
            for i, v in enumerate(extra):
                mem.put_u64(base + 0x20 + 8 * i, v)
            mem.put_u64(base - 8, self.resume_stub)
            req.at = base - 8
            cpu.set_reg("rsp", base - 8)
        else:
            args = list(req.args)
            top = base - 4 * len(args)
            for i, v in enumerate(args):
                mem.put_u32(top + 4 * i, v)
            mem.put_u32(top - 4, self.resume_stub)
            req.at = top - 4
            cpu.set_reg("esp", top - 4)
        cpu.set_reg(cpu.pc_reg, req.fn)

    @staticmethod
    def _resume(p, *_args):
        """The RESUME stub: a guest function called for a generator returned here."""
        value = p.cpu.reg("r10" if p.bits == 64 else "ecx")
        if not p.pending:
            raise StrayTrap(0)
        return p._advance(p.pending[-1], value)

    @staticmethod
    def _boot(p, *_args):
        """Process start: the program's DLLs initialised, its TLS callbacks
        (DLL_PROCESS_ATTACH), then the entry point;
        returning from it ends the process with its result, as RtlUserThreadStart does."""
        if not (yield from modules.initialise(p, modules.STATIC)):
            raise ProcessExit(modules.STATUS_DLL_INIT_FAILED)
        base = p.image_base
        if p.info.tls is not None:
            for cb in p.info.tls.callbacks:
                yield Call(base + cb, (base, 1, 0))
        code = yield Call(base + p.image.entry, (p.peb,))
        yield from modules.detach_all(p)
        raise ProcessExit(code & 0xFFFFFFFF)

    # -- per-thread state the APIs use ----------------------------------------------
    def set_last_error(self, code: int) -> None:
        self.mem.put_u32(self.teb + self.layout.last_error, code)

    def last_error(self) -> int:
        return self.mem.u32(self.teb + self.layout.last_error)

    # -- running ----------------------------------------------------------------------
    def run(self) -> Result:
        t0 = time.perf_counter()
        try:
            res = threads.run_main(self, self.boot_stub)
        finally:
            self._shutdown()
            threads.leave(self)
        res.wall = time.perf_counter() - t0
        for idx, c in self.counts.items():
            label = self.bound[idx].label
            if not label.startswith("["):
                res.syscalls[label] = res.syscalls.get(label, 0) + c
        res.unimplemented = dict(self.unimpl)
        if self.count_instructions:
            res.instructions = self.cpu.insn_count
        return res

    def outcome(self, pc: int) -> Result | None:
        """Run this thread from ``pc`` (at the top of its stack) to its end: the
        Result when it ended the process, None when only the thread ended."""
        res = Result()
        sp = self.stack_hi - 0x100 - self.ptr
        self.cpu.set_reg("rsp" if self.bits == 64 else "esp", sp)
        self.mem.put_ptr(sp, 0)
        try:
            stop = threads.loop(self, pc)
            self._classify(stop, res)
        except threads.ThreadDone as e:
            return threads.ended(self, e.code)
        except threads.ProcessEnding:
            return None
        except seh.Unhandled as e:
            res.exit_status, res.message = e.code & 0xFF, str(e)
        except ProcessExit as e:
            res.exit_status = e.code & 0xFF
        except NotImplementedApi as e:
            res.guise_status, res.message = NOT_IMPLEMENTED_STATUS, str(e)
        except AccessViolation as e:
            res.exit_status = STATUS_ACCESS_VIOLATION & 0xFF
            res.message = f"unhandled exception {STATUS_ACCESS_VIOLATION:#x} (access violation) in an " \
                          f"API call: bad address {e.address:#x}"
        except StrayTrap as e:
            res.exit_status = STATUS_ILLEGAL_INSTRUCTION & 0xFF
            res.message = f"the program made a system call itself (eax {e.value:#x}); Windows programs " \
                          f"go through the API"
        return res

    def _shutdown(self) -> None:
        """Flush what the CRT still buffers (exit() did it already when it was called)."""
        from .dlls import crt_stdio
        try:
            crt_stdio.flush_all(self)
        except Exception:
            pass

    def _classify(self, stop, res: Result) -> None:
        if stop.kind == "fault":
            code = STATUS_ACCESS_VIOLATION
            res.message = f"unhandled exception {code:#x} (access violation): {stop.access} at " \
                          f"{stop.address:#x} (pc {stop.pc:#x})"
        elif stop.kind == "interrupt" and stop.intno == 0:
            code = STATUS_INTEGER_DIVIDE_BY_ZERO
            res.message = f"unhandled exception {code:#x} (integer divide by zero) at pc {stop.pc:#x}"
        elif stop.kind == "interrupt" and stop.intno == 3:
            code = STATUS_BREAKPOINT
            res.message = f"unhandled exception {code:#x} (breakpoint) at pc {stop.pc:#x}"
        elif stop.kind in ("invalid-insn", "interrupt"):
            code = STATUS_ILLEGAL_INSTRUCTION
            res.message = f"unhandled exception {code:#x} (illegal instruction) at pc {stop.pc:#x}"
        else:
            res.guise_status, res.message = INTERNAL_STATUS, f"internal CPU error at {stop.pc:#x}: {stop.detail}"
            return
        res.exit_status = code & 0xFF


# what a fresh Windows has for the variables whose host (Linux) values mean nothing to a
# Windows program; everything else in the caller's environment passes through
WINDOWS_ENV = {"PATH": "C:\\Windows\\system32;C:\\Windows", "TEMP": "C:\\Temp", "TMP": "C:\\Temp",
               "SystemRoot": "C:\\Windows", "windir": "C:\\Windows", "SystemDrive": "C:",
               "ComSpec": "C:\\Windows\\system32\\cmd.exe", "PATHEXT": ".COM;.EXE;.BAT;.CMD", "OS": "Windows_NT"}
# the processor as a 64-bit Windows shows it to a 64-bit and to a 32-bit (WOW64) process
PROCESSOR_ENV = {64: {"PROCESSOR_ARCHITECTURE": "AMD64"},
                 32: {"PROCESSOR_ARCHITECTURE": "x86", "PROCESSOR_ARCHITEW6432": "AMD64"}}


def windows_environment(env: list[str], bits: int) -> list[str]:
    fixed = {**WINDOWS_ENV, **PROCESSOR_ENV[bits]}
    names = {k.upper() for k in fixed} | {k.upper() for k in PROCESSOR_ENV[32]}
    kept = [e for e in env if e.partition("=")[0].upper() not in names]
    return kept + [f"{k}={v}" for k, v in fixed.items()]


class StrayTrap(Exception):
    """A syscall/int 0x80 outside the thunk stubs."""

    def __init__(self, value: int):
        super().__init__(f"stray trap {value:#x}")
        self.value = value


class ExecFailure(Exception):
    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status
