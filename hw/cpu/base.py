"""Abstract CPU: the contract every back end (unicorn, kvm) fulfils."""
from __future__ import annotations

import abc
import dataclasses
from collections.abc import Callable, Sequence

PAGE_SIZE = 0x1000
PROT_NONE, PROT_READ, PROT_WRITE, PROT_EXEC = 0, 1, 2, 4


def page_down(x: int) -> int:
    return x & ~(PAGE_SIZE - 1)


def page_up(x: int) -> int:
    return (x + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)


class CpuError(Exception):
    """The back end could not do what was asked (bad mapping, engine failure)."""


class MemoryFault(CpuError):
    """A guest address was not mapped or not accessible for the access asked."""

    def __init__(self, address: int, size: int = 0, kind: str = "access"):
        super().__init__(f"{kind} fault at {address:#x}")
        self.address, self.size, self.kind = address, size, kind


@dataclasses.dataclass
class StopReason:
    """Why ``Cpu.run`` returned when no trap handler asked it to stop.

    kind is one of 'fault' (memory: address set), 'invalid-insn', 'interrupt'
    (a CPU exception vector: intno set), 'internal' (back-end error).
    """
    kind: str
    address: int = 0
    access: str = ""
    intno: int = -1
    pc: int = 0
    detail: str = ""


class Cpu(abc.ABC):
    arch: str
    bits: int

    # memory -------------------------------------------------------------
    @abc.abstractmethod
    def mem_map(self, addr: int, size: int, prot: int) -> None: ...
    @abc.abstractmethod
    def mem_map_ptr(self, addr: int, size: int, prot: int, host_ptr: int) -> None:
        """Map guest [addr, addr+size) onto host memory at ``host_ptr`` (see hw.memory)."""
    @abc.abstractmethod
    def mem_unmap(self, addr: int, size: int) -> None: ...
    @abc.abstractmethod
    def mem_protect(self, addr: int, size: int, prot: int) -> None: ...
    @abc.abstractmethod
    def mem_read(self, addr: int, size: int) -> bytes: ...
    @abc.abstractmethod
    def mem_write(self, addr: int, data: bytes) -> None: ...

    # registers ------------------------------------------------------------
    @abc.abstractmethod
    def reg(self, name: str) -> int: ...
    @abc.abstractmethod
    def set_reg(self, name: str, value: int) -> None: ...
    @abc.abstractmethod
    def set_fs_base(self, value: int) -> None: ...
    @abc.abstractmethod
    def set_gs_base(self, value: int) -> None: ...
    @abc.abstractmethod
    def set_gdt_entry(self, index: int, base: int, limit: int, access: int, flags: int) -> None: ...
    @abc.abstractmethod
    def load_segment(self, name: str, selector: int) -> None: ...

    @abc.abstractmethod
    def save_context(self):
        """All registers (general, segment bases, x87/SSE) as an opaque object."""
    @abc.abstractmethod
    def restore_context(self, ctx) -> None:
        """Load registers saved by ``save_context`` of a CPU of the same architecture."""

    # traps -----------------------------------------------------------------
    @abc.abstractmethod
    def add_trap(self, kind: str, arg_regs: Sequence[str], result_reg: str,
                 handler: Callable[..., int | None]) -> None:
        """Call ``handler(*values of arg_regs)`` at each trap of ``kind``.

        kind: 'syscall' (the x86-64 SYSCALL instruction) or 'int80'
        (software interrupt 0x80).  A non-None return value is written to
        ``result_reg``.  Exceptions raised by the handler stop the CPU and are
        re-raised from ``run``.
        """

    @abc.abstractmethod
    def resume_pc(self) -> int:
        """Inside a trap handler: the address the guest continues at afterwards."""

    @abc.abstractmethod
    def run(self, pc: int, count: int = 0) -> StopReason | None:
        """Run from ``pc`` until ``stop()`` or, if ``count``, that many instructions;
        returns None then, or why the CPU stopped."""

    @abc.abstractmethod
    def stop(self) -> None: ...

    def make_preemptible(self) -> bool:
        """Get ready for ``preempt``; False if this back end cannot (then callers
        bound each ``run`` by an instruction count instead).  Not while running."""
        return False

    def preempt(self) -> None:
        """From any host thread: end the current or next ``run`` at an instruction
        boundary soon (returning None), as ``stop`` cannot from outside a hook."""
