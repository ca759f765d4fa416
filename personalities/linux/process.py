"""A Linux guest process: CPU, address space, descriptors, and its run loop.

One guest process is one host (emulator) process; see ARCHITECTURE.md.
"""
from __future__ import annotations

import collections
import copy
import dataclasses
import os
import signal as hostsig
import threading
import time

from hw.cpu import make_cpu, PROT_READ, PROT_WRITE, PROT_EXEC, page_down, page_up
from hw.cpu.unicorn_cpu import cpuid
from loader import LoaderError, load_image
from loader.mapping import map_image
from personalities.guestmem import GuestMemory
from .abi import ABIS
from .dispatch import build_table, make_dispatch, make_traced_dispatch
from .fdtable import FdTable
from .mm import AddressSpace
from .threads import ThreadGroup
from . import signals, hostcall
from personalities.guestmem import GuestFault
from . import stack as stk

STACK_SIZE = 8 << 20
ENOSYS = 38

# CPU exception vector -> the signal Linux sends for it
VECTOR_SIGNALS = {0: hostsig.SIGFPE, 1: hostsig.SIGTRAP, 3: hostsig.SIGTRAP, 4: hostsig.SIGSEGV,
                  5: hostsig.SIGSEGV, 6: hostsig.SIGILL, 7: hostsig.SIGFPE, 13: hostsig.SIGSEGV,
                  14: hostsig.SIGSEGV, 16: hostsig.SIGFPE, 17: hostsig.SIGBUS, 19: hostsig.SIGFPE}


class ExecError(Exception):
    """The program could not be started; ``status`` is guise's exit status for it."""

    def __init__(self, message: str, status: int, errno: int | None = None):
        super().__init__(message)
        self.status = status
        # what execve(2) returns for the same failure
        self.errno = errno if errno is not None else (2 if status == 127 else 8)


@dataclasses.dataclass
class ProcessResult:
    exit_status: int | None = None      # set when the guest exited normally
    signal: int | None = None           # set when the guest died by a signal
    message: str = ""                   # one line explaining a fault / stop
    guise_status: int | None = None     # a guise-specific status (unsupported insn, internal)
    syscalls: dict = dataclasses.field(default_factory=dict)
    unimplemented: dict = dataclasses.field(default_factory=dict)
    instructions: int | None = None
    wall: float = 0.0


