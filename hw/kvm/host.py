"""What kind of KVM this host has: none (and why), hardware (VMX/SVM), or a
software hypervisor behind /dev/kvm such as PVM.

The kind decides more than a label: a software KVM runs guest code by
emulating or shadowing it (PVM, the kvm_pvm module, is about 1000x slower
than hardware here) and cannot emulate every instruction (``lock
cmpxchg16b`` and XRSTOR among them), so guests there are kept from them
(hw/kvm/system.py).
"""
from __future__ import annotations

import dataclasses
import os

DEV = "/dev/kvm"
SYS_MODULE = "/sys/module"


@dataclasses.dataclass
class KvmKind:
    kind: str           # "none", "hardware" or "software"
    detail: str         # one line for `guise vm info`

    @property
    def usable(self) -> bool:
        return self.kind != "none"


def cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def kvm_kind(dev: str = DEV, modules: str = SYS_MODULE) -> KvmKind:
    """Look, without opening a VM: the device, the modules loaded, the CPU's flags."""
    if not os.path.exists(dev):
        return KvmKind("none", f"{dev} missing (no KVM module loaded, or not exposed to this container)")
    if not os.access(dev, os.R_OK | os.W_OK):
        return KvmKind("none", f"{dev} exists but this user may not open it (join the kvm group)")
    if os.path.isdir(os.path.join(modules, "kvm_pvm")):
        return KvmKind("software", "software: PVM (kvm_pvm), a hypervisor that shadows page tables and "
                                   "emulates much of the guest's code")
    flags = cpu_flags()
    for mod, flag, name in (("kvm_intel", "vmx", "Intel VMX"), ("kvm_amd", "svm", "AMD SVM")):
        if os.path.isdir(os.path.join(modules, mod)):
            return KvmKind("hardware", f"hardware: {name} ({mod}{', CPU flag ' + flag if flag in flags else ''})")
    return KvmKind("software", "present, but neither kvm_intel nor kvm_amd is loaded: an unknown, "
                               "probably software, hypervisor")
