"""/dev/kvm, a VM and its vCPU, as thin objects over file descriptors.

Everything goes through ``fcntl.ioctl`` with the ctypes structures of
``abi.py`` as mutable buffers; guest RAM is anonymous host memory
(``hw.memory.alloc``) registered as memory slot 0, and each vCPU's
``struct kvm_run`` is the vCPU descriptor mmap'd into this process.
"""
from __future__ import annotations

import ctypes
import errno
import fcntl
import mmap
import os

from hw import memory
from hw.cpu.system import check_ram
from . import abi


class KvmError(Exception):
    """KVM could not be opened or refused a request: one line for the user."""


def _ioctl(fd: int, request: int, arg=0, what: str = ""):
    try:
        return fcntl.ioctl(fd, request, arg, True) if isinstance(arg, ctypes.Structure) else \
            fcntl.ioctl(fd, request, arg)
    except OSError as e:
        raise KvmError(f"{what or hex(request)}: {e.strerror}") from None


class Kvm:
    """The system descriptor: API version, capabilities, what CPUID the host offers."""

    def __init__(self, path: str = "/dev/kvm"):
        try:
            self.fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
        except OSError as e:
            raise KvmError(f"{path}: {e.strerror}") from None
        version = _ioctl(self.fd, abi.GET_API_VERSION, what="KVM_GET_API_VERSION")
        if version != abi.API_VERSION:
            self.close()
            raise KvmError(f"{path}: KVM API version {version}, guise speaks {abi.API_VERSION}")
        if not self.check(abi.CAP_USER_MEMORY):
            self.close()
            raise KvmError(f"{path}: no KVM_CAP_USER_MEMORY")
        self.vcpu_mmap_size = _ioctl(self.fd, abi.GET_VCPU_MMAP_SIZE, what="KVM_GET_VCPU_MMAP_SIZE")

    def check(self, cap: int) -> int:
        return _ioctl(self.fd, abi.CHECK_EXTENSION, cap, "KVM_CHECK_EXTENSION")

    def supported_cpuid(self):
        """KVM_GET_SUPPORTED_CPUID: the table grows until the kernel stops saying E2BIG."""
        n = 64
        while True:
            table = abi.cpuid_table(n)
            try:
                fcntl.ioctl(self.fd, abi.GET_SUPPORTED_CPUID, table, True)
                return table
            except OSError as e:
                if e.errno != errno.E2BIG or n >= 4096:
                    raise KvmError(f"KVM_GET_SUPPORTED_CPUID: {e.strerror}") from None
                n *= 2

    def close(self) -> None:
        os.close(self.fd)


class Vm:
    def __init__(self, kvm: Kvm, ram_bytes: int):
        self.kvm = kvm
        self.fd = _ioctl(kvm.fd, abi.CREATE_VM, 0, "KVM_CREATE_VM")
        self.ram_bytes = ram_bytes
        self.ram = memory.alloc(ram_bytes)
        region = abi.MemoryRegion(slot=0, flags=0, guest_phys_addr=0, memory_size=ram_bytes,
                                  userspace_addr=self.ram)
        _ioctl(self.fd, abi.SET_USER_MEMORY_REGION, region, "KVM_SET_USER_MEMORY_REGION")

    def write(self, addr: int, data: bytes) -> None:
        self._check(addr, len(data))
        ctypes.memmove(self.ram + addr, data, len(data))

    def read(self, addr: int, size: int) -> bytes:
        self._check(addr, size)
        return ctypes.string_at(self.ram + addr, size)

    def close(self) -> None:
        os.close(self.fd)
        memory.free(self.ram, self.ram_bytes)

    def _check(self, addr: int, size: int) -> None:
        check_ram(addr, size, self.ram_bytes)


class Vcpu:
    def __init__(self, vm: Vm, index: int = 0):
        self.fd = _ioctl(vm.fd, abi.CREATE_VCPU, index, "KVM_CREATE_VCPU")
        self.area = mmap.mmap(self.fd, vm.kvm.vcpu_mmap_size, mmap.MAP_SHARED,
                              mmap.PROT_READ | mmap.PROT_WRITE)
        self.run_area = ctypes.addressof(ctypes.c_char.from_buffer(self.area))
        self.run = abi.Run.from_address(self.run_area)

    def close(self) -> None:
        self.area.close()
        os.close(self.fd)

    def regs(self) -> abi.Regs:
        r = abi.Regs()
        _ioctl(self.fd, abi.GET_REGS, r, "KVM_GET_REGS")
        return r

    def set_regs(self, r: abi.Regs) -> None:
        _ioctl(self.fd, abi.SET_REGS, r, "KVM_SET_REGS")

    def sregs(self) -> abi.Sregs:
        s = abi.Sregs()
        _ioctl(self.fd, abi.GET_SREGS, s, "KVM_GET_SREGS")
        return s

    def set_sregs(self, s: abi.Sregs) -> None:
        _ioctl(self.fd, abi.SET_SREGS, s, "KVM_SET_SREGS")

    def set_cpuid(self, table) -> None:
        _ioctl(self.fd, abi.SET_CPUID2, table, "KVM_SET_CPUID2")

    def translate(self, va: int):
        """The guest-physical address of ``va`` now, or None if it is not mapped."""
        t = abi.Translation(linear_address=va)
        _ioctl(self.fd, abi.TRANSLATE, t, "KVM_TRANSLATE")
        return t.physical_address if t.valid else None

    def interrupt(self, vector: int) -> None:
        _ioctl(self.fd, abi.INTERRUPT, abi.Interrupt(vector), "KVM_INTERRUPT")

    def enter(self) -> None:
        """One KVM_RUN; InterruptedError when a signal ended it (the slice timer)."""
        fcntl.ioctl(self.fd, abi.RUN, 0)