class LinuxProcess:
    def __init__(self, arch: str, fs, *, tracer=None, count_instructions: bool = False, jail=None):
        self.abi = ABIS[arch]
        self.fs = fs
        self.jail = jail                 # sandbox.jail.Jail, or None when unjailed
        self.fds = FdTable.inherited(std_only=jail is not None)
        self.cpu = make_cpu(arch)
        self.mem = GuestMemory(self.cpu, self.abi.bits)
        self.mm = AddressSpace(self.cpu, self.abi.bits)
        self.pid = os.getpid()
        self.exe = b""
        self.argv: list[bytes] = []
        self.envp: list[bytes] = []
        self.auxv = b""
        self.exit_status: int | None = None
        self.sigactions: dict[int, bytes] = {}
        self.tls_slots: dict[int, bytes] = {}
        self.clear_child_tid = 0
        self.cleanup: list = []          # callables run when the process ends
        self.unimpl = collections.Counter()
        self.entries, self.decls = build_table(self.abi)
        if jail is not None:
            self._enter_jail(jail)
        self.counts = [0] * len(self.entries)
        self.tracer = tracer
        self.count_instructions = count_instructions
        self._install_trap()
        self.pc = 0
        self.tid = self.pid
        self.thread_done = False
        self.group = ThreadGroup(self)
        self.forked_in_thread = False    # set in a child forked by a non-main host thread
        self.pending = 0                 # signals waiting for this thread (bit sig-1)
        self.sig_flag = False            # something may be deliverable: checked after each syscall
        self.blocking = False            # inside a blocking host call (a signal interrupts it)
        self.shadow: dict = {}           # signal frame address -> saved CPU context
        self.sig_codes: dict = {}        # si_code of pending signals other than SI_USER
        self.sig_infos: dict = {}        # host-layout siginfo of pending signals that came with one
        # the mask is inherited across execve: the guest starts with the one the emulator got
        self.sigmask = self.host_mask = signals.initial_mask()   # host_mask: see signals.mirror_mask
        self.altstack_info = None
        self.replacement: "LinuxProcess | None" = None   # set by execve, run next
        self.history: list[tuple] = []                   # (abi, counts, unimpl) of earlier images

    def _enter_jail(self, jail) -> None:
        """The jail's policy and audit wrap this image's syscall table; its limits
        meter descriptors and memory (shared by all the jail's processes)."""
        from .confine import confine
        self.entries = confine(self.entries, self.decls, self.abi, jail)
        limits = jail.limits
        if limits is not None:
            self.fds.quota = limits if limits.limit("files") is not None else None
            AddressSpace.quota = limits if limits.limit("mem") is not None else None

    def _install_trap(self) -> None:
        """Route this thread's CPU traps to the handlers, with this object as ``p``."""
        if self.tracer is None:
            dispatch = make_dispatch(self, self.entries, self.counts)
        else:
            dispatch = make_traced_dispatch(self, self.entries, self.decls, self.counts, self.tracer)
        self.cpu.add_trap(self.abi.trap, self.abi.arg_regs, self.abi.result_reg, dispatch)
        if self.count_instructions:
            self.cpu.count_instructions()

    # -- syscall plumbing ------------------------------------------------------
    def unimplemented(self, nr: int) -> int:
        self.unimpl[nr] += 1
        return -ENOSYS

    def syscall_name(self, nr: int) -> str:
        return self.abi.names.get(nr, f"syscall_{nr}")

    def fs_path_of_fd(self, host: int) -> bytes:
        return self.fds.names.get(host) or self.fs.fd_path(host)

    def exit(self, status: int) -> None:
        """exit_group: the whole process ends with ``status``."""
        self.exit_status = status & 0xFF
        self.group.exit_status = self.exit_status
        self.thread_done = True
        self.cpu.stop()
        if threading.current_thread() is not threading.main_thread():
            self._end_from_thread(self._result(None, 0.0))

    def thread_exit(self, status: int) -> None:
        """exit(2): this thread ends; the process ends with its last thread."""
        if not self.group.multi:
            self.exit(status)
            return
        self.thread_done = True
        self.thread_status = status & 0xFF
        if self.clear_child_tid:
            try:
                from .syscalls.futex import host_word, FUTEX_WAKE
                self.mem.put_u32(self.clear_child_tid, 0)
                hostcall.futex(host_word(self, self.clear_child_tid), FUTEX_WAKE, 1, None, 0, 0)
            except (OSError, GuestFault):
                pass
        self.cpu.stop()

    def _end_from_thread(self, result: "ProcessResult") -> None:
        """A thread other than the emulator's main thread ended the process."""
        group = self.group
        result.wall = time.perf_counter() - group.started
        group.result = result
        if group.finisher is not None:
            group.finisher(result)
        group.done.set()

    # -- threads -----------------------------------------------------------------
    def spawn_thread(self, stack: int, tls: int | None, ptid: int, ctid: int, set_ctid: bool,
                     clear_ctid: bool) -> int:
        """clone(CLONE_VM|CLONE_THREAD): a new engine over the same memory, a new host thread."""
        limits = self.jail.limits if self.jail is not None else None
        if limits is not None:
            limits.thread_started()            # EAGAIN at the jail's procs limit
        child = copy.copy(self)
        child.cpu = make_cpu(self.abi.arch)
        child.mem = GuestMemory(child.cpu, self.abi.bits)
        child.cpu.restore_context(self.cpu.save_context())
        child.tls_slots = dict(self.tls_slots)
        for entry, (base, limit, flags) in child.tls_slots.items():
            from .syscalls.process import write_tls_descriptor
            write_tls_descriptor(child, entry, base, limit, flags)
        self.mm.add_cpu(child.cpu)
        child._install_trap()
        child.cpu.set_reg(self.abi.result_reg, 0)
        if stack:
            child.cpu.set_reg("rsp" if self.abi.bits == 64 else "esp", stack)
        if tls is not None:
            from .syscalls.lifecycle import set_tls
            set_tls(child, tls)
        child.pc = self.cpu.resume_pc()
        child.thread_done = False
        child.clear_child_tid = ctid if clear_ctid else 0
        child.replacement = None
        child.forked_in_thread = False
        child.pending, child.sig_flag, child.blocking = 0, False, False
        child.shadow, child.altstack_info, child.sig_codes, child.sig_infos = {}, None, {}, {}
        child.host_mask = -1             # a new host thread: mirror the mask on its first change
        started = threading.Event()

        def host_thread():
            child.tid = threading.get_native_id()
            signals.mirror_mask(child)    # the host thread starts with its creator's mask, less glibc's SIGCANCEL
            started.set()
            self.group.bel.acquire(child)
            try:
                stop = child._thread_loop()
                if child.forked_in_thread:
                    # this thread forked: in the child it is the whole process
                    res = child._finish_run(stop, time.perf_counter())
                    child._end_from_thread(res)
                    os._exit(res.exit_status if res.exit_status is not None else 128 + (res.signal or 0))
            finally:
                if limits is not None:
                    limits.thread_ended()
                self.group.threads.pop(child.tid, None)
                self.mm.remove_cpu(child.cpu)
                if not self.group.threads and self.group.exit_status is None:
                    self.group.exit_status = getattr(child, "thread_status", 0)
                    self.group.done.set()
                self.group.bel.release()

        t = threading.Thread(target=host_thread, name="guise-guest-thread", daemon=True)
        t.start()
        started.wait()
        self.group.threads[child.tid] = child
        if ptid:
            self.mem.put_u32(ptid, child.tid)
        if set_ctid and ctid:
            self.mem.put_u32(ctid, child.tid)
        self.cpu.stop()      # come back to the run loop, which now runs in slices
        return child.tid

    def _thread_loop(self):
        """Run this thread's engine until it exits, yielding the CPU when preempted."""
        pc = self.pc
        while True:
            stop = self.cpu.run(pc, self.group.slice_limit(self))
            if self.group.exit_status is not None and self.group.result is not None:
                return None
            if self.thread_done or self.replacement is not None:
                return stop
            if stop is not None and self._fault_to_handler(stop):
                pc = self.cpu.reg(self.cpu.pc_reg)
                continue
            if stop is not None:          # a fault kills the whole process
                if threading.current_thread() is not threading.main_thread():
                    self._end_from_thread(self._result(stop, 0.0))
                return stop
            self.group.yield_cpu(self)    # end of a time slice, or asked to stop
            if self.sig_flag:
                signals.deliver_pending(self, in_trap=False)
            pc = self.cpu.reg(self.cpu.pc_reg)


    # -- exec --------------------------------------------------------------------
    def _open_image(self, path: bytes):
        """Load ``path`` through the sandbox; the image remembers its resolved path."""
        from . import procfs
        if procfs.special(path):
            path = procfs.stat_target(self, path)      # /proc/self/exe is the guest's program
        try:
            f, abspath = self.fs.open_exec(path)
        except OSError as e:
            raise ExecError(f"{os.fsdecode(path)}: {e.strerror}", 127 if e.errno == 2 else 126,
                            e.errno) from None
        with f:
            try:
                image = load_image(f, os.fsdecode(path))
            except LoaderError as e:
                raise ExecError(str(e), 126) from None
        image.details["resolved"] = abspath
        return image

    def exec(self, path: bytes, argv: list[bytes], envp: list[bytes], image=None) -> None:
        """Map ``path`` (and its interpreter) and prepare the initial stack and registers."""
        if image is None:
            image = self._open_image(path)
        abspath = image.details.get("resolved") or self.fs.absolute(path)
        dev, inode = image.details.get("dev", 0), image.details.get("inode", 0)
        if image.arch != self.abi.arch:
            raise ExecError(f"{os.fsdecode(path)}: is {image.arch}, process is {self.abi.arch}", 126)
        self.exe, self.argv, self.envp = abspath, list(argv), list(envp)
        name = os.fsdecode(abspath)
        lo, hi = image.span
        if image.position_independent:
            base = 0x555555554000 if self.abi.bits == 64 else 0x56555000
            bias = base - page_down(lo)
        else:
            bias = 0
        if not self.mm.is_free(page_down(bias + lo), page_up(bias + hi)):
            raise ExecError(f"{name}: segments do not fit the address space", 126)
        map_image(image, self.mm, bias, name, dev=dev, inode=inode)
        self.mm.set_brk_start(bias + hi)
        entry = bias + image.entry
        at_base = 0
        if image.interpreter:
            ipath = image.interpreter.encode()
            try:
                interp = self._open_image(ipath)
            except ExecError as e:
                raise ExecError(f"{name}: interpreter {image.interpreter}: {str(e).split(': ', 1)[-1]}",
                                127) from None
            if interp.arch != image.arch or interp.interpreter:
                raise ExecError(f"{name}: bad interpreter {image.interpreter}", 126)
            ilo, ihi = interp.span
            span = page_up(ihi) - page_down(ilo)
            ibase = self.mm.find_free(span) if interp.position_independent else page_down(ilo)
            at_base = ibase - page_down(ilo) if interp.position_independent else 0
            map_image(interp, self.mm, at_base, os.fsdecode(interp.details["resolved"]),
                      dev=interp.details.get("dev", 0), inode=interp.details.get("inode", 0))
            entry = at_base + interp.entry
        self._map_stack(image.exec_stack)
        phdr = bias + (image.phdr_vaddr or 0)
        aux = [(stk.AT_HWCAP, cpuid(1)[3]), (stk.AT_PAGESZ, 4096), (stk.AT_CLKTCK, 100),
               (stk.AT_PHDR, phdr), (stk.AT_PHENT, image.phentsize), (stk.AT_PHNUM, image.phnum),
               (stk.AT_BASE, at_base), (stk.AT_FLAGS, 0), (stk.AT_ENTRY, bias + image.entry),
               (stk.AT_UID, os.getuid()), (stk.AT_EUID, os.geteuid()), (stk.AT_GID, os.getgid()),
               (stk.AT_EGID, os.getegid()), (stk.AT_SECURE, 0), (stk.AT_HWCAP2, 0)]
        sp, self.auxv = stk.build_stack(self.mem, self.mm.stack_top, self.argv, self.envp,
                                        path, self.abi.platform, aux)
        sp_reg = "rsp" if self.abi.bits == 64 else "esp"
        self.cpu.set_reg(sp_reg, sp)
        self.cpu.set_reg("rdx" if self.abi.bits == 64 else "edx", 0)
        self.pc = entry
        hostcall.set_comm(os.path.basename(path))     # as Linux names a task after exec

    def _map_stack(self, executable: bool) -> None:
        prot = PROT_READ | PROT_WRITE | (PROT_EXEC if executable else 0)
        self.mm.map(self.mm.stack_top - STACK_SIZE, STACK_SIZE, prot, "[stack]")

    # -- running -----------------------------------------------------------------
    def run(self) -> ProcessResult:
        """Run until the guest exits or dies, following execve into new images."""
        t0 = self.group.started = time.perf_counter()
        return self._finish_run(self._thread_loop(), t0)

    def _finish_run(self, stop, t0: float) -> ProcessResult:
        proc = self
        while True:
            try:
                if proc.group.result is not None:        # another thread ended the process
                    result = proc.group.result
                    result.wall = time.perf_counter() - t0
                    return result
                if proc.thread_done and proc.exit_status is None:
                    # this thread left with exit(2): the process lives on in its other threads
                    proc.group.threads.pop(proc.tid, None)
                    proc.group.bel.release()
                    proc.group.done.wait()
                    if proc.group.result is not None:
                        continue
                    proc.exit_status = proc.group.exit_status
            finally:
                for fn in proc.cleanup:
                    fn()
            if proc.replacement is None or proc.exit_status is not None:
                break
            old, proc = proc, proc.replacement
            if old.group.multi:
                # execve ends the other threads (Linux kills them); their engines may
                # still be inside a blocking call, so their memory is left alone
                for t in list(old.group.threads.values()):
                    if t is not old:
                        t.thread_done = True
                        t.cpu.stop()
            else:
                old.mm.release()
            stop = proc._thread_loop()
        return proc._result(stop, time.perf_counter() - t0)

    def _result(self, stop, wall: float) -> ProcessResult:
        res = ProcessResult(wall=wall)
        if self.exit_status is not None:
            res.exit_status = self.exit_status
        elif stop is None:
            res.guise_status, res.message = 125, "guest stopped for no reason (internal error)"
        else:
            self._classify(stop, res)
        for abi, counts, unimpl in self.history + [(self.abi, self.counts, self.unimpl)]:
            for nr, c in enumerate(counts):
                if c:
                    name = abi.names.get(nr, f"syscall_{nr}")
                    res.syscalls[name] = res.syscalls.get(name, 0) + c
            for k, c in unimpl.items():
                name = k if isinstance(k, str) else abi.names.get(k, f"syscall_{k}")
                res.unimplemented[name] = res.unimplemented.get(name, 0) + c
        if self.count_instructions:
            res.instructions = self.cpu.insn_count
        return res

    def successor(self, path: bytes, argv: list[bytes], envp: list[bytes]) -> "LinuxProcess":
        """execve: a new process image that inherits this one's pid, fds and signal state.

        Built completely before anything of the old image is touched, so a
        failed execve returns to the old program as on Linux.
        """
        from loader import script
        from . import procfs
        given = path
        if procfs.special(path):
            path = procfs.stat_target(self, path)
        try:
            path, argv = script.resolve_script(lambda q: self.fs.open_exec(q)[0], path, argv)
        except LoaderError:
            raise OSError(8, "Exec format error") from None
        try:
            image = self._open_image(path)
        except ExecError as e:
            raise OSError(e.errno, os.strerror(e.errno)) from None
        new = LinuxProcess(image.arch, self.fs, tracer=self.tracer,
                           count_instructions=self.count_instructions, jail=self.jail)
        new.pid = self.pid
        new.fds = self.fds
        new.group.finisher = self.group.finisher
        new.sigmask, new.host_mask = self.sigmask, self.host_mask
        # handlers reset to default on exec; ignored signals stay ignored
        new.sigactions = {sig: act for sig, act in self.sigactions.items()
                          if int.from_bytes(act[:self.abi.ptr_size], "little") == 1}
        new.history = self.history + [(self.abi, self.counts, self.unimpl)]
        try:
            new.exec(path, argv, envp, image=image)
        except ExecError as e:
            raise OSError(e.errno, os.strerror(e.errno)) from None
        hostcall.set_comm(os.path.basename(given))     # a script's name, not its interpreter's
        for fd in sorted(self.fds.cloexec):
            self.fds.close(fd)
        from .syscalls.time import delete_timers
        delete_timers(self)                             # execve deletes POSIX timers
        return new

    def _fault_to_handler(self, stop) -> bool:
        """Offer a CPU fault to the guest's signal handler; True if one will run."""
        res = ProcessResult()
        self._classify(stop, res)
        if res.signal is None:
            return False
        if stop.kind == "fault":
            vma = self.mm.find(stop.address)
            code, addr = (signals.SEGV_ACCERR if vma else signals.SEGV_MAPERR), stop.address
        elif res.signal == hostsig.SIGFPE:
            code, addr = signals.FPE_INTDIV, stop.pc
        else:
            code, addr = signals.ILL_ILLOPN, stop.pc
        self.cpu.set_reg(self.cpu.pc_reg, stop.pc)
        return signals.deliver_fault(self, res.signal, code, addr)

    def _classify(self, stop, res: ProcessResult) -> None:
        if stop.kind == "fault":
            res.signal = hostsig.SIGSEGV
            res.message = f"SIGSEGV: {stop.access} at {stop.address:#x} (pc {stop.pc:#x})"
        elif stop.kind in ("invalid-insn", "interrupt") and stop.intno in (-1, 6):
            text = describe_instruction(self, stop.pc)
            if text is None:
                res.signal = hostsig.SIGILL
                res.message = f"SIGILL: illegal instruction at {stop.pc:#x}"
            else:
                res.guise_status = 123
                res.message = f"unsupported instruction at {stop.pc:#x}: {text}"
        elif stop.kind == "interrupt":
            res.signal = VECTOR_SIGNALS.get(stop.intno, hostsig.SIGSEGV)
            res.message = (f"{hostsig.Signals(res.signal).name}: CPU exception {stop.intno} "
                           f"at {stop.pc:#x}")
        else:
            res.guise_status = 125
            res.message = f"internal CPU error at {stop.pc:#x}: {stop.detail}"


def describe_instruction(p, pc: int) -> str | None:
    """Capstone's text for a *valid* instruction at ``pc`` that the CPU refused, else None.

    Genuine illegal instructions (ud2, undecodable bytes) are the guest's own
    SIGILL; a valid one that unicorn cannot execute is guise's limitation and
    gets its own exit status.
    """
    import capstone
    try:
        code = p.mem.read(pc, 15)
    except Exception:
        return None
    md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64 if p.abi.bits == 64 else capstone.CS_MODE_32)
    for insn in md.disasm(code, pc):
        if insn.mnemonic in ("ud2", "ud1", "ud0", "ud2b"):
            return None
        return f"{insn.mnemonic} {insn.op_str}".strip()
    return None
