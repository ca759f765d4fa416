"""guise's own exit statuses, shown in ``guise run --help``.

A guest's own exit status (0-255) and death by a signal (the shell sees
128+N) pass through unchanged; these values are what guise itself uses when
the guest could not run to its own end.  They follow the shell's convention
for 126/127.
"""
from sandbox.limits import KINDS

USAGE = 2                    # bad command line (argparse)
UNSUPPORTED_INSTRUCTION = 123  # a valid x86 instruction the emulated CPU cannot execute
INTERNAL = 125               # a bug in guise: please report it
NOT_IMPLEMENTED = 122        # an option or feature guise does not have yet
CANNOT_EXECUTE = 126         # malformed or unsupported executable, wrong machine
NOT_FOUND = 127              # program or its interpreter not found
DLL_NOT_FOUND = 116          # a Windows program imports a DLL that is neither emulated nor found

TABLE = [
    (UNSUPPORTED_INSTRUCTION, "the guest used an instruction the emulated CPU does not implement"),
    (NOT_IMPLEMENTED, "the guest called an API guise does not implement yet (not implemented: DLL!Name)"),
    (INTERNAL, "internal error in guise"),
    (CANNOT_EXECUTE, "the program is not a loadable executable (malformed, wrong machine, unknown format)"),
    (NOT_FOUND, "the program or its ELF interpreter does not exist"),
    (DLL_NOT_FOUND, "a DLL the Windows program imports is neither emulated nor found (STATUS_DLL_NOT_FOUND)"),
    (USAGE, "bad command line"),
]
# a jail's limits end it with their own statuses (sandbox/limits.py; 124 is timeout(1)'s)
TABLE += [(k.status, f"the jail reached its {k.name} limit: {k.what}")
          for k in sorted(KINDS.values(), key=lambda k: k.status or 0) if k.status is not None]

# `guise vm run`: how the guest ended (a power-off passes the guest's own code)
VM_HALT, VM_REBOOT, VM_FAULT, VM_PANIC, VM_HYPERVISOR, VM_QUIT, VM_TIMEOUT = 100, 101, 102, 103, 104, 105, 124
VM_TABLE = [
    (VM_HALT, "the guest halted with interrupts off (nothing can wake it)"),
    (VM_REBOOT, "the guest rebooted (i8042 reset, or a triple fault: a fault it could not take)"),
    (VM_FAULT, "the emulator could not go on (memory outside RAM and every device)"),
    (VM_PANIC, "the guest's kernel panicked (its console said so, then it stopped)"),
    (VM_HYPERVISOR, "KVM could not run the guest (not usable here, an internal or emulation error)"),
    (VM_QUIT, "the user quit at the console (Ctrl-A x)"),
    (VM_TIMEOUT, "--timeout ended the guest"),
    (NOT_IMPLEMENTED, "a boot protocol or back end guise does not have yet"),
]
