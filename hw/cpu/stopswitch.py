"""A safe way to stop a running unicorn engine from another host thread.

uc_emu_stop called from another thread is not safe: unicorn checks for a stop
after each guest memory access and then restarts the instruction that made it,
so a read-modify-write whose store has landed runs twice (a ``lock inc`` or an
``xchg`` then happens twice; unicorn issue #1105, and its own ``timeout`` does the
same).  A stop asked for by a block hook takes effect before the block's first
instruction.  So the engine gets a block hook whose callback is a native switch,
and another thread turns the switch to uc_emu_stop.  No Python runs per block.
Unicorn inlines the call when a hook type has a single hook, so install the
switch as the engine's only block hook.
"""
from __future__ import annotations

import ctypes
import mmap

from .uclib import lib as uclib

_STOP_FN = ctypes.cast(uclib.uc_emu_stop, ctypes.c_void_p).value


class StopSwitch:
    """A native function whose body is one of two: return at once, or uc_emu_stop.

    It is 14 bytes of x86-64 in a page of its own: ``jmp [rip+0]`` followed by the
    8-byte target, and a ``ret`` that is the idle target.  Flipping the target is
    one aligned 8-byte store, atomic for the thread running the engine.
    """
    _JMP = b"\xff\x25\x00\x00\x00\x00"          # jmp qword [rip+0]: the next 8 bytes
    _RET_AT = 16

    def __init__(self):
        # private: a forked emulator must get its own switch, not share its parent's
        self._page = mmap.mmap(-1, mmap.PAGESIZE, flags=mmap.MAP_PRIVATE,
                               prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
        self.address = ctypes.addressof(ctypes.c_char.from_buffer(self._page))
        self._target = ctypes.c_uint64.from_address(self.address + len(self._JMP))
        self._page[:len(self._JMP)] = self._JMP
        self._page[self._RET_AT] = 0xC3
        self.idle()

    def idle(self) -> None:
        self._target.value = self.address + self._RET_AT

    def stop(self) -> None:
        self._target.value = _STOP_FN
