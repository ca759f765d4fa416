"""The unicorn engine's C library and constants, reached without its Python binding.

Importing the unicorn package costs about 15 ms: its binding pulls in typing,
inspect, importlib.resources, zipfile, pathlib and tempfile just to find and wrap
the library.  That was a fifth of a static program's whole start-up under guise,
while the user-mode CPU calls a dozen C functions and already made its hot ones
(traps, hooks, memory access) directly.  So this module loads the library the
package ships and the package's own constant tables, without running the
package.  The engine, its version pin and its constants stay unicorn's; only the
thin Python wrapper is skipped.  The virtual PC (``unicorn_system``, ``hw.x86``),
whose start-up does not matter, keeps using the binding.
"""
from __future__ import annotations

import ctypes
import importlib.machinery
import os
import sys
import types


def _package_dir() -> str:
    spec = importlib.machinery.PathFinder.find_spec("unicorn")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the unicorn package is not installed")
    return spec.submodule_search_locations[0]


_DIR = _package_dir()


def _constants(name: str) -> types.ModuleType:
    """unicorn.<name> (a plain table of constants), loaded from its file on its own."""
    full = f"unicorn.{name}"
    if full in sys.modules:
        return sys.modules[full]
    loader = importlib.machinery.SourceFileLoader(f"{__name__}.{name}", os.path.join(_DIR, f"{name}.py"))
    module = types.ModuleType(loader.name)
    module.__file__ = loader.path
    loader.exec_module(module)
    return module


const = _constants("unicorn_const")
x86 = _constants("x86_const")


def _load() -> ctypes.CDLL:
    path = os.path.join(_DIR, "lib", "libunicorn.so.2")
    if os.path.exists(path):
        return ctypes.CDLL(path)
    from unicorn.unicorn_py3.unicorn import uclib     # an unusual install: let the binding find it
    return uclib


lib = _load()

_u32, _u64, _s32, _vp, _sz = ctypes.c_uint32, ctypes.c_uint64, ctypes.c_int32, ctypes.c_void_p, ctypes.c_size_t
_P = ctypes.POINTER
for _name, _res, _args in (
        ("uc_open", _u32, (_u32, _u32, _P(_vp))),
        ("uc_close", _u32, (_vp,)),
        ("uc_strerror", ctypes.c_char_p, (_u32,)),
        ("uc_emu_start", _u32, (_vp, _u64, _u64, _u64, _sz)),
        ("uc_emu_stop", _u32, (_vp,)),
        ("uc_ctl", _u32, (_vp, _s32)),
        ("uc_hook_add", _u32, (_vp, _P(_sz), _s32, _vp, _vp, _u64, _u64)),
        ("uc_hook_del", _u32, (_vp, _sz)),
        ("uc_mem_map", _u32, (_vp, _u64, _u64, _u32)),
        ("uc_mem_map_ptr", _u32, (_vp, _u64, _u64, _u32, _vp)),
        ("uc_mem_unmap", _u32, (_vp, _u64, _u64)),
        ("uc_mem_protect", _u32, (_vp, _u64, _u64, _u32)),
        ("uc_mem_read", _u32, (_vp, _u64, _P(ctypes.c_char), _u64)),
        ("uc_mem_write", _u32, (_vp, _u64, _P(ctypes.c_char), _u64)),
        ("uc_mem_regions", _u32, (_vp, _P(_vp), _P(_u32))),
        ("uc_free", _u32, (_vp,)),
        ("uc_reg_read", _u32, (_vp, _s32, _vp)),
        ("uc_reg_write", _u32, (_vp, _s32, _vp)),
        ("uc_reg_read_batch", _u32, (_vp, _P(_s32), _P(_vp), _s32)),
        ("uc_context_alloc", _u32, (_vp, _P(_vp))),
        ("uc_context_free", _u32, (_vp,)),
        ("uc_context_save", _u32, (_vp, _vp)),
        ("uc_context_restore", _u32, (_vp, _vp))):
    _fn = getattr(lib, _name)
    _fn.restype, _fn.argtypes = _res, _args


