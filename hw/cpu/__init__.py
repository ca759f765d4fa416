"""CPU interface shared by the user-mode personalities and the virtual PC.

A back end exposes registers, guest memory (map / protect / read / write),
segment setup (GDT, FS/GS base) and a run loop that executes guest code until a
trap handler asks it to stop.  Back ends know nothing about operating systems:
the personality tells the CPU which registers carry a trap's arguments.
"""
from .base import (Cpu, CpuError, MemoryFault, PROT_NONE, PROT_READ, PROT_WRITE,
                   PROT_EXEC, PAGE_SIZE, page_down, page_up, StopReason)


def make_cpu(arch: str, backend: str = "unicorn") -> Cpu:
    """Create a user-mode CPU for ``arch`` ('x86_64' or 'i386')."""
    if backend != "unicorn":
        raise CpuError(f"unknown CPU back end {backend!r}")
    from .unicorn_cpu import UnicornCpu
    return UnicornCpu(arch)


__all__ = ["Cpu", "CpuError", "MemoryFault", "PROT_NONE", "PROT_READ", "PROT_WRITE",
           "PROT_EXEC", "PAGE_SIZE", "page_down", "page_up", "StopReason", "make_cpu"]
