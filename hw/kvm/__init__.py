"""The KVM back end of the virtual PC: /dev/kvm through ioctls (``abi``: the
structures and numbers; ``vm``: system, VM and vCPU descriptors; ``system``:
the ``SystemCpu`` the machine runs on; ``host``: what kind of KVM this host
has).  No library beyond ctypes, fcntl and mmap: the interface is a dozen
ioctls on fixed structures.
"""
from .host import KvmKind, kvm_kind
from .vm import KvmError

__all__ = ["KvmError", "KvmKind", "kvm_kind"]