def strerror(err: int) -> str:
    return lib.uc_strerror(err).decode(errors="replace")


def ctl_write(ctl: int, nargs: int) -> int:
    """uc_ctl's request word for writing ``ctl`` with ``nargs`` arguments."""
    return (const.UC_CTL_IO_WRITE << 30) | (nargs << 26) | ctl


class _MemRegion(ctypes.Structure):
    _fields_ = [("begin", ctypes.c_uint64), ("end", ctypes.c_uint64), ("perms", ctypes.c_uint32)]


def mem_regions(uch) -> list[tuple[int, int, int]]:
    """(first, last, perms) of each mapped region, as the engine lists them."""
    regions, count = ctypes.c_void_p(), ctypes.c_uint32()
    if lib.uc_mem_regions(uch, ctypes.byref(regions), ctypes.byref(count)) != const.UC_ERR_OK:
        return []
    try:
        table = ctypes.cast(regions, ctypes.POINTER(_MemRegion * count.value)).contents if count.value else []
        return [(r.begin, r.end, r.perms) for r in table]
    finally:
        lib.uc_free(regions)


class _Mmr(ctypes.Structure):
    """GDTR, IDTR, LDTR and TR: (selector, base, limit, flags), as unicorn's uc_x86_mmr."""
    _fields_ = [("selector", ctypes.c_uint16), ("base", ctypes.c_uint64),
                ("limit", ctypes.c_uint32), ("flags", ctypes.c_uint32)]


_MMR = frozenset((x86.UC_X86_REG_GDTR, x86.UC_X86_REG_IDTR, x86.UC_X86_REG_LDTR, x86.UC_X86_REG_TR))
# the vector registers, and their width in bytes
_WIDE = {**{r: 16 for r in range(x86.UC_X86_REG_XMM0, x86.UC_X86_REG_XMM31 + 1)},
         **{r: 32 for r in range(x86.UC_X86_REG_YMM0, x86.UC_X86_REG_YMM31 + 1)},
         **{r: 64 for r in range(x86.UC_X86_REG_ZMM0, x86.UC_X86_REG_ZMM31 + 1)}}


class UcError(Exception):
    def __init__(self, err: int):
        super().__init__(strerror(err))
        self.errno = err


def _check(err: int) -> None:
    if err != const.UC_ERR_OK:
        raise UcError(err)


def reg_read(uch, reg: int):
    """A register's value: an int, or a (selector, base, limit, flags) tuple for the
    descriptor-table registers."""
    if reg in _MMR:
        mmr = _Mmr()
        _check(lib.uc_reg_read(uch, reg, ctypes.byref(mmr)))
        return mmr.selector, mmr.base, mmr.limit, mmr.flags
    buf = ctypes.create_string_buffer(64)        # zeroed: a 32-bit register fills half a slot
    _check(lib.uc_reg_read(uch, reg, buf))
    return int.from_bytes(buf.raw[:_WIDE.get(reg, 8)], "little")


def reg_write(uch, reg: int, value) -> None:
    if reg in _MMR:
        arg = _Mmr(*value)
    else:
        width = _WIDE.get(reg, 8)
        arg = ctypes.create_string_buffer((value & ((1 << 8 * width) - 1)).to_bytes(width, "little"))
    _check(lib.uc_reg_write(uch, reg, ctypes.byref(arg)))


class Context:
    """A saved register set (uc_context), freed when dropped."""
    __slots__ = ("handle",)

    def __init__(self, uch):
        self.handle = ctypes.c_void_p()
        _check(lib.uc_context_alloc(uch, ctypes.byref(self.handle)))

    def __del__(self):
        if self.handle:
            lib.uc_context_free(self.handle)


def open_engine(mode: int):
    """A new x86 engine in ``mode`` (UC_MODE_32 / UC_MODE_64); close with ``close``."""
    uch = ctypes.c_void_p()
    _check(lib.uc_open(const.UC_ARCH_X86, mode, ctypes.byref(uch)))
    return uch


def close(uch) -> None:
    lib.uc_close(uch)
