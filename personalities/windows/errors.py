"""Why a Windows guest stops: raised inside API handlers, caught by the run loop.

These never reach the user as tracebacks; the process turns each into an exit
status and one line (see WindowsProcess._result).
"""
from __future__ import annotations


class ProcessExit(Exception):
    """ExitProcess / exit(): the process ends with ``code`` (32-bit, as on Windows)."""

    def __init__(self, code: int):
        super().__init__(code)
        self.code = code & 0xFFFFFFFF


class NotImplementedApi(Exception):
    """The guest called an export guise declares but does not implement, or one it
    does not know at all; ``label`` is DLL!Name as the program imported it."""

    def __init__(self, label: str):
        super().__init__(f"not implemented: {label}")
        self.label = label


class AccessViolation(Exception):
    """A guest pointer handed to an API was bad: Windows raises STATUS_ACCESS_VIOLATION,
    which the run loop passes to the guest's handlers (seh.from_api_fault)."""

    def __init__(self, address: int, write: bool = False):
        super().__init__(f"access violation: {'write' if write else 'read'} at {address:#x}")
        self.address, self.write = address, write


STATUS_ACCESS_VIOLATION = 0xC0000005
STATUS_ILLEGAL_INSTRUCTION = 0xC000001D
STATUS_INTEGER_DIVIDE_BY_ZERO = 0xC0000094
STATUS_BREAKPOINT = 0x80000003
