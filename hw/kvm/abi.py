"""The /dev/kvm interface as ctypes: ioctl numbers and the structures they
pass, for x86-64 hosts (from the layouts in Linux's include/uapi/linux/kvm.h
and arch/x86/include/uapi/asm/kvm.h; KVM_GET_API_VERSION has answered 12
since Linux 2.6.22, and these structures have not changed since).
"""
from __future__ import annotations

import ctypes

KVMIO = 0xAE
API_VERSION = 12
_NONE, _WRITE, _READ = 0, 1, 2


def _ioc(direction: int, nr: int, size: int = 0) -> int:
    return direction << 30 | size << 16 | KVMIO << 8 | nr


class Regs(ctypes.Structure):
    _fields_ = [(n, ctypes.c_uint64) for n in
                ("rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rsp", "rbp",
                 "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rip", "rflags")]


class Segment(ctypes.Structure):
    _fields_ = [("base", ctypes.c_uint64), ("limit", ctypes.c_uint32), ("selector", ctypes.c_uint16),
                *((n, ctypes.c_uint8) for n in ("type", "present", "dpl", "db", "s", "l", "g", "avl",
                                               "unusable", "padding"))]


class Dtable(ctypes.Structure):
    _fields_ = [("base", ctypes.c_uint64), ("limit", ctypes.c_uint16), ("padding", ctypes.c_uint16 * 3)]


class Sregs(ctypes.Structure):
    _fields_ = [*((n, Segment) for n in ("cs", "ds", "es", "fs", "gs", "ss", "tr", "ldt")),
                ("gdt", Dtable), ("idt", Dtable),
                *((n, ctypes.c_uint64) for n in ("cr0", "cr2", "cr3", "cr4", "cr8", "efer", "apic_base")),
                ("interrupt_bitmap", ctypes.c_uint64 * 4)]


class MemoryRegion(ctypes.Structure):
    """struct kvm_userspace_memory_region"""
    _fields_ = [("slot", ctypes.c_uint32), ("flags", ctypes.c_uint32), ("guest_phys_addr", ctypes.c_uint64),
                ("memory_size", ctypes.c_uint64), ("userspace_addr", ctypes.c_uint64)]


class CpuidEntry(ctypes.Structure):
    """struct kvm_cpuid_entry2"""
    _fields_ = [(n, ctypes.c_uint32) for n in ("function", "index", "flags", "eax", "ebx", "ecx", "edx")] + \
               [("padding", ctypes.c_uint32 * 3)]


def cpuid_table(n: int):
    """struct kvm_cpuid2 with room for ``n`` entries."""
    class Cpuid2(ctypes.Structure):
        _fields_ = [("nent", ctypes.c_uint32), ("padding", ctypes.c_uint32), ("entries", CpuidEntry * n)]
    table = Cpuid2()
    table.nent = n
    return table


class Io(ctypes.Structure):
    _fields_ = [("direction", ctypes.c_uint8), ("size", ctypes.c_uint8), ("port", ctypes.c_uint16),
                ("count", ctypes.c_uint32), ("data_offset", ctypes.c_uint64)]


class Mmio(ctypes.Structure):
    _fields_ = [("phys_addr", ctypes.c_uint64), ("data", ctypes.c_uint8 * 8), ("len", ctypes.c_uint32),
                ("is_write", ctypes.c_uint8)]


class Internal(ctypes.Structure):
    _fields_ = [("suberror", ctypes.c_uint32), ("ndata", ctypes.c_uint32), ("data", ctypes.c_uint64 * 16)]


class FailEntry(ctypes.Structure):
    _fields_ = [("hardware_entry_failure_reason", ctypes.c_uint64), ("cpu", ctypes.c_uint32)]


class ExitInfo(ctypes.Union):
    _fields_ = [("io", Io), ("mmio", Mmio), ("internal", Internal), ("fail_entry", FailEntry),
                ("hardware_exit_reason", ctypes.c_uint64), ("padding", ctypes.c_char * 256)]


class Run(ctypes.Structure):
    """The head of struct kvm_run, shared with the kernel through mmap of the vCPU."""
    _fields_ = [("request_interrupt_window", ctypes.c_uint8), ("immediate_exit", ctypes.c_uint8),
                ("padding1", ctypes.c_uint8 * 6), ("exit_reason", ctypes.c_uint32),
                ("ready_for_interrupt_injection", ctypes.c_uint8), ("if_flag", ctypes.c_uint8),
                ("flags", ctypes.c_uint16), ("cr8", ctypes.c_uint64), ("apic_base", ctypes.c_uint64),
                ("exit", ExitInfo)]


class Translation(ctypes.Structure):
    """struct kvm_translation: a guest-virtual address through the vCPU's page tables."""
    _fields_ = [("linear_address", ctypes.c_uint64), ("physical_address", ctypes.c_uint64),
                ("valid", ctypes.c_uint8), ("writeable", ctypes.c_uint8), ("usermode", ctypes.c_uint8),
                ("pad", ctypes.c_uint8 * 5)]


class Interrupt(ctypes.Structure):
    _fields_ = [("irq", ctypes.c_uint32)]


assert ctypes.sizeof(Regs) == 144 and ctypes.sizeof(Sregs) == 312 and ctypes.sizeof(MemoryRegion) == 32
assert ctypes.sizeof(CpuidEntry) == 40 and Run.exit.offset == 32

GET_API_VERSION = _ioc(_NONE, 0x00)
CREATE_VM = _ioc(_NONE, 0x01)
CHECK_EXTENSION = _ioc(_NONE, 0x03)
GET_VCPU_MMAP_SIZE = _ioc(_NONE, 0x04)
GET_SUPPORTED_CPUID = _ioc(_READ | _WRITE, 0x05, 8)
CREATE_VCPU = _ioc(_NONE, 0x41)
SET_USER_MEMORY_REGION = _ioc(_WRITE, 0x46, ctypes.sizeof(MemoryRegion))
RUN = _ioc(_NONE, 0x80)
GET_REGS = _ioc(_READ, 0x81, ctypes.sizeof(Regs))
SET_REGS = _ioc(_WRITE, 0x82, ctypes.sizeof(Regs))
GET_SREGS = _ioc(_READ, 0x83, ctypes.sizeof(Sregs))
SET_SREGS = _ioc(_WRITE, 0x84, ctypes.sizeof(Sregs))
TRANSLATE = _ioc(_READ | _WRITE, 0x85, ctypes.sizeof(Translation))
INTERRUPT = _ioc(_WRITE, 0x86, ctypes.sizeof(Interrupt))
SET_CPUID2 = _ioc(_WRITE, 0x90, 8)

CAP_USER_MEMORY = 3

# exit reasons (KVM_EXIT_*) this VMM handles or names
EXIT_NAMES = {0: "unknown", 1: "exception", 2: "port I/O", 3: "hypercall", 4: "debug", 5: "HLT",
              6: "MMIO", 7: "interrupt window", 8: "shutdown", 9: "failed entry", 10: "signal",
              17: "internal error", 24: "system event"}
EXIT_UNKNOWN, EXIT_IO, EXIT_HLT, EXIT_MMIO, EXIT_IRQ_WINDOW_OPEN, EXIT_SHUTDOWN = 0, 2, 5, 6, 7, 8
EXIT_FAIL_ENTRY, EXIT_INTR, EXIT_INTERNAL_ERROR = 9, 10, 17
IO_IN, IO_OUT = 0, 1
INTERNAL_SUBERRORS = {1: "emulation failure", 2: "simultaneous exception", 3: "delivery event",
                      4: "unexpected exit reason"}
